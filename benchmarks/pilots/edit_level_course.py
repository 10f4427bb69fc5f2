"""Pilot: the level course of a few MI-inpaint edits as the model decodes them, in 100 ms frames beside the source's.

`edit_level.py` sums how far edits stray from their source's level; this prints the course itself for the first
`--items` held-out melodies (their whole clip's RMS level in dB) and, for the items named by `--show`, each 100 ms
frame's level in dB of the source and of the edit, with the largest jump between neighbouring frames of the edit.
Usage: python benchmarks/pilots/edit_level_course.py --model M --cfg 4 --space basis --k 0.5 --clamp 0.5
       [--items 8] [--show 0 3]
"""
import argparse
import json

import torch

from timbre.analysis.edit_quality import held_out_items, run_edits
from timbre.edits import EditSpec, SamplerConfig
from timbre.models.bundle import load_bundle


def frame_db(waves: torch.Tensor, hop: int) -> torch.Tensor:
    """(N, samples) -> (N, frames) RMS level in dB of consecutive `hop`-sample frames."""
    frames = waves[:, : waves.shape[1] // hop * hop].reshape(waves.shape[0], -1, hop)
    return 10 * frames.pow(2).mean(-1).clamp_min(1e-12).log10()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--space", default="basis", choices=("basis", "raw"))
    p.add_argument("--k", type=float, default=0.5)
    p.add_argument("--clamp", type=float, default=0.5)
    p.add_argument("--cfg", type=float, default=4.0)
    p.add_argument("--items", type=int, default=8)
    p.add_argument("--show", type=int, nargs="*", default=[0, 3])
    args = p.parse_args()
    bundle = load_bundle(args.model)
    items = held_out_items(0, args.items, 4.0, len(bundle.instruments))
    spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=16, cfg=args.cfg), k=args.k, clamp=args.clamp)
    with torch.no_grad():
        edited = run_edits(bundle, items, spec, args.space, 0, level_seconds=0)  # the model's own course
    whole = lambda w: (10 * w.pow(2).mean(-1).clamp_min(1e-12).log10()).round().tolist()  # noqa: E731
    print(json.dumps({"model": args.model, "cfg": args.cfg, "source_db": whole(items.waves),
                      "edit_db": whole(edited)}))
    hop = bundle.sample_rate // 10
    source, edit = frame_db(items.waves, hop), frame_db(edited, hop)
    for i in args.show:
        print(json.dumps({"item": i, "source_100ms_db": source[i].round().tolist(),
                          "edit_100ms_db": edit[i].round().tolist(),
                          "edit_largest_jump_db": round(float(edit[i].diff().abs().max()), 1)}))


if __name__ == "__main__":
    main()
