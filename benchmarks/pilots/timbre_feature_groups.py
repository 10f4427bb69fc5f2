"""Pilot (issue 3): which part of the timbre the DiT gets wrong, on a harmonic-codec bundle. MI-inpaint with the
codec's own split (every timbre channel renoised, the structure clamped) asks for each held-out melody's instrument
(--target own) or its edit target (--target other); the output's decoded level, harmonic amplitudes and noise floor
are then crossed one group at a time with the reference's (the source for own, the rendition for other), rendered on
the source's pitch and judged by the bundle's audio classifier.
Usage: python benchmarks/pilots/timbre_feature_groups.py --model DIR [--items 20 --target own --cfg 1,2,4
           --steps 16 --sigma-max 80]
"""
import argparse
import json

import torch

from timbre.analysis.edit_quality import EditItems, held_out_items
from timbre.edits import SamplerConfig
from timbre.models.bundle import load_bundle

from split_edit import split_edit_latents  # beside this script

GROUPS = ("level", "harmonics", "floor")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--items", type=int, default=20)
    p.add_argument("--target", choices=("own", "other"), default="own")
    p.add_argument("--cfg", default="1,2,4")
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--sigma-max", type=float, default=SamplerConfig().sigma_max)
    args = p.parse_args()
    bundle = load_bundle(args.model)
    codec = bundle.codec
    held = held_out_items(0, args.items, 4.0, len(bundle.instruments))
    own = args.target == "own"
    items = EditItems(held.waves, held.sources, held.sources) if own else held
    reference = held.waves if own else held.renditions

    def wave(hz, level, amplitudes, floor, stretch=None):
        return codec.waveform(codec.log_magnitude_of(hz, level, amplitudes, floor, stretch).exp(),
                              items.waves.shape[1])

    def heard(audio) -> float:
        return float((bundle.audio_classifier(audio).argmax(-1) == items.targets).float().mean())

    with torch.no_grad():
        source = codec.rendered_frames(codec.encode(items.waves))
        ref = codec.rendered_frames(codec.encode(reference))
        print(json.dumps({"row": "reference timbre on the source's pitch", "heard": heard(wave(source[0], *ref[1:]))}))
        for cfg in (float(v) for v in args.cfg.split(",")):
            sampler = SamplerConfig(steps=args.steps, cfg=cfg, sigma_max=args.sigma_max)
            gen = codec.rendered_frames(split_edit_latents(bundle, items, sampler))
            row = {"cfg": cfg, "generated": heard(wave(source[0], *gen[1:]))}
            for i, group in enumerate(GROUPS, start=1):
                with_ref = [source[0], *(ref[j] if j == i else gen[j] for j in (1, 2, 3))]
                with_gen = [source[0], *(gen[j] if j == i else ref[j] for j in (1, 2, 3))]
                row[f"generated, reference {group}"] = heard(wave(*with_ref))
                row[f"reference, generated {group}"] = heard(wave(*with_gen))
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
