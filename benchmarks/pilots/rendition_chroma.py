"""Pilot (issue 3, thirty-third session): the chroma similarity a perfect timbre change keeps.

Diff-TONE's content metric (`timbre.metrics.chroma.chroma_similarity`) folds every partial into its pitch class, so
an instrument with other partial strengths has another chroma on the very same notes. This prints the similarity of
held-out melodies to their renditions (the same notes played by the target instrument, what a perfect edit gives),
through the bundle's codec and as rendered, beside a source's own codec round trip and another melody by the target
instrument (what losing the notes gives), overall and by target.
Usage: python benchmarks/pilots/rendition_chroma.py [--model default] [--items 120] [--seconds 4]
"""
import argparse
import json

import numpy as np

from timbre.analysis.edit_quality import codec_round_trip, held_out_items
from timbre.corpus.synth import SAMPLE_RATE
from timbre.metrics.chroma import chroma_similarity
from timbre.models.bundle import load_bundle


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--items", type=int, default=120)
    p.add_argument("--seconds", type=float, default=4.0)
    args = p.parse_args()
    bundle = load_bundle(args.model)
    items = held_out_items(0, args.items, args.seconds, len(bundle.instruments))
    compared = {"rendition": items.renditions,
                "rendition through the codec": codec_round_trip(bundle, items.renditions),
                "source through the codec": codec_round_trip(bundle, items.waves),
                "another melody by the target": items.donors}
    result = {}
    for name, other in compared.items():
        similarity = chroma_similarity(items.waves, other, SAMPLE_RATE).numpy()
        by_target = {bundle.instruments[t]: float(np.nanmean(similarity[items.targets.numpy() == t]))
                     for t in range(len(bundle.instruments))}
        result[name] = {"mean": float(np.nanmean(similarity)), "by_target": by_target}
    print(json.dumps({"model": args.model, "items": args.items, "seconds": args.seconds, **result}, indent=2))


if __name__ == "__main__":
    main()
