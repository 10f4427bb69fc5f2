"""Pilot (issue 3): which condition and guidance make the bundle's generations most recognisable?

Generates every instrument from the same seeded noise as `timbre analyse generation` (item i of an instrument from
(seed, "name#i")), judged by the bundle's audio classifier, under:
- canonical: the canonical prompt "solo {name}" (what `analyse generation` uses);
- ensemble: the mean of the training templates' text embeddings, renormalised (CLIP's prompt ensembling,
  Radford et al. 2021, sec. 3.1.4);
- audio: the mean audio embedding of 16 training-split stems of the instrument, renormalised (the DiT is trained on
  reference-recording embeddings half the time);
each at the given guidance scales, and with guidance only inside a sigma interval (Kynkaenniemi et al. 2024,
"Applying guidance in a limited interval improves sample and distribution quality in diffusion models"), or with
EDM's stochastic sampler (Karras et al. 2022, Algorithm 2: S_churn, noise added back for sigma in [0.05, 50]).
Two more guides read a second bundle (the same codec and conditioner):
- `--autoguide DIR:W,...`: autoguidance (Karras et al. 2024, "Guiding a diffusion model with a bad version of
  itself"): CFG on the bundle's DiT plus (W - 1) (D(c) - D_weak(c)), D_weak the second bundle's conditional DiT,
  e.g. the weak twin `timbre train denoiser --scale full-weak-twin`;
- `--switch DIR:SIGMA`: the second bundle's DiT above SIGMA and the first's below, and the reverse: which noise
  levels of a differently trained DiT help or hurt.
Usage: python benchmarks/pilots/generation_conditions.py --model default --per 8 --cfg 4,7 [--interval 0.3,5]
       [--churn 2,40] [--steps 16] [--autoguide DIR:1.5,2] [--switch DIR:1,5]
"""
import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from timbre.conditions import expand_cond
from timbre.corpus.prompts import canonical_prompt
from timbre.conditions import concat_conds
from timbre.denoisers import ClassifierFreeGuidance, sigma_batch
from timbre.edits.base import SamplerConfig
from timbre.models.bundle import load_bundle
from timbre.randomness import item_generators, randn_items
from timbre.samplers import ode_step, sample
from timbre.training.denoiser import condition_tables
from timbre.training.pool import corpus_pool


def noise_level(sigma) -> float:
    """The batch's noise level (samplers pass one sigma for every item)."""
    return float(sigma.flatten()[0]) if torch.is_tensor(sigma) else float(sigma)


class IntervalGuidance:
    """CFG at `scale` for sigma in (low, high], plain conditional elsewhere."""

    def __init__(self, denoiser, uncond, scale: float, low: float, high: float):
        self.guided = ClassifierFreeGuidance(denoiser, uncond, scale)
        self.plain = denoiser
        self.low, self.high = low, high

    def __call__(self, x, sigma, cond):
        return self.guided(x, sigma, cond) if self.low < noise_level(sigma) <= self.high else self.plain(x, sigma, cond)


class Autoguidance:
    """CFG on the good DiT, then (weight - 1) times its conditional prediction minus the weak DiT's; the good DiT's
    conditional and unconditional predictions come from one batched forward, as ClassifierFreeGuidance makes them."""

    def __init__(self, denoiser, uncond, scale: float, weak, weight: float):
        self.good, self.uncond, self.scale, self.weak, self.weight = denoiser, uncond, scale, weak, weight

    def __call__(self, x, sigma, cond):
        b, s = x.shape[0], sigma_batch(x, sigma)
        if self.scale == 1.0:
            conditional = guided = self.good(x, sigma, cond)
        else:
            both = self.good(torch.cat([x, x]), torch.cat([s, s]), concat_conds(cond, expand_cond(self.uncond, b)))
            conditional, unconditional = both[:b], both[b:]
            guided = unconditional + self.scale * (conditional - unconditional)
        return guided + (self.weight - 1) * (conditional - self.weak(x, sigma, cond))


class NoiseSwitch:
    """One guided denoiser above a noise level, another at or below it."""

    def __init__(self, high, low, at: float):
        self.high, self.low, self.at = high, low, at

    def __call__(self, x, sigma, cond):
        return (self.high if noise_level(sigma) > self.at else self.low)(x, sigma, cond)


def sample_stochastic(denoiser, x, sigmas, cond, generators, churn: float, s_min: float = 0.05, s_max: float = 50.0,
                      s_noise: float = 1.003):
    """EDM's stochastic Heun sampler (Karras et al. 2022, Algorithm 2); the added noise drawn per item."""
    steps = len(sigmas) - 1
    for i in range(steps):
        sigma, sigma_next = float(sigmas[i]), float(sigmas[i + 1])
        gamma = min(churn / steps, math.sqrt(2) - 1) if s_min <= sigma <= s_max else 0.0
        sigma_hat = sigma * (1 + gamma)
        if gamma > 0:
            x = x + math.sqrt(sigma_hat**2 - sigma**2) * s_noise * randn_items(generators, x.shape[1:])
        denoised = denoiser(x, sigma_batch(x, sigma_hat), cond)
        x = ode_step(denoiser, x, sigma_hat, sigma_next, cond, denoised, heun=True)
    return x


def conditions(bundle, which: list[str]) -> dict[str, torch.Tensor]:
    """(K, dim) condition per instrument for each requested way of asking for it; the ensemble and the audio centroid
    come from the DiT's training condition tables, built only when one of them is asked for."""
    names = bundle.instruments
    out = {"canonical": bundle.conditioner.embed_text([canonical_prompt(n) for n in names])}
    if {"ensemble", "audio"} & set(which):
        tables = condition_tables(bundle.conditioner, corpus_pool(0, 16 * len(names) * 2, 0, 2.0, split="train"))
        out["ensemble"] = F.normalize(tables.text.mean(1), dim=-1)
        out["audio"] = torch.stack([F.normalize(tables.audio[tables.row_instruments == i][:16].mean(0), dim=0)
                                    for i in range(len(names))])
    return {name: out[name] for name in which}


@torch.no_grad()
def accuracy(bundle, cond: torch.Tensor, denoiser, per: int, frames: int, sampler: SamplerConfig, seed: int,
             churn: float = 0.0) -> dict:
    per_instrument = {}
    sigmas = sampler.sigmas()
    for index, name in enumerate(bundle.instruments):
        generators = item_generators(seed, [f"{name}#{i}" for i in range(per)])
        x = randn_items(generators, (bundle.codec.channels, frames)) * sigmas[0]
        c = expand_cond(cond[index: index + 1], per)
        latents = (sample_stochastic(denoiser, x, sigmas, c, generators, churn) if churn
                   else sample(denoiser, x, sigmas, c, heun=sampler.heun))
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
    p.add_argument("--churn", default="", help="S_churn values: also sample with EDM's stochastic sampler")
    p.add_argument("--autoguide", default="", help="DIR:W,...: also autoguide away from DIR's DiT at weights W")
    p.add_argument("--switch", default="", help="DIR:SIGMA,...: also DIR's DiT above SIGMA, this one below, and back")
    args = p.parse_args()
    bundle = load_bundle(args.model)
    frames = max(1, round(args.seconds * bundle.sample_rate / bundle.codec.hop_length))
    conds = conditions(bundle, args.which.split(","))
    model = bundle.edit_model()
    if args.autoguide:
        weak_folder, weights = args.autoguide.rsplit(":", 1)
        weak = load_bundle(weak_folder).denoiser
    if args.switch:
        other_folder, levels = args.switch.rsplit(":", 1)
        other = load_bundle(other_folder).edit_model()
    for scale in [float(c) for c in args.cfg.split(",")]:
        sampler = SamplerConfig(steps=args.steps, cfg=scale)
        guides = {"full": ClassifierFreeGuidance(model.denoiser, model.null_cond, scale)}
        if args.interval:
            low, high = (float(v) for v in args.interval.split(","))
            guides[f"({low}, {high}]"] = IntervalGuidance(model.denoiser, model.null_cond, scale, low, high)
        if args.autoguide:
            for w in (float(v) for v in weights.split(",")):
                guides[f"autoguidance {w} from {weak_folder}"] = Autoguidance(model.denoiser, model.null_cond, scale,
                                                                              weak, w)
        if args.switch:
            mine, theirs = guides["full"], ClassifierFreeGuidance(other.denoiser, other.null_cond, scale)
            for at in (float(v) for v in levels.split(",")):
                guides[f"{other_folder} above {at}"] = NoiseSwitch(theirs, mine, at)
                guides[f"{other_folder} at or below {at}"] = NoiseSwitch(mine, theirs, at)
        for guide, denoiser in guides.items():
            for which in conds:
                for churn in [0.0] + [float(c) for c in args.churn.split(",") if c]:
                    start = time.perf_counter()
                    result = accuracy(bundle, conds[which], denoiser, args.per, frames, sampler, 0, churn)
                    print(json.dumps({"condition": which, "cfg": scale, "steps": args.steps, "guidance": guide,
                                      "churn": churn, **result, "seconds": round(time.perf_counter() - start, 1)}),
                          flush=True)


if __name__ == "__main__":
    main()
