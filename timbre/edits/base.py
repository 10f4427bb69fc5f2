"""What every edit method shares: the sampler settings, the model view, the batch, the result."""
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from timbre.conditions import Cond, cond_batch_size, expand_cond
from timbre.denoisers import ClassifierFreeGuidance, Denoiser, Hold, MixedPrecision
from timbre.errors import ConfigError, InputError
from timbre.inversion import Trajectory, invert
from timbre.samplers import Callback, CondSchedule, Hook, sample
from timbre.sigmas import karras_sigmas

LatentClassifier = Callable[[Tensor], Tensor]  # latents (B, C, T) -> logits (B, classes)
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}  # the network's autocast dtype; None runs it as stored


@dataclass(frozen=True)
class SamplerConfig:
    """Sampling settings shared by every method; validated up front."""

    steps: int = 30  # Diff-A-Riff samples with 30 EDM steps
    sigma_min: float = 0.002  # EDM default
    sigma_max: float = 80.0  # EDM default
    rho: float = 7.0  # EDM default grid curvature
    cfg: float = 1.25  # Diff-A-Riff's CFG strength during generation
    inversion_cfg: float = 1.0  # guidance during inversion; 1 means plain conditional (most invertible)
    cfg_rescale: float = 0.0  # generation's guidance rescaled to the conditional estimate's std by this share
    # (Lin et al. 2024, phi; they use 0.7); 0 is plain CFG
    hold_level: bool = False  # guidance leaves each frame's level where the conditional estimate puts it
    # (EditModel.level_hold), so that a high cfg does not extrapolate the loudness; needs a codec that can
    solver: str = "heun"  # "heun" (2nd order, 2 NFE/step) or "euler" (1st order)
    precision: str = "fp32"  # the denoiser's network: "fp32", or "bf16" autocast (latents and sampler stay fp32)

    def __post_init__(self):
        if not isinstance(self.steps, int) or isinstance(self.steps, bool) or self.steps < 1:
            raise ConfigError(f"steps must be an integer >= 1, got {self.steps!r}")
        if self.solver not in ("heun", "euler"):
            raise ConfigError(f"solver must be 'heun' or 'euler', got {self.solver!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        for name in ("cfg", "inversion_cfg"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name} must be a finite number >= 0, got {value}")
        if not 0.0 <= self.cfg_rescale <= 1.0:
            raise ConfigError(f"cfg_rescale must be a share in [0, 1], got {self.cfg_rescale}")
        if not isinstance(self.hold_level, bool):
            raise ConfigError(f"hold_level must be true or false, got {self.hold_level!r}")
        karras_sigmas(self.steps, self.sigma_min, self.sigma_max, self.rho)  # validates the grid

    @property
    def heun(self) -> bool:
        return self.solver == "heun"

    def sigmas(self) -> Tensor:
        """The EDM grid: steps + 1 values ending in 0."""
        return karras_sigmas(self.steps, self.sigma_min, self.sigma_max, self.rho)


@dataclass(frozen=True, eq=False)
class EditModel:
    """What an edit needs from a model bundle."""

    denoiser: Denoiser  # conditional denoiser D(x, sigma, cond)
    null_cond: Cond  # the unconditional (dropped) condition, one item
    latent_classifier: LatentClassifier | None = None  # Diff-TONE's classifier on x0_hat
    channel_ranking: Tensor | None = None  # channel (or basis direction) indices, most timbre-informative first
    channel_basis: Tensor | None = None  # (C, C) orthogonal; column j is direction j; None = raw channels
    level_hold: Hold | None = None  # (guided, conditional) -> guided latents with each frame's decoded level made
    # the conditional's (HarmonicCodec.hold_level); None for a codec whose latents do not hold the level apart


@dataclass(frozen=True, eq=False)
class EditBatch:
    """A batch of source latents with their conditions and one generator per item."""

    latents: Tensor  # (B, C, T) clean source latents
    target: Cond  # target condition, batch B (or 1, broadcast)
    source: Cond | None  # source condition; None means the null condition
    generators: tuple[torch.Generator, ...]  # per-item randomness
    item_ids: tuple[str, ...] = field(default=())  # for messages only

    def __post_init__(self):
        x = self.latents
        if not isinstance(x, Tensor) or x.ndim != 3:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise InputError(f"latents must be a (batch, channels, frames) tensor, got {shape}")
        if x.shape[0] == 0 or x.shape[2] == 0:
            raise InputError(f"latents must be non-empty, got shape {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            bad = (~torch.isfinite(x)).flatten(1).any(1).nonzero().flatten().tolist()
            names = [self.item_ids[i] for i in bad] if self.item_ids else bad
            raise InputError(f"latents contain NaN or infinite values (items {names})")
        if len(self.generators) != x.shape[0]:
            raise InputError(f"need one generator per item: {len(self.generators)} for batch {x.shape[0]}")
        for name in ("target", "source"):
            c = getattr(self, name)
            if c is not None and cond_batch_size(c) not in (1, x.shape[0]):
                raise InputError(f"{name} condition has batch {cond_batch_size(c)}, latents have {x.shape[0]}")

    @property
    def size(self) -> int:
        return self.latents.shape[0]


@dataclass(frozen=True, eq=False)
class EditResult:
    """Edited latents and per-item facts about how each was made (e.g. the swap step)."""

    latents: Tensor
    info: dict[str, list[Any]] = field(default_factory=dict)


def target_cond(batch: EditBatch) -> Cond:
    return expand_cond(batch.target, batch.size)


def source_cond(model: EditModel, batch: EditBatch) -> Cond:
    """The source condition, or the null condition when none is given."""
    return expand_cond(batch.source if batch.source is not None else model.null_cond, batch.size)


def guided(model: EditModel, sampler: SamplerConfig, scale: float, rescale: float = 0.0) -> Denoiser:
    """The model's denoiser under CFG at `scale` (rescaled by `rescale`, the level held when the sampler asks), its
    network under bf16 autocast when the sampler's precision asks for it. Every sampling and inversion call goes
    through here, so wrappers such as WithKnownChannels, and checks on the raw denoiser, see the model's own
    denoiser."""
    return ClassifierFreeGuidance(network(model, sampler), model.null_cond, scale, rescale, held_level(model, sampler))


def network(model: EditModel, sampler: SamplerConfig) -> Denoiser:
    """The model's own denoiser, unguided, its network under bf16 autocast when the sampler's precision asks."""
    dtype = PRECISIONS[sampler.precision]
    return model.denoiser if dtype is None else MixedPrecision(model.denoiser, dtype)


def held_level(model: EditModel, sampler: SamplerConfig) -> Hold | None:
    """What guidance holds: the model's level hold when the sampler holds the level, else None; ConfigError when it
    asks and the model's codec cannot."""
    if not sampler.hold_level:
        return None
    if model.level_hold is None:
        raise ConfigError("hold_level needs a codec whose latents hold each frame's level apart (the harmonic "
                          "codec); this model's does not")
    return model.level_hold


def generate(model: EditModel, sampler: SamplerConfig, x: Tensor, sigmas: Tensor, cond: CondSchedule, *,
             start: int = 0, callback: Callback | None = None, hook: Hook | None = None,
             guide: Denoiser | None = None) -> Tensor:
    """Sample with classifier-free guidance at the generation scale, or with `guide` when one is given."""
    denoiser = guided(model, sampler, sampler.cfg, sampler.cfg_rescale) if guide is None else guide
    return sample(denoiser, x, sigmas, cond, heun=sampler.heun, start=start, callback=callback, hook=hook)


def invert_source(model: EditModel, batch: EditBatch, sampler: SamplerConfig, sigmas: Tensor, to: int) -> Trajectory:
    """DDIM-invert the source latents under the source condition at the inversion guidance scale."""
    return invert(guided(model, sampler, sampler.inversion_cfg), batch.latents, sigmas, source_cond(model, batch),
                  to=to, heun=sampler.heun)


def check_fraction(name: str, value: float) -> None:
    """Raise a ConfigError naming `name` unless 0 <= value <= 1."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be a number in [0, 1], got {value!r}")
