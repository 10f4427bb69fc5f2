"""Partial noise injection baselines: PnI (SDEdit) and DDIM-PnI, on the EDM grid."""
from dataclasses import dataclass

from timbre.edits.base import (EditBatch, EditModel, EditResult, SamplerConfig, check_fraction, generate,
                               invert_source, target_cond)
from timbre.randomness import randn_items
from timbre.sigmas import noise_fraction_index


@dataclass(frozen=True)
class PnIParams:
    """Strength of a partial noise injection."""

    noise_fraction: float = 0.5  # noise up to the grid step nearest this share of sigma_max

    def __post_init__(self):
        check_fraction("noise_fraction", self.noise_fraction)


def pni(model: EditModel, batch: EditBatch, params: PnIParams, sampler: SamplerConfig) -> EditResult:
    """PnI: add Gaussian noise to the source at the looked-up step, then sample (SDEdit; MI-guided inpainting 4.2.1)."""
    sigmas = sampler.sigmas()
    start = noise_fraction_index(sigmas, params.noise_fraction)
    x0 = batch.latents
    noise = randn_items(batch.generators, x0.shape[1:], device=x0.device, dtype=x0.dtype)
    x = x0 + float(sigmas[start]) * noise
    out = generate(model, sampler, x, sigmas, target_cond(batch), start=start)
    return EditResult(out, {"start_step": [start] * batch.size})


def ddim_pni(model: EditModel, batch: EditBatch, params: PnIParams, sampler: SamplerConfig) -> EditResult:
    """DDIM-PnI: DDIM-invert only up to the PnI step, then sample with the target (MI-guided inpainting 4.2.2)."""
    sigmas = sampler.sigmas()
    start = noise_fraction_index(sigmas, params.noise_fraction)
    trajectory = invert_source(model, batch, sampler, sigmas, to=start)
    out = generate(model, sampler, trajectory.top, sigmas, target_cond(batch), start=start)
    return EditResult(out, {"start_step": [start] * batch.size})
