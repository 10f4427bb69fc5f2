"""`timbre transfer` from one S3 prefix to another through moto's server, on a local Ray cluster."""
import io

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from cluster.storage import S3Store
from jobs.cli import main
from timbre.audio import Audio, encode_audio


@pytest.mark.slow
def test_transfer_from_s3_to_s3_then_resume_and_refuse_another_job(bucket, fresh_ray, capsys):
    source = S3Store(bucket, "stems")
    for i, (rate, channels) in enumerate([(44100, 2), (16000, 1), (48000, 1)]):
        t = np.arange(int(0.6 * rate)) / rate
        wave = np.repeat((0.3 * np.sin(2 * np.pi * 330 * t))[:, None], channels, 1).astype(np.float32)
        source.put(f"album/track{i}.wav", encode_audio(Audio(wave, rate, "WAV", "PCM_16")))
    args = ["transfer", f"s3://{bucket}/stems", "--to", "violin", "--method", "pni", "--noise-fraction", "0.3",
            "--steps", "2", "--model", "debug", "--out", f"s3://{bucket}/edited", "--no-progress", "--editors", "1"]
    assert main(args) == 0
    assert "3 ok" in capsys.readouterr().out
    out = S3Store(bucket, "edited")
    manifest = pd.read_parquet(io.BytesIO(out.get("manifest.parquet")))
    assert list(manifest["status"]) == ["ok"] * 3
    for row in manifest.itertuples():
        edited = sf.info(io.BytesIO(out.get(row.output_key)))
        original = sf.info(io.BytesIO(source.get(row.source_uri.split("/stems/", 1)[1])))
        assert (edited.samplerate, edited.channels, edited.frames) == (original.samplerate, original.channels, original.frames)
        assert row.output_key.startswith("album/track") and ".violin." in row.output_key
    assert main(args) == 0 and "3 were done before" in capsys.readouterr().out
    assert main(args + ["--seed", "7"]) == 2
    assert "holds a job with another seeds" in capsys.readouterr().err
