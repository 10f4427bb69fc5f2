"""Pilot (issue 3) for a harmonic codec: is an instrument heard once its notes are re-rendered as harmonics at the
source's pitch with another instrument's harmonic amplitudes? Each held-out melody's STFT frames are rebuilt from
the source's PESTO pitch as harmonics k * f0 (Hann main lobes) plus a smooth noise floor, with amplitudes taken
  - from the source itself (the model's own ceiling: does harmonics-plus-floor keep the instrument?),
  - frame by frame from the rendition (the same notes on the target): timbre channels per frame, generated perfectly,
  - from the donor (another melody on the target), pooled over its frames by harmonic index and scaled by the
    source's level: a constant timbre code over a (pitch, level) structure,
and decoded by Griffin-Lim as the codecs are. Frames the source leaves unvoiced keep their own spectrum (in one row,
the rendition's instead). Judged as
the trade-off judges edits (the default bundle's audio classifier, PESTO against the source).
Usage: python benchmarks/pilots/harmonic_swap.py [--model default --items 40 --harmonics 64]
"""
import argparse
import json

import torch
import torch.nn.functional as F

from timbre.analysis.edit_quality import edit_scores, held_out_items, source_and_rendition_contours
from timbre.cepstrum import cepstral_envelope
from timbre.metrics.pitch import STEP_MS, pitch_contour
from timbre.models.bundle import load_bundle
from timbre.models.codec import griffin_lim

N_FFT, HOP, FLOOR_LIFTER = 1024, 256, 20


def main_lobe(offsets: torch.Tensor) -> torch.Tensor:
    """|Hann window transform| at fractional bin offsets, 1 at 0 (sampled from an 8x zero-padded FFT)."""
    spectrum = torch.fft.rfft(torch.hann_window(N_FFT), n=8 * N_FFT).abs()
    spectrum = spectrum / spectrum[0]
    index = (offsets.abs() * 8).round().long().clamp(max=spectrum.numel() - 1)
    return torch.where(offsets.abs() < 2.5, spectrum[index], torch.zeros(()))


def frame_pitch(waves: torch.Tensor, rate: int, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """PESTO pitch (B, frames) in Hz at the STFT frame centres, and whether each frame is voiced."""
    contour = pitch_contour(waves, rate)
    at = (torch.arange(frames) * HOP / rate * 1000 / STEP_MS).round().long().clamp(max=contour.hz.shape[1] - 1)
    return contour.hz[:, at], contour.voiced[:, at]


def harmonic_amplitudes(magnitude: torch.Tensor, f0: torch.Tensor, rate: int, count: int) -> torch.Tensor:
    """(B, F, T) magnitudes and (B, T) pitch -> (B, count, T): the peak within a bin of each harmonic k * f0 (0 above
    Nyquist)."""
    bins = magnitude.shape[1]
    centre = torch.arange(1, count + 1).view(1, -1, 1) * f0[:, None] * N_FFT / rate  # (B, K, T)
    peaks = []
    for shift in (-1, 0, 1):
        index = (centre.round().long() + shift).clamp(0, bins - 1)
        peaks.append(magnitude.gather(1, index))
    return torch.where(centre < bins - 2, torch.stack(peaks).amax(0), torch.zeros(()))


def noise_floor(magnitude: torch.Tensor) -> torch.Tensor:
    """(B, F, T) -> the smooth lower envelope of each frame: a 9-bin minimum, then cepstrally smoothed."""
    low = -F.max_pool1d(-magnitude.permute(0, 2, 1).flatten(0, 1)[:, None], 9, 1, 4)[:, 0]
    log = low.reshape(magnitude.shape[0], magnitude.shape[2], -1).permute(0, 2, 1).clamp_min(1e-5).log()
    return cepstral_envelope(log, FLOOR_LIFTER, dim=1).exp()


def log_level(magnitude: torch.Tensor) -> torch.Tensor:
    """(B, F, T) -> (B, 1, T): log of each frame's root-sum-square over F, floored at 1e-5."""
    return magnitude.pow(2).sum(1, keepdim=True).clamp_min(1e-10).log() / 2


def render(amplitudes: torch.Tensor, f0: torch.Tensor, floor: torch.Tensor, rate: int) -> torch.Tensor:
    """Harmonics k * f0 with the given amplitudes (B, K, T), as Hann main lobes, over a noise floor (B, F, T)."""
    bins = floor.shape[1]
    centre = torch.arange(1, amplitudes.shape[1] + 1).view(1, -1, 1, 1) * f0[:, None, None] * N_FFT / rate
    lobes = main_lobe(torch.arange(bins).view(1, 1, -1, 1) - centre)  # (B, K, F, T)
    return (amplitudes[:, :, None] * lobes).sum(1) + floor


def pooled_by_index(amplitudes: torch.Tensor, voiced: torch.Tensor) -> torch.Tensor:
    """(B, K, T) -> (B, K): mean log amplitude of each harmonic relative to its frame's harmonic level, over voiced
    frames where the harmonic lies below Nyquist."""
    relative = amplitudes.clamp_min(1e-5).log() - log_level(amplitudes)
    present = (amplitudes > 0) & voiced[:, None]
    return (relative * present).sum(-1) / present.sum(-1).clamp_min(1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--items", type=int, default=40)
    p.add_argument("--harmonics", type=int, default=64)
    args = p.parse_args()
    bundle = load_bundle(args.model)
    items = held_out_items(0, args.items, 4.0, len(bundle.instruments))
    rate, window, length = bundle.sample_rate, torch.hann_window(N_FFT), items.waves.shape[1]

    def magnitude(x):
        return torch.stft(x, N_FFT, HOP, window=window, return_complex=True).abs()

    source, rendition, donor = magnitude(items.waves), magnitude(items.renditions), magnitude(items.donors)
    frames = source.shape[-1]
    f0, voiced = frame_pitch(items.waves, rate, frames)
    donor_f0, donor_voiced = frame_pitch(items.donors, rate, frames)
    own = harmonic_amplitudes(source, f0, rate, args.harmonics)
    level = log_level(own)
    code = pooled_by_index(harmonic_amplitudes(donor, donor_f0, rate, args.harmonics), donor_voiced)
    donor_floor = (noise_floor(donor).log() - log_level(donor)).mean(-1, keepdim=True)  # relative to frame energy
    source_energy = log_level(source)
    per_frame = harmonic_amplitudes(rendition, f0, rate, args.harmonics)
    rows = {  # amplitudes, noise floor, and the spectrum of the frames the source leaves unvoiced
        "source harmonics": (own, noise_floor(source), source),
        "rendition harmonics per frame": (per_frame, noise_floor(rendition), source),
        "the same, unvoiced frames from the rendition": (per_frame, noise_floor(rendition), rendition),
        "donor harmonics pooled by index": ((level + code[..., None]).exp() * (own > 0), (source_energy + donor_floor).exp(),
                                            source),
    }
    source_contour, rendition_contour = source_and_rendition_contours(items)
    for name, (amplitudes, floor, unvoiced) in rows.items():
        rebuilt = torch.where(voiced[:, None], render(amplitudes, f0, floor, rate), unvoiced)
        out = griffin_lim(rebuilt, N_FFT, HOP, length, 48)
        scores = edit_scores(bundle, items, out.float(), source_contour, rendition_contour)
        print(json.dumps({"row": name, **scores}), flush=True)


if __name__ == "__main__":
    main()
