import itertools
import math

import numpy as np
import pytest
import torch

from timbre.metrics.dpd import dtw_path_costs, dynamic_pitch_distance, pitch_class_cents
from timbre.metrics.pitch import Contour, pitch_contour

RATE = 16000


def _contour(hz, voiced=None):
    hz = torch.tensor([hz], dtype=torch.float32)
    return Contour(hz, torch.ones_like(hz) if voiced is None else torch.tensor([voiced], dtype=torch.float32))


def _plain_dtw_total(cost):
    """Textbook O(n m) DTW, cell by cell: an independent check of the anti-diagonal version."""
    n, m = cost.shape
    d = np.full((n + 1, m + 1), np.inf)
    d[0, 0] = 0
    for i, j in itertools.product(range(1, n + 1), range(1, m + 1)):
        d[i, j] = cost[i - 1, j - 1] + min(d[i - 1, j - 1], d[i - 1, j], d[i, j - 1])
    return d[n, m]


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (9, 13), (20, 20)])
def test_dtw_total_matches_a_textbook_implementation(shape):
    cost = np.random.default_rng(sum(shape)).random(shape)
    steps = dtw_path_costs(cost)
    assert steps.sum() == pytest.approx(_plain_dtw_total(cost), abs=1e-12)
    assert max(shape) <= len(steps) <= sum(shape) - 1  # a monotone path visits at least max(n, m) cells


def test_identical_contours_are_0_and_a_transposition_by_n_semitones_is_100n_cents():
    melody = [220.0 * 2 ** (p / 12) for p in (0, 0, 2, 4, 4, 5, 7, 7, 7, 12)]
    same = dynamic_pitch_distance(_contour(melody), _contour(melody))
    assert (same.cents, same.pitch_class_cents, same.within_50_cents, same.voiced_kept) == (0.0, 0.0, 1.0, 1.0)
    held = [330.0] * 12
    for n in (1, 3, -5, 12):
        moved = dynamic_pitch_distance(_contour(held), _contour([f * 2 ** (n / 12) for f in held]))
        assert moved.cents == pytest.approx(100 * abs(n), abs=1e-3)
        assert moved.pitch_class_cents == pytest.approx(min(100 * abs(n) % 1200, 1200 - 100 * abs(n) % 1200), abs=1e-3)
        # A melody lets DTW pair shifted notes with their neighbours, so a transposition costs at most 100 n.
        assert 0 < dynamic_pitch_distance(_contour(melody), _contour([f * 2 ** (n / 12) for f in melody])).cents <= 100 * abs(n)


def test_dtw_absorbs_a_change_of_tempo_that_a_frame_aligned_distance_does_not():
    melody = [220.0] * 10 + [330.0] * 10
    slower = [220.0] * 14 + [330.0] * 6  # the same notes, the change four frames late
    assert dynamic_pitch_distance(_contour(melody), _contour(slower)).cents == 0.0


def test_pitch_class_distance_folds_octaves():
    assert pitch_class_cents(np.array([0.0]), np.array([1200.0, 1300.0, 1900.0, -700.0])).tolist() == [[0, 100, 500, 500]]


def test_silence_gives_nan_with_a_reason_and_silenced_notes_count_against_voicing():
    melody = [220.0] * 10
    silent = dynamic_pitch_distance(_contour(melody), _contour(melody, [0.0] * 10))
    assert math.isnan(silent.cents) and silent.reason == "output has no voiced frames" and silent.voiced_kept == 0.0
    empty = dynamic_pitch_distance(_contour(melody, [0.0] * 10), _contour(melody))
    assert empty.reason == "source has no voiced frames" and empty.source_voiced_frames == 0
    half = dynamic_pitch_distance(_contour(melody), _contour(melody, [1.0] * 5 + [0.0] * 5))
    assert half.cents == 0.0 and half.voiced_kept == 0.5


def _tone(hz, seconds=1.0):
    t = torch.arange(int(seconds * RATE)) / RATE
    return sum(0.3 / k * torch.sin(2 * math.pi * k * hz * t) for k in (1, 2, 3))


@pytest.mark.parametrize("semitones", [0, 2, 7])
def test_pesto_contours_of_a_transposed_tone_are_about_100n_cents_apart(semitones):
    source = pitch_contour(_tone(220.0)[None], RATE)
    moved = pitch_contour(_tone(220.0 * 2 ** (semitones / 12))[None], RATE)
    result = dynamic_pitch_distance(source, moved)
    assert result.cents == pytest.approx(100 * semitones, abs=5)
    assert result.voiced_kept > 0.9
