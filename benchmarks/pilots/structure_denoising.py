"""Pilot (issue 3): how exactly does a harmonic-codec bundle's DiT denoise the pitch it would have to generate?

Held-out stems (4 s) are encoded, every channel is noised at each sigma, and the DiT (no channel known, each stem's
instrument prompt) denoises them once. Reported per sigma: the median and mean absolute error of its pitch channels
in semitones (the codec stores log2 f0 scaled to the latent std, so one latent unit is many semitones) against the
noise it was given, and the RMS error of its timbre channels in latent units. A sampler that ends at an error of
a few tenths of a semitone renders notes whose pitch wanders from frame to frame. Whether the error is an offset
held over a note or a jitter from frame to frame: the median change of the pitch error between neighbouring STFT
frames voiced in the clean stem (semitones; sqrt(2) times the error's median for a Gaussian error drawn afresh at
each frame, near 0 for an offset held), and the denoised pitch's changes of more than half a semitone between those
frames per second (the clean stems': `clean_changes_per_s`).
Usage: python benchmarks/pilots/structure_denoising.py --model DIR [--items 32 --sigmas 0.02,0.05,0.1,0.2,0.5,1,2]
"""
import argparse
import json

import torch

from timbre.analysis.edit_quality import held_out_items
from timbre.corpus.prompts import canonical_prompt
from timbre.models.bundle import load_bundle

from generation_parts import VOICING


def frame_to_frame(pitch: torch.Tensor, clean: torch.Tensor, pairs: torch.Tensor, seconds: float) -> dict:
    """Pitch (B, N) in semitones against the clean pitch, over neighbouring frames both voiced (`pairs`, (B, N - 1)):
    the median change of the error from frame to frame, and the pitch's changes of over half a semitone a second."""
    error = pitch - clean
    return {"error_jitter_st": round(float((error[:, 1:] - error[:, :-1])[pairs].abs().median()), 3),
            "changes_per_s": round(float(((pitch[:, 1:] - pitch[:, :-1]).abs()[pairs] > 0.5).sum()) / seconds, 2)}


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--items", type=int, default=32)
    p.add_argument("--sigmas", default="0.02,0.05,0.1,0.2,0.5,1,2")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    bundle = load_bundle(args.model)
    config = bundle.codec.config
    held = held_out_items(0, args.items, 4.0, len(bundle.instruments))
    clean = bundle.codec.encode(held.waves.float())
    cond = bundle.conditioner.embed_text([canonical_prompt(bundle.instruments[i]) for i in held.sources.tolist()])
    semitones = float(bundle.codec.structure_std[0] / bundle.codec.structure_latent_std()[0]) * 12  # pitch first
    denoiser = bundle.edit_model().denoiser
    g = torch.Generator().manual_seed(args.seed)
    rows = {}
    seconds = 4.0 * clean.shape[0]
    clean_frames = bundle.codec.structure_frames(clean)
    clean_midi, voiced = 12 * clean_frames[:, 0], clean_frames[:, 2] > VOICING
    pairs = voiced[:, 1:] & voiced[:, :-1]
    for sigma in [float(s) for s in args.sigmas.split(",")]:
        noisy = clean + sigma * torch.randn(clean.shape, generator=g)
        out = denoiser(noisy, torch.full((clean.shape[0],), sigma), cond)
        pitch = (out - clean)[:, : config.stride].abs() * semitones
        given = (noisy - clean)[:, : config.stride].abs() * semitones
        timbre = (out - clean)[:, config.structure_channels:].pow(2).mean().sqrt()
        rows[f"{sigma:g}"] = {"pitch_median_st": round(float(pitch.median()), 3),
                              "pitch_mean_st": round(float(pitch.mean()), 3),
                              "noise_median_st": round(float(given.median()), 3),
                              "timbre_rmse": round(float(timbre), 4),
                              **frame_to_frame(12 * bundle.codec.structure_frames(out)[:, 0], clean_midi, pairs,
                                               seconds)}
    print(json.dumps({"model": args.model, "items": args.items, "semitones_per_latent_unit": round(semitones, 2),
                      "clean_changes_per_s": frame_to_frame(clean_midi, clean_midi, pairs, seconds)["changes_per_s"],
                      "sigmas": rows}, indent=1))


if __name__ == "__main__":
    main()
