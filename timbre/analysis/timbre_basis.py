"""A learned orthogonal basis of the latent channels in which timbre separates from pitch."""
from collections.abc import Sequence

import numpy as np


def between_class_scatter(frames: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(C, C) covariance of the class means, weighted by class frequency (Fisher's between-class scatter)."""
    frames = np.asarray(frames, dtype=np.float64)
    centre = frames.mean(0)
    scatter = np.zeros((frames.shape[1], frames.shape[1]))
    for label in np.unique(labels):
        members = frames[labels == label]
        d = members.mean(0) - centre
        scatter += len(members) / len(frames) * np.outer(d, d)
    return scatter


def timbre_basis(frames: np.ndarray, instruments: np.ndarray, pitches: np.ndarray, pitch_weight: float = 1.0,
                 pinned: Sequence[int] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal directions ordered from most instrument- and least pitch-separating to the reverse: the
    eigenvectors of S_instrument / tr S_instrument - w S_pitch / tr S_pitch (symmetric, so the basis is
    orthogonal and EDM's isotropic noise stays isotropic in it). Raw channels in `pinned` (a codec's level channel,
    say) are kept whole as the last directions, in the order given, and the rest is fitted in their orthogonal
    complement (the basis of the other channels' frames), so no other direction holds any part of them. Returns
    (basis (C, C), column j = direction j; the eigenvalues, descending, then NaN for each pinned channel)."""
    frames = np.asarray(frames, dtype=np.float64)
    c = frames.shape[1]
    pinned = [int(p) for p in pinned]
    if len(set(pinned)) != len(pinned) or any(not 0 <= p < c for p in pinned):
        raise ValueError(f"pinned channels must be distinct channels of 0..{c - 1}, got {pinned}")
    free = np.setdiff1d(np.arange(c), pinned)
    s_inst, s_pitch = (between_class_scatter(frames[:, free], labels) for labels in (instruments, pitches))
    contrast = s_inst / max(np.trace(s_inst), 1e-12) - pitch_weight * s_pitch / max(np.trace(s_pitch), 1e-12)
    values, vectors = np.linalg.eigh((contrast + contrast.T) / 2)
    order = np.argsort(-values, kind="stable")
    vectors = vectors[:, order]
    vectors *= np.where(vectors[np.abs(vectors).argmax(0), np.arange(vectors.shape[1])] < 0, -1.0, 1.0)  # sign fixed
    basis = np.zeros((c, c))
    basis[free, : free.size] = vectors
    basis[pinned, free.size + np.arange(len(pinned))] = 1.0
    return basis, np.concatenate([values[order], np.full(len(pinned), np.nan)])
