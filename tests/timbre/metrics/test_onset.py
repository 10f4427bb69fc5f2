import math

import mir_eval
import numpy as np
import pytest

from timbre.corpus.dataset import SAMPLE_RATE, stem_example
from timbre.metrics.onset import detect_onsets, onset_f1


def _greedy_f1(reference, estimated, window=0.05):
    """F1 of a hand-checkable case where onsets are far apart (so a greedy match is the optimal one)."""
    unused, hits = list(estimated), 0
    for r in reference:
        near = [e for e in unused if abs(e - r) <= window]
        if near:
            unused.remove(near[0])
            hits += 1
    return 2 * hits / (len(reference) + len(estimated))


def test_f1_equals_mir_eval_and_a_hand_count_on_the_same_onsets():
    reference = np.array([0.5, 1.0, 1.5, 2.0, 3.0])
    estimated = np.array([0.52, 1.049, 1.6, 2.0, 2.5, 3.01])  # 4 within 50 ms, 1.6 and 2.5 are not
    expected = mir_eval.onset.f_measure(reference, estimated, window=0.05)[0]
    assert onset_f1(reference, estimated) == expected == pytest.approx(_greedy_f1(reference, estimated))
    assert onset_f1(reference, estimated) == pytest.approx(2 * 4 / 11)


def test_empty_onset_lists():
    assert math.isnan(onset_f1(np.array([]), np.array([0.1])))
    assert onset_f1(np.array([0.1]), np.array([])) == 0.0


def test_detector_finds_the_ground_truth_onsets_of_held_out_melodies():
    stems = [s for s in (stem_example(0, "test", i) for i in range(12)) if s.voices == 1][:6]
    scores = [onset_f1(np.array([n.onset for n in s.notes]), detect_onsets(s.audio, SAMPLE_RATE)) for s in stems]
    assert np.mean(scores) > 0.85
    same = detect_onsets(stems[0].audio, SAMPLE_RATE)
    assert onset_f1(same, same) == 1.0
    late = detect_onsets(np.concatenate([np.zeros(int(0.1 * SAMPLE_RATE), np.float32), stems[0].audio]), SAMPLE_RATE)
    assert onset_f1(same, late) < 0.2  # every onset 100 ms late: outside the 50 ms window
