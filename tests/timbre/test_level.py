import numpy as np
import pytest

from timbre.level import level_course_db, match_level

RATE = 16000


def _tone(seconds: float, hz: float = 220.0, amplitude: float = 0.2) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * hz * t))[None].astype(np.float32)


def test_a_constant_gain_is_undone_exactly_and_reported():
    source = _tone(3.0)
    for gain_db in (30.0, -10.0):
        matched, facts = match_level(source * 10 ** (gain_db / 20), source, RATE, 1.0, 24.0)
        np.testing.assert_allclose(matched, source, atol=1e-5)
        assert facts["level_gain_db_median"] == pytest.approx(-gain_db, abs=1e-3)


def test_a_slow_level_course_is_taken_back_to_the_sources():
    source = _tone(6.0)
    ramp_db = np.linspace(40.0, -10.0, source.shape[1])  # 50 dB over 6 s: slow against a 1 s window
    matched, _ = match_level(source * 10 ** (ramp_db / 20), source, RATE, 1.0, 24.0)
    error = level_course_db(matched, RATE, 0.1) - level_course_db(source, RATE, 0.1)
    assert np.abs(error[:, 50:-50]).max() < 1.0  # within 1 dB away from the clip's ends


def test_note_envelopes_faster_than_the_window_stay_the_edits():
    source = _tone(4.0)  # one held note
    t = (np.arange(source.shape[1]) % (RATE // 2)) / RATE  # eight struck notes of 0.5 s, each falling 40 dB
    edited = (source * 10 ** (-80 * t / 20) * 100).astype(np.float32)  # and 40 dB too loud
    matched, _ = match_level(edited, source, RATE, 1.0, 24.0)
    course = level_course_db(matched, RATE, 0.02)[0]
    onsets, tails = course[[205, 255, 305]], course[[245, 295, 345]]  # frames 0.05 s and 0.45 s into notes 5-7
    assert (onsets - tails).min() > 25.0  # each note still falls most of its 40 dB
    assert abs(np.median(level_course_db(matched, RATE, 1.0)[0, 100:-100] - level_course_db(source, RATE, 1.0)[0, 100:-100])) < 1.0


def test_a_rest_in_the_source_stays_a_rest_and_a_silent_edit_is_not_raised_past_the_limit():
    source = np.concatenate([_tone(1.5), np.zeros((1, 2 * RATE), np.float32), _tone(1.5)], axis=1)
    matched, _ = match_level(_tone(5.0), source, RATE, 1.0, 24.0)
    assert level_course_db(matched[:, int(2.2 * RATE): int(2.8 * RATE)], RATE, 0.1).max() < -90.0
    quiet, facts = match_level(source * 1e-4, source, RATE, 1.0, 24.0)  # 80 dB down: raised 24 dB, no more
    np.testing.assert_allclose(quiet[:, : RATE], source[:, : RATE] * 1e-4 * 10 ** (24 / 20), rtol=1e-4, atol=1e-9)
    assert facts["level_gain_db_max"] == pytest.approx(24.0)


def test_each_channel_follows_its_own_source_channel_and_shapes_must_agree():
    source = np.concatenate([_tone(2.0, amplitude=0.2), _tone(2.0, amplitude=0.02)])  # panned: right 20 dB down
    matched, _ = match_level(np.concatenate([_tone(2.0), _tone(2.0)]), source, RATE, 1.0, 24.0)
    np.testing.assert_allclose(matched, source, atol=1e-5)
    with pytest.raises(ValueError, match="one shape"):
        match_level(source[:1], source, RATE, 1.0, 24.0)
