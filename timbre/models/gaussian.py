"""The exact denoiser of Gaussian data and the exact probability-flow ODE solution, for tests."""
from dataclasses import dataclass

import torch
from torch import Tensor

from timbre.denoisers import sigma_batch


@dataclass(frozen=True, eq=False)
class GaussianDenoiser:
    """E[x0 | x] for x0 ~ N(mean, diag(var)) per channel, x = x0 + sigma n; the condition (B, C) is the mean."""

    var: Tensor  # (C,) per-channel data variance

    def __call__(self, x: Tensor, sigma: Tensor, cond: Tensor) -> Tensor:
        s = sigma_batch(x, sigma).reshape(-1, 1, 1).to(x.dtype)
        mean, var = cond.to(x.dtype).unsqueeze(-1), self.var.to(x).reshape(1, -1, 1)
        return mean + var / (var + s**2) * (x - mean)


def gaussian_flow(x: Tensor, sigma_from: float, sigma_to: float, mean: Tensor, var: Tensor) -> Tensor:
    """Exact solution of dx/dsigma = (x - D(x, sigma)) / sigma for Gaussian data: x - m scales by sqrt ratio."""
    m, v = mean.to(x).unsqueeze(-1), var.to(x).reshape(1, -1, 1)
    return m + (x - m) * torch.sqrt((v + sigma_to**2) / (v + sigma_from**2))
