"""Pilot (issue 3): do the DiT's barely trained high noise levels limit generation?

Two ways to take them away, each judged as `timbre analyse generation` judges (canonical prompt, 16 Heun steps, 4 s,
seed 0, --per generations per instrument):
- start the grid lower (--sigma-max values, the DiT alone);
- hand every step above sigma T (--tau values) to a stationary Gaussian: each instrument's mean latent and its spectral
  covariance over time (half its own, half the pooled one), fitted on 600 clips of corpus seed 1, applied as a Wiener
  filter per temporal frequency; the DiT below T. Guidance has nothing to act on above T (the Gaussian ignores the
  condition, so the guided and unguided outputs agree).
Also prints the mean lag-1 autocorrelation of the generated latents over time.
Usage: python benchmarks/pilots/high_noise_gaussian.py --model default --sigma-max 80,20,5 --tau 2,5 --cfg 7
"""
import argparse
import dataclasses
import json

import torch

from timbre.analysis.edit_quality import held_out_items
from timbre.analysis.generation import generate_instrument
from timbre.edits.base import SamplerConfig
from timbre.models.bundle import load_bundle


def spectra(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, C, 1) mean and (F, C, C) cross-spectral density per temporal frequency of (N, C, T) latents."""
    mean = z.mean((0, 2))[None, :, None]
    x = torch.fft.rfft((z - mean).double(), dim=-1)
    return mean, torch.einsum("ncf,ndf->fcd", x, x.conj()) / (x.shape[0] * z.shape[-1])


def wiener(x: torch.Tensor, sigma: float, mean: torch.Tensor, density: torch.Tensor) -> torch.Tensor:
    """E[z | z + sigma * noise] under the stationary Gaussian, for (B, C, T) x of the density's length."""
    eye = torch.eye(x.shape[1], dtype=density.dtype)
    gain = density @ torch.linalg.inv(density + sigma**2 * eye)
    spectrum = torch.fft.rfft((x - mean).double(), dim=-1)
    return torch.fft.irfft(torch.einsum("fcd,ndf->ncf", gain, spectrum), n=x.shape[-1], dim=-1).float() + mean


def lag1(z: torch.Tensor) -> float:
    centred = z - z.mean(-1, keepdim=True)
    return float(((centred[..., 1:] * centred[..., :-1]).mean(-1) / z.var(-1).clamp_min(1e-8)).mean())


def judged(bundle, denoiser_for, sampler: SamplerConfig, per: int, frames: int) -> dict:
    """Generation accuracy and lag-1 autocorrelation with each instrument's denoiser from denoiser_for(name)."""
    hits, lags = [], []
    for index, name in enumerate(bundle.instruments):
        latents = generate_instrument(dataclasses.replace(bundle, denoiser=denoiser_for(name)), name, per, frames,
                                      sampler, seed=0)
        hits.append(float((bundle.audio_classifier(bundle.codec.decode(latents)).argmax(-1) == index).float().mean()))
        lags.append(lag1(latents))
    return {"accuracy": round(sum(hits) / len(hits), 4), "lag1": round(sum(lags) / len(lags), 3),
            "per_instrument": dict(zip(bundle.instruments, hits))}


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--sigma-max", default="80,20,5")
    p.add_argument("--tau", default="2,5")
    p.add_argument("--cfg", type=float, default=7.0)
    p.add_argument("--per", type=int, default=10)
    args = p.parse_args()
    bundle = load_bundle(args.model)
    frames = round(4.0 * bundle.sample_rate / bundle.codec.hop_length)
    for top in (float(s) for s in args.sigma_max.split(",") if s):
        sampler = SamplerConfig(steps=16, cfg=args.cfg, sigma_max=top)
        print(json.dumps({"sigma_max": top, **judged(bundle, lambda name: bundle.denoiser, sampler, args.per, frames)}),
              flush=True)
    fit = held_out_items(1, 600, 4.0, len(bundle.instruments))
    z = torch.cat([bundle.codec.encode(w) for w in fit.waves.float().split(50)])
    _, pooled = spectra(z)
    gaussians = {}
    for index, name in enumerate(bundle.instruments):
        mean, own = spectra(z[fit.sources == index])
        gaussians[name] = (mean, 0.5 * own + 0.5 * pooled)
    for tau in (float(t) for t in args.tau.split(",") if t):
        def denoiser_for(name, tau=tau):
            mean, density = gaussians[name]
            return lambda x, sigma, cond: (wiener(x, float(sigma.flatten()[0]), mean, density)
                                           if float(sigma.flatten()[0]) > tau else bundle.denoiser(x, sigma, cond))
        print(json.dumps({"tau": tau, **judged(bundle, denoiser_for, SamplerConfig(steps=16, cfg=args.cfg), args.per,
                                               frames)}), flush=True)


if __name__ == "__main__":
    main()
