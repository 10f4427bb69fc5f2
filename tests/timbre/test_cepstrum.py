import math

import torch

from timbre.cepstrum import cepstral_coefficients, cepstral_envelope, envelope_from_coefficients


def test_the_envelope_keeps_low_quefrencies_and_the_level_only_when_asked():
    bins = torch.arange(129.0)
    smooth = 0.8 * torch.cos(2 * math.pi * 2 * bins / 256) - 0.5 * torch.cos(2 * math.pi * 5 * bins / 256)
    comb = torch.cos(2 * math.pi * 16 * bins / 256)  # quefrency 16, above the lifter
    logmag = -3.0 + smooth + comb
    assert torch.allclose(cepstral_envelope(logmag, 6, dim=-1), -3.0 + smooth, atol=1e-5)
    assert torch.allclose(cepstral_envelope(logmag, 6, dim=-1, level=False), smooth, atol=1e-5)
    assert torch.allclose(cepstral_envelope(logmag, 4, dim=-1), -3.0 + 0.8 * torch.cos(2 * math.pi * 2 * bins / 256),
                          atol=1e-5)  # quefrency 5 is above a lifter of 4
    assert torch.allclose(cepstral_envelope(logmag, 128, dim=-1), logmag, atol=1e-5)  # every quefrency kept


def test_the_envelope_is_taken_along_the_named_dimension():
    g = torch.Generator().manual_seed(0)
    frames = torch.randn(2, 65, 7, generator=g)
    along_bins = cepstral_envelope(frames, 3, dim=1)
    each = torch.stack([cepstral_envelope(frames[:, :, t], 3, dim=-1) for t in range(7)], dim=-1)
    assert along_bins.shape == frames.shape and torch.allclose(along_bins, each, atol=1e-6)


def test_coefficients_rebuild_the_liftered_envelope():
    g = torch.Generator().manual_seed(1)
    frames = torch.randn(3, 5, 129, generator=g)
    for lifter in (0, 4, 20):
        rebuilt = envelope_from_coefficients(cepstral_coefficients(frames, lifter), 129)
        assert rebuilt.shape == frames.shape
        assert torch.allclose(rebuilt, cepstral_envelope(frames, lifter, dim=-1), atol=1e-5)
