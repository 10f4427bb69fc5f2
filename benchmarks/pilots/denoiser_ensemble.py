"""Pilot (issue 3): does averaging the denoisers of several training runs of one recipe generate better?

Each bundle must share the first one's codec and conditioner (the denoiser-only retrain of docs/benchmarks.md makes
such bundles). The ensemble denoiser is the mean of their D(x, sigma, cond); guidance is applied to that mean.
Prints the generation check (timbre.analysis.generation) for each --seed: 4 s, 16 Heun steps, the canonical prompt.
Usage: python benchmarks/pilots/denoiser_ensemble.py --models DIR_A DIR_B --cfg 7 --seeds 0 1
"""
import argparse
import dataclasses
import json
import time

import torch

from timbre.analysis.generation import generation_accuracy
from timbre.edits.base import SamplerConfig
from timbre.models.bundle import load_bundle


class MeanDenoiser:
    """D(x, sigma, cond) = the mean of the given denoisers' estimates."""

    def __init__(self, denoisers):
        self.denoisers = list(denoisers)

    def __call__(self, x, sigma, cond):
        return sum(d(x, sigma, cond) for d in self.denoisers) / len(self.denoisers)


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", required=True, help="bundle names or folders; the first gives the rest")
    p.add_argument("--cfg", type=float, default=7.0)
    p.add_argument("--per-instrument", type=int, default=20)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = p.parse_args()
    bundles = [load_bundle(m) for m in args.models]
    ensemble = dataclasses.replace(bundles[0], denoiser=MeanDenoiser(b.denoiser for b in bundles))
    for seed in args.seeds:
        start = time.perf_counter()
        result = generation_accuracy(ensemble, ensemble.audio_classifier, args.per_instrument, 125,
                                     SamplerConfig(steps=16, cfg=args.cfg), seed=seed)
        print(json.dumps({"models": args.models, "seed": seed, "cfg": args.cfg, "accuracy": result["accuracy"],
                          "per_instrument": result["per_instrument"],
                          "seconds": round(time.perf_counter() - start)}), flush=True)


if __name__ == "__main__":
    main()
