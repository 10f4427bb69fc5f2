"""Per-item randomness: a generator from (seed, item id), so results do not depend on batching."""
import hashlib
from collections.abc import Sequence

import torch
from torch import Tensor


def item_generator(seed: int, item_id: str | int) -> torch.Generator:
    """A CPU generator seeded from a stable hash of (seed, item id)."""
    digest = hashlib.blake2b(f"{int(seed)}\x00{item_id}".encode(), digest_size=8).digest()
    g = torch.Generator()
    g.manual_seed(int.from_bytes(digest, "little") & ((1 << 63) - 1))
    return g


def item_generators(seed: int, item_ids: Sequence[str | int]) -> tuple[torch.Generator, ...]:
    """One generator per item id."""
    return tuple(item_generator(seed, i) for i in item_ids)


def randn_items(generators: Sequence[torch.Generator], shape: Sequence[int], *, device=None,
                dtype=torch.float32) -> Tensor:
    """Standard normal noise of `shape` per item, drawn on CPU from each item's generator, stacked."""
    noise = torch.stack([torch.randn(tuple(shape), generator=g, dtype=torch.float32) for g in generators])
    return noise.to(device=device, dtype=dtype)
