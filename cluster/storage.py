"""Object storage behind one small interface: a local folder or an S3-compatible prefix (boto3's default chain)."""
import functools
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MULTIPART_BYTES = 8 * 1024 * 1024  # objects above this go up in parts of this size
RETRY_ATTEMPTS = 8  # attempts in all; botocore "standard" retries: throttling, 5xx and dropped connections, with jittered backoff


class StorageError(Exception):
    """A storage operation failed for a reason retrying will not fix, or after its retries."""


@dataclass(frozen=True)
class Entry:
    """One listed object: its key below the store's root, its size and a version marker (ETag or mtime)."""

    key: str
    size: int
    version: str


def join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


class LocalStore:
    """A folder; writes are whole or absent (temporary file, then a hard link that refuses to overwrite)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.uri = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / key if key else self.root

    def list(self, prefix: str = "", page_size: int = 1000) -> Iterator[Entry]:
        base = self._path(prefix)
        if not base.exists():
            return
        for path in sorted(p for p in base.rglob("*") if p.is_file() and not _is_partial(p)):
            stat = path.stat()
            yield Entry(path.relative_to(self.root).as_posix(), stat.st_size, f"{stat.st_mtime_ns}")

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StorageError(f"{self.uri}/{key}: no such file") from None
        except OSError as e:
            raise StorageError(f"{self.uri}/{key}: cannot read ({e.strerror or e})") from None

    def download(self, key: str, path: Path) -> None:
        """Copy the object at `key` to the file `path` without holding it in memory."""
        try:
            shutil.copyfile(self._path(key), path)
        except FileNotFoundError:
            raise StorageError(f"{self.uri}/{key}: no such file") from None
        except OSError as e:
            raise StorageError(f"{self.uri}/{key}: cannot read ({e.strerror or e})") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def put(self, key: str, data: bytes, create_only: bool = True) -> bool:
        """Write `data` at `key`; with create_only, leave an existing object alone and return False."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            if not create_only:
                os.replace(tmp, path)
                return True
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            return True
        finally:
            Path(tmp).unlink(missing_ok=True)


def _is_partial(path: Path) -> bool:
    """A temporary file of a write that never finished (its process died before the link)."""
    return path.name.startswith(".") and path.name.endswith(".part")


class S3Store:
    """A bucket prefix through boto3: credentials and endpoint from its default chain (AWS_ENDPOINT_URL, profiles,
    instance roles), never from arguments; the client is made lazily in each process, so the store pickles."""

    def __init__(self, bucket: str, prefix: str = ""):
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.uri = f"s3://{join(bucket, self.prefix)}"
        self._client = None

    def __getstate__(self):
        return {"bucket": self.bucket, "prefix": self.prefix, "uri": self.uri, "_client": None}

    @property
    def client(self):
        if self._client is None:
            self._client = s3_client()
        return self._client

    def _key(self, key: str) -> str:
        return join(self.prefix, key)

    def list(self, prefix: str = "", page_size: int = 1000) -> Iterator[Entry]:
        start = join(self.prefix, prefix)
        start = start + "/" if start else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start, PaginationConfig={"PageSize": page_size})
        try:
            for page in pages:
                for obj in page.get("Contents", []):
                    key = obj["Key"][len(self.prefix) + 1 if self.prefix else 0:]
                    yield Entry(key, int(obj["Size"]), obj.get("ETag", "").strip('"'))
        except Exception as e:
            raise _storage_error(f"{self.uri}/{prefix}", "list", e) from None

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except Exception as e:
            raise _storage_error(f"{self.uri}/{key}", "get", e) from None

    def download(self, key: str, path: Path) -> None:
        """Stream the object at `key` into the file `path` (boto3's managed transfer: ranged GETs of
        MULTIPART_BYTES in parallel for large objects), never holding it whole in memory."""
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(multipart_threshold=MULTIPART_BYTES, multipart_chunksize=MULTIPART_BYTES)
        try:
            self.client.download_file(self.bucket, self._key(key), str(path), Config=config)
        except Exception as e:
            raise _storage_error(f"{self.uri}/{key}", "get", e) from None

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise _storage_error(f"{self.uri}/{key}", "head", e) from None

    def put(self, key: str, data: bytes, create_only: bool = True) -> bool:
        """Write `data` at `key` (in parts above MULTIPART_BYTES; the object appears only when complete); with
        create_only, S3's conditional write (If-None-Match: *) leaves an existing object alone and returns False."""
        from botocore.exceptions import ClientError

        condition = {"IfNoneMatch": "*"} if create_only else {}
        try:
            if len(data) <= MULTIPART_BYTES:
                self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **condition)
            else:
                self._put_parts(self._key(key), data, condition)
            return True
        except ClientError as e:
            if create_only and e.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                return False
            raise _storage_error(f"{self.uri}/{key}", "put", e) from None
        except Exception as e:
            raise _storage_error(f"{self.uri}/{key}", "put", e) from None

    def _put_parts(self, key: str, data: bytes, condition: dict) -> None:
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        try:
            parts = []
            for number, first in enumerate(range(0, len(data), MULTIPART_BYTES), start=1):
                etag = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload, PartNumber=number,
                                               Body=data[first: first + MULTIPART_BYTES])["ETag"]
                parts.append({"ETag": etag, "PartNumber": number})
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload,
                                                  MultipartUpload={"Parts": parts}, **condition)
        except BaseException:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload)
            raise


CLIENT_ENVIRONMENT = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_REGION",
                      "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE",
                      "AWS_SHARED_CREDENTIALS_FILE")


def s3_client():
    """A boto3 S3 client from the default chain, with standard retries; for a non-AWS endpoint (AWS_ENDPOINT_URL),
    path-style addressing and checksums only when required, which S3-compatible stores accept. Made once per
    process and configuration (making one costs a good part of a second of CPU; boto3 clients are thread-safe)."""
    settings = hashlib.sha256(repr([os.environ.get(name) for name in CLIENT_ENVIRONMENT]).encode()).hexdigest()
    return _cached_client(os.getpid(), settings, RETRY_ATTEMPTS)


@functools.lru_cache(maxsize=8)
def _cached_client(pid: int, settings: str, attempts: int):
    import boto3
    from botocore.config import Config

    retries = {"mode": "standard", "total_max_attempts": attempts}
    session = boto3.session.Session()
    client = session.client("s3", config=Config(retries=retries))
    if "amazonaws.com" not in (client.meta.endpoint_url or ""):
        client = session.client("s3", config=Config(retries=retries, s3={"addressing_style": "path"},
                                                    request_checksum_calculation="when_required",
                                                    response_checksum_validation="when_required"))
    return client


def _storage_error(where: str, operation: str, error: Exception) -> StorageError:
    code = (getattr(error, "response", None) or {}).get("Error", {}).get("Code")
    return StorageError(f"{where}: {operation} failed ({code or type(error).__name__}: {error})")


def open_store(uri: str):
    """`s3://bucket/prefix` or a local folder."""
    if uri.startswith("s3://"):
        bucket, _, prefix = uri[5:].partition("/")
        if not bucket:
            raise StorageError(f"{uri}: no bucket named")
        return S3Store(bucket, prefix)
    if "://" in uri:
        raise StorageError(f"{uri}: only s3:// URIs and local folders are supported")
    return LocalStore(uri)


def split_uri(uri: str) -> tuple[object, str]:
    """The store holding one object's URI (its parent) and the object's key in it."""
    parent, _, name = uri.rstrip("/").rpartition("/")
    if not name:
        raise StorageError(f"{uri}: not an object URI")
    return open_store(parent or "."), name
