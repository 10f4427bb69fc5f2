"""Faults in a running transfer: an editor process killed mid-batch, a poison stem, and a driver killed mid-run
(with the local Ray processes it started). Nothing is lost, duplicated or partial; at most in-flight work is redone."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from cluster.driver import RunOptions, run_transfer
from cluster.plan import Edit, JobConfig
from cluster.storage import LocalStore
from timbre.audio import Audio, encode_audio
from timbre.edits import EditSpec, SamplerConfig
from timbre.models.bundle import bundle_fingerprint, debug_bundle

from tests.cluster.faulty_editors import POISON_PEAK, KillingPoisonEditor

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


def _catalogue(folder: Path, count: int, seconds: float = 0.5, loud: int | None = None) -> dict[str, int]:
    """`count` stems of distinct tones (stem `loud` above POISON_PEAK); returns name -> frames."""
    store, frames = LocalStore(folder), {}
    for n in range(count):
        rate = (16000, 22050, 44100)[n % 3]
        t = np.arange(int(seconds * rate)) / rate
        peak = POISON_PEAK + 0.05 if n == loud else 0.3
        wave = (peak * np.sin(2 * np.pi * (200 + 20 * n) * t)).astype(np.float32)
        store.put(f"stem{n:02d}.wav", encode_audio(Audio(wave, rate, "WAV", "PCM_16")))
        frames[f"stem{n:02d}.wav"] = len(wave)
    return frames


def _outputs(folder: Path) -> dict[str, int]:
    """Edited stems in the output folder: name -> inode, after checking that each one reads whole."""
    found = {}
    for path in folder.glob("*.wav"):
        samples, _ = sf.read(path)
        assert len(samples) == sf.info(path).frames > 0, path
        found[path.name] = path.stat().st_ino
    return found


def _config(tmp_path: Path) -> JobConfig:
    spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=2), k=0.5, clamp=0.5)
    return JobConfig(str(tmp_path / "src"), str(tmp_path / "out"), bundle_fingerprint(debug_bundle()),
                     (Edit("violin", "violin", spec),), (0,), "wav")


def test_a_killed_editor_is_restarted_and_its_batch_redone_and_a_poison_stem_fails_alone(tmp_path):
    frames = _catalogue(tmp_path / "src", 9, loud=4)
    ray.shutdown()
    options = RunOptions(editors=2, batch=3, max_in_flight=9, io_slots=2, object_store_mb=200, progress=False)
    summary = run_transfer(_config(tmp_path), "debug", options, log=lambda _: None, editor_class=KillingPoisonEditor)
    ray.shutdown()
    assert (tmp_path / "editor-killed").exists()  # an editor process really died mid-batch
    assert summary.counts == {"ok": 8, "failed": 1}
    manifest = pd.read_parquet(tmp_path / "out" / "manifest.parquet").set_index("source_uri")
    poison = manifest.loc[str(tmp_path / "src" / "stem04.wav")]
    assert (poison.error_class, bool(poison.retryable)) == ("RuntimeError", False)
    assert "stem04.wav" in poison.reason and "a poison stem" in poison.reason
    outputs = _outputs(tmp_path / "out")
    assert sorted(outputs) == sorted(manifest.loc[manifest["status"] == "ok", "output_key"])
    for uri, row in manifest[manifest["status"] == "ok"].iterrows():
        assert sf.info(tmp_path / "out" / row.output_key).frames == frames[Path(uri).name]


def test_a_driver_killed_mid_run_with_its_ray_loses_nothing_and_the_rerun_redoes_only_work_in_flight(tmp_path):
    frames = _catalogue(tmp_path / "src", 24, seconds=1.0)
    args = [sys.executable, "-m", "jobs.cli", "transfer", str(tmp_path / "src"), "--to", "violin", "--method",
            "mi-inpaint", "--k", "0.5", "--clamp", "0.5", "--steps", "2", "--model", "debug", "--out",
            str(tmp_path / "out"), "--editors", "1", "--batch", "2", "--max-in-flight", "4", "--no-progress"]
    driver = subprocess.Popen(args, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              cwd=Path(__file__).parents[2])
    deadline = time.monotonic() + 120
    while len(list((tmp_path / "out").glob("*.wav"))) < 6 and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert driver.poll() is None, driver.stderr.read().decode()[-2000:]
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and the local Ray it started, as if the machine died
    driver.wait()
    before = _outputs(tmp_path / "out")
    assert 6 <= len(before) < 24
    ray.shutdown()
    summary = run_transfer(_config(tmp_path), "debug", RunOptions(editors=1, batch=2, object_store_mb=200,
                                                                  progress=False), log=lambda _: None)
    ray.shutdown()
    assert summary.counts == {"ok": 24}
    after = _outputs(tmp_path / "out")
    assert len(after) == 24 and all(after[name] == inode for name, inode in before.items())  # none rewritten
    manifest = pd.read_parquet(tmp_path / "out" / "manifest.parquet")
    assert sorted(manifest["output_key"]) == sorted(after)
    found_written = int((manifest["reason"] == "output already written by an earlier run").sum())
    assert summary.already_done + found_written == len(before)  # so exactly the 24 - len(before) unwritten were edited
    for row in manifest.itertuples():
        assert sf.info(tmp_path / "out" / row.output_key).frames == frames[Path(row.source_uri).name]
