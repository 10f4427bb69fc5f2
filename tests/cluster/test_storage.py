import pytest

from cluster import storage
from cluster.storage import LocalStore, S3Store, StorageError, open_store


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "root")
    return S3Store(request.getfixturevalue("bucket"), "some/prefix")


def test_put_get_and_list_round_trip_with_pagination(store):
    for i in range(7):
        assert store.put(f"dir/file{i}.wav", bytes([i]) * (i + 1))
    store.put("other.txt", b"x")
    entries = list(store.list("dir", page_size=3))
    assert [e.key for e in entries] == [f"dir/file{i}.wav" for i in range(7)]
    assert [e.size for e in entries] == list(range(1, 8)) and all(e.version for e in entries)
    assert store.get("dir/file3.wav") == b"\x03" * 4
    assert len(list(store.list())) == 8 and store.exists("other.txt") and not store.exists("nope")


def test_create_only_writes_leave_an_existing_object_alone(store):
    assert store.put("a.wav", b"first")
    assert store.put("a.wav", b"second") is False
    assert store.get("a.wav") == b"first"
    assert store.put("a.wav", b"third", create_only=False) and store.get("a.wav") == b"third"


def test_a_missing_object_is_a_storage_error_naming_it(store, tmp_path):
    with pytest.raises(StorageError, match="missing.wav"):
        store.get("missing.wav")
    with pytest.raises(StorageError, match="missing.wav"):
        store.download("missing.wav", tmp_path / "copy")


def test_download_writes_the_object_to_a_file(store, tmp_path):
    store.put("dir/weights.bin", bytes(range(256)) * 10)
    store.download("dir/weights.bin", tmp_path / "copy.bin")
    assert (tmp_path / "copy.bin").read_bytes() == bytes(range(256)) * 10


def test_large_objects_go_up_in_parts_and_appear_whole(bucket, monkeypatch):
    monkeypatch.setattr(storage, "MULTIPART_BYTES", 5 * 1024 * 1024)  # S3's smallest part
    store = S3Store(bucket, "big")
    data = bytes(range(256)) * (11 * 1024 * 1024 // 256)
    calls = []
    store.client.meta.events.register("before-call.s3.UploadPart", lambda **kw: calls.append(1))
    assert store.put("stem.wav", data)
    assert len(calls) == 3 and store.get("stem.wav") == data
    assert store.put("stem.wav", data[:100]) is False  # create-only holds for multipart too
    assert store.get("stem.wav") == data


def test_transient_errors_are_retried_and_lasting_ones_reported(bucket, monkeypatch, request):
    from botocore.awsrequest import AWSResponse

    monkeypatch.setattr(storage, "RETRY_ATTEMPTS", 3)  # fewer backoff sleeps (and a client of its own)
    store = S3Store(bucket)
    request.addfinalizer(storage._cached_client.cache_clear)  # the flaky hook below must not outlive this test
    store.put("x.wav", b"abc")
    failures = {"left": 2}

    class Body:  # what botocore reads a response body from
        def stream(self, **_):
            yield b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"

    def flaky(request, **_):
        if failures["left"]:
            failures["left"] -= 1
            return AWSResponse(request.url, 503, {}, Body())

    store.client.meta.events.register("before-send.s3.GetObject", flaky)
    assert store.get("x.wav") == b"abc" and failures["left"] == 0  # two 503s, then success
    failures["left"] = 100
    with pytest.raises(StorageError, match="x.wav: get failed"):
        store.get("x.wav")
    assert failures["left"] == 100 - 3  # every attempt was made, then it gave up


def test_uris_pick_the_store():
    assert isinstance(open_store("s3://bucket/a/b"), S3Store) and open_store("s3://bucket/a/b").prefix == "a/b"
    assert isinstance(open_store("/tmp/x"), LocalStore)
    with pytest.raises(StorageError, match="only s3://"):
        open_store("gs://bucket/x")


def test_one_client_per_process_and_configuration(s3_env, monkeypatch):
    assert storage.s3_client() is storage.s3_client()
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert storage.s3_client().meta.region_name == "eu-west-1"
