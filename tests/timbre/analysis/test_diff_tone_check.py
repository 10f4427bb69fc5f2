import numpy as np
import pytest
import torch

from timbre.analysis.diff_tone_check import DiffToneGenerations, paired_against_midpoint


def generations(found, steps):
    n = len(found)
    return DiffToneGenerations(torch.zeros(n, 4), {}, torch.zeros(n), torch.ones(n), np.asarray(found),
                               np.asarray(steps))


def test_diff_tone_is_compared_with_the_midpoint_item_by_item():
    g = generations([True, True, False, True], [12, 3, 8, 10])
    similarity = {"diff-tone": np.array([0.9, 0.5, 0.7, np.nan]), "diff-midpoint": np.array([0.6, 0.6, 0.7, 0.2])}
    hit = {"diff-tone": np.array([True, False, True, True]), "diff-midpoint": np.array([True, True, True, False])}
    result = paired_against_midpoint(hit, similarity, g, steps=16)
    # per item: +0.3, -0.1, 0 (both swapped at 8), and no chroma for the last: it is left out, not counted as 0
    assert result["chroma_similarity"]["mean"] == pytest.approx(0.2 / 3)
    assert result["chroma_similarity"]["items"] == 3
    assert result["chroma_similarity_where_found"]["mean"] == pytest.approx(0.1)
    assert result["chroma_similarity_where_found"]["items"] == 2
    low, high = result["chroma_similarity"]["ci95"]
    assert -0.1 - 1e-9 <= low <= result["chroma_similarity"]["mean"] <= high <= 0.3 + 1e-9
    assert result["target_accuracy"]["mean"] == pytest.approx(0.0)  # 0, -1, 0, +1
    assert result["target_accuracy_where_found"]["mean"] == pytest.approx(0.0)  # 0, -1, +1
    assert result["swap_after_midpoint"] == pytest.approx(2 / 3)  # steps 12 and 10 of the found 12, 3, 10


def test_no_swap_found_leaves_the_found_subset_empty():
    g = generations([False, False], [8, 8])
    same = {"diff-tone": np.array([0.5, 0.4]), "diff-midpoint": np.array([0.5, 0.4])}
    hit = {"diff-tone": np.array([True, False]), "diff-midpoint": np.array([True, False])}
    result = paired_against_midpoint(hit, same, g, steps=16)
    assert result["chroma_similarity"]["mean"] == 0.0 and result["chroma_similarity"]["ci95"] == [0.0, 0.0]
    assert result["chroma_similarity_where_found"]["items"] == 0
    assert np.isnan(result["swap_after_midpoint"])
