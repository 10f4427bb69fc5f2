"""Pilot (issue 3): at which noise level does a harmonic-line bundle's generated pitch start to wander?

Generates `--items` clips of `--seconds` per instrument from its canonical prompt (`generate_instrument`, as `timbre
analyse generation` does) and reads, at every sampler step, the denoiser's estimate of the clean latents (x0_hat): of
its structure channels what `generation_parts.py` reads from a generation's (the voiced share, the pitch changes of
more than half a semitone between neighbouring voiced STFT frames per second, the median distance from the semitone
grid in cents, the onsets per second), and the median distance of its pitch from the final sample's (semitones, frames
voiced in both). Real stems change pitch 0.2-0.8 times a second. If the estimates at high sigma are steady and the
wander comes in at low sigma, the detail the sampler adds late is what the DiT cannot place; if the wander is there
from the first steps, the coarse contour is already wrong.
With a bundle that has a latent instrument classifier, each step also reports the share of items whose estimate it
assigns the final sample's class and the prompt's: Diff-TONE (sec. III) swaps at the last step where that class
changes, on the premise that the structure settles before the instrument; if the class is already final at the
first step while the pitch is not, the order is the other way round and no step is found.
Usage: python benchmarks/pilots/structure_course.py --model DIR [--instruments violin,piano --items 6 --cfg 4
           --sigma-max 80]
"""
import argparse
import json
import time

import torch

from timbre.analysis.generation import generate_instrument
from timbre.edits.base import SamplerConfig
from timbre.models.bundle import load_bundle

from generation_parts import VOICING, describe_structure


def from_final(latents: torch.Tensor, final: torch.Tensor, codec) -> float | None:
    """Median distance (semitones) of an estimate's pitch from the final sample's, over frames voiced in both."""
    (est, fin) = (codec.structure_frames(z) for z in (latents, final))
    agree = (est[:, 2] > VOICING) & (fin[:, 2] > VOICING)
    return round(float(12 * (est[:, 0] - fin[:, 0])[agree].abs().median()), 3) if agree.any() else None


def classes(bundle, latents: torch.Tensor, final: torch.Tensor, instrument: str) -> dict:
    """Shares of items whose estimate the bundle's latent classifier assigns the final sample's class and the
    prompt's instrument (nothing without a latent classifier)."""
    if bundle.latent_classifier is None:
        return {}
    (est, fin) = (bundle.latent_classifier(z).argmax(-1) for z in (latents, final))
    prompt = bundle.instruments.index(instrument)
    return {"class_final": round(float((est == fin).float().mean()), 3),
            "class_prompt": round(float((est == prompt).float().mean()), 3)}


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--instruments", default="violin,clarinet,piano")
    p.add_argument("--items", type=int, default=6)
    p.add_argument("--cfg", type=float, default=4.0)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--sigma-max", type=float, default=80.0, help="the sampler's first noise level (EDM's 80)")
    args = p.parse_args()
    bundle = load_bundle(args.model)
    codec, sampler = bundle.codec, SamplerConfig(steps=args.steps, cfg=args.cfg, sigma_max=args.sigma_max)
    frames = round(args.seconds * bundle.sample_rate / codec.hop_length)
    started, out = time.time(), {}
    for name in args.instruments.split(","):
        estimates = []
        final = generate_instrument(bundle, name, args.items, frames, sampler, 0, callback=lambda s: estimates.append(
            (float(s["sigma"]), s["denoised"].clone())))
        out[name] = {f"{sigma:.3g}": {**describe_structure(codec, z, args.seconds),
                                      "from_final_st": from_final(z, final, codec),
                                      **classes(bundle, z, final, name)}
                     for sigma, z in estimates + [(0.0, final)]}
    print(json.dumps({"model": args.model, "cfg": args.cfg, "steps": args.steps, "sigma_max": args.sigma_max,
                      "items_each": args.items,
                      "by_sigma": out, "seconds": round(time.time() - started)}, indent=1))


if __name__ == "__main__":
    main()
