"""Layers whose per-item results do not depend on how many items share the batch."""
import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ItemLinear(nn.Linear):
    """nn.Linear on (B, in) vectors as B separate 1-row products, so an item's output is bitwise batch-invariant.

    A plain (B, in) matmul switches BLAS kernels with B (gemv at B = 1), which changes low bits."""

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 2:
            return super().forward(x)
        b = x.shape[0]
        weight = self.weight.T.unsqueeze(0).expand(b, -1, -1)
        if self.bias is None:
            return torch.bmm(x.unsqueeze(1), weight).squeeze(1)
        return torch.baddbmm(self.bias.expand(b, 1, -1), x.unsqueeze(1), weight).squeeze(1)


class ResBlock(nn.Module):
    """A dilated residual conv block over (B, width, T): GELU, conv k3, GELU, conv k1."""

    def __init__(self, width: int, dilation: int):
        super().__init__()
        self.conv1 = nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv1d(width, width, 1)

    def branch(self, x: Tensor) -> Tensor:
        return self.conv2(F.gelu(self.conv1(F.gelu(x))))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.branch(x)


def zeroed(layer: nn.Module) -> nn.Module:
    """The layer with its weight and bias set to zero (an output or modulation that starts switched off)."""
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer
