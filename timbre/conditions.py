"""Conditions are a tensor batch or a mapping of tensor batches; helpers to batch and pick them."""
from collections.abc import Mapping
from typing import Union

import torch
from torch import Tensor

Cond = Union[Tensor, Mapping[str, Tensor]]


def cond_batch_size(cond: Cond) -> int:
    """Number of items in a condition batch."""
    if isinstance(cond, Tensor):
        return cond.shape[0]
    sizes = {v.shape[0] for v in cond.values()}
    if len(sizes) != 1:
        raise ValueError(f"condition entries disagree on batch size: {sorted(sizes)}")
    return sizes.pop()


def expand_cond(cond: Cond, batch: int) -> Cond:
    """Broadcast a single condition (batch 1, or unbatched vector) to `batch` items."""
    if isinstance(cond, Tensor):
        c = cond if cond.ndim >= 2 else cond.unsqueeze(0)
        return c.expand(batch, *c.shape[1:]) if c.shape[0] == 1 else c
    return {k: expand_cond(v, batch) for k, v in cond.items()}


def concat_conds(a: Cond, b: Cond) -> Cond:
    """Stack two condition batches along the batch axis (a first)."""
    if isinstance(a, Tensor):
        return torch.cat([a, b])
    return {k: torch.cat([a[k], b[k]]) for k in a}


def select_cond(use_b: Tensor, a: Cond, b: Cond) -> Cond:
    """Per item: b where use_b is true, else a."""
    if isinstance(a, Tensor):
        mask = use_b.to(a.device).reshape(-1, *([1] * (a.ndim - 1)))
        return torch.where(mask, b, a)
    return {k: select_cond(use_b, a[k], b[k]) for k in a}


def cat_conds(conds: list[Cond]) -> Cond:
    """Stack condition batches along the batch axis, in order."""
    if isinstance(conds[0], Tensor):
        return torch.cat(conds)
    return {k: torch.cat([c[k] for c in conds]) for k in conds[0]}


def cond_to(cond: Cond, device) -> Cond:
    """The condition on `device`."""
    if isinstance(cond, Tensor):
        return cond.to(device)
    return {k: v.to(device) for k, v in cond.items()}


def cond_tensors(cond: Cond, name: str) -> dict[str, Tensor]:
    """The condition's tensors by name (`name` alone for a tensor, `name.key` for a mapping's entries)."""
    if isinstance(cond, Tensor):
        return {name: cond}
    return {f"{name}.{k}": v for k, v in sorted(cond.items())}
