"""Clean known channels as a denoiser input: what an inpainting DiT reads beside the noisy latents."""
from dataclasses import dataclass

import torch
from torch import Tensor

from timbre.conditions import Cond
from timbre.denoisers import Denoiser


@dataclass(frozen=True, eq=False)
class KnownChannelsInput:
    """Clean latents (B, C, T) and a channel mask (B, C), 1 where the channel is known."""

    known: Tensor
    mask: Tensor

    def __post_init__(self):
        if self.known.ndim != 3 or self.mask.shape != self.known.shape[:2]:
            raise ValueError(f"known channels must be (B, C, T) with a (B, C) mask, got {tuple(self.known.shape)} "
                             f"and {tuple(self.mask.shape)}")

    @classmethod
    def none(cls, x: Tensor) -> "KnownChannelsInput":
        """Nothing known: the plain denoising task."""
        return cls(torch.zeros_like(x), x.new_zeros(x.shape[:2]))

    def planes(self, frames: int) -> tuple[Tensor, Tensor]:
        """(known values where the mask is set, else 0; the mask over the frames), each (B, C, frames)."""
        mask = self.mask.to(self.known.dtype)[..., None]
        return self.known * mask, mask.expand(-1, -1, frames)


@dataclass(frozen=True, eq=False)
class WithKnownChannels:
    """A denoiser D(x, sigma, cond) whose inpainting network also reads clean known channels: the condition reaches
    it as {"embedding", "known", "mask"}. Batches that repeat the items (classifier-free guidance stacks the
    conditional and unconditional halves) see the known channels repeated alike."""

    denoiser: Denoiser
    known: Tensor  # (B, C, T) clean latents; only masked channels are read
    mask: Tensor  # (B, C) or (C,): 1 where the channel is known

    def __call__(self, x: Tensor, sigma: Tensor, cond: Cond) -> Tensor:
        items = self.known.shape[0]
        if x.shape[0] % items:
            raise ValueError(f"batch of {x.shape[0]} is not a repeat of the {items} items with known channels")
        reps = x.shape[0] // items
        mask = self.mask.expand(items, -1) if self.mask.ndim == 1 else self.mask
        return self.denoiser(x, sigma, {"embedding": cond, "known": self.known.repeat(reps, 1, 1),
                                        "mask": mask.repeat(reps, 1)})


def reads_known_channels(denoiser: Denoiser) -> bool:
    """Whether the denoiser's network was trained to read known channels (an inpainting DiT)."""
    return bool(getattr(getattr(denoiser, "net", None), "reads_known_channels", False))
