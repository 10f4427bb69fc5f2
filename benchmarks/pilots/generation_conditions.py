"""Pilot (issue 3): which condition and guidance make the bundle's generations most recognisable?

Generates every instrument from the same seeded noise as `timbre analyse generation` (item i of an instrument from
(seed, "name#i")), judged by the bundle's audio classifier, under:
- canonical: the canonical prompt "solo {name}" (what `analyse generation` uses);
- ensemble: the mean of the training templates' text embeddings, renormalised (CLIP's prompt ensembling,
  Radford et al. 2021, sec. 3.1.4);
- audio: the mean audio embedding of 16 training-split stems of the instrument, renormalised (the DiT is trained on
  reference-recording embeddings half the time);
each at the given guidance scales, and with guidance only inside a sigma interval (Kynkaenniemi et al. 2024,
"Applying guidance in a limited interval improves sample and distribution quality in diffusion models").
Usage: python benchmarks/pilots/generation_conditions.py --model default --per 8 --cfg 4,7 [--interval 0.3,5]
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

from timbre.conditions import expand_cond
from timbre.corpus.prompts import canonical_prompt
from timbre.denoisers import ClassifierFreeGuidance
from timbre.edits.base import SamplerConfig
from timbre.models.bundle import load_bundle
from timbre.randomness import item_generators, randn_items
from timbre.samplers import sample
from timbre.training.denoiser import condition_tables
from timbre.training.pool import corpus_pool


class IntervalGuidance:
    """CFG at `scale` for sigma in (low, high], plain conditional elsewhere."""

    def __init__(self, denoiser, uncond, scale: float, low: float, high: float):
        self.guided = ClassifierFreeGuidance(denoiser, uncond, scale)
        self.plain = denoiser
        self.low, self.high = low, high

    def __call__(self, x, sigma, cond):
        s = float(sigma.flatten()[0]) if torch.is_tensor(sigma) else float(sigma)
        return self.guided(x, sigma, cond) if self.low < s <= self.high else self.plain(x, sigma, cond)


def conditions(bundle) -> dict[str, torch.Tensor]:
    """(K, dim) condition per instrument for each way of asking for it, from the DiT's training condition tables."""
    names = bundle.instruments
    pool = corpus_pool(0, 16 * len(names) * 2, 0, 2.0, split="train")
    tables = condition_tables(bundle.conditioner, pool)
    return {"canonical": bundle.conditioner.embed_text([canonical_prompt(n) for n in names]),
            "ensemble": F.normalize(tables.text.mean(1), dim=-1),
            "audio": torch.stack([F.normalize(tables.audio[tables.row_instruments == i][:16].mean(0), dim=0)
                                  for i in range(len(names))])}


@torch.no_grad()
def accuracy(bundle, cond: torch.Tensor, denoiser, per: int, frames: int, sampler: SamplerConfig, seed: int) -> dict:
    per_instrument = {}
    sigmas = sampler.sigmas()
    for index, name in enumerate(bundle.instruments):
        generators = item_generators(seed, [f"{name}#{i}" for i in range(per)])
        x = randn_items(generators, (bundle.codec.channels, frames)) * sigmas[0]
        latents = sample(denoiser, x, sigmas, expand_cond(cond[index: index + 1], per), heun=sampler.heun)
        predicted = bundle.audio_classifier(bundle.codec.decode(latents)).argmax(-1)
        per_instrument[name] = float((predicted == index).float().mean())
    return {"accuracy": float(np.mean(list(per_instrument.values()))), "per_instrument": per_instrument}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--per", type=int, default=8, help="generations per instrument")
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--cfg", default="4,7")
    p.add_argument("--interval", default="", help="low,high: also guide only for sigma in (low, high]")
    p.add_argument("--which", default="canonical,ensemble,audio")
    args = p.parse_args()
    bundle = load_bundle(args.model)
    frames = max(1, round(args.seconds * bundle.sample_rate / bundle.codec.hop_length))
    conds = conditions(bundle)
    model = bundle.edit_model()
    for scale in [float(c) for c in args.cfg.split(",")]:
        sampler = SamplerConfig(steps=args.steps, cfg=scale)
        guides = {"full": ClassifierFreeGuidance(model.denoiser, model.null_cond, scale)}
        if args.interval:
            low, high = (float(v) for v in args.interval.split(","))
            guides[f"({low}, {high}]"] = IntervalGuidance(model.denoiser, model.null_cond, scale, low, high)
        for guide, denoiser in guides.items():
            for which in args.which.split(","):
                start = time.perf_counter()
                result = accuracy(bundle, conds[which], denoiser, args.per, frames, sampler, seed=0)
                print(json.dumps({"condition": which, "cfg": scale, "guidance": guide, **result,
                                  "seconds": round(time.perf_counter() - start, 1)}), flush=True)


if __name__ == "__main__":
    main()
