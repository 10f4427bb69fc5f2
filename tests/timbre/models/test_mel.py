import numpy as np
import pytest
import torch

from timbre.models.mel import LogMel, hz_to_mel, mel_filterbank, mel_to_hz


def test_filterbank_matches_torchaudio():
    functional = pytest.importorskip("torchaudio.functional")
    ours = mel_filterbank(16000, 1024, 64, 0.0, 8000.0)
    theirs = functional.melscale_fbanks(513, 0.0, 8000.0, 64, 16000, norm=None, mel_scale="htk")
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_mel_scale_round_trips_and_hits_known_points():
    hz = torch.tensor([0.0, 700.0, 1000.0, 8000.0], dtype=torch.float64)
    assert torch.allclose(mel_to_hz(hz_to_mel(hz)), hz)
    assert hz_to_mel(torch.tensor(1000.0)).item() == pytest.approx(1000.0, abs=0.1)  # the scale's anchor


def test_a_sine_lights_the_band_around_its_frequency():
    mel = LogMel(16000, n_mels=64)
    t = torch.arange(16000) / 16000
    out = mel(torch.sin(2 * np.pi * 1000 * t)[None])
    band = int(out[0, :, 10:-10].mean(-1).argmax())
    centres = mel_to_hz(torch.linspace(0, float(hz_to_mel(torch.tensor(8000.0))), 66)[1:-1])
    assert abs(centres[band].item() - 1000) < 60
