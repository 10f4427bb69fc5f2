"""FAD and KAD at 10,000 x 512 (issue 5): the blocked, sharded computation against the exact one, with the memory
each needs, and evaluation throughput on the cores at hand.

  1. FAD from 10 shards' merged statistics    vs scipy.linalg.sqrtm on numpy.cov of all frames (target 1e-6 rel.)
  2. KAD blocked (1024), median by histogram  vs full N x N kernel matrices and numpy.median of every pair distance
  3. peak memory of each (tracemalloc sees numpy's allocations): O(d²) + O(block²) against O(N²)
  4. evaluation items/s: `timbre evaluate` on Ray over 4 s melodies, one evaluator vs one per core

The embeddings are Gaussian with different random covariances (a correlated, realistic spectrum), float64.
Usage: python benchmarks/fad_kad_scale.py [--n 10000 --dim 512 --items 32 --skip-throughput]
"""
import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import scipy.linalg

from timbre.metrics.fad import GaussianStats, fad
from timbre.metrics.kad import KAD_SCALE, kad


def embeddings(n: int, dim: int, seed: int, shift: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((dim, dim)) / np.sqrt(dim) * np.linspace(1.5, 0.1, dim)
    return rng.standard_normal((n, dim)) @ mixing + shift


def measured(fn):
    """(result, seconds, peak MiB of new allocations)."""
    tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, seconds, peak


def exact_fad(x: np.ndarray, y: np.ndarray) -> float:
    """The textbook formula, as the reference implementations compute it."""
    mx, my, cx, cy = x.mean(0), y.mean(0), np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    root = scipy.linalg.sqrtm(cx @ cy).real
    return float(((mx - my) ** 2).sum() + np.trace(cx + cy - 2 * root))


def exact_kad(x: np.ndarray, y: np.ndarray) -> float:
    """Full kernel matrices; bandwidth numpy.median over every distinct pair of x."""
    def sq(a, b):
        return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0)

    dxx = sq(x, x)
    sigma = float(np.median(np.sqrt(dxx[np.triu_indices(len(x), 1)])))
    gamma = 1 / (2 * sigma**2)
    kxx = np.exp(-gamma * dxx)
    del dxx
    m, n = len(x), len(y)
    xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    del kxx
    kyy = np.exp(-gamma * sq(y, y))
    yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    del kyy
    xy = np.exp(-gamma * sq(x, y)).mean()
    return float(KAD_SCALE * (xx + yy - 2 * xy))


def sharded_fad(x: np.ndarray, y: np.ndarray, shards: int = 10) -> float:
    merge = lambda a: sum((GaussianStats.of(part) for part in np.array_split(a, shards)[1:]),
                          GaussianStats.of(np.array_split(a, shards)[0]))
    return fad(merge(x), merge(y))


def throughput(items: int, workers: int) -> float:
    """items/s of `timbre evaluate` over held-out melodies (4 s, their renditions as outputs), on Ray."""
    import pandas as pd
    import ray
    import soundfile as sf

    from cluster.driver import RunOptions
    from cluster.evaluation_driver import run_evaluation
    from cluster.evaluation_plan import EvalConfig
    from timbre.analysis.edit_quality import held_out_items
    from timbre.models.bundle import bundle_fingerprint, default_bundle

    bundle = default_bundle()
    data = held_out_items(0, items, 4.0, len(bundle.instruments))
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        rows = []
        for i in range(items):
            sf.write(root / f"s{i}.wav", data.waves[i].numpy(), bundle.sample_rate)
            sf.write(root / f"o{i}.wav", data.renditions[i].numpy(), bundle.sample_rate)
            rows.append({"source": f"s{i}.wav", "output": f"o{i}.wav",
                         "target": bundle.instruments[int(data.targets[i])]})
        pd.DataFrame(rows).to_csv(root / "pairs.csv", index=False)
        config = EvalConfig(str(root / "pairs.csv"), str(root / "out"), bundle_fingerprint(bundle), shard_size=4)
        ray.shutdown()
        result = run_evaluation(config, "default", RunOptions(editors=workers, progress=False, object_store_mb=300),
                                log=lambda _: None)
        ray.shutdown()
        # the evaluators' own time, start-up (Ray, actors importing torch, numba's cache) left out
        metrics = pd.read_parquet(root / "out" / "metrics.parquet")
        busy = metrics["seconds"].sum() / workers
        return items / result.seconds, items / busy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--items", type=int, default=32)
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    x, y = embeddings(args.n, args.dim, 0, 0.0), embeddings(args.n, args.dim, 1, 0.05)
    print(f"embeddings: 2 x {args.n} x {args.dim} float64")
    for name, ours, exact in (("FAD", lambda: sharded_fad(x, y), lambda: exact_fad(x, y)),
                              ("KAD", lambda: kad(x, y), lambda: exact_kad(x, y))):
        (a, ta, ma), (b, tb, mb) = measured(ours), measured(exact)
        print(f"{name}: ours {a:.9g} in {ta:.1f} s, peak {ma:.0f} MiB | exact {b:.9g} in {tb:.1f} s, peak {mb:.0f} MiB"
              f" | relative difference {abs(a - b) / abs(b):.2e} | memory exact/ours {mb / ma:.1f}x")
    if not args.skip_throughput:
        import os

        cores = os.cpu_count()
        one = throughput(args.items, 1)
        many = throughput(args.items, cores)
        print(f"evaluation, {args.items} items of 4 s: 1 evaluator {one[0]:.2f} items/s end to end "
              f"({one[1]:.2f} busy) | {cores} evaluators {many[0]:.2f} items/s end to end ({many[1]:.2f} busy) | "
              f"ratio {many[0] / one[0]:.2f}x end to end")


if __name__ == "__main__":
    main()
