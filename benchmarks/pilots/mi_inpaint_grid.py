"""Pilot (issue 3): MI-inpaint on a finer grid of k (share of directions renoised as timbre), clamp (share of the
steps the structure is pinned for) and guidance than `timbre analyse tradeoff` sweeps, on the same held-out melodies
and scores (target accuracy, median cents, share within 50 cents, voiced frames kept).

The tradeoff's basis points straddle the issue's bars: k 0.5 clamp 0.5 reaches 60% target with 69% of frames within
50 cents, k 0.75 clamp 1 57% with 78%. This asks whether a point between meets both. A point picked on one item set
is confirmed on another (--first skips that many held-out melodies) before it is quoted.
Usage: python benchmarks/pilots/mi_inpaint_grid.py [--space basis] [--ks 0.5 0.625 0.75] [--clamps 0.625 0.75 0.875]
       [--cfgs 4] [--items 40] [--first 0]
"""
import argparse
import dataclasses
import json
import time

import torch

from timbre.analysis.edit_quality import edit_scores, held_out_items, run_edits
from timbre.edits import EditSpec, SamplerConfig
from timbre.metrics.pitch import pitch_contour
from timbre.models.bundle import load_bundle


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--space", default="basis", choices=("basis", "raw"))
    p.add_argument("--ks", type=float, nargs="+", default=[0.5, 0.625, 0.75])
    p.add_argument("--clamps", type=float, nargs="+", default=[0.625, 0.75, 0.875])
    p.add_argument("--cfgs", type=float, nargs="+", default=[4.0])
    p.add_argument("--items", type=int, default=40)
    p.add_argument("--first", type=int, default=0, help="held-out melodies skipped (another item set)")
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    bundle = load_bundle(args.model)
    every = held_out_items(0, args.first + args.items, args.seconds, len(bundle.instruments))
    items = dataclasses.replace(every, **{f.name: getattr(every, f.name)[args.first:]
                                          for f in dataclasses.fields(every)})
    source, rendition = (pitch_contour(w, bundle.sample_rate) for w in (items.waves, items.renditions))
    for cfg in args.cfgs:
        for k in args.ks:
            for clamp in args.clamps:
                start = time.perf_counter()
                spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=args.steps, cfg=cfg), k=k, clamp=clamp)
                with torch.no_grad():
                    edited = run_edits(bundle, items, spec, args.space, args.seed)
                scores = edit_scores(bundle, items, edited, source, rendition)
                print(json.dumps({"space": args.space, "k": k, "clamp": clamp, "cfg": cfg, "first": args.first,
                                  **{name: round(v, 3) if isinstance(v, float) else v for name, v in scores.items()},
                                  "seconds": round(time.perf_counter() - start, 1)}), flush=True)


if __name__ == "__main__":
    main()
