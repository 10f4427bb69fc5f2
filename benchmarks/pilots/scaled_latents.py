"""Pilot (issue 3): train the default recipe's DiT in a latent space scaled by the codec decoder's sensitivity, or
with the decoder-weighted loss for more steps, and judge its generations.

Each latent channel c is multiplied by a_c = max(1, s_c / median s) ** (scale_power / 2), s from
timbre.training.decoder_weights, before diffusion and divided out before decoding (a codec wrapper), so a loud
channel is resolved at higher noise levels and its residual error shrinks by a_c in the decoded spectrum. The loss
weights max(1, s_c / median s) ** weighting / a_c ** 2 keep the loss in the codec's own units that power. Scale
power 0.5 with weighting 0.5 thus has the shipped loss at every noise level (uniform in the scaled space), and moves
only the schedule of each channel; scale power 0 is the shipped recipe (with --steps, a longer run of it).
The shipped bundle's codec, conditioner and judge are used; the pool is the shipped scale's; weights go to --out.
Also prints both DiTs' denoising error on held-out latents (48 stems of corpus seed 7), in the codec's units, in
channels 0-8 and the rest, at a few sigmas (the same sigma is less noise in a scaled-up channel: not like for like).
Usage: python benchmarks/pilots/scaled_latents.py --out DIR --scale-power 0.5 --weighting 0.5 [--steps 2500]
"""
import argparse
import dataclasses
import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from jobs import training_stages as stages
from timbre.analysis.generation import generation_accuracy
from timbre.corpus.prompts import canonical_prompt
from timbre.denoisers import EDMPrecond
from timbre.edits.base import SamplerConfig
from timbre.models.bundle import load_bundle
from timbre.models.checkpoint import load_component, save_component
from timbre.models.protocols import structure_channels
from timbre.training.decoder_weights import channel_weights
from timbre.training.denoiser import condition_tables, train_denoiser
from timbre.training.pool import corpus_pool


class ScaledCodec:
    """The wrapped codec with each latent channel multiplied by a fixed scale."""

    hold_level = None  # the codec's level hold reads unscaled latents: not offered

    def __init__(self, codec, scales: torch.Tensor):
        self.codec, self.scales = codec, scales

    def __getattr__(self, name):
        return getattr(self.codec, name)

    def encode(self, audio):
        return self.codec.encode(audio) * self.scales[:, None].to(audio.device)

    def decode(self, z):
        return self.codec.decode(z / self.scales[:, None].to(z.device))

    def decode_log_magnitude(self, z):
        return self.codec.decode_log_magnitude(z / self.scales[:, None].to(z.device))


@torch.no_grad()
def held_out_denoising_error(shipped, scaled_denoiser, scales: torch.Tensor, sigmas=(0.05, 0.3, 1.0, 5.0)) -> dict:
    """RMS error of each DiT's clean estimate in the codec's units, channels 0-8 and the rest, per sigma."""
    pool = corpus_pool(7, 48, 0, 2.0)
    z = shipped.codec.encode(pool.audio)[:, :, :64]
    cond = shipped.conditioner.embed_text([canonical_prompt(shipped.instruments[int(i)]) for i in pool.instruments])
    g, a, out = torch.Generator().manual_seed(0), scales[:, None], {}
    for sigma in sigmas:
        noise = torch.randn(z.shape, generator=g) * sigma
        errors = {"shipped": shipped.denoiser(z + noise, torch.tensor(sigma), cond) - z,
                  "scaled": (scaled_denoiser(z * a + noise, torch.tensor(sigma), cond) - z * a) / a}
        out[str(sigma)] = {name: {"0-8": round(float(e[:, :9].pow(2).mean().sqrt()), 4),
                                  "rest": round(float(e[:, 9:].pow(2).mean().sqrt()), 4)} for name, e in errors.items()}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--scale-power", type=float, default=0.5)
    p.add_argument("--weighting", type=float, default=0.5,
                   help="power of the decoder weights, in the codec's units (0.5 shipped)")
    p.add_argument("--steps", type=int, default=stages.SCALES["full"].denoiser_training.steps)
    p.add_argument("--judge", nargs="*", default=["0:7", "1:7"], help="SEED:CFG pairs of the generation check")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    shipped = load_bundle("default")
    ctx = stages.Context(args.out, stages.SCALES["full"], 0, 0)
    codec = shipped.codec
    latents = ctx.pool_latents(codec)
    sensitivity = stages.pool_sensitivity(codec, latents)
    scales = channel_weights(sensitivity, args.scale_power / 2)
    path = args.out / "denoiser.safetensors"
    if not path.exists():
        start = time.perf_counter()
        config = replace(ctx.scale.denoiser_training, steps=args.steps, seed=0)  # the weights are passed below
        conditioner = shipped.conditioner
        tables = condition_tables(conditioner, ctx.pool)
        model_config = replace(ctx.scale.dit, channels=codec.channels, cond_dim=conditioner.dim)
        weights = (channel_weights(sensitivity, args.weighting) / scales ** 2
                   if args.weighting or args.scale_power else None)
        net, metrics = train_denoiser(model_config, config, latents * scales[None, :, None],
                                      stages.frames_per_row(ctx.pool, codec.hop_length), tables, None,
                                      structure_channels(codec), "cpu", weights)
        save_component(net, path)
        print(json.dumps({"train_seconds": round(time.perf_counter() - start), "final_loss": metrics["final_loss"],
                          "scales": [round(v, 2) for v in scales[:8].tolist()]}), flush=True)
    bundle = dataclasses.replace(shipped, codec=ScaledCodec(codec, scales),
                                 denoiser=EDMPrecond(load_component(path), ctx.scale.denoiser_training.sigma_data))
    print(json.dumps({"held_out_denoising_error": held_out_denoising_error(shipped, bundle.denoiser, scales)}), flush=True)
    for pair in args.judge:
        seed, cfg = int(pair.split(":")[0]), float(pair.split(":")[1])
        with torch.no_grad():
            result = generation_accuracy(bundle, bundle.audio_classifier, 20, 125, SamplerConfig(steps=16, cfg=cfg),
                                         seed=seed)
        print(json.dumps({"scale_power": args.scale_power, "weighting": args.weighting, "steps": args.steps,
                          "seed": seed, "cfg": cfg, "accuracy": result["accuracy"],
                          "per_instrument": result["per_instrument"]}), flush=True)


if __name__ == "__main__":
    main()
