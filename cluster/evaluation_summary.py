"""The driver's side of an evaluation: merge the shards into metrics.parquet (one row per item) and
summary.parquet (per method and setting: each metric's mean with a bootstrap 95% interval, FAD and KAD)."""
import io

import numpy as np
import pandas as pd

from cluster.evaluation_plan import EvalConfig, Shard
from cluster.evaluator import GROUP_SEPARATOR, failed_row, shard_keys
from timbre.metrics.bootstrap import mean_with_ci
from timbre.metrics.fad import GaussianStats, fad
from timbre.metrics.item_metrics import METRICS
from timbre.metrics.kad import BANDWIDTH_FROM, KAD_SCALE, kad

METRICS_KEY = "metrics.parquet"
SUMMARY_KEY = "summary.parquet"
KAD_MAX_FRAMES = 10_000  # per side and group: KAD's O(N²) kernel sums stay minutes at most


def read_rows(store, shards: list[Shard], stored: set[str]) -> pd.DataFrame:
    """Every item's row from the stored shards (keys in `stored`); the items of a shard that could not be evaluated
    (its evaluator kept dying) as failed."""
    frames = []
    for shard in shards:
        if shard.key in stored:
            frames.append(pd.read_parquet(io.BytesIO(store.get(shard_keys(shard.key)[0]))))
        elif shard.pairs:
            frames.append(pd.DataFrame([failed_row(p, "its shard was not evaluated (the evaluator failed); a re-run "
                                                      "retries it", True) for p in shard.pairs]))
    return pd.concat(frames, ignore_index=True).sort_values("item_id", kind="stable").reset_index(drop=True)


def read_statistics(store, shards: list[Shard], stored: set[str]) -> dict[str, dict[str, tuple[GaussianStats, list]]]:
    """side ('out', 'ref') -> group -> (merged statistics, frame samples), over the stored shards."""
    merged = {"out": {}, "ref": {}}
    for shard in shards:
        if shard.key not in stored:
            continue
        with np.load(io.BytesIO(store.get(shard_keys(shard.key)[1]))) as data:
            for side in merged:
                i = 0
                while f"{side}{i}_group" in data:
                    group = str(data[f"{side}{i}_group"])
                    stats = GaussianStats(int(data[f"{side}{i}_n"]), data[f"{side}{i}_total"], data[f"{side}{i}_outer"])
                    before, samples = merged[side].get(group, (None, []))
                    merged[side][group] = (stats if before is None else before + stats,
                                           samples + [data[f"{side}{i}_frames"]])
                    i += 1
    return merged


def _kad_frames(samples: list, rng: np.random.Generator) -> np.ndarray:
    frames = np.concatenate(samples).astype(np.float64)
    return frames[np.sort(rng.choice(len(frames), KAD_MAX_FRAMES, replace=False))] if len(frames) > KAD_MAX_FRAMES else frames


def summarise(rows: pd.DataFrame, statistics: dict, reference_sets: dict, config: EvalConfig) -> pd.DataFrame:
    """One row per (method, setting, metric): value, 95% interval, n, and a note of how it was measured."""
    out = []
    for (method, setting), group in rows.groupby(["method", "setting"], sort=True):
        ok = group[group["status"] == "ok"]
        for status in ("ok", "skipped", "failed"):
            out.append((method, setting, f"items_{status}", float((group["status"] == status).sum()), np.nan, np.nan,
                        len(group), ""))
        for metric in METRICS:
            mean, low, high, n = mean_with_ci(ok[metric].to_numpy(dtype=float), seed=config.seed)
            out.append((method, setting, metric, mean, low, high, n, "mean over items, percentile bootstrap 95%"))
        key = f"{method}{GROUP_SEPARATOR}{setting}"
        evaluated, reference = statistics["out"].get(key), statistics["ref"].get(key)
        against = reference_sets.get((method, setting), "none")
        if evaluated and reference and evaluated[0].n >= 2 and reference[0].n >= 2:
            rng = np.random.default_rng(config.seed)
            x, y = _kad_frames(reference[1], rng), _kad_frames(evaluated[1], rng)
            out.append((method, setting, "fad", fad(reference[0], evaluated[0]), np.nan, np.nan, evaluated[0].n,
                        f"against {reference[0].n} frames of the {against}"))
            out.append((method, setting, "kad", kad(x, y), np.nan, np.nan, len(y),
                        f"x{KAD_SCALE:g}, bandwidth from the {BANDWIDTH_FROM} set; {len(x)} frames of the {against}"))
        else:
            for metric in ("fad", "kad"):
                out.append((method, setting, metric, np.nan, np.nan, np.nan, 0, "fewer than 2 frames on a side"))
    return pd.DataFrame(out, columns=["method", "setting", "metric", "value", "ci_low", "ci_high", "n", "note"])


def write_table(store, key: str, frame: pd.DataFrame) -> str:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    store.put(key, buffer.getvalue(), create_only=False)
    return key


def wide_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as a paper's table: one row per method and setting, one column per metric."""
    return summary.pivot_table(index=["method", "setting"], columns="metric", values="value", sort=False)
