"""Pilot (issue 3, thirty-third session): what the audio judge hears where one target instrument is asked for.

Takes the held-out melodies (of the first --items) whose target is --target, and prints what the bundle's audio
classifier hears in their sources, their renditions by the target (as rendered and through the codec: the judge's and
the codec's ceiling), and in MI-inpaint's edits at the bundle's defaults (k 0.75, clamp 1, raw channels) at each
guidance scale in --cfgs, scored as the product writes them (level course matched over 1 s). It asks whether a weak
target is a judge's or codec's limit, a matter of guidance, or the DiT's.
Usage: python benchmarks/pilots/target_confusion.py [--target oboe] [--items 240] [--cfgs 1 2 4 7]
"""
import argparse
import dataclasses
import json
from collections import Counter

import torch

from timbre.analysis.edit_quality import codec_round_trip, held_out_items, run_edits
from timbre.edits import EditSpec, SamplerConfig
from timbre.models.bundle import load_bundle


def heard_as(bundle, audio: torch.Tensor) -> dict[str, int]:
    """Counts of the judge's top-1 instrument over the clips, most heard first."""
    with torch.no_grad():
        predicted = bundle.audio_classifier(audio).argmax(-1).tolist()
    return dict(Counter(bundle.instruments[p] for p in predicted).most_common())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--target", default="oboe")
    p.add_argument("--items", type=int, default=240)
    p.add_argument("--cfgs", type=float, nargs="+", default=[1.0, 2.0, 4.0, 7.0])
    p.add_argument("--steps", type=int, default=16)
    args = p.parse_args()
    bundle = load_bundle(args.model)
    target = bundle.instruments.index(args.target)
    items = held_out_items(0, args.items, 4.0, len(bundle.instruments))
    chosen = items.targets == target
    items = dataclasses.replace(items, **{field.name: getattr(items, field.name)[chosen]
                                          for field in dataclasses.fields(items)
                                          if getattr(items, field.name) is not None})
    print(json.dumps({"target": args.target, "items": int(chosen.sum()),
                      "sources": dict(Counter(bundle.instruments[int(s)] for s in items.sources).most_common()),
                      "sources_heard_as": heard_as(bundle, items.waves),
                      "renditions_heard_as": heard_as(bundle, items.renditions),
                      "renditions_through_codec_heard_as": heard_as(bundle,
                                                                    codec_round_trip(bundle, items.renditions))}),
          flush=True)
    for cfg in args.cfgs:
        spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=args.steps, cfg=cfg), k=0.75, clamp=1.0)
        with torch.no_grad():
            edited = run_edits(bundle, items, spec, "raw", 0, level_seconds=1.0)
        print(json.dumps({"cfg": cfg, "edits_heard_as": heard_as(bundle, edited)}), flush=True)


if __name__ == "__main__":
    main()
