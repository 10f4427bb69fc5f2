"""Per-item randomness: a generator from (seed, item id), so results do not depend on batching."""
import hashlib
from collections.abc import Sequence

import torch
from torch import Tensor


def content_item_id(sha256_hex: str) -> str:
    """The item id of an input from its bytes' SHA-256 (hex): its first 16 digits, so the same bytes draw the same
    noise wherever they come from (`timbre edit` and the catalogue job alike)."""
    return sha256_hex[:16]


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
