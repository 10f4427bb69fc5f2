"""Bundles from an s3:// prefix: the tiny twins load from the S3 test endpoint exactly as from their local folder,
unchanged objects are not fetched twice, and unreachable or wrong URIs are named."""
import json
from pathlib import Path

import pytest
import torch

from cluster.model_store import local_model, load_model
from cluster.storage import MULTIPART_BYTES, S3Store, open_store
from timbre.errors import ModelError
from timbre.models.bundle import ModelBundle, bundle_fingerprint, load_bundle, save_bundle
from timbre.models.debug import DEBUG_INSTRUMENTS, HashConditioner, HashConditionerConfig, debug_dit
from timbre.denoisers import EDMPrecond
from timbre.models.dit import randomize_
from timbre.models.music2latent_codec import TINY, Music2LatentCodec
from timbre.models.stable_audio import save_tiny_stable_audio


def upload(folder: Path, uri: str) -> int:
    store = open_store(uri)
    files = [p for p in sorted(folder.rglob("*")) if p.is_file()]
    for path in files:
        store.put(path.relative_to(folder).as_posix(), path.read_bytes(), create_only=False)
    return len(files)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TIMBRE_MODEL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def music2latent_bundle() -> ModelBundle:
    """A timbre bundle over the Music2Latent twin: 64 latent channels at 44.1 kHz."""
    return ModelBundle(name="m2l-twin", codec=randomize_(Music2LatentCodec(TINY), 0),
                       denoiser=EDMPrecond(debug_dit(0, 64, 64)),
                       conditioner=HashConditioner(HashConditionerConfig(sample_rate=44100)),
                       null_cond=torch.zeros(64), instruments=DEBUG_INSTRUMENTS)


def test_the_music2latent_twin_loads_from_s3_as_from_its_folder(tmp_path, bucket, cache):
    save_bundle(music2latent_bundle(), tmp_path / "m2l")
    upload(tmp_path / "m2l", f"s3://{bucket}/models/m2l")
    local, remote = load_bundle(tmp_path / "m2l"), load_model(f"s3://{bucket}/models/m2l")
    assert bundle_fingerprint(remote) == bundle_fingerprint(local)
    wave = torch.randn(2, 5000, generator=torch.Generator().manual_seed(0)) * 0.1
    with torch.no_grad():
        assert torch.equal(remote.codec.encode(wave), local.codec.encode(wave))
        z = local.codec.encode(wave)
        assert torch.equal(remote.codec.decode(z), local.codec.decode(z))


def sao_bundle_folder(folder: Path) -> Path:
    save_tiny_stable_audio(folder / "sao")
    (folder / "bundle.json").write_text(json.dumps({
        "format": "timbre-bundle", "version": 1, "name": "sao-twin", "architecture": "stable-audio-open",
        "stable_audio": "sao", "instruments": ["violin", "flute"]}))
    return folder


@torch.no_grad()
def test_the_stable_audio_twin_loads_from_s3_as_from_its_folder(tmp_path, bucket, cache):
    folder = sao_bundle_folder(tmp_path / "sao-bundle")
    upload(folder, f"s3://{bucket}/sao")
    local, remote = load_bundle(folder), load_model(f"s3://{bucket}/sao/")
    assert bundle_fingerprint(remote) == bundle_fingerprint(local)
    x = torch.randn(1, 8, 6, generator=torch.Generator().manual_seed(1))
    cond = local.conditioner.embed_text(["violin solo"])
    assert torch.equal(remote.denoiser(x, torch.tensor([3.0]), remote.conditioner.embed_text(["violin solo"])),
                       local.denoiser(x, torch.tensor([3.0]), cond))


def test_unchanged_objects_are_fetched_once_and_changed_ones_again(tmp_path, bucket, cache, monkeypatch):
    save_bundle(music2latent_bundle(), tmp_path / "m2l")
    uri = f"s3://{bucket}/m2l"
    count = upload(tmp_path / "m2l", uri)
    fetched = []
    original = S3Store.download
    monkeypatch.setattr(S3Store, "download", lambda self, key, path: fetched.append(key) or original(self, key, path))
    first = local_model(uri)
    assert len(fetched) == count
    assert local_model(uri) == first and len(fetched) == count  # nothing new to fetch
    manifest = json.loads((tmp_path / "m2l" / "bundle.json").read_text())
    open_store(uri).put("bundle.json", json.dumps({**manifest, "name": "renamed"}).encode(), create_only=False)
    assert load_model(uri).name == "renamed" and fetched[count:] == ["bundle.json"]


def test_a_weight_file_above_the_multipart_size_is_streamed_to_disk_intact(tmp_path, bucket, cache, monkeypatch):
    save_bundle(music2latent_bundle(), tmp_path / "m2l")
    big = torch.Generator().manual_seed(0)
    payload = torch.randint(0, 256, (MULTIPART_BYTES + 123_457,), generator=big, dtype=torch.uint8).numpy().tobytes()
    (tmp_path / "m2l" / "extra.bin").write_bytes(payload)
    uri = f"s3://{bucket}/big"
    upload(tmp_path / "m2l", uri)
    monkeypatch.setattr(S3Store, "get", lambda self, key: pytest.fail(f"{key} read whole into memory"))
    folder = Path(local_model(uri))
    assert (folder / "extra.bin").read_bytes() == payload
    assert not list(folder.glob(".*.partial"))


def test_a_fetch_cut_short_is_named_and_leaves_no_file(tmp_path, bucket, cache, monkeypatch):
    save_bundle(music2latent_bundle(), tmp_path / "m2l")
    uri = f"s3://{bucket}/short"
    upload(tmp_path / "m2l", uri)
    original = S3Store.download

    def truncating(self, key, path):
        original(self, key, path)
        if key == "bundle.json":
            path.write_bytes(path.read_bytes()[:-5])

    monkeypatch.setattr(S3Store, "download", truncating)
    with pytest.raises(ModelError, match=rf"s3://{bucket}/short/bundle.json: fetched \d+ bytes where the listing says"):
        local_model(uri)
    folder = cache / next(p.name for p in cache.iterdir())
    assert not (folder / "bundle.json").exists() and not list(folder.glob(".*.partial"))


def test_a_missing_bucket_is_named(bucket, cache):
    with pytest.raises(ModelError, match=r"s3://no-such-bucket-here/m: the model cannot be reached \(.*NoSuchBucket"):
        local_model("s3://no-such-bucket-here/m")


def test_an_empty_prefix_or_one_without_a_manifest_is_named(bucket, cache):
    with pytest.raises(ModelError, match=rf"s3://{bucket}/nothing: no objects under this prefix"):
        local_model(f"s3://{bucket}/nothing")
    open_store(f"s3://{bucket}/weights").put("codec.safetensors", b"x")
    with pytest.raises(ModelError, match=rf"s3://{bucket}/weights: no bundle.json under this prefix"):
        local_model(f"s3://{bucket}/weights")


def test_names_and_folders_pass_through(tmp_path):
    assert local_model("default") == "default" and local_model(str(tmp_path)) == str(tmp_path)


@torch.no_grad()
def test_a_stable_audio_bundle_with_the_laion_clap_twin_as_judge_loads_from_s3(tmp_path, bucket, cache):
    pytest.importorskip("torchlibrosa")
    from timbre.models.laion_clap_embedder import save_tiny_laion_clap

    folder = sao_bundle_folder(tmp_path / "bundle")
    save_tiny_laion_clap(folder / "clap")
    manifest = json.loads((folder / "bundle.json").read_text())
    manifest["embedder"] = {"kind": "laion-clap", "checkpoint": "clap/clap.safetensors", "tokenizer": "clap/roberta",
                            "audio_model": "HTSAT-tiny"}
    (folder / "bundle.json").write_text(json.dumps(manifest))
    upload(folder, f"s3://{bucket}/judged")
    local, remote = load_bundle(folder), load_model(f"s3://{bucket}/judged")
    assert bundle_fingerprint(remote) == bundle_fingerprint(local) != bundle_fingerprint(load_bundle(
        sao_bundle_folder(tmp_path / "unjudged")))  # the judge is part of what the fingerprint names
    wave = torch.randn(2, 30000, generator=torch.Generator().manual_seed(3)) * 0.1
    assert remote.judge_embedder.sample_rate == 48000
    torch.testing.assert_close(remote.judge_embedder.embed_audio(wave), local.judge_embedder.embed_audio(wave))
