"""The run manifest: one row per item, written in create-only Parquet parts as work finishes, so an interrupted
run keeps every finished row; a re-run reads them to skip what is done."""
import io
import uuid

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cluster.catalogue import JOB_FOLDER

PARTS = f"{JOB_FOLDER}/manifest"
MANIFEST = "manifest.parquet"
STATUSES = ("ok", "skipped", "failed")
SCHEMA = pa.schema([
    ("item_id", pa.string()), ("source_uri", pa.string()), ("edit", pa.string()), ("seed", pa.int64()),
    ("status", pa.string()), ("reason", pa.string()), ("error_class", pa.string()), ("retryable", pa.bool_()),
    ("output_key", pa.string()), ("content_hash", pa.string()), ("sample_rate", pa.int64()), ("channels", pa.int64()),
    ("frames", pa.int64()), ("seconds_audio", pa.float64()), ("windows", pa.int64()),
    ("peak_in", pa.float64()), ("peak_out", pa.float64()), ("rms_in_db", pa.float64()), ("rms_out_db", pa.float64()),
    ("level_gain_db_median", pa.float64()), ("level_gain_db_min", pa.float64()), ("level_gain_db_max", pa.float64()),
    ("clipped_samples", pa.int64()), ("seconds_fetch", pa.float64()), ("seconds_edit", pa.float64()),
    ("seconds_store", pa.float64()), ("finished_at", pa.float64()), ("attempts", pa.int64()),
])
MAX_ATTEMPTS = 3  # runs that may try an item that keeps failing for a retryable cause; then it is left alone


def _table(rows: list[dict]) -> pa.Table:
    for row in rows:
        if row.get("status") not in STATUSES:
            raise ValueError(f"manifest row {row.get('item_id')}: status must be one of {STATUSES}, got {row.get('status')!r}")
        unknown = set(row) - set(SCHEMA.names)
        if unknown:
            raise ValueError(f"manifest row {row.get('item_id')}: unknown columns {sorted(unknown)}")
    return pa.Table.from_pylist([{name: row.get(name) for name in SCHEMA.names} for row in rows], schema=SCHEMA)


def write_part(store, rows: list[dict]) -> str:
    """Write rows as one new part; returns its key."""
    buffer = io.BytesIO()
    pq.write_table(_table(rows), buffer)
    key = f"{PARTS}/part-{uuid.uuid4().hex}.parquet"
    store.put(key, buffer.getvalue())
    return key


def read_manifest(store) -> pd.DataFrame:
    """Every row of every part, the latest row per item (a retried item's earlier failure is superseded)."""
    frames = [pq.read_table(io.BytesIO(store.get(e.key)), schema=SCHEMA).to_pandas()
              for e in store.list(PARTS) if e.key.endswith(".parquet")]
    if not frames:
        return SCHEMA.empty_table().to_pandas()
    rows = pd.concat(frames, ignore_index=True).sort_values("finished_at", kind="stable")
    return rows.drop_duplicates("item_id", keep="last").reset_index(drop=True)


def finished(manifest: pd.DataFrame) -> set[str]:
    """Items a re-run leaves alone: done, skipped for a reason, failed for a reason retrying will not fix, or
    failed in MAX_ATTEMPTS runs already (a poison input is never retried forever)."""
    spent = manifest["attempts"].fillna(1) >= MAX_ATTEMPTS
    terminal = manifest["status"].isin(("ok", "skipped")) | (
        (manifest["status"] == "failed") & (~manifest["retryable"].astype(bool) | spent))
    return set(manifest.loc[terminal, "item_id"])


def attempts(manifest: pd.DataFrame) -> dict[str, int]:
    """Runs that have tried each item so far."""
    return dict(zip(manifest["item_id"], manifest["attempts"].fillna(1).astype(int)))


def consolidate(store, manifest: pd.DataFrame) -> str:
    """The whole manifest as one Parquet file at the output prefix (rewritten each run)."""
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(manifest, schema=SCHEMA, preserve_index=False), buffer)
    store.put(MANIFEST, buffer.getvalue(), create_only=False)
    return MANIFEST


class ManifestWriter:
    """Buffers finished rows and writes a part every `every` rows (and on flush); counts each item's attempts on
    from `before` (item id -> runs that tried it)."""

    def __init__(self, store, before: dict[str, int] | None = None, every: int = 64):
        self.store, self.before, self.every, self.rows, self.parts = store, before or {}, every, [], 0

    def add(self, row: dict) -> None:
        self.rows.append({**row, "attempts": self.before.get(row["item_id"], 0) + 1})
        if len(self.rows) >= self.every:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            write_part(self.store, self.rows)
            self.rows, self.parts = [], self.parts + 1
