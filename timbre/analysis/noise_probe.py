"""The noise-level probe (MI-guided inpainting, noise analysis): a sigma-conditioned binary classifier that tells
clean latents from timbre-swapped ones (timbre part of another instrument's latent); where its accuracy falls to
chance, the noise has hidden the swap."""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from timbre.edits.channel_split import ChannelSplit
from timbre.training.loop import fit, seeded


@dataclass(frozen=True)
class NoiseProbeConfig:
    """Settings of the probe."""

    fractions: tuple[float, ...] = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)  # of sigma_max
    sigma_max: float = 80.0  # EDM's
    sigma_data: float = 0.5  # the latents' std; inputs are scaled by 1 / sqrt(sigma^2 + sigma_data^2)
    steps: int = 600  # training steps
    batch: int = 64  # pairs per step
    lr: float = 2e-3  # Adam
    width: int = 64  # conv width of the probe
    chance_margin: float = 0.05  # "at chance" means accuracy <= 0.5 + margin
    seed: int = 0


class SigmaConditionedProbe(nn.Module):
    """(B, C, T) noisy latents and (B,) sigmas -> (B,) logit of "timbre-swapped"."""

    def __init__(self, channels: int, width: int):
        super().__init__()
        self.inp = nn.Conv1d(channels, width, 3, padding=1)
        self.mid = nn.Conv1d(width, width, 3, padding=2, dilation=2)
        self.sigma = nn.Linear(1, 2 * width)
        self.out = nn.Linear(2 * width, 1)

    def forward(self, x: Tensor, sigma: Tensor, sigma_data: float) -> Tensor:
        h = F.gelu(self.inp(x / (sigma**2 + sigma_data**2).sqrt()[:, None, None]))
        scale, shift = self.sigma(sigma.log()[:, None] / 4).chunk(2, -1)
        h = F.gelu(self.mid(h) * (1 + scale[..., None]) + shift[..., None])
        return self.out(torch.cat([h.mean(-1), h.amax(-1)], -1))[:, 0]


def swapped_pairs(latents: Tensor, instruments: Tensor, split: ChannelSplit, g: torch.Generator,
                  count: int) -> tuple[Tensor, Tensor]:
    """`count` examples, half clean latents and half with the timbre part of another instrument's latent
    (structure of the first, timbre of the second); returns (latents, label 1 = swapped)."""
    first = torch.randint(0, latents.shape[0], (count,), generator=g)
    offset = torch.randint(1, latents.shape[0], (count,), generator=g)
    second = (first + offset) % latents.shape[0]
    for _ in range(10):  # redraw partners of the same instrument
        same = instruments[second] == instruments[first]
        if not same.any():
            break
        second[same] = torch.randint(0, latents.shape[0], (int(same.sum()),), generator=g)
    labels = (torch.rand(count, generator=g) < 0.5).float()
    x = latents[first]
    swapped = split.with_structure(latents[second], x)  # timbre from `second`, structure from `first`
    return torch.where(labels[:, None, None] > 0, swapped, x), labels


def train_probe(latents: Tensor, instruments: Tensor, split: ChannelSplit, config: NoiseProbeConfig) -> nn.Module:
    """Train on pairs noised at sigmas drawn uniformly in log space over the probed fractions."""
    probe = seeded(lambda: SigmaConditionedProbe(latents.shape[1], config.width), config.seed)
    g = torch.Generator().manual_seed(config.seed)
    low = math.log(max(min(f for f in config.fractions if f > 0), 1e-3) * config.sigma_max / 4)
    high = math.log(config.sigma_max)

    def batch_loss(_: int) -> Tensor:
        x, labels = swapped_pairs(latents, instruments, split, g, config.batch)
        sigma = (low + (high - low) * torch.rand(config.batch, generator=g)).exp()
        sigma = torch.where(torch.rand(config.batch, generator=g) < 0.1, torch.full_like(sigma, 1e-3), sigma)
        noisy = x + sigma[:, None, None] * torch.randn(x.shape, generator=g)
        return F.binary_cross_entropy_with_logits(probe(noisy, sigma, config.sigma_data), labels)

    fit(probe, config.steps, config.lr, batch_loss)
    return probe


@torch.no_grad()
def probe_accuracy(probe: nn.Module, latents: Tensor, instruments: Tensor, split: ChannelSplit,
                   config: NoiseProbeConfig, count: int = 1000) -> dict:
    """Held-out accuracy per noise fraction, and the smallest fraction from which on it stays at chance."""
    g = torch.Generator().manual_seed(config.seed + 1)
    x, labels = swapped_pairs(latents, instruments, split, g, count)
    accuracy = {}
    for fraction in config.fractions:
        sigma = torch.full((count,), max(fraction * config.sigma_max, 1e-3))
        noisy = x + sigma[:, None, None] * torch.randn(x.shape, generator=g)
        accuracy[fraction] = float(((probe(noisy, sigma, config.sigma_data) > 0).float() == labels).float().mean())
    return {"accuracy": accuracy, "chance_fraction": chance_fraction(accuracy, config.chance_margin), "pairs": count,
            "chance_margin": config.chance_margin}


def chance_fraction(accuracy: dict[float, float], margin: float) -> float | None:
    """The smallest fraction from which every larger one is within `margin` of chance (0.5); None if none is."""
    found = None
    for fraction in sorted(accuracy, reverse=True):
        if accuracy[fraction] > 0.5 + margin:
            break
        found = fraction
    return found
