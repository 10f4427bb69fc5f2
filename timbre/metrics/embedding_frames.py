"""Embedding frames for the distributional metrics (FAD, KAD): an audio embedder applied to overlapping windows."""
import numpy as np
import torch
from torch import Tensor

from timbre.metrics.similarity import embed_audio_at
from timbre.models.protocols import Conditioner

WINDOW_S = 1.0  # embedding window
HOP_S = 0.5  # window hop
SILENCE_DB = -60.0  # windows quieter than this (RMS, dB re full scale) carry no timbre and are left out


def window_waves(wave: Tensor, sample_rate: int, window_s: float = WINDOW_S, hop_s: float = HOP_S) -> Tensor:
    """(S,) -> (n, window) windows of a mono wave, the last one zero-padded; non-silent windows only."""
    window, hop = int(round(window_s * sample_rate)), int(round(hop_s * sample_rate))
    if wave.ndim != 1:
        raise ValueError(f"a mono wave (S,) is needed, got shape {tuple(wave.shape)}")
    count = max(1, int(np.ceil(max(wave.shape[0] - window, 0) / hop)) + 1)
    padded = torch.nn.functional.pad(wave, (0, (count - 1) * hop + window - wave.shape[0]))
    windows = padded.unfold(0, window, hop)[:count]
    rms_db = 10 * torch.log10(windows.pow(2).mean(-1).clamp_min(1e-20))
    return windows[rms_db > SILENCE_DB]


@torch.no_grad()
def embedding_frames(embedder: Conditioner, wave: Tensor, sample_rate: int) -> np.ndarray:
    """(n, dim) float64 embeddings of a mono wave's non-silent windows; (0, dim) for a silent wave."""
    windows = window_waves(wave, sample_rate)
    if windows.shape[0] == 0:
        return np.zeros((0, embedder.dim))
    return embed_audio_at(embedder, windows, sample_rate).double().cpu().numpy()
