import math

import pytest
import torch

from timbre.pitch_tracking import hold_unvoiced, interpolation_rows, track_pitch

RATE, N_FFT, HOP = 16000, 1024, 256


def _tone(f0: float, amplitudes, seconds: float = 0.5) -> torch.Tensor:
    t = torch.arange(int(seconds * RATE)) / RATE
    return sum(a * torch.sin(2 * math.pi * (k + 1) * f0 * t + k) for k, a in enumerate(amplitudes))


def _magnitude(wave: torch.Tensor) -> torch.Tensor:
    return torch.stft(wave, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True).abs()


def test_interpolation_rows_read_a_linear_spectrum_exactly():
    rows = interpolation_rows(torch.tensor([0.0, 2.25, 7.5, 9.5]), 10)
    spectrum = torch.arange(10.0) * 3 + 1
    assert torch.allclose(rows @ spectrum, torch.tensor([1.0, 7.75, 23.5, 0.0]))  # beyond the last bin reads 0


@pytest.mark.parametrize("f0, amplitudes", [
    (224.75, [1 / k for k in range(1, 20)]),  # every harmonic, 1/k
    (146.8, [1 / k if k % 2 else 0.02 for k in range(1, 30)]),  # clarinet-like: weak even harmonics
    (987.8, [1.0, 0.6, 0.4, 0.2]),  # high, few harmonics
    (311.1, [0.05, 1.0, 0.8, 0.6, 0.5, 0.4]),  # a weak fundamental
])
def test_the_tracker_finds_f0_within_a_few_cents_without_octave_errors(f0, amplitudes):
    track = track_pitch(_magnitude(0.1 * _tone(f0, amplitudes)[None]), RATE, N_FFT, 110.0, 1250.0)
    inner = track.hz[0, 3:-3]
    cents = 1200 * torch.log2(inner / f0)
    assert cents.abs().max() < 5, cents
    assert (track.periodicity[0, 3:-3] > 0.5).all()


def test_noise_is_aperiodic_and_holds_the_last_voiced_pitch():
    g = torch.Generator().manual_seed(0)
    wave = torch.cat([0.1 * _tone(220.0, [1 / k for k in range(1, 12)]), 0.05 * torch.randn(8000, generator=g)])
    track = track_pitch(_magnitude(wave[None]), RATE, N_FFT, 110.0, 1250.0)
    noise = slice(40, 60)
    assert (track.periodicity[0, noise] < 0.3).all()
    last_voiced = int((track.periodicity[0, :40] > 0.3).nonzero().max())
    assert (track.hz[0, noise] == track.hz[0, last_voiced]).all()
    assert abs(1200 * math.log2(float(track.hz[0, last_voiced]) / 220.0)) < 10


def test_hold_unvoiced_fills_from_the_last_voiced_frame_else_the_first_after():
    hz = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    voiced = torch.tensor([[False, True, False, False, True], [False] * 5])
    held = hold_unvoiced(hz, voiced, default=9.0)
    assert held.tolist() == [[2.0, 2.0, 2.0, 2.0, 5.0], [9.0] * 5]
