"""Frame-wise f0 by subharmonic summation on magnitude spectra (Hermes 1988), with an interharmonic penalty so that
octave-up candidates lose, and parabolic refinement between candidates: the harmonic codec's own pitch tracker."""
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class PitchTrack:
    """Per STFT frame (B, N): f0 in Hz (held through unvoiced frames) and periodicity in [-1, 1]."""

    hz: Tensor
    periodicity: Tensor


def interpolation_rows(positions: Tensor, bins: int) -> Tensor:
    """Fractional bin positions (...,) -> (..., bins) rows that read a spectrum there by linear interpolation; 0 for
    positions beyond the last bin."""
    low = positions.floor().clamp(0, bins - 1).long()
    frac = (positions - low).clamp(0, 1)
    rows = torch.zeros(*positions.shape, bins, dtype=positions.dtype, device=positions.device)
    inside = (positions < bins - 1).to(positions.dtype)
    rows.scatter_add_(-1, low[..., None], ((1 - frac) * inside)[..., None])
    rows.scatter_add_(-1, (low + 1).clamp(max=bins - 1)[..., None], (frac * inside)[..., None])
    return rows


def salience_matrices(candidates: Tensor, bins: int, bin_hz: float, harmonics: int,
                      decay: float) -> tuple[Tensor, Tensor]:
    """(C,) candidate f0s -> (C, bins) weights reading the harmonics k * f0 and the interharmonics (k - 1/2) * f0,
    k = 1..harmonics, each weighted decay^(k-1) (Hermes's compression of higher harmonics)."""
    k = torch.arange(1, harmonics + 1, dtype=candidates.dtype, device=candidates.device)
    weights = decay ** (k - 1)
    at_harmonics = interpolation_rows(candidates[:, None] * k / bin_hz, bins)
    between = interpolation_rows(candidates[:, None] * (k - 0.5) / bin_hz, bins)
    return (weights[:, None] * at_harmonics).sum(1), (weights[:, None] * between).sum(1)


def track_pitch(magnitude: Tensor, sample_rate: int, n_fft: int, low_hz: float, high_hz: float,
                harmonics: int = 12, decay: float = 0.84, cents_step: float = 10.0,
                voicing: float = 0.3) -> PitchTrack:
    """Magnitude spectra (B, bins, N) -> f0 per frame: the candidate (log-spaced, `cents_step` apart, low..high Hz)
    whose compressed harmonics most exceed its interharmonics, refined by a parabola through its neighbours.
    Periodicity is that excess over their sum; frames at or below `voicing` hold the f0 of the nearest voiced frame
    before them (after them at the start; 261.63 Hz if none is voiced)."""
    bins = magnitude.shape[1]
    steps = int(1200 * torch.log2(torch.tensor(high_hz / low_hz)) / cents_step) + 1
    candidates = low_hz * 2 ** (torch.arange(steps, dtype=torch.float64, device=magnitude.device) * cents_step / 1200)
    on, off = salience_matrices(candidates, bins, sample_rate / n_fft, harmonics, decay)
    compressed = magnitude.double().clamp_min(0).sqrt()
    harmonic = torch.einsum("cf,bfn->bcn", on, compressed)
    interharmonic = torch.einsum("cf,bfn->bcn", off, compressed)
    salience = harmonic - interharmonic
    best = salience.argmax(1)  # (B, N)
    centre = salience.gather(1, best[:, None])[:, 0]
    periodicity = centre / (harmonic + interharmonic).gather(1, best[:, None])[:, 0].clamp_min(1e-12)
    left = salience.gather(1, (best - 1).clamp(min=0)[:, None])[:, 0]
    right = salience.gather(1, (best + 1).clamp(max=steps - 1)[:, None])[:, 0]
    curvature = left - 2 * centre + right
    shift = torch.where(curvature < 0, 0.5 * (left - right) / curvature.clamp(max=-1e-12), torch.zeros_like(centre))
    interior = (best > 0) & (best < steps - 1)
    position = best.double() + torch.where(interior, shift.clamp(-0.5, 0.5), torch.zeros_like(shift))
    hz = low_hz * 2 ** (position * cents_step / 1200)
    return PitchTrack(hold_unvoiced(hz, periodicity > voicing).float(), periodicity.float())


def hold_unvoiced(hz: Tensor, voiced: Tensor, default: float = 261.63) -> Tensor:
    """(B, N) f0 with each unvoiced frame given the f0 of the last voiced frame before it, or of the first one after
    it when none comes before; `default` where a row has no voiced frame."""
    n = hz.shape[1]
    index = torch.arange(n, device=hz.device).expand_as(hz)
    last = torch.where(voiced, index, torch.full_like(index, -1)).cummax(1).values
    first_voiced = torch.where(voiced, index, torch.full_like(index, n)).min(1, keepdim=True).values
    source = torch.where(last >= 0, last, first_voiced.expand_as(last)).clamp(max=n - 1)
    held = hz.gather(1, source)
    return torch.where(voiced.any(1, keepdim=True), held, torch.full_like(held, default))
