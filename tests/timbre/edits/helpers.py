"""Helpers for edit tests: a denoiser that records the states it sees."""
import torch

from timbre.edits import EditBatch
from timbre.randomness import item_generators


class RecordingDenoiser:
    """Wraps a denoiser and records (x, sigma, cond) of every call."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def __call__(self, x, sigma, cond):
        self.calls.append((x.clone(), float(sigma[0]), cond))
        return self.inner(x, sigma, cond)


def make_batch(latents, target, source=None, seed=0):
    ids = tuple(f"item{i}" for i in range(latents.shape[0]))
    return EditBatch(latents, target, source, item_generators(seed, ids), ids)


def source_latents(n=3, channels=16, frames=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    return 0.5 * torch.randn(n, channels, frames, generator=g)
