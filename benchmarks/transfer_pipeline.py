"""The catalogue transfer's throughput and memory (issue 4), each comparison side by side in one run.

  1. Ray pipeline, one editor     vs a plain single-process loop doing the same work   (target >= 0.9x)
  2. Ray pipeline, two editors    vs one editor, on two cores                          (target >= 1.6x)
  3. 16 clips per forward pass    vs one clip per forward pass, tiny model             (target >= 3x)
  4. S3 I/O overlapped (Ray)      vs a sequential download-edit-upload loop            (target >= 1.5x)
  5. peak memory, 1,000 items     vs 100 items                                         (target within 20%)

The model is the tiny twin (`debug`) with MI-inpaint at 30 steps, one torch thread per editor. Case 4 runs
against moto's S3 server on loopback behind a fixed per-request delay (--s3-latency-ms) standing in for the
network: loopback has none, real object stores have tens of milliseconds. Throughput is given end to end and
steady (items/s between the first and the last finished item), since the end-to-end figure of a short run is
dominated by a few seconds of start-up (Ray, actor processes importing torch, loading the bundle) that a real
catalogue amortises. Cases are interleaved over --reps repetitions and medians reported; memory runs are
separate processes (the sum of the driver's and every Ray process's RSS, sampled every 0.1 s).
Usage: python benchmarks/transfer_pipeline.py [--items 128 --reps 2 --s3-latency-ms 40 --json out.json]
"""
import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

from cluster.catalogue import list_catalogue
from cluster.driver import RunOptions, run_transfer, start_ray
from cluster.editor import Editor
from cluster.plan import Edit, JobConfig, claim_output, plan_items
from cluster.storage import open_store
from cluster.porter import Porter
from cluster.work import prepare
from timbre.audio import Audio, encode_audio
from timbre.batch_edit import Clip, WindowConfig, edit_clips
from timbre.edits import EditSpec, SamplerConfig
from timbre.models.bundle import bundle_fingerprint, debug_bundle

BATCH = 8


def write_catalogue(store, count: int, seconds: float, rate: int = 16000, channels: int = 1) -> None:
    for n in range(count):
        t = np.arange(int(seconds * rate)) / rate
        wave = 0.3 * np.sin(2 * np.pi * (110 + 7 * n) * t) + 0.01 * np.random.default_rng(n).standard_normal(len(t))
        samples = np.repeat(wave[:, None], channels, 1)
        store.put(f"stem{n:05d}.wav", encode_audio(Audio(samples, rate, "WAV", "PCM_16")))


def job(source: str, output: str, steps: int = 30) -> JobConfig:
    spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=steps), k=0.5, clamp=0.5)
    return JobConfig(source, output, bundle_fingerprint(debug_bundle()), (Edit("violin", "violin", spec),), (0,), "wav",
                     WindowConfig(max_batch=16))


def steady_rate(finished_at) -> float:
    """Items per second between the first and the last item finished: throughput without start-up."""
    times = sorted(finished_at)
    return (len(times) - 1) / (times[-1] - times[0])


def plain_loop(config: JobConfig) -> tuple[float, float]:
    """(seconds, steady items/s) for the same work in one process: list, then per batch of BATCH download, edit,
    upload in turn."""
    start = time.perf_counter()
    torch.set_num_threads(1)
    editor = Editor("debug", config, threads=1)
    out = open_store(config.output)
    claim_output(out, config)
    items = list(plan_items(list(list_catalogue(config.source, exclude=config.output)), config))
    rate, porter = editor.sample_rate(), Porter()
    finished_at = []
    for first in range(0, len(items), BATCH):
        prepared = [prepare(item, config, out, rate) for item in items[first: first + BATCH]]
        edited = editor.edit([(p.item.item_id, p.item.edit, p.item.seed) for p in prepared], *[p.waves for p in prepared])
        for row in porter.finish(prepared, edited, config, out, rate):
            assert row["status"] == "ok"
            finished_at.append(row["finished_at"])
    return time.perf_counter() - start, steady_rate(finished_at)


def ray_run(config: JobConfig, editors: int, io_slots: int = 4) -> tuple[float, float]:
    import pandas as pd

    options = RunOptions(editors=editors, threads=1, batch=BATCH, io_slots=io_slots, progress=False)
    summary = run_transfer(config, "debug", options, log=lambda _: None)
    assert summary.counts == {"ok": summary.items}, summary.counts
    manifest = pd.read_parquet(io.BytesIO(open_store(config.output).get(summary.manifest_key)))
    return summary.seconds, steady_rate(manifest["finished_at"])


def fresh_ray() -> None:
    """A new local cluster as the job starts one (run_transfer then uses it), so each case finds Ray up."""
    import ray

    ray.shutdown()
    start_ray(RunOptions())


def interleaved(cases: dict, reps: int) -> dict[str, list[float]]:
    times = {name: [] for name in cases}
    for _ in range(reps):
        for name, case in cases.items():
            times[name].append(case())
    return times


def fresh(root: Path, name: str) -> str:
    path = root / name
    shutil.rmtree(path, ignore_errors=True)
    return str(path)


def pipeline_cases(root: Path, items: int, reps: int) -> dict[str, list[float]]:
    """Cases 1 and 2: a local catalogue of 2 s mono stems."""
    write_catalogue(open_store(str(root / "src")), items, 2.0)
    fresh_ray()
    src = str(root / "src")
    return interleaved({
        "plain loop": lambda: plain_loop(job(src, fresh(root, "loop"))),
        "ray, 1 editor": lambda: ray_run(job(src, fresh(root, "ray1")), 1),
        "ray, 2 editors": lambda: ray_run(job(src, fresh(root, "ray2")), 2),
    }, reps)


def batching_cases(reps: int, seconds: float) -> dict[str, list[float]]:
    """Case 3: the same 16 clips through edit_clips, 16 per forward pass against one per forward pass."""
    torch.set_num_threads(1)
    bundle = debug_bundle()
    target = bundle.conditioner.embed_text(["violin"])
    spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=30), k=0.5, clamp=0.5)
    rng = np.random.default_rng(0)
    clips = [Clip(f"c{i}", (0.3 * rng.standard_normal((1, int(seconds * 16000)))).astype(np.float32), target)
             for i in range(16)]

    def run(max_batch):
        start = time.perf_counter()
        edit_clips(bundle, clips, spec, 0, windows=WindowConfig(max_batch=max_batch))
        seconds = time.perf_counter() - start
        return seconds, len(clips) / seconds

    return interleaved({f"16 clips of {seconds:g} s, 1 per forward": lambda: run(1),
                        f"16 clips of {seconds:g} s, 16 per forward": lambda: run(16)}, reps)


def _quiet_handler():
    from werkzeug.serving import WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            pass

    return Quiet


class SlowS3:
    """moto's S3 app on loopback behind a fixed delay per request (the network the loopback lacks)."""

    def __init__(self, latency_s: float):
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)

        def delayed(environ, start_response):
            time.sleep(latency_s)
            return app(environ, start_response)

        self.server = make_server("127.0.0.1", 0, delayed, threaded=True, request_handler=_quiet_handler())
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def s3_cases(items: int, reps: int, latency_ms: float) -> dict[str, list[float]]:
    """Case 4: 2 s stereo 44.1 kHz stems from one S3 prefix to another, sequential loop against the pipeline."""
    server = SlowS3(latency_ms / 1000)
    os.environ.update(AWS_ENDPOINT_URL=server.endpoint, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_DEFAULT_REGION="us-east-1")
    from cluster.storage import s3_client

    s3_client().create_bucket(Bucket="bench")
    write_catalogue(open_store("s3://bench/src"), items, 2.0, 44100, 2)
    fresh_ray()  # after the environment is set: Ray's workers inherit it
    runs = iter(range(10**6))
    try:
        return interleaved({
            "sequential download-edit-upload loop": lambda: plain_loop(job("s3://bench/src", f"s3://bench/loop{next(runs)}")),
            "ray, 1 editor, I/O overlapped": lambda: ray_run(job("s3://bench/src", f"s3://bench/ray{next(runs)}"), 1),
        }, reps)
    finally:
        server.close()


def _tree_rss(root: int) -> tuple[int, int]:
    """(RSS of `root` and all its descendants, RSS of `root`) in bytes, from /proc (Linux)."""
    parents, rss = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        rss[int(entry.name)] = next((int(line.split()[1]) * 1024 for line in status.splitlines()
                                     if line.startswith("VmRSS:")), 0)
    tree, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier and pid not in tree]
        tree.update(children)
        frontier = children
    return sum(rss.get(pid, 0) for pid in tree), rss.get(root, 0)


def memory_run(items: int, root: Path) -> dict:
    """One job of `items` short stems in this process; the peak RSS of this process and all Ray processes."""
    write_catalogue(open_store(str(root / "src")), items, 0.25)
    peaks = {"total": 0, "driver": 0}
    done = threading.Event()

    def sample():
        while not done.is_set():
            total, driver = _tree_rss(os.getpid())
            peaks["total"], peaks["driver"] = max(peaks["total"], total), max(peaks["driver"], driver)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    options = RunOptions(editors=2, threads=1, batch=BATCH, max_in_flight=64, io_slots=4, progress=False)
    summary = run_transfer(job(str(root / "src"), str(root / "out"), steps=4), "debug", options, log=lambda _: None)
    done.set()
    sampler.join()
    assert summary.counts == {"ok": items}, summary.counts
    return {"items": items, "seconds": summary.seconds, "peak_total_mb": peaks["total"] / 2**20,
            "peak_driver_mb": peaks["driver"] / 2**20}


def memory_cases(sizes=(100, 1000)) -> list[dict]:
    results = []
    for items in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run([sys.executable, __file__, "--memory-run", str(items), tmp], capture_output=True,
                                 text=True, check=True)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return results


def table(runs: dict[str, list[tuple[float, float]]]) -> list[str]:
    return [f"| {name} | {statistics.median(s for s, _ in r):.2f} s | {statistics.median(v for _, v in r):.2f} |"
            for name, r in runs.items()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=128)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--s3-latency-ms", type=float, default=40.0)
    ap.add_argument("--memory-sizes", type=int, nargs=2, default=(100, 1000))
    ap.add_argument("--json", default=None)
    ap.add_argument("--memory-run", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("root", nargs="?", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_run:
        print(json.dumps(memory_run(args.memory_run, Path(args.root))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = pipeline_cases(Path(tmp), args.items, args.reps)
    batching = {**batching_cases(3, 0.5), **batching_cases(3, 2.0)}
    s3 = s3_cases(args.items // 2, args.reps, args.s3_latency_ms)
    import ray

    ray.shutdown()
    memory = memory_cases(args.memory_sizes)
    runs = {**pipeline, **batching, **s3}
    rate = {name: statistics.median(v for _, v in r) for name, r in runs.items()}
    wall = {name: statistics.median(s for s, _ in r) for name, r in runs.items()}
    ratios = {
        "ray 1 editor / plain loop, steady throughput": (rate["ray, 1 editor"] / rate["plain loop"], ">= 0.9x"),
        "ray 1 editor / plain loop, end to end": (wall["plain loop"] / wall["ray, 1 editor"], "-"),
        "ray 2 editors / 1 editor, steady throughput": (rate["ray, 2 editors"] / rate["ray, 1 editor"], ">= 1.6x"),
        "ray 2 editors / 1 editor, end to end": (wall["ray, 1 editor"] / wall["ray, 2 editors"], "-"),
        "16 per forward / 1 per forward, 0.5 s clips": (
            wall["16 clips of 0.5 s, 1 per forward"] / wall["16 clips of 0.5 s, 16 per forward"], ">= 3x"),
        "16 per forward / 1 per forward, 2 s clips": (
            wall["16 clips of 2 s, 1 per forward"] / wall["16 clips of 2 s, 16 per forward"], ">= 3x"),
        "S3 overlapped / sequential loop, steady throughput": (
            rate["ray, 1 editor, I/O overlapped"] / rate["sequential download-edit-upload loop"], ">= 1.5x"),
        "S3 overlapped / sequential loop, end to end": (
            wall["sequential download-edit-upload loop"] / wall["ray, 1 editor, I/O overlapped"], "-"),
        "peak memory, larger / smaller catalogue, all processes": (
            memory[1]["peak_total_mb"] / memory[0]["peak_total_mb"], "<= 1.2x"),
        "peak memory, larger / smaller catalogue, driver": (memory[1]["peak_driver_mb"] / memory[0]["peak_driver_mb"], "<= 1.2x"),
    }
    lines = [f"{args.items} items for cases 1-2, {args.items // 2} for case 4 (S3 latency {args.s3_latency_ms:g} ms per "
             f"request), {args.reps} reps; torch {torch.__version__}, {os.cpu_count()} cores", "",
             "| case | end to end (median) | steady items/s (median) |", "| --- | --- | --- |", *table(pipeline), *table(batching), *table(s3), "",
             "| memory run | items | seconds | peak RSS, all processes | peak RSS, driver |", "| --- | --- | --- | --- | --- |",
             *[f"| {m['items']} items | {m['items']} | {m['seconds']:.1f} s | {m['peak_total_mb']:.0f} MiB | "
               f"{m['peak_driver_mb']:.0f} MiB |" for m in memory], "",
             "| ratio | value | target |", "| --- | --- | --- |",
             *[f"| {name} | {value:.2f}x | {target} |" for name, (value, target) in ratios.items()]]
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps({"pipeline": pipeline, "batching": batching, "s3": s3,
                                               "memory": memory, "ratios": {k: v for k, (v, _) in ratios.items()}},
                                              indent=2))


if __name__ == "__main__":
    main()
