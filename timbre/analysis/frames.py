"""Labelled latent frames for the channel analyses: held, non-silent frames of single corpus notes."""
from dataclasses import dataclass

import numpy as np
import torch

from timbre.corpus.dataset import note_example
from timbre.models.protocols import Codec

HELD_SECONDS = 0.75  # corpus notes are held this long, then released
SILENCE_DB = -50.0  # frames quieter than this relative to the note's loudest frame are left out


@dataclass(frozen=True, eq=False)
class LabelledFrames:
    """(N, C) latent frames with the instrument and MIDI pitch each was encoded from, and which note it came from."""

    frames: np.ndarray
    instruments: np.ndarray
    pitches: np.ndarray
    notes: np.ndarray | None = None  # (N,) note index of each frame; None: every frame its own note

    def note_means(self) -> "LabelledFrames":
        """One row per note: the mean of its frames, with its labels. Frames of one note are not independent
        samples (a held note's pitch or level repeats exactly), and a k-nearest-neighbour MI estimate over them
        finds each frame's neighbours in its own note, so any channel that is constant within notes looks
        informative of every note label."""
        if self.notes is None:
            return self
        ids, first, inverse = np.unique(self.notes, return_index=True, return_inverse=True)
        sums = np.zeros((ids.size, self.frames.shape[1]))
        np.add.at(sums, inverse, self.frames)
        means = sums / np.bincount(inverse)[:, None]
        return LabelledFrames(means, self.instruments[first], self.pitches[first], ids)


@torch.no_grad()
def note_frames(codec: Codec, corpus_seed: int, notes: int, split: str = "valid", batch: int = 50) -> LabelledFrames:
    """Encode `notes` corpus notes; keep frames inside the held part that are within 50 dB of the note's peak."""
    frames, instruments, pitches, ids = [], [], [], []
    hop = codec.hop_length
    for first in range(0, notes, batch):
        examples = [note_example(corpus_seed, split, i) for i in range(first, min(notes, first + batch))]
        waves = torch.from_numpy(np.stack([e.audio for e in examples]))
        latents = codec.encode(waves).transpose(1, 2).numpy()  # (B, T, C)
        pad = latents.shape[1] * hop - waves.shape[1]
        energy = torch.nn.functional.pad(waves, (0, pad)).reshape(len(examples), -1, hop).pow(2).mean(-1).numpy()
        level = 10 * np.log10(energy + 1e-12)
        held = np.arange(latents.shape[1]) * hop < HELD_SECONDS * codec.sample_rate
        for index, (e, z, db) in enumerate(zip(examples, latents, level), start=first):
            keep = held & (db > db.max() + SILENCE_DB)
            frames.append(z[keep])
            instruments.append(np.full(keep.sum(), e.instrument))
            pitches.append(np.full(keep.sum(), e.pitch))
            ids.append(np.full(keep.sum(), index))
    return LabelledFrames(np.concatenate(frames), np.concatenate(instruments), np.concatenate(pitches),
                          np.concatenate(ids))
