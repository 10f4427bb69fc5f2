"""MI-inpaint's cost against plain sampling with the same steps, measured side by side in one run.

Prints medians over interleaved repetitions and the ratios; the paper claims no added cost (target <= 1.02x).
Usage: python benchmarks/mi_inpaint_cost.py [--width 256 --depth 6 --frames 128 --batch 2 --steps 30 --reps 5]
"""
import argparse
import statistics
import time
from dataclasses import replace

import torch

from timbre.denoisers import EDMPrecond
from timbre.edits import EditBatch, EditSpec, SamplerConfig
from timbre.edits.base import EditModel, generate
from timbre.edits.channel_split import ChannelSplit, timbre_mask
from timbre.edits.mi_inpaint import clamp_steps, sample_inpainted
from timbre.inversion import invert
from timbre.models.dit import DIT_SIZES, DiT, randomize_
from timbre.randomness import item_generators


def make_batch(x0, target):
    ids = [f"item{i}" for i in range(x0.shape[0])]
    return EditBatch(x0, target, None, item_generators(0, ids))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--channels", type=int, default=32)
    ap.add_argument("--frames", type=int, default=128)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()

    cfg = replace(DIT_SIZES["small"], width=args.width, depth=args.depth, channels=args.channels, heads=4)
    net = randomize_(DiT(cfg), 0).eval()
    ranking = torch.randperm(args.channels, generator=torch.Generator().manual_seed(0))
    basis, _ = torch.linalg.qr(torch.randn(args.channels, args.channels, generator=torch.Generator().manual_seed(1)))
    model = EditModel(EDMPrecond(net), torch.zeros(cfg.cond_dim), channel_ranking=ranking)
    sampler = SamplerConfig(steps=args.steps)  # Heun, CFG 1.25: the paper's settings
    sigmas = sampler.sigmas()
    g = torch.Generator().manual_seed(2)
    x0 = 0.5 * torch.randn(args.batch, args.channels, args.frames, generator=g)
    target = torch.nn.functional.normalize(torch.randn(args.batch, cfg.cond_dim, generator=g), dim=-1)
    noise = torch.randn(x0.shape, generator=g)
    with torch.no_grad():
        trajectory = invert(model.denoiser, x0, sigmas, model.null_cond.expand(args.batch, -1))
    mask, n_clamp = timbre_mask(ranking, 0.5), clamp_steps(0.5, args.steps)
    x_start = float(sigmas[0]) * noise

    cases = {
        "plain sampling": lambda: generate(model, sampler, x_start, sigmas, target),
        "mi-inpaint sampling (raw channels)": lambda: sample_inpainted(
            model, sampler, trajectory, ChannelSplit(mask), noise, target, n_clamp),
        "mi-inpaint sampling (rotated basis)": lambda: sample_inpainted(
            model, sampler, trajectory, ChannelSplit(mask, basis), noise, target, n_clamp),
        "ddim-inversion edit (invert + sample)": lambda: EditSpec.build("ddim-inversion", sampler).run(
            model, make_batch(x0, target)),
        "mi-inpaint edit (invert + sample)": lambda: EditSpec.build("mi-inpaint", sampler).run(
            model, make_batch(x0, target)),
    }
    times = {name: [] for name in cases}
    with torch.no_grad():
        for fn in cases.values():
            fn()  # warm-up
        for _ in range(args.reps):  # interleaved, so drift in machine load hits every case alike
            for name, fn in cases.items():
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    params = sum(p.numel() for p in net.parameters())
    print(f"DiT {params / 1e6:.2f} M params, batch {args.batch} x {args.channels} ch x {args.frames} frames, "
          f"{args.steps} Heun steps, CFG 1.25, torch threads {torch.get_num_threads()}, {args.reps} reps")
    for name, t in med.items():
        print(f"  {name:40s} {t:8.3f} s (min {min(times[name]):.3f})")
    print(f"ratio mi-inpaint sampling / plain sampling, raw channels: {med['mi-inpaint sampling (raw channels)'] / med['plain sampling']:.3f}x")
    print(f"ratio mi-inpaint sampling / plain sampling, rotated basis: {med['mi-inpaint sampling (rotated basis)'] / med['plain sampling']:.3f}x")
    print(f"ratio mi-inpaint edit / ddim-inversion edit: {med['mi-inpaint edit (invert + sample)'] / med['ddim-inversion edit (invert + sample)']:.3f}x")
    print(f"ratio mi-inpaint edit / plain sampling: {med['mi-inpaint edit (invert + sample)'] / med['plain sampling']:.3f}x")


if __name__ == "__main__":
    main()
