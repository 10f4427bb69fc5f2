"""Clips longer than the model window: overlapping windows edited one by one, then cross-faded back together."""
import math

import numpy as np


def window_starts(length: int, window: int, overlap: int) -> tuple[int, ...]:
    """Start samples of windows covering `length`: one window when it fits, else the fewest windows whose
    neighbours overlap by at least `overlap`, spread evenly so the last one ends at the clip's end."""
    if window <= 0 or not 0 <= overlap < window:
        raise ValueError(f"need window > 0 and 0 <= overlap < window, got window {window}, overlap {overlap}")
    if length <= window:
        return (0,)
    count = math.ceil((length - window) / (window - overlap)) + 1
    return tuple(int(round(i * (length - window) / (count - 1))) for i in range(count))


def window_weights(starts: tuple[int, ...], sizes: tuple[int, ...], length: int, overlap: int) -> list[np.ndarray]:
    """Per-window cross-fade weights: raised-cosine ramps of `overlap` samples on every edge shared with a
    neighbour, flat elsewhere, divided by their sum so that they add up to exactly 1 at every sample."""
    raw = []
    for i, (start, size) in enumerate(zip(starts, sizes)):
        w = np.ones(size, np.float64)
        ramp = min(overlap, size)
        if ramp:
            rise = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
            if i > 0:
                w[:ramp] *= rise
            if i < len(starts) - 1:
                w[size - ramp:] *= rise[::-1]
        raw.append(w)
    total = np.zeros(length, np.float64)
    for start, w in zip(starts, raw):
        total[start: start + len(w)] += w[: max(0, length - start)]
    if (total <= 0).any():
        raise ValueError("windows leave samples uncovered")
    return [w[: max(0, length - s)] / total[s: s + len(w)] for s, w in zip(starts, raw)]


def overlap_add(pieces: list[np.ndarray], starts: tuple[int, ...], length: int, overlap: int) -> np.ndarray:
    """Join edited windows (..., size_i) into (..., length) with the cross-fade of `window_weights`."""
    if len(pieces) != len(starts):
        raise ValueError(f"{len(pieces)} windows for {len(starts)} starts")
    weights = window_weights(starts, tuple(p.shape[-1] for p in pieces), length, overlap)
    out = np.zeros(pieces[0].shape[:-1] + (length,), np.float64)
    for piece, start, w in zip(pieces, starts, weights):
        out[..., start: start + len(w)] += piece[..., : len(w)] * w
    return out.astype(pieces[0].dtype, copy=False)
