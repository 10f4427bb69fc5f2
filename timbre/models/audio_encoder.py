"""A small conv encoder over log-mel frames, pooled over time: the audio tower of the conditioner and classifier."""
import torch
from torch import Tensor, nn

from timbre.models.layers import ResBlock
from timbre.models.mel import LogMel


class AudioEncoder(nn.Module):
    """(B, S) waves -> (B, 2 * width) time-pooled features (mean and max of each conv channel)."""

    def __init__(self, sample_rate: int, n_mels: int, width: int, depth: int):
        super().__init__()
        self.mel = LogMel(sample_rate, n_mels=n_mels)
        self.inp = nn.Conv1d(n_mels, width, 5, padding=2)
        self.blocks = nn.Sequential(*(ResBlock(width, 2 ** (i % 4)) for i in range(depth)))
        self.features = 2 * width

    def forward(self, wave: Tensor) -> Tensor:
        h = self.blocks(self.inp(self.mel(wave.to(self.inp.weight.dtype))))
        return torch.cat([h.mean(-1), h.amax(-1)], -1)
