"""Pilot (issue 3): retrain only the DiT of a `timbre train all` folder with another step count and learning rate,
then judge its generations at cfg 4 and 7 (80 items, 16 Heun steps), as `timbre analyse generation` does.

The codec, conditioner and classifiers are read from TRAIN_DIR unchanged; the pool and seeds are the training
run's, so the shipped denoiser is the steps=2500, lr=5e-4 case. Writes a copy of the folder with the new denoiser.
Usage: python benchmarks/pilots/denoiser_steps.py TRAIN_DIR OUT_DIR --steps 5000 [--lr 5e-4]
"""
import argparse
import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

from jobs.training_stages import SCALES, Context, frames_per_row
from timbre.analysis.generation import generation_accuracy
from timbre.edits.base import SamplerConfig
from timbre.models.bundle import load_bundle
from timbre.models.checkpoint import save_component
from timbre.training.denoiser import condition_tables, train_denoiser


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("train_dir", type=Path, help="a `timbre train all --out` folder (make train-default's build/default-bundle)")
    p.add_argument("out_dir", type=Path, help="where the copy with the retrained denoiser goes")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--lr", type=float, default=5e-4)
    args = p.parse_args()
    shutil.copytree(args.train_dir, args.out_dir, dirs_exist_ok=True)
    scale = SCALES["full"]
    ctx = Context(args.train_dir, scale, corpus_seed=0, seed=0)
    codec, conditioner = ctx.component("codec"), ctx.component("conditioner")
    latents, tables = ctx.pool_latents(codec), condition_tables(conditioner, ctx.pool)
    model_config = replace(scale.dit, channels=codec.channels, cond_dim=conditioner.dim)
    config = replace(scale.denoiser_training, steps=args.steps, lr=args.lr, seed=0)
    start = time.perf_counter()
    net, metrics = train_denoiser(model_config, config, latents, frames_per_row(ctx.pool, codec.hop_length), tables,
                                  lambda step, loss: print(f"step {step}: loss {loss:.4f}", flush=True))
    print(json.dumps({"train_seconds": round(time.perf_counter() - start, 1), **metrics}), flush=True)
    save_component(net, args.out_dir / "denoiser.safetensors")
    bundle = load_bundle(args.out_dir)
    for cfg in (4.0, 7.0):
        result = generation_accuracy(bundle, bundle.audio_classifier, 8, 125, SamplerConfig(steps=16, cfg=cfg), 0)
        print(json.dumps({"cfg": cfg, "accuracy": result["accuracy"], "per_instrument": result["per_instrument"]}))


if __name__ == "__main__":
    main()
