"""Pilot (issue 3): does a DiT (inpainting or plain) overfit its training pool? Its denoising error on training stems
against held-out (valid split) stems, at fixed noise levels, for several trained bundles.

Each stem gives crops of 64 latent frames at fixed starts; every crop gets the same noise per sigma (seeded), the
canonical prompt of its instrument, and, for an inpainting DiT, the codec's structure channels read clean (the
MI-inpaint setting); the error is the plain mean squared error of D(x + n, sigma) against x on the other channels
(every channel for a plain DiT), as the training loss scores them (without its sigma weighting). A train/valid gap
that grows with the training steps means the lever is a larger pool, not more steps.
Usage: python benchmarks/pilots/denoiser_overfit.py BUNDLE [BUNDLE ...] [--stems 60]
"""
import argparse
import json
from pathlib import Path

import torch

from timbre.analysis.generation import structure_mask
from timbre.corpus.instruments import INSTRUMENT_NAMES
from timbre.corpus.prompts import canonical_prompt
from timbre.models.bundle import load_bundle
from timbre.training.classifiers import encode_pool
from timbre.training.pool import corpus_pool

SIGMAS = (0.05, 0.2, 0.5, 1.0, 2.0, 5.0, 20.0)
CROP = 64


def stem_crops(bundle, split: str, stems: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, C, CROP) latent crops at four fixed starts per stem, and each crop's instrument."""
    pool = corpus_pool(0, stems, 0, 2.0, split=split)
    with torch.no_grad():
        latents = encode_pool(bundle.codec, pool)
    frames = latents.shape[-1]
    starts = [int(s) for s in torch.linspace(0, frames - CROP, 4)]
    crops = torch.cat([latents[:, :, s: s + CROP] for s in starts])
    return crops, pool.instruments.repeat(len(starts))


@torch.no_grad()
def errors(bundle, crops: torch.Tensor, instruments: torch.Tensor) -> dict[float, float]:
    """Mean squared denoising error per sigma: on the channels not read clean for an inpainting DiT, on every
    channel for a plain one."""
    text = bundle.conditioner.embed_text([canonical_prompt(n) for n in INSTRUMENT_NAMES])
    cond = text[instruments]
    mask = structure_mask(bundle)
    inpainting = mask is not None
    if not inpainting:
        mask = torch.zeros(crops.shape[1], dtype=torch.bool)
    known = mask[None].expand(crops.shape[0], -1)
    g = torch.Generator().manual_seed(0)
    out = {}
    for sigma in SIGMAS:
        noise = torch.randn(crops.shape, generator=g) * sigma
        s = torch.full((crops.shape[0],), sigma)
        total = 0.0
        for x, n, c, k, sg in zip(crops.split(64), noise.split(64), cond.split(64), known.split(64), s.split(64)):
            d = bundle.denoiser(x + n, sg, {"embedding": c, "known": x, "mask": k} if inpainting else c)
            total += float(((d - x) ** 2)[:, ~mask].sum())
        out[sigma] = total / (crops.shape[0] * int((~mask).sum()) * CROP)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bundles", nargs="+", type=Path)
    p.add_argument("--stems", type=int, default=60, help="stems per split (the training pool has 300)")
    args = p.parse_args()
    for path in args.bundles:
        bundle = load_bundle(path)
        steps = json.loads((path / "training" / "denoiser.json").read_text())["config"]["steps"]
        row = {"bundle": str(path), "steps": steps}
        for split in ("train", "valid"):
            row[split] = {str(k): round(v, 4) for k, v in errors(bundle, *stem_crops(bundle, split, args.stems)).items()}
        row["valid_over_train"] = {k: round(row["valid"][k] / row["train"][k], 3) for k in row["train"]}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
