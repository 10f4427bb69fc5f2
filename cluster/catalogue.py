"""What a catalogue holds: every object under a folder or S3 prefix, or every URI of a manifest table."""
import io
from collections.abc import Iterator
from dataclasses import dataclass

from cluster.storage import StorageError, join, open_store, split_uri

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aif", ".aiff")
TABLE_SUFFIXES = (".parquet", ".csv")
JOB_FOLDER = "_timbre"  # job fingerprint and manifest parts, at the output prefix


@dataclass(frozen=True)
class Stem:
    """One catalogue object: where it is, its path relative to the catalogue, and what the listing said of it."""

    uri: str
    relative: str  # output keys mirror this path
    size: int  # bytes; -1 when a manifest table does not say
    version: str  # ETag or mtime; "" when unknown

    @property
    def is_audio(self) -> bool:
        return self.relative.lower().endswith(AUDIO_SUFFIXES)


def list_catalogue(source: str, exclude: str | None = None) -> Iterator[Stem]:
    """Stems of a folder or `s3://` prefix (paginated, in key order), or of a Parquet/CSV table with a `uri` column.
    Objects under `exclude` (the output prefix, when it lies inside the catalogue) and job folders are left out."""
    if source.lower().endswith(TABLE_SUFFIXES):
        yield from _table_stems(source)
        return
    store = open_store(source)
    skip = None
    if exclude is not None:
        inside = exclude.rstrip("/")
        root = store.uri.rstrip("/")
        skip = inside[len(root) + 1:] + "/" if inside.startswith(root + "/") else None
    for entry in store.list():
        if (skip and entry.key.startswith(skip)) or JOB_FOLDER in entry.key.split("/"):
            continue
        yield Stem(child_uri(store.uri, entry.key), entry.key, entry.size, entry.version)


def child_uri(root: str, key: str) -> str:
    return f"s3://{join(root[5:], key)}" if root.startswith("s3://") else f"{root.rstrip('/')}/{key}"


def read_table(uri: str, **csv_options):
    """A Parquet or CSV table from any store, as a DataFrame; StorageError naming it when it cannot be read."""
    import pandas as pd

    store, key = split_uri(uri)
    data = store.get(key)
    try:
        return pd.read_parquet(io.BytesIO(data)) if uri.lower().endswith(".parquet") else pd.read_csv(
            io.BytesIO(data), **csv_options)
    except Exception as e:
        raise StorageError(f"{uri}: not a readable table ({type(e).__name__}: {e})") from None


def _table_stems(table: str) -> Iterator[Stem]:
    frame = read_table(table)
    if "uri" not in frame.columns:
        raise StorageError(f"{table}: a manifest table needs a 'uri' column; it has {', '.join(map(str, frame.columns))}")
    seen = set()
    for row in frame.itertuples(index=False):
        uri = str(row.uri)
        if uri in seen:
            continue
        seen.add(uri)
        relative = uri[5:].partition("/")[2] if uri.startswith("s3://") else uri.lstrip("/")
        size = getattr(row, "size", -1)
        yield Stem(uri, relative, int(size) if size == size else -1, str(getattr(row, "version", "") or ""))
