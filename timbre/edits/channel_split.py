"""Timbre/structure split of the latent channels, in raw channels or an orthogonal basis of them."""
import math
from dataclasses import dataclass

import torch
from torch import Tensor

from timbre.edits.base import check_fraction
from timbre.errors import ConfigError


def timbre_count(channels: int, k: float) -> int:
    """Number of timbre channels for fraction k (half rounds up)."""
    check_fraction("k", k)
    return int(math.floor(k * channels + 0.5))


def timbre_mask(ranking: Tensor, k: float) -> Tensor:
    """Boolean mask of the top-k fraction of a channel ranking (MI-guided inpainting 4.3.1)."""
    ranking = torch.as_tensor(ranking).long().flatten()
    c = ranking.numel()
    if sorted(ranking.tolist()) != list(range(c)):
        raise ConfigError(f"channel_ranking must be a permutation of 0..{c - 1}")
    mask = torch.zeros(c, dtype=torch.bool)
    mask[ranking[: timbre_count(c, k)]] = True
    return mask


@dataclass(frozen=True, eq=False)
class ChannelSplit:
    """Replaces the structure part of a latent batch; the timbre part is what the mask selects."""

    mask: Tensor  # (C,) bool over channels, or over basis directions when basis is given
    basis: Tensor | None = None  # (C, C) orthogonal, column j = direction j

    def __post_init__(self):
        if self.basis is not None:
            q = self.basis.detach().double().cpu()  # checked and factored on the CPU
            c = self.mask.numel()
            if q.shape != (c, c):
                raise ConfigError(f"channel_basis must be ({c}, {c}), got {tuple(q.shape)}")
            if not torch.allclose(q.T @ q, torch.eye(c, dtype=q.dtype), atol=1e-4):
                raise ConfigError("channel_basis must be orthogonal (Q^T Q = I)")
            q_s = q[:, ~self.mask.cpu()]
            # P_S = Q_S Q_S^T, built once on the basis's device (not per step, and not copied over per step)
            object.__setattr__(self, "_projector", (q_s @ q_s.T).to(self.basis.device))

    def structure_projector(self, like: Tensor) -> Tensor:
        """P_S = Q_S Q_S^T, the orthogonal projector onto the structure directions, on like's device and dtype."""
        return self._projector.to(device=like.device, dtype=like.dtype)

    def with_structure(self, x: Tensor, structure_from: Tensor) -> Tensor:
        """x with its structure part replaced by structure_from's: x + P_S (y - x)."""
        if self.basis is None:
            keep_x = self.mask.to(x.device).reshape(1, -1, *([1] * (x.ndim - 2)))
            return torch.where(keep_x, x, structure_from)
        return x + torch.einsum("cd,bd...->bc...", self.structure_projector(x), structure_from - x)
