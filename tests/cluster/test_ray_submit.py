"""The job under `ray job submit` on a `ray start --head` cluster with Ray's default token authentication, the
dashboard and job API on loopback; and the auth mode the driver picks so that every client agrees."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cluster.driver import consistent_auth_mode
from timbre.audio import Audio, encode_audio

RAY = Path(sys.executable).with_name("ray")


def test_token_mode_is_chosen_only_when_unset_and_a_token_is_at_hand(tmp_path):
    token = tmp_path / "auth_token"
    assert consistent_auth_mode({}, token) is None
    token.write_text("secret")
    env = {}
    assert consistent_auth_mode(env, token) == "token" and env == {"RAY_AUTH_MODE": "token"}
    env = {"RAY_AUTH_MODE": "disabled"}
    assert consistent_auth_mode(env, token) is None and env == {"RAY_AUTH_MODE": "disabled"}
    env = {"RAY_AUTH_TOKEN": "secret"}
    assert consistent_auth_mode(env, tmp_path / "none") == "token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _other_address() -> str | None:
    """An address of this machine other than loopback, if it has one."""
    try:
        address = socket.gethostbyname(socket.gethostname())
    except OSError:
        return None
    return None if address.startswith("127.") else address


def _listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


@pytest.mark.slow
@pytest.mark.skipif(not RAY.exists(), reason="the ray CLI is not installed beside this Python")
def test_the_job_runs_under_ray_job_submit_with_token_auth_and_a_loopback_dashboard(tmp_path):
    pytest.importorskip("ray").shutdown()
    src = tmp_path / "src"
    src.mkdir()
    for n in range(3):
        wave = 0.3 * np.sin(np.arange(8000) * (0.1 + 0.02 * n))
        (src / f"s{n}.wav").write_bytes(encode_audio(Audio(wave, 16000, "WAV", "PCM_16")))
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")} | {"HOME": str(home)}
    # Ray turns token authentication on for `ray start` when a token exists: make one, as infra/README.md says.
    subprocess.run([str(RAY), "get-auth-token", "--generate"], env=env, check=True, capture_output=True, timeout=60)
    gcs, dashboard = _free_port(), _free_port()
    start = [str(RAY), "start", "--head", f"--port={gcs}", "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard}",
             "--num-cpus=2", "--object-store-memory=200000000", "--disable-usage-stats"]
    subprocess.run(start, env=env, check=True, capture_output=True, timeout=120)
    try:
        assert _listening("127.0.0.1", dashboard)
        other = _other_address()
        if other:
            assert not _listening(other, dashboard)
        job = [sys.executable, "-m", "jobs.cli", "transfer", str(src), "--to", "violin", "--method", "pni",
               "--noise-fraction", "0.3", "--steps", "2", "--model", "debug", "--out", str(tmp_path / "out"),
               "--no-progress", "--editors", "1"]
        submit = [str(RAY), "job", "submit", f"--address=http://127.0.0.1:{dashboard}", "--", *job]
        refused = subprocess.run(submit, env=env, capture_output=True, text=True, timeout=120)
        assert refused.returncode != 0 and "AuthenticationError" in refused.stderr + refused.stdout
        for _ in range(30):  # the head's job agent registers a little after `ray start` returns (slower when busy)
            done = subprocess.run(submit, env=env | {"RAY_AUTH_MODE": "token"}, capture_output=True, text=True,
                                  timeout=300, cwd=Path(__file__).parents[2])
            if "No available agent to submit job" not in done.stderr + done.stdout:
                break
            time.sleep(2)
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        assert "3 ok" in done.stdout
        # A driver outside the cluster joining it with --address, RAY_AUTH_MODE unset: the driver picks token mode.
        joined = subprocess.run([*job[:-5], "--out", str(tmp_path / "joined"), "--no-progress", "--editors", "1",
                                 "--address", f"127.0.0.1:{gcs}"], env=env, capture_output=True, text=True, timeout=300,
                                cwd=Path(__file__).parents[2])
        assert joined.returncode == 0 and "3 ok" in joined.stdout, (joined.stdout + joined.stderr)[-3000:]
    finally:
        subprocess.run([str(RAY), "stop", "--force"], env=env, capture_output=True, timeout=120)
    manifest = pd.read_parquet(tmp_path / "out" / "manifest.parquet")
    assert list(manifest["status"]) == ["ok"] * 3
