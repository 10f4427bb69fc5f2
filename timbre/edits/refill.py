"""Regenerate some channels of latents around the others, with a denoiser that reads the kept ones clean."""
from dataclasses import replace

from torch import Tensor

from timbre.conditions import Cond
from timbre.edits.base import EditModel, SamplerConfig, generate
from timbre.edits.channel_split import ChannelSplit
from timbre.errors import ConfigError
from timbre.known_channels import WithKnownChannels, reads_known_channels
from timbre.randomness import randn_items


def refill(model: EditModel, sampler: SamplerConfig, latents: Tensor, keep: Tensor, cond: Cond,
           generators) -> Tensor:
    """Latents (B, C, T) with the channels outside `keep` ((C,) bool) sampled afresh under `cond`: the inpainting
    denoiser reads the kept channels clean, and the state's kept channels ride the forward-noised path
    latents + sigma_i * noise, as RePaint treats its known region (Lugmayr et al. 2022). The kept channels come
    back exactly."""
    if not reads_known_channels(model.denoiser):
        raise ConfigError("refill needs a denoiser trained to read known channels (DiTConfig.known_input)")
    keep = keep.to(latents.device)
    split = ChannelSplit(~keep)  # the "timbre" part is what is regenerated
    sigmas = sampler.sigmas().to(latents.device)
    noise = randn_items(generators, latents.shape[1:], device=latents.device, dtype=latents.dtype)

    def pin(x, i):
        return split.with_structure(x, latents + float(sigmas[i]) * noise)

    seeing = replace(model, denoiser=WithKnownChannels(model.denoiser, latents, keep))
    out = generate(seeing, sampler, pin(float(sigmas[0]) * noise, 0), sigmas, cond, hook=pin)
    return split.with_structure(out, latents)
