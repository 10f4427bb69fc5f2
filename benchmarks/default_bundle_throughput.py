"""The embedded default bundle's edit throughput through the production path (edit_clips: codec, MI-inpaint,
decode), side by side in one run: CPU fp32, and on a GPU fp32, bf16 and bf16 + torch.compile (issue 6).

Clips are 10 s mono harmonic tones (the figure does not depend on their content); all are edited together in
forward passes of --max-batch windows (the CPU edits the first --cpu-clips only; its rate is per clip). Each mode is timed after one warm-up pass over the same clips; the GPU's
bf16 results are compared with its fp32 ones by the relative distance of their STFT magnitudes over all clips (the
waves' phases are the codec's own), beside the distance between two fp32 edits with different seeds for scale.
Usage: python benchmarks/default_bundle_throughput.py [--clips 64 --steps 16 --max-batch 64 --json out.json]
"""
import argparse
import json

import numpy as np
import torch

from dit_throughput import median_seconds  # this script's folder is on the path when it runs
from timbre.batch_edit import Clip, WindowConfig, edit_clips
from timbre.edits import EditSpec, SamplerConfig
from timbre.models.bundle import load_bundle


def tones(count: int, rate: int, seconds: float) -> list[np.ndarray]:
    """Harmonic tones with a decaying envelope, one pitch per clip."""
    t = np.arange(int(rate * seconds)) / rate
    waves = []
    for i in range(count):
        f0 = 110.0 * 2 ** ((i % 24) / 12)
        wave = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6)) * np.exp(-(t % 1.0) * 3)
        waves.append((0.2 * wave / np.abs(wave).max())[None].astype(np.float32))
    return waves


def spectral_distance(found: list[np.ndarray], reference: list[np.ndarray]) -> float:
    """||S(found) - S(reference)|| / ||S(reference)|| over all clips, S the STFT magnitude (1024-point, hop 256)."""
    def magnitude(wave):
        return torch.stft(torch.from_numpy(wave).float(), 1024, 256, window=torch.hann_window(1024),
                          return_complex=True).abs()

    pairs = [(magnitude(a), magnitude(b)) for a, b in zip(found, reference)]
    return float(sum((a - b).norm() ** 2 for a, b in pairs) / sum(b.norm() ** 2 for _, b in pairs)) ** 0.5


def timed(bundle, clips, spec, windows, device: str) -> tuple[float, list[np.ndarray]]:
    """Seconds of the second of two passes over `clips` (the first warms up, and compiles where asked)."""
    seconds, out = median_seconds(lambda: edit_clips(bundle, clips, spec, seed=0, windows=windows), 1, 1, device)
    return seconds, [wave for wave, _ in out]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=64)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--max-batch", type=int, default=64)
    p.add_argument("--cpu-clips", type=int, default=8)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    cpu = load_bundle("default")
    target, source = cpu.conditioner.embed_text(["violin"]), cpu.conditioner.embed_text(["piano"])
    clips = [Clip(f"clip{i}", w, target, source) for i, w in enumerate(tones(args.clips, cpu.sample_rate, args.seconds))]
    windows = WindowConfig(seconds=args.seconds, max_batch=args.max_batch)
    modes = [("cpu", "fp32", False)]
    if torch.cuda.is_available():
        modes += [("cuda", "fp32", False), ("cuda", "bf16", False), ("cuda", "bf16", True)]
    print(f"default bundle; {args.clips} clips of {args.seconds:g} s, MI-inpaint, {args.steps} Heun steps; "
          f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU'}; torch {torch.__version__}")
    rows, waves = [], {}
    for device, precision, compiled in modes:
        bundle = load_bundle("default").to(device)
        if compiled:
            bundle = bundle.compiled(dynamic=True)
        spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=args.steps, cfg=4.0, precision=precision), k=0.5,
                              clamp=0.5)
        some = clips[:args.cpu_clips] if device == "cpu" else clips
        seconds, waves[(device, precision, compiled)] = timed(bundle, some, spec, windows, device)
        row = {"device": device, "precision": precision + "+compile" * compiled, "clips": len(some),
               "seconds": round(seconds, 3), "clips_per_s": round(len(some) / seconds, 2),
               "audio_seconds_per_s": round(len(some) * args.seconds / seconds, 1)}
        reference = waves.get(("cuda", "fp32", False))
        if device == "cuda" and (precision, compiled) == ("fp32", False):
            other_seed = [w for w, _ in edit_clips(bundle, clips, spec, seed=1, windows=windows)]
            row["spectral_distance_seed_1_from_seed_0"] = round(spectral_distance(other_seed, reference), 4)
        elif device == "cuda":
            found = waves[(device, precision, compiled)]
            row["spectral_distance_from_gpu_fp32"] = round(spectral_distance(found, reference), 4)
        rows.append(row)
        print(json.dumps(row))
    for row in rows[1:]:
        print(f"  {row['device']} {row['precision']}: {row['clips_per_s'] / rows[0]['clips_per_s']:.2f}x CPU fp32")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
