"""The whole system on the Stable Audio Open twin: `timbre transfer --model s3://...` then `timbre evaluate`."""
import io
import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from cluster.storage import S3Store, open_store
from jobs.cli import main
from timbre.audio import Audio, encode_audio
from timbre.models.checkpoint import save_component
from timbre.models.debug import HashConditioner, HashConditionerConfig
from timbre.models.stable_audio import save_tiny_stable_audio


@pytest.mark.slow
def test_transfer_and_evaluate_on_stable_audio_from_s3(tmp_path, bucket, fresh_ray, capsys, monkeypatch):
    monkeypatch.setenv("TIMBRE_MODEL_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "bundle"
    save_tiny_stable_audio(folder / "sao")
    save_component(HashConditioner(HashConditionerConfig(sample_rate=44100)), folder / "embedder.safetensors")
    (folder / "bundle.json").write_text(json.dumps({
        "format": "timbre-bundle", "version": 1, "name": "sao-twin", "architecture": "stable-audio-open",
        "stable_audio": "sao", "instruments": ["violin", "flute"],
        "embedder": {"kind": "component", "file": "embedder.safetensors"}}))
    models = open_store(f"s3://{bucket}/models/sao")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        models.put(path.relative_to(folder).as_posix(), path.read_bytes())
    stems = S3Store(bucket, "stems")
    for i, (rate, channels) in enumerate([(44100, 2), (48000, 1)]):
        t = np.arange(int(0.7 * rate)) / rate
        wave = np.repeat((0.3 * np.sin(2 * np.pi * 220 * (i + 1) * t))[:, None], channels, 1).astype(np.float32)
        stems.put(f"track{i}.wav", encode_audio(Audio(wave, rate, "WAV", "PCM_16")))
    model = f"s3://{bucket}/models/sao"
    assert main(["transfer", f"s3://{bucket}/stems", "--to", "flute solo", "--method", "diff-midpoint", "--steps", "2",
                 "--sigma-max", "500", "--model", model, "--out", f"s3://{bucket}/edited", "--no-progress",
                 "--editors", "1"]) == 0
    assert "2 ok" in capsys.readouterr().out
    edited = S3Store(bucket, "edited")
    manifest = pd.read_parquet(io.BytesIO(edited.get("manifest.parquet")))
    for row in manifest.itertuples():
        info = sf.info(io.BytesIO(edited.get(row.output_key)))
        original = sf.info(io.BytesIO(stems.get(row.source_uri.rsplit("/", 1)[1])))
        assert (info.samplerate, info.channels, info.frames) == (original.samplerate, original.channels, original.frames)
    assert main(["evaluate", f"s3://{bucket}/edited", "--model", model, "--out", f"s3://{bucket}/evaluation",
                 "--no-progress", "--workers", "1"]) == 0
    metrics = pd.read_parquet(io.BytesIO(open_store(f"s3://{bucket}/evaluation").get("metrics.parquet")))
    assert list(metrics["status"]) == ["ok", "ok"] and metrics["clap"].notna().all()
