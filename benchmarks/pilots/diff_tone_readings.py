"""Pilot (issue 3, thirty-second session): what Diff-TONE's latent classifier reads along the bundle's generations.

Generates `--items` items from their prompts (item i: instrument i mod K, the noise `analyse diff-tone` draws) and
prints, per sampling step, the classifier's mean top-1 probability and the share of items it names as the prompt's
instrument, on the sampler's guided x0_hat (the paper's reading) and on the unconditional x0_hat from the same state
(`DiffToneParams.estimate`), with the share of items whose reading ever changes (a swap step found), the mean swap
step and what each reading names at the first step. `timbre_scaled_dit.py` calls `classifier_readings` too.
Usage: python benchmarks/pilots/diff_tone_readings.py [--model default] [--items 40] [--cfg 4] [--steps 16]
"""
import argparse
import json

import torch

from timbre.corpus.prompts import canonical_prompt
from timbre.edits.base import SamplerConfig, generate
from timbre.edits.diff_tone import last_change_step, step_at, unconditional_estimate
from timbre.models.bundle import load_bundle
from timbre.randomness import item_generators, randn_items


@torch.no_grad()
def classifier_readings(bundle, items: int, sampler: SamplerConfig) -> dict:
    """Per reading (guided, unconditional), from one source-only run of `items` generations: per step the mean top-1
    probability and the share naming the prompt's instrument, the share whose reading ever changes (a swap found),
    the mean swap step (the midpoint's where none is found) and what the reading names at the first step."""
    prompts = torch.arange(items) % len(bundle.instruments)
    cond = bundle.conditioner.embed_text([canonical_prompt(bundle.instruments[int(i)]) for i in prompts])
    frames = round(4.0 * bundle.sample_rate / bundle.codec.hop_length)
    ids = [f"generation{i}" for i in range(items)]
    x_start = randn_items(item_generators(0, ids), (bundle.codec.channels, frames)) * sampler.sigmas()[0]
    model = bundle.edit_model()
    readings = {"guided": [], "unconditional": []}

    def observe(step):
        unconditional = unconditional_estimate(model, sampler, step)
        for name, estimate in (("guided", step["denoised"]), ("unconditional", unconditional)):
            readings[name].append(torch.softmax(model.latent_classifier(estimate), -1))

    generate(model, sampler, x_start, sampler.sigmas(), cond, callback=observe)
    out = {}
    for name, probabilities in readings.items():
        top = torch.stack(probabilities).max(-1)  # (steps, items)
        step, found = last_change_step(top.indices)
        step = torch.where(found, step, torch.full_like(step, step_at(0.5, sampler.steps)))
        out[name] = {"mean_top1_probability": [round(float(v), 3) for v in top.values.mean(1)],
                     "share_naming_the_prompt": [round(float(v), 3) for v in (top.indices == prompts).float().mean(1)],
                     "swap_found": round(float(found.float().mean()), 3),
                     "swap_step_mean": round(float(step.float().mean()), 3),
                     "named_at_the_first_step": {bundle.instruments[int(c)]: int(n) for c, n in
                                                 zip(*top.indices[0].unique(return_counts=True))}}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--items", type=int, default=40)
    p.add_argument("--cfg", type=float, default=4.0)
    p.add_argument("--steps", type=int, default=16)
    args = p.parse_args()
    sampler = SamplerConfig(steps=args.steps, cfg=args.cfg)
    print(json.dumps({"sigmas": [round(float(s), 2) for s in sampler.sigmas()[:-1]]}))
    for name, reading in classifier_readings(load_bundle(args.model), args.items, sampler).items():
        print(json.dumps({"estimate": name, **reading}))


if __name__ == "__main__":
    main()
