import math

import pytest
import torch

from timbre.metrics.pitch import LISTENING_PEAK_DBFS, Contour, cents, listening_gain, pitch_agreement, pitch_contour
from timbre.metrics.spectral import multi_resolution_spectral_distance

RATE = 16000


def _sine(hz, seconds=1.0):
    t = torch.arange(int(seconds * RATE)) / RATE
    return 0.5 * torch.sin(2 * math.pi * hz * t)


def test_spectral_distance_is_zero_for_identical_waves_and_log2_for_a_doubling():
    noise = torch.randn(2, RATE, generator=torch.Generator().manual_seed(0))
    assert multi_resolution_spectral_distance(noise, noise).abs().max().item() == 0.0
    assert multi_resolution_spectral_distance(noise, 2 * noise).tolist() == pytest.approx([math.log(2)] * 2, rel=0.02)


def test_spectral_distance_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="differ in shape"):
        multi_resolution_spectral_distance(torch.zeros(1, 100), torch.zeros(1, 101))


def test_a_semitone_is_100_cents_and_identity_is_0():
    a, b = pitch_contour(torch.stack([_sine(440), _sine(440)]), RATE), pitch_contour(
        torch.stack([_sine(440), _sine(440 * 2 ** (1 / 12))]), RATE)
    same, shifted = pitch_agreement(a, a), pitch_agreement(a, b)
    assert same["median_cents"] == 0.0 and same["within_50_cents"] == 1.0 and same["voiced_kept"] == 1.0
    assert shifted["within_50_cents"] == pytest.approx(0.5, abs=0.05)  # one of the two items moved a semitone


def test_silenced_frames_count_against_voicing_not_the_median():
    source = Contour(torch.full((1, 10), 220.0), torch.ones(1, 10))
    half = Contour(torch.full((1, 10), 220.0), torch.tensor([[1.0] * 5 + [0.0] * 5]))
    result = pitch_agreement(source, half)
    assert result["median_cents"] == 0.0 and result["voiced_kept"] == 0.5


def test_voicing_is_also_counted_only_where_the_reference_stays_voiced():
    source = Contour(torch.full((1, 10), 220.0), torch.ones(1, 10))
    reference = Contour(torch.full((1, 10), 220.0), torch.tensor([[1.0] * 4 + [0.0] * 6]))  # a decaying note
    output = Contour(torch.full((1, 10), 220.0), torch.tensor([[1.0] * 3 + [0.0] * 5 + [1.0] * 2]))
    result = pitch_agreement(source, output, reference)
    assert result["voiced_kept"] == 0.5 and result["voiced_kept_where_reference_voiced"] == 0.75
    assert "voiced_kept_where_reference_voiced" not in pitch_agreement(source, output)


def _fading(hz, seconds=1.0, fade_db=40.0):
    """A harmonic tone whose level falls by fade_db over its length, as a plucked note's does."""
    t = torch.arange(int(seconds * RATE)) / RATE
    tone = sum(0.5 ** k * torch.sin(2 * math.pi * hz * (k + 1) * t) for k in range(6))
    return tone / tone.abs().max() * 10 ** (-fade_db * t / seconds / 20)


def test_listening_gain_puts_each_peak_at_the_listening_level_and_leaves_silence_alone():
    waves = torch.stack([0.01 * _sine(220), 2.0 * _sine(220), torch.zeros(RATE)])
    gain = listening_gain(waves)
    peaks = (waves * gain).abs().amax(-1)
    assert peaks[:2].tolist() == pytest.approx([10 ** (LISTENING_PEAK_DBFS / 20)] * 2, rel=1e-6)
    assert gain[2].item() == 1.0


def test_a_contour_does_not_depend_on_the_gain_a_clip_was_rendered_at():
    note = _fading(220)
    loud, quiet = pitch_contour(note[None], RATE), pitch_contour(0.003 * note[None], RATE)
    assert 0.5 < loud.voiced.float().mean() < 1.0  # the fade's tail is unvoiced even at full scale
    assert torch.equal(loud.voiced, quiet.voiced)
    assert cents(quiet.hz, loud.hz)[loud.voiced].abs().max() < 1.0


def test_an_output_is_tracked_at_its_sources_level_so_a_faded_output_loses_its_voicing():
    source, output = _fading(220, fade_db=0)[None], 10 ** (-60 / 20) * _fading(220, fade_db=0)[None]
    alone = pitch_agreement(pitch_contour(source, RATE), pitch_contour(output, RATE))
    against = pitch_agreement(pitch_contour(source, RATE), pitch_contour(output, RATE, reference=source))
    assert alone["voiced_kept"] > 0.95 and against["voiced_kept"] == 0.0
    with pytest.raises(ValueError, match="reference has 2 clips for 1 waves"):
        pitch_contour(output, RATE, reference=source.expand(2, -1))
