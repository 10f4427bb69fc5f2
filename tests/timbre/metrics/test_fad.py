"""FAD against the closed form for known Gaussians, against the scipy.linalg.sqrtm formula the reference
implementations use, and merged from shards against one shot."""
import numpy as np
import pytest
from scipy import linalg

from timbre.metrics.fad import GaussianStats, fad, frechet_distance


def test_the_distance_between_diagonal_gaussians_is_the_closed_form():
    mean_a, mean_b = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    sd_a, sd_b = np.array([1.0, 2.0, 0.5]), np.array([3.0, 0.5, 0.5])
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((sd_a - sd_b) ** 2)  # commuting covariances
    found = frechet_distance(mean_a, np.diag(sd_a**2), mean_b, np.diag(sd_b**2))
    assert found == pytest.approx(expected, rel=1e-12)
    assert frechet_distance(mean_a, np.diag(sd_a**2), mean_a, np.diag(sd_a**2)) == pytest.approx(0, abs=1e-12)


def test_the_distance_matches_the_sqrtm_formula_for_full_covariances():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((400, 16)), rng.standard_normal((300, 16)) @ rng.standard_normal((16, 16)) * 0.3 + 0.2
    mu_a, mu_b, c_a, c_b = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    reference = np.sum((mu_a - mu_b) ** 2) + np.trace(c_a + c_b - 2 * linalg.sqrtm(c_a @ c_b).real)
    assert fad(GaussianStats.of(a), GaussianStats.of(b)) == pytest.approx(reference, rel=1e-9)
    assert np.allclose(GaussianStats.of(a).covariance, c_a) and np.allclose(GaussianStats.of(a).mean, mu_a)


def test_statistics_merged_from_shards_give_the_one_shot_value():
    rng = np.random.default_rng(1)
    frames = rng.standard_normal((1000, 8)) * np.arange(1, 9) + 3
    other = rng.standard_normal((500, 8))
    shards = [GaussianStats.of(part) for part in np.array_split(frames, 7)]
    merged = sum(shards[1:], shards[0])
    backwards = sum(reversed(shards[:-1]), shards[-1])
    one_shot = GaussianStats.of(frames)
    assert merged.n == 1000 and np.allclose(merged.outer, one_shot.outer, rtol=1e-12)
    expected = fad(one_shot, GaussianStats.of(other))
    assert fad(merged, GaussianStats.of(other)) == pytest.approx(expected, rel=1e-10)
    assert fad(backwards, GaussianStats.of(other)) == pytest.approx(expected, rel=1e-10)
    assert fad(GaussianStats.empty(8) + one_shot, GaussianStats.of(other)) == pytest.approx(expected, rel=1e-12)


def test_bad_statistics_say_what_is_wrong():
    with pytest.raises(ValueError, match="NaN"):
        GaussianStats.of(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="dimension 2 and 3"):
        GaussianStats.empty(2) + GaussianStats.empty(3)
    with pytest.raises(ValueError, match="at least 2 frames"):
        GaussianStats.of(np.zeros((1, 4))).covariance
