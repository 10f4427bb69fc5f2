"""Pilot (issue 3) for a codec that splits its channels: how much of the instrument does a time-pooled smooth
spectral envelope carry? Each held-out melody's log-magnitude STFT has its own pooled envelope (frames within
60 dB of the loudest, cepstrally liftered) replaced by its donor's (another melody on the target instrument);
source phase kept. Judged as the trade-off judges edits. With --per-frame, each frame's own envelope and level
(quefrencies 0..lifter) are replaced by those of the rendition's frame (the same notes on the target instrument):
what a source-filter split would allow if the envelope channels were generated perfectly.
Usage: python benchmarks/pilots/envelope_swap.py [--model default --items 40 --per-frame]
"""
import argparse
import json

import torch

from timbre.analysis.edit_quality import edit_scores, held_out_items, source_and_rendition_contours
from timbre.cepstrum import cepstral_envelope
from timbre.models.bundle import load_bundle

N_FFT, HOP = 1024, 256


def pooled_envelope(log_magnitude: torch.Tensor, lifter: int) -> torch.Tensor:
    """(N, F, T) log-magnitudes -> (N, F): mean over the non-silent frames, smoothed by keeping quefrencies
    0..lifter - 1."""
    energy = log_magnitude.exp().pow(2).sum(-2)
    keep = (energy > energy.amax(-1, keepdim=True) * 1e-6).float()[:, None]
    mean = (log_magnitude * keep).sum(-1) / keep.sum(-1).clamp_min(1)
    return cepstral_envelope(mean, lifter - 1, dim=-1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--items", type=int, default=40)
    p.add_argument("--per-frame", action="store_true", help="swap each frame's envelope with the rendition's")
    args = p.parse_args()
    bundle = load_bundle(args.model)
    items = held_out_items(0, args.items, 4.0, len(bundle.instruments))
    rate, window = bundle.sample_rate, torch.hann_window(N_FFT)
    source_contour, rendition_contour = source_and_rendition_contours(items)
    spec = torch.stft(items.waves, N_FFT, HOP, window=window, return_complex=True)

    def log_magnitude(x):
        return torch.stft(x, N_FFT, HOP, window=window, return_complex=True).abs().clamp_min(1e-5).log()

    log_source, log_donor = spec.abs().clamp_min(1e-5).log(), log_magnitude(items.donors)
    log_rendition = log_magnitude(items.renditions)
    for lifter in (10, 30, 80, 512):
        if args.per_frame:
            swapped = log_source - cepstral_envelope(log_source, lifter) + cepstral_envelope(log_rendition, lifter)
        else:
            swapped = (log_source - pooled_envelope(log_source, lifter)[..., None]
                       + pooled_envelope(log_donor, lifter)[..., None])
        out = torch.istft(swapped.exp() * torch.exp(1j * spec.angle()), N_FFT, HOP, window=window,
                          length=items.waves.shape[1])
        out = out / out.abs().amax(-1, keepdim=True).clamp_min(1e-6) * items.waves.abs().amax(-1, keepdim=True)
        scores = edit_scores(bundle, items, out.float(), source_contour, rendition_contour)
        print(json.dumps({"lifter": lifter, **scores}))


if __name__ == "__main__":
    main()
