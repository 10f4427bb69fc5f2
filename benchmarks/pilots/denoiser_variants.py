"""Pilot (issue 3): train several denoiser scales on one shared corpus pool and judge each one's generations.

Every variant reuses the shipped codec, conditioner and audio classifier (copied from the default bundle), so only the
DiT differs. The pool is rendered and encoded once. Each variant trains with `timbre train denoiser`'s own stage
(on --device, e.g. cuda) and is then judged there as `timbre analyse generation` judges: the canonical prompt,
16 Heun steps, 4 s, --per-instrument items each, at every --cfg. One JSON line per variant, also appended to --out/variants.jsonl;
the training folders go under --work (default: --out).
Usage: python benchmarks/pilots/denoiser_variants.py --scales full,full-4s --device cuda --out DIR [--work DIR]
"""
import argparse
import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

import torch

from jobs import training_stages as stages
from timbre.analysis.generation import generation_accuracy
from timbre.corpus.instruments import INSTRUMENT_NAMES
from timbre.denoisers import EDMPrecond
from timbre.edits.base import SamplerConfig
from timbre.models.bundle import ModelBundle, bundle_folder

SHIPPED = ("codec", "conditioner", "audio_classifier")


def prepare(folder: Path) -> None:
    """A training folder holding the default bundle's codec, conditioner and audio classifier and their records."""
    source = bundle_folder("default")
    (folder / stages.RECORDS).mkdir(parents=True, exist_ok=True)
    for name in SHIPPED:
        shutil.copy(source / f"{name}.safetensors", folder)
    for name in ("codec", "conditioner", "classifiers"):
        shutil.copy(source / stages.RECORDS / f"{name}.json", folder / stages.RECORDS)


def judge(ctx: stages.Context, cfgs: list[float], per_instrument: int, seconds: float) -> dict:
    """Generation accuracy of the folder's denoiser at each guidance scale (the analyse-generation protocol), on the
    training device."""
    codec, conditioner = ctx.component("codec"), ctx.component("conditioner")
    bundle = ModelBundle("variant", codec, EDMPrecond(ctx.component("denoiser"), ctx.scale.denoiser_training.sigma_data),
                         conditioner, torch.zeros(conditioner.dim), INSTRUMENT_NAMES,
                         audio_classifier=ctx.component("audio_classifier")).to(ctx.device)
    frames = round(seconds * codec.sample_rate / codec.hop_length)
    judge_model = bundle.audio_classifier
    rows = {}
    for cfg in cfgs:
        result = generation_accuracy(bundle, judge_model, per_instrument, frames, SamplerConfig(steps=16, cfg=cfg), 0)
        rows[str(cfg)] = {"accuracy": result["accuracy"], "per_instrument": result["per_instrument"]}
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scales", default="full,full-4s")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", required=True)
    p.add_argument("--work", default=None, help="folder for the training folders (default: --out)")
    p.add_argument("--cfg", default="4,7")
    p.add_argument("--per-instrument", type=int, default=10)
    p.add_argument("--seconds", type=float, default=4.0)
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work) if args.work else out
    shared = None
    for name in args.scales.split(","):
        folder = work / name
        prepare(folder)
        scale = stages.SCALES[name]
        if shared is not None and (scale.stems, scale.notes) == (shared.scale.stems, shared.scale.notes):
            ctx = replace(shared, out=folder, scale=scale)  # the rendered pool and its latents come along
        else:
            ctx = stages.Context(folder, scale, 0, 0, log=lambda line: None, device=args.device)
        start = time.perf_counter()
        stages.denoiser(ctx)
        trained = time.perf_counter() - start
        shared = ctx
        record = json.loads((folder / stages.RECORDS / "denoiser.json").read_text())
        row = {"scale": name, "device": args.device, "seconds_with_check": round(trained, 1),
               "train_seconds": record["seconds"], "final_loss": round(record["final_loss"], 4),
               "parameters": sum(p.numel() for p in ctx.component("denoiser").parameters()),
               "check_cfg2_24steps": record["generation"]["accuracy"],
               "generation": judge(ctx, [float(c) for c in args.cfg.split(",")], args.per_instrument, args.seconds)}
        print(json.dumps(row), flush=True)
        with open(out / "variants.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
