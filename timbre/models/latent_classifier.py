"""Instrument classifiers over codec latents: Diff-TONE applies one to x0_hat at every sampling step."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from timbre.models.layers import ResBlock


@dataclass(frozen=True)
class LatentClassifierConfig:
    """Sizes of a latent instrument classifier."""

    channels: int = 128  # latent channels C
    classes: int = 10  # instruments
    width: int = 128  # conv width
    depth: int = 3  # residual blocks
    embed_dim: int = 128  # representation size (matches the audio classifier's when distilled from it)


class ConvLatentClassifier(nn.Module):
    """LatentClassifier protocol: (B, C, T) latents -> (B, classes) logits; `embed` gives the representation."""

    kind = "latent_classifier"

    def __init__(self, config: LatentClassifierConfig = LatentClassifierConfig()):
        super().__init__()
        self.config = config
        self.inp = nn.Conv1d(config.channels, config.width, 3, padding=1)
        self.blocks = nn.Sequential(*(ResBlock(config.width, 2 ** (i % 4)) for i in range(config.depth)))
        self.project = nn.Linear(2 * config.width, config.embed_dim)
        self.head = nn.Linear(config.embed_dim, config.classes)

    def embed(self, latents: Tensor) -> Tensor:
        h = self.blocks(self.inp(latents.to(self.inp.weight.dtype)))
        return F.gelu(self.project(torch.cat([h.mean(-1), h.amax(-1)], -1)))

    def forward(self, latents: Tensor) -> Tensor:
        return self.head(self.embed(latents))
