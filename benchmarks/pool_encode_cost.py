"""Benchmark: the training pool's encoding, whole zero-padded rows against `encode_pool`'s rows cut to their length.

Renders the full scale's pool (`--stems` 10 s stems and `--notes` notes padded to 2 s, every row zero-padded to the
stems' width), encodes it both ways with a bundle's codec, side by side in one run, and prints the seconds of each,
their ratio, the largest difference between the two on every frame but each row's last (which only the whole row
sees end), and each differing row's real frames and first differing frame. Run it alone on the cores.
Usage: python benchmarks/pool_encode_cost.py --model DIR [--stems 300 --notes 1500]
"""
import argparse
import json
import time

import torch

from timbre.models.bundle import load_bundle
from timbre.training.classifiers import encode_pool
from timbre.training.pool import corpus_pool


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--stems", type=int, default=300)
    p.add_argument("--notes", type=int, default=1500)
    args = p.parse_args()
    codec = load_bundle(args.model).codec
    start = time.perf_counter()
    pool = corpus_pool(0, args.stems, args.notes, 2.0)
    rendered = time.perf_counter() - start
    start = time.perf_counter()
    whole = torch.cat([codec.encode(rows) for rows in pool.audio.split(32)])
    whole_seconds = time.perf_counter() - start
    start = time.perf_counter()
    by_length = encode_pool(codec, pool)
    by_length_seconds = time.perf_counter() - start
    difference = (whole[..., :-1] - by_length[..., :-1]).abs().amax(1)  # (rows, frames)
    differing = {int(r): {"real_frames": -(-int(pool.lengths[r]) // codec.hop_length),
                          "first_differing_frame": int((difference[r] > 1e-6).nonzero()[0, 0])}
                 for r in (difference.amax(1) > 1e-6).nonzero()[:, 0].tolist()[:10]}
    print(json.dumps({"model": args.model, "rows": int(pool.audio.shape[0]), "pool_seconds_of_audio":
                      round(float(pool.lengths.sum()) / codec.sample_rate), "padded_seconds":
                      round(pool.audio.numel() / codec.sample_rate), "render_s": round(rendered, 1),
                      "whole_rows_s": round(whole_seconds, 1), "by_length_s": round(by_length_seconds, 1),
                      "ratio": round(whole_seconds / by_length_seconds, 2),
                      "max_difference": float(difference.max()), "differing_rows": differing}))


if __name__ == "__main__":
    main()
