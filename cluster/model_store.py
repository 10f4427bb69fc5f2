"""Model bundles by name, local folder or object-store URI: an s3:// prefix is mirrored once into a local cache,
keyed by the URI, and only objects that changed since are fetched again."""
import hashlib
import json
import os
from pathlib import Path

from cluster.storage import StorageError, open_store
from timbre.errors import ModelError
from timbre.models.bundle import MANIFEST, ModelBundle, load_bundle

INDEX = ".timbre-fetched.json"  # key -> version of each object mirrored into a cache folder


def model_cache() -> Path:
    """Where mirrored bundles live: $TIMBRE_MODEL_CACHE, else ~/.cache/timbre/models."""
    return Path(os.environ.get("TIMBRE_MODEL_CACHE") or Path.home() / ".cache" / "timbre" / "models")


def local_model(name_or_uri: str, cache: Path | None = None) -> str:
    """A built-in name or a local folder unchanged; an s3:// bundle prefix mirrored into the cache, whose folder is
    returned. ModelError naming the URI when it cannot be listed, holds nothing or holds no bundle manifest."""
    if not str(name_or_uri).startswith("s3://"):
        return str(name_or_uri)
    uri = str(name_or_uri).rstrip("/")
    folder = (cache or model_cache()) / hashlib.sha256(uri.encode()).hexdigest()[:16]
    try:
        store = open_store(uri)
        entries = list(store.list())
    except StorageError as e:
        raise ModelError(f"{uri}: the model cannot be reached ({e})") from None
    if not entries:
        raise ModelError(f"{uri}: no objects under this prefix (is the URI right?)")
    if MANIFEST not in {e.key for e in entries}:
        raise ModelError(f"{uri}: no {MANIFEST} under this prefix: not a timbre bundle")
    folder.mkdir(parents=True, exist_ok=True)
    index_path = folder / INDEX
    fetched = json.loads(index_path.read_text()) if index_path.is_file() else {}
    for entry in entries:
        target = folder / entry.key
        if fetched.get(entry.key) == entry.version and target.is_file() and target.stat().st_size == entry.size:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            store.download(entry.key, partial)  # streamed: multi-GB weights never sit whole in memory
        except StorageError as e:
            partial.unlink(missing_ok=True)
            raise ModelError(f"{uri}/{entry.key}: cannot be fetched ({e})") from None
        size = partial.stat().st_size
        if size != entry.size:
            partial.unlink()
            raise ModelError(f"{uri}/{entry.key}: fetched {size} bytes where the listing says {entry.size} "
                             "(changed while fetching? run again)")
        partial.replace(target)  # whole or absent: a crash mid-fetch never leaves a truncated weight file
        fetched[entry.key] = entry.version
        index_path.write_text(json.dumps(fetched, indent=1))
    return str(folder)


def load_model(name_or_uri: str) -> ModelBundle:
    """The bundle a job names: built-in, local folder or s3:// prefix."""
    return load_bundle(local_model(name_or_uri))
