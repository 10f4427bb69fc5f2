"""Pilot (issue 3): how a harmonic codec's structure channels differ between instruments, and how the paper's MI
ranking would place them. MI-inpaint holds every structure channel of the source (the analysis ranks them last); an
edit to a target whose structure differs from the source's (the flute's breathy, less periodic frames) then asks the
DiT for the target's timbre on the source's structure.

Prints, per instrument, the quartiles of each STFT frame's periodicity and the 99th percentile of its onset
strength (onsets are a few frames in a hundred) over held-out stems, then each structure channel's instrument and
pitch MI from the bundle's analysis record and its rank by instrument MI among all channels (0: the most
instrument-informative, as the paper ranks).
Usage: python benchmarks/pilots/structure_by_instrument.py [--model default] [--stems 60]"""
import argparse
import json
from collections import defaultdict

import numpy as np
import torch

from timbre.analysis.mutual_information import ranking
from timbre.corpus.dataset import stem_example
from timbre.models.bundle import bundle_folder, load_bundle


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--stems", type=int, default=60)
    args = p.parse_args()
    bundle = load_bundle(args.model)
    codec, seed = bundle.codec, int(bundle.provenance.get("corpus_seed", 0))
    periodicity, onset = defaultdict(list), defaultdict(list)
    for i in range(args.stems):
        stem = stem_example(seed, "test", i)
        frames = codec.structure_frames(codec.encode(torch.from_numpy(stem.audio[None])))[0]
        name = bundle.instruments[stem.instrument]
        onset[name].append(frames[1].numpy())
        periodicity[name].append(frames[2].numpy())
    for name in bundle.instruments:
        per, on = np.concatenate(periodicity[name]), np.concatenate(onset[name])
        print(json.dumps({"instrument": name, "stems": len(periodicity[name]),
                          "periodicity_quartiles": [round(float(q), 3) for q in np.percentile(per, [25, 50, 75])],
                          "onset_p99": round(float(np.percentile(on, 99)), 3)}))
    record = json.loads((bundle_folder(args.model) / "training" / "mi.json").read_text())
    instrument, pitch = np.array(record["raw_instrument_mi"]), np.array(record["raw_pitch_mi"])
    rank = np.argsort(ranking(instrument), kind="stable")  # each channel's place in the analysis's own ranking
    print(json.dumps({"median_channel_instrument_mi": round(float(np.median(instrument)), 3),
                      "structure_channels": [{"channel": c, "instrument_mi": round(float(instrument[c]), 3),
                                              "pitch_mi": round(float(pitch[c]), 3), "rank": int(rank[c])}
                                             for c in range(codec.structure_channels)]}))


if __name__ == "__main__":
    main()
