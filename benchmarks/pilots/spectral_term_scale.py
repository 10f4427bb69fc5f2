"""Pilot (issue 3): how large the denoiser's spectral term (`timbre.training.denoiser.spectral_term`) is beside its
decoder-weighted latent term, on the shipped DiT, per noise level: what sets `spectral_weight` in the `full-spectral`
scale. 64 pool crops of 2 s, conditioned on the null condition, one noise draw per sigma.
Usage: python benchmarks/pilots/spectral_term_scale.py [--model default]
"""
import argparse
import json
from pathlib import Path

import torch

from jobs.training_stages import SCALES, Context, pool_sensitivity
from timbre.models.bundle import load_bundle
from timbre.training.decoder_weights import channel_weights
from timbre.training.denoiser import edm_lambda, spectral_term


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--sigmas", type=float, nargs="+", default=[0.02, 0.1, 0.3, 1.0, 3.0, 10.0])
    args = p.parse_args()
    bundle = load_bundle(args.model)
    codec = bundle.codec.float()
    config = SCALES["full"].denoiser_training
    latents = Context(Path("unused"), SCALES["full"], 0, 0).pool_latents(codec)
    weights = channel_weights(pool_sensitivity(codec, latents), config.decoder_weighting)
    x = latents[:64, :, :64].float()
    cond = bundle.null_cond.expand(x.shape[0], -1)
    g = torch.Generator().manual_seed(0)
    for s in args.sigmas:
        sigma = torch.full((x.shape[0],), s)
        denoised = bundle.denoiser(x + torch.randn(x.shape, generator=g) * s, sigma, cond)
        lam = edm_lambda(sigma, config.sigma_data)
        latent = (lam[:, None, None] * weights[None, :, None] * (denoised - x) ** 2).mean()
        spectral = spectral_term(codec.decode_log_magnitude, denoised, x, lam)
        print(json.dumps({"sigma": s, "latent_term": round(float(latent), 4), "spectral_term": round(float(spectral), 4),
                          "ratio": round(float(latent / spectral), 2)}), flush=True)


if __name__ == "__main__":
    main()
