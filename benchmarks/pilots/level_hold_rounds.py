"""Pilot: how closely `HarmonicCodec.hold_level` brings a changed estimate's rendered level back, round by round,
and how much its level directions move the other timbre features.

Held-out melodies are encoded, their timbre channels pushed by `--push` times standard normal noise (a stand-in for
guidance's change, seeded), and the pushed latents held to the encoded ones' rendered level with 0 to `--rounds`
corrections. Prints the median and largest error in nats over the frames within 6 nats of each clip's loudest, and
the change to every other timbre feature per nat of level along the level directions (RMS and largest).
Usage: python benchmarks/pilots/level_hold_rounds.py --model OUT39 [--items 8] [--push 0.5] [--rounds 4]
"""
import argparse
import json

import torch

from timbre.analysis.edit_quality import held_out_items
from timbre.models.bundle import load_bundle


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="a bundle with a harmonic codec")
    p.add_argument("--items", type=int, default=8)
    p.add_argument("--push", type=float, default=0.5)
    p.add_argument("--rounds", type=int, default=4)
    args = p.parse_args()
    bundle = load_bundle(args.model)
    codec = bundle.codec
    c = codec.config
    weight = codec.dec_linear.weight.detach()[:, :, 0]
    others = weight[c.stride:] @ codec.level_directions()[c.structure_channels:]  # per nat of level
    print(json.dumps({"other_features_per_nat_rms": round(float(others.pow(2).mean().sqrt()), 4),
                      "other_features_per_nat_max": round(float(others.abs().max()), 4)}))
    items = held_out_items(0, args.items, 4.0, len(bundle.instruments))
    with torch.no_grad():
        z = codec.encode(items.waves)
        pushed = z.clone()
        noise = torch.randn(z[:, c.structure_channels:].shape, generator=torch.Generator().manual_seed(0))
        pushed[:, c.structure_channels:] += args.push * noise
        wanted = codec.rendered_level(z)
        loud = wanted > wanted.amax(-1, keepdim=True) - 6
        for rounds in range(args.rounds + 1):
            error = (codec.rendered_level(codec.hold_level(pushed, z, rounds=rounds)) - wanted).abs()[loud]
            print(json.dumps({"rounds": rounds, "error_nats_median": round(float(error.median()), 5),
                              "error_nats_max": round(float(error.max()), 4)}), flush=True)


if __name__ == "__main__":
    main()
