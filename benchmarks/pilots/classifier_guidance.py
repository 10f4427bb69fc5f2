"""Pilot (issue 3): MI-inpaint with guidance from a latent instrument classifier on x0_hat. At every sampling step
(not the inversion) the denoised estimate moves along the gradient of the classifier's log-probability of the
target instrument, on the renoised timbre channels only: x0_hat + scale * grad log p(target | x0_hat), a
classifier guidance (Dhariwal & Nichol 2021) taken at x0_hat without the denoiser's Jacobian. The guiding
classifier is the bundle's `direct` latent classifier by default (trained on latents and labels, not on the audio
judge's representation), so the audio judge stays an independent check; the other latent classifier is reported
beside it.
Usage: python benchmarks/pilots/classifier_guidance.py --model DIR [--items 40 --k 0.75 --cfg 4 --steps 16
           --scales 0,0.3,1,3 --guide direct]
"""
import argparse
import importlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from timbre.analysis.edit_quality import edit_latents, edit_scores, held_out_items, source_and_rendition_contours
from timbre.denoisers import ClassifierFreeGuidance
from timbre.edits import EditSpec, SamplerConfig
from timbre.edits.channel_split import timbre_mask
from timbre.models.bundle import load_bundle
from timbre.models.checkpoint import load_component
from timbre.samplers import sample


@dataclass(eq=False)
class GuidedByClassifier:
    """D(x) + scale * grad log p(label | D(x)) on the masked channels; batches repeat the labelled items."""

    denoiser: object
    classifier: torch.nn.Module
    labels: Tensor
    scale: float
    mask: Tensor  # (C,) bool

    def __call__(self, x, sigma, cond):
        d = self.denoiser(x, sigma, cond)
        if self.scale == 0:
            return d
        labels = self.labels.repeat(x.shape[0] // self.labels.shape[0])
        with torch.enable_grad():
            x0 = d.detach().requires_grad_(True)
            log_p = F.log_softmax(self.classifier(x0), -1)[torch.arange(x0.shape[0]), labels].sum()
            (grad,) = torch.autograd.grad(log_p, x0)
        return d + self.scale * grad * self.mask[None, :, None].to(d.dtype)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--items", type=int, default=40)
    p.add_argument("--k", type=float, default=0.75)
    p.add_argument("--cfg", type=float, default=4.0)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--scales", default="0,0.3,1,3")
    p.add_argument("--guide", choices=("direct", "distilled"), default="direct")
    args = p.parse_args()
    bundle = load_bundle(args.model)
    classifiers = {"direct": load_component(Path(args.model) / "latent_classifier_direct.safetensors").eval(),
                   "distilled": bundle.latent_classifier.eval()}
    guide = classifiers[args.guide]
    for module in classifiers.values():
        module.requires_grad_(False)
    items = held_out_items(0, args.items, 4.0, len(bundle.instruments))
    source_contour, rendition_contour = source_and_rendition_contours(items)
    mask = timbre_mask(bundle.channel_ranking, args.k)
    sampler = SamplerConfig(steps=args.steps, cfg=args.cfg)
    spec = EditSpec.build("mi-inpaint", sampler, k=args.k, clamp=1.0)
    for scale in (float(v) for v in args.scales.split(",")):
        def guided_generate(model, sampler, x, sigmas, cond, *, start=0, callback=None, hook=None):
            cfg = ClassifierFreeGuidance(model.denoiser, model.null_cond, sampler.cfg)
            denoiser = GuidedByClassifier(cfg, guide, items.targets, scale, mask)
            return sample(denoiser, x, sigmas, cond, heun=sampler.heun, start=start, callback=callback, hook=hook)

        # the sampling phase's generate (the inversion keeps the unguided denoiser); the package exports a function
        # of the module's name, hence importlib
        importlib.import_module("timbre.edits.mi_inpaint").generate = guided_generate
        start = time.perf_counter()
        latents = edit_latents(bundle, items, spec, "raw", seed=0, batch=args.items)
        with torch.no_grad():
            waves = bundle.codec.decode(latents)[:, : items.waves.shape[1]]
            latent_heard = {name: float((c(latents).argmax(-1) == items.targets).float().mean())
                            for name, c in classifiers.items()}
            scores = edit_scores(bundle, items, waves, source_contour, rendition_contour)
            heard = bundle.audio_classifier(waves).argmax(-1)
        names = bundle.instruments
        misses = [f"{names[int(t)]}->{names[int(h)]}" for t, h in zip(items.targets, heard) if t != h]
        print(json.dumps({"scale": scale, "guide": args.guide, "k": args.k, "cfg": args.cfg,
                          "latent_target_accuracy": latent_heard, **scores,
                          "seconds": round(time.perf_counter() - start, 1), "misses (target->heard)": misses}),
              flush=True)


if __name__ == "__main__":
    main()
