"""MI-guided inpainting: fresh noise on timbre channels, structure clamped to the inversion path early on."""
import math
from dataclasses import dataclass, replace

from torch import Tensor

from timbre.conditions import Cond

from timbre.denoisers import Denoiser
from timbre.edits.base import (EditBatch, EditModel, EditResult, SamplerConfig, check_fraction, generate, guided,
                               held_level, invert_source, target_cond)
from timbre.edits.channel_split import ChannelSplit, timbre_mask
from timbre.edits.split_guidance import SplitGuidance
from timbre.errors import ConfigError
from timbre.inversion import Trajectory
from timbre.known_channels import WithKnownChannels, reads_known_channels
from timbre.randomness import randn_items


@dataclass(frozen=True)
class MIInpaintParams:
    """The two controls of MI-guided inpainting."""

    k: float = 0.5  # fraction of channels (or basis directions) renoised as timbre; the paper's grid centres on 50%
    clamp: float = 0.5  # fraction of steps whose structure is pinned to the inversion path; 1 pins every step
    structure_cfg: float | None = None  # guidance on the structure part; None: the sampler's cfg, as on the timbre

    def __post_init__(self):
        check_fraction("k", self.k)
        check_fraction("clamp", self.clamp)
        if self.structure_cfg is not None and (not math.isfinite(self.structure_cfg) or self.structure_cfg < 0):
            raise ConfigError(f"structure_cfg must be a finite number >= 0, got {self.structure_cfg}")


def clamp_steps(clamp: float, steps: int) -> int:
    """Number of leading steps whose structure is clamped (half rounds up)."""
    return int(math.floor(clamp * steps + 0.5))


def split_guide(model: EditModel, sampler: SamplerConfig, split: ChannelSplit,
                structure_cfg: float | None) -> Denoiser | None:
    """Guidance at the sampler's cfg on the timbre part and at structure_cfg on the structure part (None: plain CFG).
    The split guidance has no rescale, so a sampler asking for one with a structure_cfg is refused."""
    if structure_cfg is None or structure_cfg == sampler.cfg:
        return None
    if sampler.cfg_rescale:
        raise ConfigError(f"cfg_rescale ({sampler.cfg_rescale}) does not combine with structure_cfg; set one of them")
    return SplitGuidance(guided(model, sampler, 1.0), model.null_cond, split, sampler.cfg, structure_cfg,
                         held_level(model, sampler))


def reading_structure(model: EditModel, split: ChannelSplit, source: Tensor) -> EditModel:
    """The model view whose inpainting DiT also reads the source's clean structure channels (raw channels only); the
    model itself where the split is in a basis or its network reads no known channels."""
    if split.basis is not None or not reads_known_channels(model.denoiser):
        return model
    return replace(model, denoiser=WithKnownChannels(model.denoiser, source, ~split.mask.to(source.device)))


def sample_inpainted(model: EditModel, sampler: SamplerConfig, trajectory: Trajectory, split: ChannelSplit,
                     noise: Tensor, target: Cond, n_clamp: int, source: Tensor | None = None,
                     structure_cfg: float | None = None) -> Tensor:
    """The sampling phase: timbre part fresh noise at sigma_max, structure pinned to the path for n_clamp steps.
    A denoiser that reads known channels (an inpainting DiT) also sees the source's clean structure channels
    while they are pinned (raw channels only). `structure_cfg` guides the structure part at its own scale."""
    sigmas = trajectory.sigmas
    x_start = split.with_structure(float(sigmas[0]) * noise, trajectory.top)

    def clamp_structure(x, i):
        return split.with_structure(x, trajectory.at(i)) if i < n_clamp else x

    seeing = model if source is None or n_clamp == 0 else reading_structure(model, split, source)
    if seeing is model:
        return generate(model, sampler, x_start, sigmas, target, hook=clamp_structure,
                        guide=split_guide(model, sampler, split, structure_cfg))
    x = generate(seeing, sampler, x_start, sigmas[: n_clamp + 1], target, hook=clamp_structure,
                 guide=split_guide(seeing, sampler, split, structure_cfg))
    # the network is not scored on the channels it reads clean, so the structure leaves phase one from the path
    x = split.with_structure(x, trajectory.at(n_clamp))
    return generate(model, sampler, x, sigmas, target, start=n_clamp,
                    guide=split_guide(model, sampler, split, structure_cfg))


def mi_inpaint(model: EditModel, batch: EditBatch, params: MIInpaintParams, sampler: SamplerConfig) -> EditResult:
    """MI-guided inpainting (MI-guided inpainting 4.3.2): invert, renoise timbre, clamp structure early."""
    if model.channel_ranking is None:
        raise ConfigError("mi-inpaint needs a channel ranking: the model bundle has none (run `timbre analyse mi`)")
    x0 = batch.latents
    if model.channel_ranking.numel() != x0.shape[1]:
        raise ConfigError(f"channel_ranking has {model.channel_ranking.numel()} entries, latents {x0.shape[1]} channels")
    split = ChannelSplit(timbre_mask(model.channel_ranking, params.k), model.channel_basis)
    trajectory = invert_source(model, batch, sampler, sampler.sigmas(), to=0)
    noise = randn_items(batch.generators, x0.shape[1:], device=x0.device, dtype=x0.dtype)
    n_clamp = clamp_steps(params.clamp, sampler.steps)
    out = sample_inpainted(model, sampler, trajectory, split, noise, target_cond(batch), n_clamp, x0,
                           params.structure_cfg)
    n_timbre = int(split.mask.sum())
    space = "raw" if model.channel_basis is None else "basis"
    return EditResult(out, {"timbre_channels": [n_timbre] * batch.size, "clamp_steps": [n_clamp] * batch.size,
                            "space": [space] * batch.size})
