import numpy as np
import pytest

from timbre.analysis.mutual_information import (channel_mutual_information, cumulative_share, knn_mutual_information,
                                                ranking, top_share)


@pytest.mark.parametrize("n, classes, shift", [(400, 2, 1.0), (3000, 4, 0.7), (2000, 10, 0.3), (1000, 3, 0.0)])
def test_matches_scikit_learn(n, classes, shift):
    sklearn = pytest.importorskip("sklearn.feature_selection")
    rng = np.random.default_rng(n + classes)
    y = rng.integers(0, classes, n)
    x = rng.standard_normal(n) * (1 + 0.2 * y) + shift * y
    expected = sklearn.mutual_info_classif(x[:, None], y, n_neighbors=3, random_state=0)[0]
    assert knn_mutual_information(x, y, k=3) == pytest.approx(expected, abs=2e-3)


def test_disjoint_supports_give_the_label_entropy():
    # X | Y=c uniform on [2c, 2c+1]: X determines Y, so I(X;Y) = H(Y) = log 4 for four balanced classes
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 2000)
    x = 2 * y + rng.random(y.size)
    assert knn_mutual_information(x, y) == pytest.approx(np.log(4), abs=0.02)


def test_independent_labels_give_about_zero():
    rng = np.random.default_rng(1)
    assert knn_mutual_information(rng.standard_normal(5000), rng.integers(0, 5, 5000)) < 0.01


def test_gaussian_classes_match_numerical_integration():
    # two balanced classes N(-1, 1) and N(1, 1): I = H(X) - H(X|Y), integrated on a fine grid
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 20000)
    x = rng.standard_normal(y.size) + (2 * y - 1)
    grid = np.linspace(-10, 10, 200001)
    pdf = 0.5 * (np.exp(-(grid + 1) ** 2 / 2) + np.exp(-(grid - 1) ** 2 / 2)) / np.sqrt(2 * np.pi)
    h_x = -np.sum(pdf * np.log(pdf + 1e-300)) * (grid[1] - grid[0])
    exact = h_x - 0.5 * np.log(2 * np.pi * np.e)
    assert knn_mutual_information(x, y) == pytest.approx(exact, abs=0.02)


def test_per_channel_ranking_and_shares():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 3000)
    frames = rng.standard_normal((3000, 4))
    frames[:, 2] += 2.0 * y  # the most informative channel
    frames[:, 0] += 0.5 * y
    mi = channel_mutual_information(frames, y)
    assert list(ranking(mi)[:2]) == [2, 0]
    assert cumulative_share(np.array([3.0, 1.0, 0.0, 0.0])).tolist() == [0.75, 1.0, 1.0, 1.0]
    assert top_share(np.array([0.0, 1.0, 3.0, 0.0])) == 1.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="NaN"):
        knn_mutual_information(np.array([0.0, np.nan, 1.0]), np.array([0, 0, 1]))
    with pytest.raises(ValueError, match="differ in length"):
        knn_mutual_information(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        channel_mutual_information(np.zeros((5, 2)), np.zeros(4))


def test_declared_structure_channels_go_last_in_the_stored_ranking_each_part_in_mi_order():
    from timbre.analysis.channels import structure_last

    ranking = np.array([1, 5, 0, 3, 2, 4])
    assert structure_last(ranking, 2).tolist() == [5, 3, 2, 4, 1, 0]
    assert structure_last(ranking, 0).tolist() == ranking.tolist()
