"""Many clips edited together: every channel of every window of every clip is one batch item, windows of one length
share forward passes, and each clip is cross-faded back from its windows."""
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from timbre.conditions import Cond, cat_conds, cond_to, expand_cond
from timbre.edits import EditBatch, EditSpec
from timbre.errors import ConfigError
from timbre.level import match_level
from timbre.models.bundle import ModelBundle
from timbre.randomness import item_generators
from timbre.windows import overlap_add, window_starts


@dataclass(frozen=True)
class WindowConfig:
    """How clips are cut for the model, packed into forward passes and put back together."""

    seconds: float = 10.0  # model window; longer clips are edited in overlapping windows
    overlap_seconds: float = 1.0  # cross-fade between neighbouring windows
    bucket_seconds: float = 1.0  # a clip shorter than the window is zero-padded to a multiple of this, then trimmed
    max_batch: int = 16  # batch items (window x channel) per forward pass
    level_seconds: float = 1.0  # the edit's level course made the source's over windows this long (0: the model's)
    max_level_boost_db: float = 24.0  # the most that matching raises the edit's level anywhere

    def __post_init__(self):
        if not (self.seconds > 0 and 0 <= self.overlap_seconds < self.seconds and self.bucket_seconds > 0):
            raise ConfigError(f"need seconds > 0, 0 <= overlap_seconds < seconds and bucket_seconds > 0, got {self}")
        if not (self.level_seconds >= 0 and self.max_level_boost_db >= 0):
            raise ConfigError(f"need level_seconds >= 0 and max_level_boost_db >= 0, got {self}")
        if not isinstance(self.max_batch, int) or self.max_batch < 1:
            raise ConfigError(f"max_batch must be an integer >= 1, got {self.max_batch!r}")


@dataclass(frozen=True, eq=False)
class Clip:
    """One clip to edit: all its channels at the bundle's sample rate, its conditions, and the id its noise comes from."""

    item_id: str
    waves: np.ndarray  # (channels, samples) float32 at the bundle's rate
    target: Cond  # one item's target condition (batch 1)
    source: Cond | None = None  # one item's source condition; None: the null condition

    def __post_init__(self):
        if self.waves.ndim != 2 or self.waves.shape[0] == 0 or self.waves.shape[1] == 0:
            raise ValueError(f"clip {self.item_id}: waves must be (channels, samples), got {self.waves.shape}")


@dataclass(frozen=True)
class _Entry:
    clip: int
    start: int
    size: int  # real samples
    padded: int  # samples fed to the model
    channel: int
    noise_id: str  # channels of one window share their noise, so equal channels stay equal


def _entries(clips: list[Clip], window: int, overlap: int, bucket: int) -> tuple[list[_Entry], list[tuple[int, ...]]]:
    entries, starts = [], []
    for i, clip in enumerate(clips):
        length = clip.waves.shape[1]
        clip_starts = window_starts(length, window, overlap)
        starts.append(clip_starts)
        for start in clip_starts:
            size = min(window, length - start)
            padded = min(window, bucket * math.ceil(size / bucket))
            noise_id = clip.item_id if len(clip_starts) == 1 else f"{clip.item_id}@{start}"
            entries += [_Entry(i, start, size, padded, c, noise_id) for c in range(clip.waves.shape[0])]
    return entries, starts


@torch.no_grad()
def edit_clips(bundle: ModelBundle, clips: list[Clip], spec: EditSpec, seed: int, space: str | None = None,
               windows: WindowConfig = WindowConfig()) -> list[tuple[np.ndarray, dict[str, Any]]]:
    """Edited (channels, samples) waves at the bundle's rate, one per clip, their level course made the source's
    (`timbre.level`, unless the windows' level_seconds is 0), with per-clip facts: windows, the batch items each clip
    took, the level gains and the method's per-item info (lists, window-major). Results do not depend on
    which clips share a call: every item's noise comes from (seed, clip id, window start)."""
    rate = bundle.sample_rate
    window, overlap = int(round(windows.seconds * rate)), int(round(windows.overlap_seconds * rate))
    entries, starts = _entries(clips, window, overlap, max(1, int(round(windows.bucket_seconds * rate))))
    by_length = defaultdict(list)
    for n, entry in enumerate(entries):
        by_length[entry.padded].append(n)
    outputs: list[np.ndarray | None] = [None] * len(entries)
    infos: list[dict] = [{} for _ in entries]
    model, device = bundle.edit_model(space), bundle.device
    for padded, members in by_length.items():
        for first in range(0, len(members), windows.max_batch):
            chunk = [entries[n] for n in members[first: first + windows.max_batch]]
            waves = np.zeros((len(chunk), padded), np.float32)
            for row, e in enumerate(chunk):
                waves[row, : e.size] = clips[e.clip].waves[e.channel, e.start: e.start + e.size]
            sources = [clips[e.clip].source for e in chunk]
            source = None if all(s is None for s in sources) else cat_conds(
                [expand_cond(bundle.null_cond, 1) if s is None else cond_to(s, device) for s in sources])
            ids = tuple(e.noise_id for e in chunk)
            targets = cat_conds([cond_to(clips[e.clip].target, device) for e in chunk])
            batch = EditBatch(bundle.codec.encode(torch.from_numpy(waves).to(device)), targets, source,
                              item_generators(seed, ids), ids)
            result = spec.run(model, batch)
            decoded = bundle.codec.decode(result.latents)[:, :padded].float().cpu().numpy()
            for row, (n, e) in enumerate(zip(members[first: first + windows.max_batch], chunk)):
                outputs[n] = decoded[row, : e.size]
                infos[n] = {key: values[row] for key, values in result.info.items()}
    per_clip = defaultdict(list)
    for n, e in enumerate(entries):
        per_clip[e.clip].append(n)
    results = []
    for i, clip in enumerate(clips):
        mine = per_clip[i]
        channels = clip.waves.shape[0]
        pieces = [np.stack([outputs[n] for n in mine[w * channels: (w + 1) * channels]]) for w in range(len(starts[i]))]
        edited = overlap_add(pieces, starts[i], clip.waves.shape[1], overlap)
        level = {}
        if windows.level_seconds > 0:
            edited, level = match_level(edited, clip.waves, rate, windows.level_seconds, windows.max_level_boost_db)
        results.append((edited, {"windows": len(starts[i]), "batch_items": len(mine), **level,
                                 **{key: [infos[n][key] for n in mine] for key in infos[mine[0]]}}))
    return results
