"""DiT throughput on a GPU (issue 6): clips/s and achieved TFLOP/s for Stable Audio Open's DiT architecture at
about 300 M and about 1 B parameters, in fp32 and bf16 autocast, eager and torch.compile'd; and the trimmed
canvas's gain (a 10 s clip denoised on its own 216 frames instead of the 1024-frame canvas), side by side.

Random weights: throughput does not depend on them. A "clip" is one 10 s window; every step is one guided forward
(conditional + unconditional in one batch, as ClassifierFreeGuidance runs it). The compute floor per forward is
2 * P * tokens (P the DiT's parameters; attention's quadratic term comes on top), so the achieved TFLOP/s is
2 * P * tokens * forwards / seconds. --tiny runs a toy size on the CPU to check the script itself.

--engine adds whole edits through the production path (EditSpec.run: MI-inpaint, its DDIM inversion and guided
sampling, SamplerConfig(precision=...)) in fp32 and bf16 on the trimmed canvas, with the bf16 result's relative
distance from the fp32 one and the peak GPU memory.
Usage: python benchmarks/dit_throughput.py [--clips 32 --seconds 10 --reps 5 --engine --json out.json] [--tiny]
"""
import argparse
import json
import math
import statistics
import time

import torch

from timbre.models.stable_audio_net import StableAudioNet
from timbre.denoisers import VPrediction, ClassifierFreeGuidance
from timbre.edits import EditBatch, EditModel, EditSpec, SamplerConfig
from timbre.randomness import item_generators

SIZES = {  # StableAudioDiTModel configs: SAO 1.0's own (about 1 B) and a 16-layer, 1024-wide one (about 300 M)
    "1b": dict(num_layers=24, attention_head_dim=64, num_attention_heads=24, num_key_value_attention_heads=12),
    "300m": dict(num_layers=16, attention_head_dim=64, num_attention_heads=16, num_key_value_attention_heads=8),
    "tiny": dict(num_layers=2, attention_head_dim=8, num_attention_heads=2, num_key_value_attention_heads=1),
}


def build(size: str, device: str) -> tuple[StableAudioNet, int]:
    from diffusers import StableAudioDiTModel
    from diffusers.pipelines.stable_audio import StableAudioProjectionModel

    cond = 768 if size != "tiny" else 16
    transformer = StableAudioDiTModel(sample_size=1024, in_channels=64, out_channels=64, cross_attention_dim=cond,
                                      time_proj_dim=256 if size != "tiny" else 8, global_states_input_dim=2 * cond,
                                      cross_attention_input_dim=cond, **SIZES[size])
    projection = StableAudioProjectionModel(text_encoder_dim=cond, conditioning_dim=cond, min_value=0, max_value=512)
    params = sum(p.numel() for p in transformer.parameters())
    return StableAudioNet(transformer, projection, 44100, 2048).to(device).eval(), params


def median_seconds(call, reps: int, warmups: int, device: str):
    """(median seconds of `reps` calls after `warmups` untimed ones, the last call's result); on a GPU each call is
    synchronised and the peak memory counts from the last call's start."""
    times, result = [], None
    for i in range(warmups + reps):
        if device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        result = call()
        if device == "cuda":
            torch.cuda.synchronize()
        if i >= warmups:
            times.append(time.perf_counter() - start)
    return statistics.median(times), result


def time_forwards(denoiser, x, cond, reps: int, device: str, dtype) -> float:
    """Median seconds per guided forward over `reps`, after two warm-up calls."""
    sigma = torch.full((x.shape[0],), 3.0, device=device)
    with torch.no_grad(), torch.autocast(device, dtype=dtype, enabled=dtype != torch.float32):
        return median_seconds(lambda: denoiser(x, sigma, cond), reps, 2, device)[0]


def time_edits(net, cond, null, frames: int, steps: int, device: str) -> list[dict]:
    """Seconds per MI-inpaint edit of the batch through EditSpec.run in fp32 and bf16, and bf16's distance."""
    clips = cond["text"].shape[0]
    ranking = torch.randperm(64, generator=torch.Generator().manual_seed(0))
    x0 = torch.randn(clips, 64, frames, generator=torch.Generator().manual_seed(1)).to(device)
    ids = tuple(f"clip{i}" for i in range(clips))
    rows, results = [], {}
    modes = [("fp32", False), ("bf16", False)] + ([("bf16", True)] if device == "cuda" else [])
    for precision, compiled in modes:
        # compiled as the Editor compiles it (ModelBundle.compiled with dynamic shapes); timed after one warm-up edit
        model = EditModel(VPrediction(torch.compile(net, dynamic=True) if compiled else net, 1.0), null, None, ranking)
        spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=steps, solver="euler", sigma_max=500.0, cfg=7.0,
                                                          precision=precision))
        name = precision + "+compile" * compiled
        seconds, results[name] = median_seconds(
            lambda: spec.run(model, EditBatch(x0, cond, None, item_generators(0, ids), ids)).latents, 2, 1, device)
        rows.append({"precision": name, "steps": steps, "seconds_per_edit_batch": round(seconds, 4),
                     "clips_per_s": round(clips / seconds, 2),
                     "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if device == "cuda" else None})
    ref = results["fp32"]
    for row in rows[1:]:
        row["relative_distance_from_fp32"] = round(((results[row["precision"]] - ref).norm() / ref.norm()).item(), 4)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=32, help="10 s clips per forward (x2 with guidance)")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--sizes", default="300m,1b")
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--modes", default="fp32,bf16,bf16+compile", help="forward modes to time (engine rows: all)")
    p.add_argument("--engine", action="store_true", help="also whole MI-inpaint edits through EditSpec.run")
    p.add_argument("--engine-steps", type=int, default=8, help="euler steps of each engine edit")
    p.add_argument("--tiny", action="store_true", help="a toy DiT on the CPU: checks the script, not a figure")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    device = "cuda" if torch.cuda.is_available() and not args.tiny else "cpu"
    sizes = ["tiny"] if args.tiny else args.sizes.split(",")
    frames = math.ceil(args.seconds * 44100 / 2048)
    rows = []
    print(f"device: {torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}; torch {torch.__version__}; "
          f"{args.clips} clips of {args.seconds:g} s = {frames} frames, guided (batch {2 * args.clips})")
    for size in sizes:
        net, params = build(size, device)
        cond_dim = net.projection.config.conditioning_dim
        cond = {"text": torch.randn(args.clips, 128, cond_dim, device=device),
                "prompted": torch.ones(args.clips, 1, device=device)}
        null = {"text": torch.zeros(1, 128, cond_dim, device=device), "prompted": torch.zeros(1, 1, device=device)}
        modes = [("fp32", torch.float32, False), ("bf16", torch.bfloat16, False)]
        if device == "cuda" and not args.no_compile:
            modes.append(("bf16+compile", torch.bfloat16, True))
        for mode, dtype, compiled in [m for m in modes if m[0] in args.modes.split(",")]:
            if dtype == torch.bfloat16 and device == "cpu" and size != "tiny":
                continue
            run_net = torch.compile(net) if compiled else net
            denoiser = ClassifierFreeGuidance(VPrediction(run_net, 1.0), null, 7.0)
            for canvas in (frames, 1024):
                x = torch.randn(args.clips, 64, canvas, device=device)
                seconds = time_forwards(denoiser, x, cond, args.reps, device, dtype)
                tokens = 2 * args.clips * (canvas + 1)
                row = {"size": size, "params_m": round(params / 1e6, 1), "mode": mode, "canvas_frames": canvas,
                       "tokens_per_forward": tokens, "seconds_per_forward": round(seconds, 5),
                       "clips_per_s_per_step": round(args.clips / seconds, 2),
                       "clips_per_s_100_steps": round(args.clips / seconds / 100, 3),
                       "tflops": round(2 * params * tokens / seconds / 1e12, 2)}
                rows.append(row)
                print(json.dumps(row))
            trimmed, full = rows[-2], rows[-1]
            print(f"  {size} {mode}: trimmed canvas gain {full['seconds_per_forward'] / trimmed['seconds_per_forward']:.2f}x")
        if args.engine:
            for row in time_edits(net, cond, null, frames, args.engine_steps, device):
                row = {"size": size, "params_m": round(params / 1e6, 1), "engine": "mi-inpaint", **row}
                rows.append(row)
                print(json.dumps(row))
            engine = [r for r in rows if r.get("engine") and r["size"] == size]
            print(f"  {size} engine gain over fp32: " + ", ".join(
                f"{r['precision']} {engine[0]['seconds_per_edit_batch'] / r['seconds_per_edit_batch']:.2f}x"
                for r in engine[1:]))
        del net
        if device == "cuda":
            torch.cuda.empty_cache()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
