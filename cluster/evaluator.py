"""The work of one evaluation shard: read each pair's audio, measure it, and store the shard's item rows and its
mergeable statistics (FAD's Gaussian statistics and a bounded sample of frames for KAD) per (method, setting)."""
import io
import time

import numpy as np
import pandas as pd
import torch

from cluster.catalogue import AUDIO_SUFFIXES
from cluster.evaluation_plan import SHARDS, EvalConfig, Shard
from cluster.storage import StorageError, split_uri
from timbre.audio import decode_audio, resample
from timbre.errors import AudioError
from timbre.metrics.embedding_frames import embedding_frames
from timbre.metrics.fad import GaussianStats
from timbre.metrics.item_metrics import METRICS, Judges, Pair, evaluate_pair
from cluster.model_store import load_model
from timbre.models.bundle import bundle_fingerprint

MAX_SECONDS = 900.0  # longer recordings are refused (a 15-minute stem is not a stem)
GROUP_SEPARATOR = "\t"


def shard_keys(key: str) -> tuple[str, str]:
    """Where a shard's item rows and its statistics are stored."""
    return f"{SHARDS}/{key}.parquet", f"{SHARDS}/{key}.npz"


def attempt_marker(key: str, attempt: int, retry: bool) -> str:
    """Written last, after rows and statistics: the shard's attempt count and whether a retry may fix it, in the
    name, so one listing tells the driver every shard's state."""
    return f"{SHARDS}/{key}.attempt-{attempt}.{'retry' if retry else 'done'}"


def stored_shards(store) -> dict[str, tuple[int, bool]]:
    """shard key -> (attempts, latest attempt left retryable failures), from one listing of the shards folder."""
    state = {}
    for entry in store.list(SHARDS):
        key, _, rest = entry.key.rpartition("/")[2].partition(".attempt-")
        number, _, outcome = rest.partition(".")
        if number.isdigit() and int(number) > state.get(key, (0, False))[0]:
            state[key] = (int(number), outcome == "retry")
    return state


def read_mono(uri: str, rate: int) -> np.ndarray:
    """A recording as a mono float32 wave at `rate` (channels averaged); AudioError or StorageError naming it."""
    store, key = split_uri(uri)
    audio = decode_audio(store.get(key), uri)
    if audio.duration > MAX_SECONDS:
        raise AudioError(f"{uri}: {audio.duration:.0f} s long, over the {MAX_SECONDS:.0f} s evaluation limit")
    mono = audio.samples.mean(axis=1, keepdims=True)
    return np.ascontiguousarray(resample(mono, audio.sample_rate, rate)[:, 0], dtype=np.float32)


class _Groups:
    """Per-group statistics of a shard: FAD's sums over every frame, and a seeded sample of frames for KAD."""

    def __init__(self, dim: int, keep: int, rng: np.random.Generator):
        self.dim, self.keep, self.rng = dim, keep, rng
        self.stats, self.frames = {}, {}

    def add(self, group: str, frames: np.ndarray):
        if len(frames) == 0:
            return
        self.stats[group] = self.stats.get(group, GaussianStats.empty(self.dim)) + GaussianStats.of(frames)
        kept = np.concatenate([self.frames.get(group, np.zeros((0, self.dim))), frames])
        if len(kept) > self.keep:  # a uniform sample without replacement of everything seen so far
            kept = kept[np.sort(self.rng.choice(len(kept), self.keep, replace=False))]
        self.frames[group] = kept

    def arrays(self, side: str) -> dict[str, np.ndarray]:
        out = {}
        for i, group in enumerate(sorted(self.stats)):
            s = self.stats[group]
            out.update({f"{side}{i}_group": np.array(group), f"{side}{i}_n": np.array(s.n), f"{side}{i}_total": s.total,
                        f"{side}{i}_outer": s.outer, f"{side}{i}_frames": self.frames[group].astype(np.float32)})
        return out


def failed_row(pair: dict, reason: str, retryable: bool, status: str = "failed") -> dict:
    return {**pair, "status": status, "reason": reason, "retryable": retryable,
            **{m: float("nan") for m in METRICS}, "predicted": None, "frames": 0}


def _target_instrument(judges: Judges, pair: dict) -> int | None:
    name = pair.get("target_instrument") or ""
    if name:
        lowered = [n.lower() for n in judges.instruments]
        return lowered.index(name.lower()) if name.lower() in lowered else None
    return None if pair["target"].lower().endswith(AUDIO_SUFFIXES) else judges.instrument_of(pair["target"])


def evaluate_shard(shard: Shard, judges: Judges, rate: int, config: EvalConfig, store, attempt: int = 1) -> dict:
    """Measure a shard and store it (rows, statistics, then its attempt marker, each written whole); returns its
    counts by status."""
    groups = {side: _Groups(judges.embedder.dim, config.kad_frames_per_shard,
                            np.random.default_rng(int(shard.key[:8], 16) + (side == "ref")))
              for side in ("out", "ref")}
    rows, targets = [], {}
    for pair in shard.pairs:
        start = time.perf_counter()
        group = f"{pair['method']}{GROUP_SEPARATOR}{pair['setting']}"
        if pair.get("transfer_status"):
            rows.append(failed_row(pair, pair["transfer_status"], False, "skipped"))
            continue
        if not pair["source"] or not pair["output"]:
            rows.append(failed_row(pair, f"pair lacks its {'source' if not pair['source'] else 'output'}", False))
            continue
        try:
            source, output = read_mono(pair["source"], rate), read_mono(pair["output"], rate)
            target = pair["target"]
            is_audio = target.lower().endswith(AUDIO_SUFFIXES)
            if is_audio and target not in targets:
                targets[target] = read_mono(target, rate)
        except StorageError as e:
            rows.append(failed_row(pair, str(e), True))
            continue
        except AudioError as e:
            rows.append(failed_row(pair, str(e), False))
            continue
        result = evaluate_pair(judges, Pair(pair["item_id"], source, output, rate, None if is_audio else target,
                                            targets.get(target) if is_audio else None, _target_instrument(judges, pair)))
        groups["out"].add(group, result.output_frames)
        rows.append({**pair, "status": "ok", "reason": result.reason, "retryable": False, **result.values,
                     "frames": len(result.output_frames), "seconds": time.perf_counter() - start})
    for reference in shard.references:
        group = f"{reference['method']}{GROUP_SEPARATOR}{reference['setting']}"
        try:
            wave = read_mono(reference["uri"], rate)
        except (StorageError, AudioError):
            continue  # a reference recording that cannot be read is left out of the reference set (and counted)
        groups["ref"].add(group, embedding_frames(judges.embedder, torch.from_numpy(wave), rate))
    rows_key, stats_key = shard_keys(shard.key)
    buffer = io.BytesIO()
    np.savez(buffer, **groups["out"].arrays("out"), **groups["ref"].arrays("ref"),
             references_listed=np.array(len(shard.references)))
    store.put(stats_key, buffer.getvalue(), create_only=False)
    table = io.BytesIO()
    pd.DataFrame(rows).to_parquet(table, index=False)
    store.put(rows_key, table.getvalue(), create_only=False)
    store.put(attempt_marker(shard.key, attempt, any(r["retryable"] for r in rows)), b"", create_only=False)
    return pd.Series([r["status"] for r in rows], dtype=object).value_counts().to_dict()


class Evaluator:
    """Holds the judges' bundle (loaded once per process); evaluates shards. Runs as a Ray actor or plainly."""

    def __init__(self, model: str, config: EvalConfig, threads: int | None = None):
        if threads:
            torch.set_num_threads(threads)
        bundle = load_model(model)
        if bundle_fingerprint(bundle) != config.model_id:
            raise ValueError(f"model {model} is {bundle_fingerprint(bundle)}, but the evaluation was planned for "
                             f"{config.model_id}")
        self.judges, self.rate, self.config = Judges.of(bundle), bundle.sample_rate, config

    def evaluate(self, shard: Shard, store, attempt: int = 1) -> dict:
        return evaluate_shard(shard, self.judges, self.rate, self.config, store, attempt)
