"""Pilot (issue 3): the length of the DiT's weight average. One run of the shipped recipe keeps several weight
averages at once: exponential ones with the shipped warm-up ramp (timbre.training.denoiser.ema_rate) and EDM2's
power-function ones (power_function_rate), and the raw final weights; each is judged by the generation check.

EDM2 (Karras et al. 2024, section 3) finds the averaging length a large lever on sample quality, and the right one
hard to guess; the shipped one was never tuned. The run uses the shipped codec, conditioner, pool, channel weights and
seed, so its average at the configured decay must equal the shipped DiT up to the bundle's float16 storage (printed).
Weights go to --out; a second call with the same --out judges the saved averages without retraining.
Usage: python benchmarks/pilots/ema_length.py --out DIR [--decays 0.99 0.995 0.998] [--gammas 1 2 4] [--raw]
       [--judge 0:7 1:7]
"""
import argparse
import copy
import dataclasses
import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from jobs import training_stages as stages
from timbre.analysis.generation import generation_accuracy
from timbre.denoisers import EDMPrecond
from timbre.edits.base import SamplerConfig
from timbre.models.bundle import load_bundle
from timbre.models.checkpoint import load_component, save_component
from timbre.models.dit import DiT
from timbre.training.denoiser import ema_rate, power_function_rate, update_weight_average
from timbre.training.loop import seeded


def average_names(decays: list[float], gammas: list[float]) -> dict:
    """{name: rate(step)} of every average kept."""
    return {**{f"ema{d}": (lambda step, d=d: ema_rate(d, step)) for d in decays},
            **{f"pf{g}": (lambda step, g=g: power_function_rate(g, step)) for g in gammas}}


def average_path(out: Path, name: str) -> Path:
    return out / f"denoiser-{name}.safetensors"


def train(out: Path, rates: dict, shipped) -> None:
    """The shipped recipe once (the denoiser stage's own training), saving each kept average and the raw weights."""
    ctx = stages.Context(out, stages.SCALES["full"], 0, 0)
    config = ctx.scale.denoiser_training
    model_config = replace(ctx.scale.dit, channels=shipped.codec.channels, cond_dim=shipped.conditioner.dim)
    averages = {name: seeded(lambda: DiT(model_config), config.seed).requires_grad_(False) for name in rates}
    raw = {}

    def after_step(step: int, net: torch.nn.Module) -> None:
        for name, average in averages.items():
            update_weight_average(average, net, rates[name](step))
        if step == config.steps - 1:
            raw["net"] = copy.deepcopy(net)

    start = time.perf_counter()
    net, metrics, _, _ = stages.fit_denoiser(ctx, shipped.codec, shipped.conditioner, config, after_step=after_step)
    for name, average in {**averages, "raw": raw["net"]}.items():
        save_component(average.eval(), average_path(out, name))
    shipped_weights = shipped.denoiser.net.state_dict()  # stored as float16 in the bundle
    difference = max((v.half().float() - shipped_weights[k]).abs().max().item() for k, v in net.state_dict().items())
    print(json.dumps({"train_seconds": round(time.perf_counter() - start), "final_loss": metrics["final_loss"],
                      "max |returned average in float16 - shipped|": difference}), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--decays", type=float, nargs="*", default=[0.99, 0.995, 0.998])
    p.add_argument("--gammas", type=float, nargs="*", default=[], help="EDM2 power-function averages")
    p.add_argument("--raw", action="store_true", help="judge the raw final weights too")
    p.add_argument("--judge", nargs="*", default=["0:7"], help="SEED:CFG pairs of the generation check")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    shipped = load_bundle("default")
    rates = average_names(args.decays, args.gammas)
    if not all(average_path(args.out, name).exists() for name in [*rates, "raw"]):
        train(args.out, rates, shipped)
    sigma_data = stages.SCALES["full"].denoiser_training.sigma_data
    for name in [*rates] + (["raw"] if args.raw else []):
        bundle = dataclasses.replace(shipped, denoiser=EDMPrecond(load_component(average_path(args.out, name)),
                                                                  sigma_data))
        for pair in args.judge:
            seed, cfg = int(pair.split(":")[0]), float(pair.split(":")[1])
            with torch.no_grad():
                result = generation_accuracy(bundle, bundle.audio_classifier, 20, 125,
                                             SamplerConfig(steps=16, cfg=cfg), seed=seed)
            print(json.dumps({"average": name, "seed": seed, "cfg": cfg, "accuracy": result["accuracy"],
                              "per_instrument": result["per_instrument"]}), flush=True)


if __name__ == "__main__":
    main()
