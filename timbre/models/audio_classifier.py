"""The audio instrument classifier that evaluation applies to decoded outputs (and the distillation teacher)."""
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from timbre.models.audio_encoder import AudioEncoder


@dataclass(frozen=True)
class AudioClassifierConfig:
    """Sizes of the audio classifier."""

    sample_rate: int = 16000  # audio rate it reads
    classes: int = 10  # instruments
    n_mels: int = 64  # mel bands of the front end
    width: int = 128  # conv width
    depth: int = 4  # residual blocks
    embed_dim: int = 128  # representation that the latent classifier distils


class AudioClassifier(nn.Module):
    """(B, S) mono waves -> (B, classes) logits; `embed` gives the representation before the linear head."""

    kind = "audio_classifier"

    def __init__(self, config: AudioClassifierConfig = AudioClassifierConfig()):
        super().__init__()
        self.config = config
        self.sample_rate = config.sample_rate
        self.encoder = AudioEncoder(config.sample_rate, config.n_mels, config.width, config.depth)
        self.project = nn.Linear(self.encoder.features, config.embed_dim)
        self.head = nn.Linear(config.embed_dim, config.classes)

    def embed(self, wave: Tensor) -> Tensor:
        return F.gelu(self.project(self.encoder(wave)))

    def forward(self, wave: Tensor) -> Tensor:
        return self.head(self.embed(wave))
