"""An evaluation's plan: the pairs (from a table or a transfer run's manifest), the reference sets of FAD/KAD, and
content-keyed shards, so a re-run finds the shards it already wrote."""
import io
import json
from dataclasses import asdict, dataclass

import pandas as pd

from cluster.catalogue import AUDIO_SUFFIXES, TABLE_SUFFIXES, child_uri, read_table
from cluster.manifest import MANIFEST
from cluster.plan import FINGERPRINT, claim_fingerprint, text_hash
from cluster.storage import open_store

EVAL_FOLDER = "_timbre_eval"  # configuration and shard results, at the evaluation's output prefix
CONFIG_KEY = f"{EVAL_FOLDER}/evaluation.json"
SHARDS = f"{EVAL_FOLDER}/shards"
PAIR_COLUMNS = ("source", "output", "target")  # a pairs table needs these; optional: item_id, method, setting,
# target_instrument (a name), reference (a recording of the target for FAD/KAD's reference set)


class EvaluationConflict(Exception):
    """The output prefix already holds an evaluation with another configuration."""


@dataclass(frozen=True)
class EvalConfig:
    """Everything that determines an evaluation's results."""

    pairs: str  # a .parquet/.csv pairs table, or a transfer run's output prefix
    output: str  # where metrics.parquet, summary.parquet and the shards go
    model_id: str  # bundle_fingerprint of the judges' bundle
    shard_size: int = 32  # items per shard: the unit of work, of resumption and of statistics
    kad_frames_per_shard: int = 512  # embedding frames per group a shard keeps for KAD (FAD uses all of them)
    seed: int = 0  # bootstrap and KAD subsampling

    def __post_init__(self):
        if self.shard_size < 1 or self.kad_frames_per_shard < 2:
            raise ValueError("shard_size must be >= 1 and kad_frames_per_shard >= 2")

    def fingerprint(self) -> dict:
        return asdict(self)


def _resolve(uri: str, base: str) -> str:
    """A table's entry as a URI: absolute paths and s3:// URIs as given, others relative to the table's folder."""
    if not uri or uri.startswith(("s3://", "/")):
        return uri
    return child_uri(base, uri)


def pairs_from_table(uri: str) -> pd.DataFrame:
    table = read_table(uri, keep_default_na=False)  # a prompt "NA" stays a prompt
    missing = [c for c in PAIR_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{uri}: a pairs table needs columns {', '.join(PAIR_COLUMNS)}; missing {', '.join(missing)} "
                         f"(it has {', '.join(map(str, table.columns))})")
    base = uri.rpartition("/")[0] or "."
    frame = pd.DataFrame({c: table[c].fillna("").astype(str) if c in table.columns else "" for c in (
        "source", "output", "target", "method", "setting", "target_instrument", "reference", "item_id")})
    for column in ("source", "output", "reference"):
        frame[column] = [_resolve(u.strip(), base) for u in frame[column]]
    frame["target"] = [_resolve(t, base) if t.lower().endswith(AUDIO_SUFFIXES) else t for t in frame["target"]]
    frame["method"] = frame["method"].replace("", "edit")
    frame["transfer_status"] = ""
    return frame


def pairs_from_run(uri: str) -> pd.DataFrame:
    """A transfer run's items: each ok row pairs its stem with its output; the others are carried with their status."""
    store = open_store(uri)
    if not store.exists(FINGERPRINT) or not store.exists(MANIFEST):
        raise ValueError(f"{uri}: neither a pairs table (.parquet/.csv) nor a finished transfer run "
                         f"({FINGERPRINT} and {MANIFEST} are needed)")
    job = json.loads(store.get(FINGERPRINT))
    edits = {e["name"]: e for e in job["edits"]}
    manifest = pd.read_parquet(io.BytesIO(store.get(MANIFEST)))
    rows = []
    for row in manifest.itertuples(index=False):
        edit = edits.get(row.edit, {"target": "", "method": "unknown"})
        ok = row.status == "ok"
        rows.append({"item_id": row.item_id, "source": row.source_uri,
                     "output": child_uri(uri, row.output_key) if ok and row.output_key else "",
                     "target": edit["target"], "method": edit["method"], "setting": row.edit, "target_instrument": "",
                     "reference": "", "transfer_status": "" if ok else f"transfer {row.status}: {row.reason}"})
    return pd.DataFrame(rows, columns=["item_id", "source", "output", "target", "method", "setting",
                                       "target_instrument", "reference", "transfer_status"])


def read_pairs(uri: str) -> pd.DataFrame:
    """The pairs of a table or a run, one row per item with a unique item_id, sorted by it."""
    frame = pairs_from_table(uri) if uri.lower().endswith(TABLE_SUFFIXES) else pairs_from_run(uri)
    if frame.empty:
        raise ValueError(f"{uri}: no pairs to evaluate")
    missing = frame["item_id"] == ""
    frame.loc[missing, "item_id"] = [text_hash(r.source, r.output, r.target, r.method, r.setting)[:20]
                                     for r in frame[missing].itertuples()]
    duplicated = frame["item_id"][frame["item_id"].duplicated()].unique()
    if len(duplicated):
        raise ValueError(f"{uri}: item_id repeated: {', '.join(map(str, duplicated[:5]))}")
    return frame.sort_values("item_id", kind="stable").reset_index(drop=True)


def reference_jobs(pairs: pd.DataFrame) -> tuple[pd.DataFrame, dict[tuple[str, str], str]]:
    """The recordings each (method, setting) group's outputs are compared with in FAD/KAD, once each: the
    `reference` column where given, else the targets where they are recordings, else the sources. Returns the
    jobs (group, uri) and which set each group used."""
    jobs, used = [], {}
    for (method, setting), group in pairs.groupby(["method", "setting"], sort=True):
        for column, name in (("reference", "reference recordings"), ("target", "target recordings"),
                             ("source", "sources")):
            uris = [u for u in group[column] if u and (column != "target" or u.lower().endswith(AUDIO_SUFFIXES))]
            if uris:
                used[(method, setting)] = name
                jobs += [{"method": method, "setting": setting, "uri": u} for u in sorted(set(uris))]
                break
    return pd.DataFrame(jobs, columns=["method", "setting", "uri"]), used


@dataclass(frozen=True)
class Shard:
    """A unit of work: some pairs and some reference recordings; its key hashes its content and the config."""

    key: str
    pairs: tuple[dict, ...]
    references: tuple[dict, ...]


def plan_shards(pairs: pd.DataFrame, references: pd.DataFrame, config: EvalConfig) -> list[Shard]:
    """Pairs in item_id order, then reference recordings, cut into shards of config.shard_size entries."""
    entries = [("pair", r) for r in pairs.to_dict("records")] + [("reference", r) for r in references.to_dict("records")]
    settings = json.dumps({k: v for k, v in config.fingerprint().items() if k not in ("pairs", "output")}, sort_keys=True)
    shards = []
    for first in range(0, len(entries), config.shard_size):
        chunk = entries[first: first + config.shard_size]
        key = text_hash(settings, json.dumps(chunk, sort_keys=True, default=str))[:24]
        shards.append(Shard(key, tuple(r for kind, r in chunk if kind == "pair"),
                            tuple(r for kind, r in chunk if kind == "reference")))
    return shards


def claim_evaluation(store, config: EvalConfig) -> bool:
    """Record the configuration at the output prefix (True) or find the same one there (False: a resume)."""
    return claim_fingerprint(store, CONFIG_KEY, config.fingerprint(), EvaluationConflict, "an evaluation")
