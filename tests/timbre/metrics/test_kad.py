"""KAD against a direct O(N²) computation, its unbiasedness, and the blocked exact median."""
import numpy as np
import pytest
from scipy.spatial.distance import pdist

from timbre.metrics.kad import KAD_SCALE, kad, median_pairwise_distance, mmd2_unbiased


def _direct_mmd2(x, y, sigma):
    def k(a, b):
        return np.exp(-((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / (2 * sigma**2))

    kxx, kyy = k(x, x), k(y, y)
    m, n = len(x), len(y)
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
            - 2 * k(x, y).mean())


@pytest.mark.parametrize("count", [2, 3, 50, 51, 97])
def test_the_blocked_median_is_the_exact_median_of_all_pairs(count):
    x = np.random.default_rng(count).standard_normal((count, 5))
    assert median_pairwise_distance(x, block=16, bins=64) == pytest.approx(float(np.median(pdist(x))), rel=1e-12)


def test_blocked_kad_matches_the_direct_computation():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((70, 6)), rng.standard_normal((45, 6)) * 1.3 + 0.4
    sigma = float(np.median(pdist(x)))
    assert mmd2_unbiased(x, y, sigma, block=16) == pytest.approx(_direct_mmd2(x, y, sigma), rel=1e-10)
    assert kad(x, y, block=16) == pytest.approx(KAD_SCALE * _direct_mmd2(x, y, sigma), rel=1e-10)


def test_kad_is_unbiased_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(1)
    same = [kad(rng.standard_normal((40, 4)), rng.standard_normal((40, 4))) for _ in range(200)]
    spread = np.std(same) / np.sqrt(len(same))
    assert abs(np.mean(same)) < 3 * spread  # expectation 0: the biased estimator would sit well above
    assert min(same) < 0 < max(same)
    assert kad(rng.standard_normal((40, 4)), rng.standard_normal((40, 4)) + 1.0) > 10 * spread


def test_too_few_embeddings_are_refused():
    with pytest.raises(ValueError, match="at least 2"):
        kad(np.zeros((1, 3)), np.zeros((5, 3)))


def test_the_median_distance_counts_every_pair_when_the_points_sit_far_from_the_origin_or_on_top_of_each_other():
    rng = np.random.default_rng(3)
    spread = rng.normal(size=(60, 8)) * 1e-3
    assert median_pairwise_distance(1000 + spread, block=16, bins=64) == pytest.approx(
        float(np.median(pdist(spread))), rel=1e-6)
    same = np.full((40, 8), 7.0)
    assert median_pairwise_distance(same, block=16, bins=64) == 0.0
