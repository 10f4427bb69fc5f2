"""Pilot (issue 3, thirty-third session): a DiT that resolves the timbre later, by training it with the codec's timbre
channels scaled down.

In EDM a latent feature of amplitude a is resolved around sigma ~ a. The shipped DiT takes its generation's instrument
between sigma 16 and 3 (steps 3-9 of 16, mean swap step 6.5: `diff_tone_readings.py`), before the midpoint step (sigma
1.86), so Diff-TONE swaps earlier than the midpoint and keeps less of the notes (docs/models.md, "Diff-TONE with the
structure held"). The paper's model works the other way round: structure first, then timbre. This trains the
shipped recipe's DiT (the shipped scale, pool, codec and conditioner) on latents whose timbre channels (the codec's
after its structure channels) are multiplied by --timbre-scale, the loss weights divided by its square so that the
loss in the codec's units is the shipped one at every noise level: only each channel's schedule moves. Then, on a
bundle view that divides the scale out before decoding and before the latent classifier, it prints the generation
accuracy, what Diff-TONE's classifier reads per step (the guided and the unconditional x0_hat, as
`diff_tone_readings.py`) and the Diff-TONE check against the midpoint (`timbre analyse diff-tone`'s figures).
Usage: python benchmarks/pilots/timbre_scaled_dit.py --out DIR [--timbre-scale 0.25] [--steps 2500] [--items 80]
       [--sampling-steps 16] [--cfg 4] [--generation-only]
"""
import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch
from torch import nn

from diff_tone_readings import classifier_readings
from scaled_latents import ScaledCodec

from jobs import training_stages as stages
from timbre.analysis.diff_tone_check import diff_tone_on_generations
from timbre.analysis.generation import generation_accuracy
from timbre.denoisers import EDMPrecond
from timbre.edits.base import SamplerConfig
from timbre.models.bundle import load_bundle
from timbre.models.checkpoint import load_component, save_component
from timbre.models.protocols import structure_channels
from timbre.training.decoder_weights import channel_weights
from timbre.training.denoiser import condition_tables, train_denoiser
from timbre.training.pool import row_weights

BASE_SCALE = stages.PERIODICITY_FREE  # "the shipped scale" above: the one shipped when this pilot ran


class UnscaledClassifier(nn.Module):
    """A latent classifier of the codec's own latents, reading scaled ones."""

    def __init__(self, classifier, scales: torch.Tensor):
        super().__init__()
        self.classifier = classifier
        self.register_buffer("scales", scales)

    def forward(self, z):
        return self.classifier(z / self.scales[:, None].to(z.device))


def train(out: Path, shipped, scales: torch.Tensor, steps: int) -> Path:
    """The shipped scale's denoiser stage on scaled latents, the loss in the codec's units as shipped."""
    path = out / "denoiser.safetensors"
    if path.exists():
        return path
    start = time.perf_counter()
    scale = stages.SCALES[BASE_SCALE]
    ctx = stages.Context(out, scale, 0, 0, log=lambda line: print(line, flush=True))
    codec, conditioner = shipped.codec, shipped.conditioner
    latents = ctx.pool_latents(codec)
    config = dataclasses.replace(scale.denoiser_training, steps=steps, seed=0)
    weights = channel_weights(stages.pool_sensitivity(codec, latents), config.decoder_weighting,
                              structure_channels(codec), config.structure_weight) / scales ** 2
    model_config = dataclasses.replace(scale.dit, channels=codec.channels, cond_dim=conditioner.dim)
    rows = row_weights(scale.stems, scale.notes, config.stem_share)
    tables = condition_tables(conditioner, ctx.pool)
    net, metrics = train_denoiser(model_config, config, latents * scales[None, :, None],
                                  stages.frames_per_row(ctx.pool, codec.hop_length), tables, ctx.progress("denoiser"),
                                  structure_channels(codec), "cpu", weights, row_weights=rows)
    save_component(net, path)
    print(json.dumps({"train_seconds": round(time.perf_counter() - start), "final_loss": metrics["final_loss"]}),
          flush=True)
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--timbre-scale", type=float, default=0.25)
    p.add_argument("--steps", type=int, default=stages.SCALES[BASE_SCALE].denoiser_training.steps)
    p.add_argument("--items", type=int, default=80, help="generations of the Diff-TONE check")
    p.add_argument("--cfg", type=float, default=4.0)
    p.add_argument("--sampling-steps", type=int, default=16, help="steps of every generation and edit")
    p.add_argument("--generation-only", action="store_true",
                   help="judge the generations only (a control run: --timbre-scale 1 is the shipped recipe)")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    shipped = load_bundle("default")
    scales = torch.ones(shipped.codec.channels)
    scales[structure_channels(shipped.codec):] = args.timbre_scale
    path = train(args.out, shipped, scales, args.steps)
    bundle = dataclasses.replace(shipped, codec=ScaledCodec(shipped.codec, scales),
                                 denoiser=EDMPrecond(load_component(path), 0.5),
                                 latent_classifier=UnscaledClassifier(shipped.latent_classifier, scales))
    sampler = SamplerConfig(steps=args.sampling_steps, cfg=args.cfg)
    start = time.perf_counter()
    with torch.no_grad():
        generation = generation_accuracy(bundle, bundle.audio_classifier, 10, 125, sampler)
    print(json.dumps({"timbre_scale": args.timbre_scale, "cfg": args.cfg, "sampling_steps": args.sampling_steps,
                      "generation": generation["accuracy"],
                      "per_instrument": generation["per_instrument"],
                      "seconds": round(time.perf_counter() - start)}), flush=True)
    if args.generation_only:
        return
    print(json.dumps({"readings": classifier_readings(bundle, 40, sampler)}), flush=True)
    for estimate in ("unconditional", "guided"):
        start = time.perf_counter()
        check = diff_tone_on_generations(bundle, args.items, 125, sampler, estimate=estimate)
        print(json.dumps({"estimate": estimate, **{k: check[k] for k in ("source_generation_accuracy", "swap_found",
                                                                          "swap_step_mean", "methods")},
                          "against_midpoint": check["diff_tone_against_midpoint"],
                          "seconds": round(time.perf_counter() - start)}), flush=True)


if __name__ == "__main__":
    main()
