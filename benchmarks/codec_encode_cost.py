"""Benchmark: what a codec costs to encode, and for a harmonic codec that reads a stiffness, the search's share.

Encodes the first `--clips` training stems (10 s each) `--reps` times and prints the median seconds of the log
magnitude, the harmonic analysis, its stiffness read (`read_stiffness`, given the tracked pitch) and the whole encode,
with the encode's cost per pool of `--pool` clips. Run it alone on the cores: torch's threads fighting a training for
two cores inflate these figures about fifty times.
Usage: python benchmarks/codec_encode_cost.py --model DIR [--clips 8 --reps 3 --pool 1800]
"""
import argparse
import json

import torch

from timbre.corpus.dataset import stem_example
from timbre.models.bundle import load_bundle
from timbre.pitch_tracking import track_pitch

from dit_throughput import median_seconds  # this script's folder is on the path when it runs


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--clips", type=int, default=8)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--pool", type=int, default=1800)
    args = p.parse_args()
    codec = load_bundle(args.model).codec
    waves = torch.stack([torch.from_numpy(stem_example(0, "train", i).audio) for i in range(args.clips)]).float()
    logmag = codec.log_magnitude(waves)
    parts = {"log_magnitude": lambda: codec.log_magnitude(waves), "encode": lambda: codec.encode(waves)}
    if hasattr(codec, "analyse"):
        parts["analyse"] = lambda: codec.analyse(logmag)
    if getattr(codec.config, "stretch_max", 0) > 0:
        c, magnitude = codec.config, logmag.exp()
        hz = track_pitch(magnitude, codec.sample_rate, c.n_fft, c.low_hz, c.high_hz).hz
        parts["read_stiffness"] = lambda: codec.read_stiffness(logmag, magnitude, hz)
    seconds = {name: round(median_seconds(fn, args.reps, 0, "cpu")[0], 3) for name, fn in parts.items()}
    print(json.dumps({"model": args.model, "clips": args.clips, "clip_seconds": waves.shape[1] / codec.sample_rate,
                      "threads": torch.get_num_threads(), "median_seconds": seconds,
                      "encode_per_pool_s": round(seconds["encode"] * args.pool / args.clips)}, indent=1))


if __name__ == "__main__":
    main()
