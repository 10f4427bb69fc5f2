"""Pilot (issue 3): guidance away from other instruments instead of away from the null condition.

Classifier-free guidance computes D(null) + w (D(c) - D(null)). With a negative prompt the null condition is replaced
by another condition n: D(n) + w (D(c) - D(n)), which pushes the sample away from what n names (the negative prompts
of text-to-image samplers). The shipped DiT's misses are mostly similar pairs (viola heard as violin), so guiding
each instrument away from others may make it more recognisable. Negatives, chosen from the conditioner alone:
  null     the null condition (plain CFG; `timbre analyse generation`'s figure)
  others   the renormalised mean of the other instruments' canonical-prompt embeddings
  nearest  the other instrument whose canonical-prompt embedding is closest (cosine)
  mixed    the mean of the null condition and the nearest instrument's
Generations from the same noise as `analyse generation` (item i of an instrument from (seed, "name#i")), judged by
the bundle's audio classifier.
Usage: python benchmarks/pilots/negative_prompt.py [--per 20] [--cfgs 4 7] [--negatives null others nearest]
"""
import argparse
import dataclasses
import json
import time

import torch
import torch.nn.functional as F

from timbre.analysis.generation import generation_accuracy
from timbre.corpus.prompts import canonical_prompt
from timbre.edits import SamplerConfig
from timbre.models.bundle import ModelBundle, load_bundle


def negatives(bundle: ModelBundle, kind: str) -> dict[str, torch.Tensor]:
    """Each instrument's negative condition (one 512-d row)."""
    names = bundle.instruments
    prompts = F.normalize(bundle.conditioner.embed_text([canonical_prompt(n) for n in names]), dim=-1)
    null = bundle.null_cond.reshape(-1)
    out = {}
    for i, name in enumerate(names):
        others = torch.cat([prompts[:i], prompts[i + 1:]])
        nearest = others[(others @ prompts[i]).argmax()]
        out[name] = {"null": null, "others": F.normalize(others.mean(0), dim=0), "nearest": nearest,
                     "mixed": (null + nearest) / 2}[kind]
    return out


def accuracy_with_negatives(bundle: ModelBundle, negative: dict[str, torch.Tensor], per: int, frames: int,
                            sampler: SamplerConfig, seed: int) -> dict:
    """`generation_accuracy`'s figures with each instrument guided away from its own negative condition (the
    bundle's null condition swapped for it while that instrument is generated)."""
    parts = [generation_accuracy(dataclasses.replace(bundle, null_cond=negative[name]), bundle.audio_classifier, per,
                                 frames, sampler, seed, only=(name,)) for name in bundle.instruments]
    per_instrument = {name: part["per_instrument"][name] for name, part in zip(bundle.instruments, parts)}
    return {"accuracy": sum(per_instrument.values()) / len(per_instrument), "per_instrument": per_instrument,
            "heard_as": {name: part["heard_as"][name] for name, part in zip(bundle.instruments, parts)}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--per", type=int, default=20)
    p.add_argument("--cfgs", type=float, nargs="+", default=[7.0])
    p.add_argument("--negatives", nargs="+", default=["null", "others", "nearest"])
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    bundle = load_bundle(args.model)
    frames = max(1, round(args.seconds * bundle.sample_rate / bundle.codec.hop_length))
    for cfg in args.cfgs:
        sampler = SamplerConfig(steps=args.steps, cfg=cfg)
        for kind in args.negatives:
            start = time.perf_counter()
            if kind == "null":
                result = generation_accuracy(bundle, bundle.audio_classifier, args.per, frames, sampler, args.seed)
            else:
                result = accuracy_with_negatives(bundle, negatives(bundle, kind), args.per, frames, sampler, args.seed)
            print(json.dumps({"negative": kind, "cfg": cfg, "accuracy": round(result["accuracy"], 4),
                              "per_instrument": result["per_instrument"], "heard_as": result["heard_as"],
                              "seconds": round(time.perf_counter() - start, 1)}), flush=True)


if __name__ == "__main__":
    main()
