"""Log-mel spectrogram front end shared by the conditioner's audio tower and the audio classifier."""
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def hz_to_mel(hz: Tensor) -> Tensor:
    """HTK mel scale (O'Shaughnessy 1987): 2595 log10(1 + f / 700)."""
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def mel_to_hz(mel: Tensor) -> Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float = 0.0, f_max: float | None = None) -> Tensor:
    """(n_fft // 2 + 1, n_mels) triangular filters, peak 1, centres equally spaced on the HTK mel scale."""
    f_max = sample_rate / 2 if f_max is None else f_max
    bins = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    edges = mel_to_hz(torch.linspace(float(hz_to_mel(torch.tensor(f_min))), float(hz_to_mel(torch.tensor(f_max))),
                                     n_mels + 2, dtype=torch.float64))
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins[:, None] - lower) / (centre - lower)
    falling = (upper - bins[:, None]) / (upper - centre)
    return rising.minimum(falling).clamp_min(0).float()


class LogMel(nn.Module):
    """(B, S) waves -> (B, n_mels, frames) log-mel energies, normalised to roughly unit range."""

    def __init__(self, sample_rate: int, n_fft: int = 1024, hop: int = 256, n_mels: int = 64, floor: float = 1e-5):
        super().__init__()
        self.n_fft, self.hop, self.log_floor = n_fft, hop, math.log(floor)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.register_buffer("filters", mel_filterbank(sample_rate, n_fft, n_mels), persistent=False)

    def forward(self, wave: Tensor) -> Tensor:
        wave = wave.float()
        if wave.shape[-1] < self.n_fft:
            wave = F.pad(wave, (0, self.n_fft - wave.shape[-1]))
        power = torch.stft(wave, self.n_fft, self.hop, window=self.window, return_complex=True).abs() ** 2
        mel = torch.einsum("bft,fm->bmt", power, self.filters)
        return (mel.clamp_min(math.exp(self.log_floor)).log() - self.log_floor / 2) / (-self.log_floor / 2)
