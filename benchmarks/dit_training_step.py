"""Seconds per DiT training step (AdamW, EDM preconditioning, batch 32 x 64 latent frames) for the CPU sizes,
side by side in one run; with --profile, the shipped size's operators by their own CPU time instead.
Usage: .venv/bin/python benchmarks/dit_training_step.py [--profile]"""
import sys
import time
from collections.abc import Callable

import torch

from timbre.denoisers import EDMPrecond
from timbre.models.dit import DiT, DiTConfig
from timbre.models.layers import use_one_product_gradients

SHIPPED = "width 256, depth 8, 64 channels, known input (shipped)"
SIZES = {"width 192, depth 4": DiTConfig(channels=128, width=192, depth=4, heads=3),
         "width 256, depth 4 (the spectral bundle's)": DiTConfig(channels=128, width=256, depth=4, heads=4),
         "width 256, depth 6": DiTConfig(channels=128, width=256, depth=6, heads=4),
         SHIPPED: DiTConfig(channels=64, width=256, depth=8, heads=4, known_input=True)}


def training_step(config: DiTConfig, one_product: bool = False) -> Callable[[], None]:
    """One AdamW step of a fresh DiT of this size on a fixed random batch, each time it is called."""
    net = use_one_product_gradients(DiT(config), one_product)
    denoiser = EDMPrecond(net)
    optimiser = torch.optim.AdamW(net.parameters(), 1e-4)
    x, cond = torch.randn(32, config.channels, 64), torch.randn(32, config.cond_dim)

    def step() -> None:
        loss = (denoiser(x, torch.rand(32) + 0.1, cond) - x).pow(2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return step


def seconds_per_step(config: DiTConfig, steps: int = 10, one_product: bool = False) -> float:
    step = training_step(config, one_product)
    step()  # the first step warms up allocators and kernels
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def profile(config: DiTConfig, steps: int = 5) -> str:
    """The operators of `steps` training steps (after 3 to warm up), by their own CPU time."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as profiler
    step = training_step(config)
    for _ in range(3):
        step()
    with profiler(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15)


if __name__ == "__main__":
    torch.manual_seed(0)
    if "--profile" in sys.argv[1:]:
        print(profile(SIZES[SHIPPED]))
        sys.exit(0)
    cases = [(name, config, False) for name, config in SIZES.items()]
    cases += [(SHIPPED + ", one-product gradients", SIZES[SHIPPED], True),  # one_product_gradients, as training sets it
              (SHIPPED + ", again", SIZES[SHIPPED], False)]  # the machine's drift over the run
    results = [(name, config, seconds_per_step(config, one_product=fast)) for name, config, fast in cases]
    base = results[list(SIZES).index(SHIPPED)][2]
    for name, config, seconds in results:
        params = sum(p.numel() for p in DiT(config).parameters())
        print(f"{name:80s} {params / 1e6:5.2f} M params  {seconds:.3f} s/step  {seconds / base:.2f}x shipped")
