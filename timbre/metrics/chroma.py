"""Chroma (pitch-class energy) per frame and the chroma similarity of two signals (Diff-TONE's structure metric)."""
import torch
import torch.nn.functional as F
from torch import Tensor


def chroma(wave: Tensor, sample_rate: int, n_fft: int = 4096, hop: int = 512, f_min: float = 55.0,
           f_max: float = 4000.0) -> Tensor:
    """(B, S) -> (B, 12, frames): STFT power summed into the nearest equal-tempered pitch class (C = 0, A = 9),
    bins between f_min and f_max."""
    window = torch.hann_window(n_fft, device=wave.device)
    power = torch.stft(wave.float(), n_fft, hop, window=window, return_complex=True).abs() ** 2
    freqs = torch.arange(n_fft // 2 + 1, device=wave.device) * sample_rate / n_fft
    used = (freqs >= f_min) & (freqs <= f_max)
    pitch_class = (torch.round(12 * torch.log2(freqs[used] / 440.0)).long() + 9) % 12
    mapping = F.one_hot(pitch_class, 12).float()  # (used bins, 12)
    return torch.einsum("bft,fc->bct", power[:, used], mapping)


def chroma_similarity(a: Tensor, b: Tensor, sample_rate: int, silence_db: float = -40.0) -> Tensor:
    """(B,) mean cosine similarity of frame chroma vectors, over frames where both signals are within 40 dB of
    their loudest frame (silence has no pitch class); NaN for an item with no such frame."""
    ca, cb = chroma(a, sample_rate), chroma(b, sample_rate)
    frames = min(ca.shape[-1], cb.shape[-1])
    ca, cb = ca[..., :frames], cb[..., :frames]

    def loud(c: Tensor) -> Tensor:
        energy = c.sum(1)
        return energy > energy.amax(-1, keepdim=True) * 10 ** (silence_db / 10)

    both = loud(ca) & loud(cb)
    cosine = F.cosine_similarity(ca, cb, dim=1, eps=1e-12)
    return (cosine * both).sum(-1) / both.sum(-1)
