"""Pilot (issue 3): Diff-TONE and its baselines on recordings (held-out corpus melodies), regenerating every channel
(k 1, the paper's) or only the MI ranking's top k with the rest held to the source's inversion path
(`DiffToneParams.k`), scored as `mi_inpaint_grid.py` scores MI-inpaint: target accuracy, median cents, share within
50 cents, voiced frames kept, on the same items, with the level course made the source's over 1 s as the product
writes edits. The demo found Diff-TONE's edits of recordings losing the melody (837 cents): it regenerates the
harmonic codec's structure channels too.
--fallbacks sets where Diff-TONE swaps when its classifier never changes its mind (on recordings, most items).
--estimates sets what its classifier reads each step (DiffToneParams.estimate: guided, unconditional).
Usage: python benchmarks/pilots/diff_tone_recordings.py [--model default] [--methods diff-tone diff-midpoint]
       [--ks 1 0.75] [--cfgs 4] [--fallbacks 0.5] [--items 120] [--first 0] [--steps 16] [--by-instrument]
       [--space raw] [--estimates guided unconditional]
"""
import argparse
import itertools
import json
import time

import torch

from timbre.analysis.edit_quality import edit_scores, held_out_items, run_edits, source_and_rendition_contours
from timbre.edits import EditSpec, SamplerConfig
from timbre.edits.diff_tone import ESTIMATES
from timbre.models.bundle import load_bundle


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--methods", nargs="+", default=["diff-tone", "diff-midpoint", "diff-random"])
    p.add_argument("--ks", type=float, nargs="+", default=[1.0, 0.75])
    p.add_argument("--cfgs", type=float, nargs="+", default=[4.0])
    p.add_argument("--fallbacks", type=float, nargs="+", default=[0.5], help="diff-tone's fallback swap fractions")
    p.add_argument("--estimates", nargs="+", default=["guided"], choices=ESTIMATES,
                   help="what diff-tone's classifier reads each step")
    p.add_argument("--items", type=int, default=120)
    p.add_argument("--first", type=int, default=0, help="held-out melodies skipped (another item set)")
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--by-instrument", action="store_true", help="also each target's accuracy and voicing kept")
    p.add_argument("--space", choices=("raw", "basis"), default=None,
                   help="where k splits the channels (default: the bundle's edit default space, else its first)")
    args = p.parse_args()
    bundle = load_bundle(args.model)
    items = held_out_items(0, args.items, args.seconds, len(bundle.instruments), first=args.first)
    source, rendition = source_and_rendition_contours(items)
    for cfg, k, method in itertools.product(args.cfgs, args.ks, args.methods):
        tone = method == "diff-tone"
        for fallback, estimate in itertools.product(*([args.fallbacks, args.estimates] if tone else [[None], [None]])):
            start = time.perf_counter()
            spec = EditSpec.build(method, SamplerConfig(steps=args.steps, cfg=cfg), k=k,
                                  **({"fallback": fallback, "estimate": estimate} if tone else {}))
            with torch.no_grad():
                edited = run_edits(bundle, items, spec, args.space, args.seed)
            scores = edit_scores(bundle, items, edited, source, rendition)
            print(json.dumps({"method": method, "space": args.space or bundle.default_space, "k": k, "cfg": cfg,
                              "steps": args.steps, "first": args.first,
                              **({"fallback": fallback, "estimate": estimate} if tone else {}),
                              **{name: round(v, 4) if isinstance(v, float) else v for name, v in scores.items()
                                 if args.by_instrument or not name.endswith("by_instrument")},
                              "seconds": round(time.perf_counter() - start, 1)}), flush=True)


if __name__ == "__main__":
    main()
