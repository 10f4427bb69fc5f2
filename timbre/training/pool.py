"""The labelled training pool: corpus stems and notes rendered once, and random crops from it."""
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from torch import Tensor

from timbre.audio import fit_length
from timbre.corpus.dataset import SAMPLE_RATE, note_example, stem_example


@dataclass(frozen=True, eq=False)
class Pool:
    """Rows of mono 16 kHz audio, zero-padded to one width, with each row's true length and instrument."""

    audio: Tensor  # (N, S) float32
    lengths: Tensor  # (N,) samples of real content per row
    instruments: Tensor  # (N,) instrument index per row

    def __post_init__(self):
        n = self.audio.shape[0]
        if self.audio.ndim != 2 or self.lengths.shape != (n,) or self.instruments.shape != (n,):
            raise ValueError(f"pool shapes disagree: audio {tuple(self.audio.shape)} (want (N, S)), lengths "
                             f"{tuple(self.lengths.shape)}, instruments {tuple(self.instruments.shape)} (want ({n},))")


def corpus_pool(corpus_seed: int, stems: int, notes: int, min_seconds: float, split: str = "train",
                map_items: Callable[[Callable, Iterable], Iterator] = map) -> Pool:
    """`stems` 10 s stems and `notes` 1 s notes (zero-padded to `min_seconds`, so a crop of that length fits).
    Each item is rendered from its own seed, so `map_items` may render them in other processes (an executor's
    `map`, which keeps their order) and the pool is the same."""
    n = int(min_seconds * SAMPLE_RATE)
    examples = list(map_items(partial(stem_example, corpus_seed, split), range(stems)))
    examples += list(map_items(partial(note_example, corpus_seed, split), range(notes)))
    clips = [fit_length(e.audio, max(n, len(e.audio))) for e in examples]
    width = max(len(c) for c in clips)
    return Pool(torch.from_numpy(np.stack([fit_length(c, width) for c in clips])),
                torch.tensor([len(c) for c in clips]), torch.tensor([e.instrument for e in examples]))


def row_weights(stems: int, notes: int, stem_share: float) -> Tensor:
    """(stems + notes,) weights over `corpus_pool`'s rows (its stems first) that draw a stem with probability
    `stem_share` and every stem alike, a note otherwise and every note alike."""
    if not 0 <= stem_share <= 1 or (stems == 0 and stem_share > 0) or (notes == 0 and stem_share < 1):
        raise ValueError(f"a stem share of {stem_share} cannot be drawn from {stems} stems and {notes} notes")
    return torch.cat([torch.full((stems,), stem_share / max(stems, 1), dtype=torch.float64),
                      torch.full((notes,), (1 - stem_share) / max(notes, 1), dtype=torch.float64)])


@dataclass(frozen=True, eq=False)
class Crops:
    """Random crops with the rows and start samples they came from."""

    audio: Tensor  # (B, samples)
    rows: Tensor  # (B,)
    starts: Tensor  # (B,) first sample; a multiple of `align`


def random_crops(pool: Pool, count: int, samples: int, g: torch.Generator, align: int = 1) -> Crops:
    """`count` crops of `samples` from random rows, within each row's true length, starting on multiples of `align`
    (a codec's hop, so latent crops line up with audio crops)."""
    rows = torch.randint(0, pool.audio.shape[0], (count,), generator=g)
    room = (pool.lengths[rows] - samples).clamp_min(0) // align
    starts = (torch.rand(count, generator=g) * (room + 1)).long().clamp(max=room) * align
    audio = torch.stack([pool.audio[r, s: s + samples] for r, s in zip(rows.tolist(), starts.tolist())])
    if audio.shape[1] != samples:
        raise ValueError(f"pool rows are {pool.audio.shape[1]} samples, shorter than a {samples}-sample crop")
    return Crops(audio, rows, starts)
