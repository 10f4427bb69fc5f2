"""Multi-resolution spectral distance between two waves: reconstruction quality of a codec."""
import torch
from torch import Tensor

RESOLUTIONS = (512, 1024, 2048)  # FFT sizes; hop = size / 4
FLOOR = 1e-3  # magnitude floor before the log (-60 dB re full scale), so silence does not dominate


def log_spectral_distance(reference: Tensor, estimate: Tensor, n_fft: int) -> Tensor:
    """Mean |log(|X| + floor) - log(|Y| + floor)| per item, on a Hann STFT of size n_fft."""
    window = torch.hann_window(n_fft, dtype=reference.dtype)
    spec = [torch.stft(w, n_fft, n_fft // 4, window=window, pad_mode="constant", return_complex=True).abs()
            for w in (reference, estimate)]
    return ((spec[0] + FLOOR).log() - (spec[1] + FLOOR).log()).abs().mean((-2, -1))


def multi_resolution_spectral_distance(reference: Tensor, estimate: Tensor) -> Tensor:
    """(B, S) x (B, S) -> (B,): the log-spectral distance averaged over RESOLUTIONS (0 for identical waves)."""
    if reference.shape != estimate.shape:
        raise ValueError(f"waves differ in shape: {tuple(reference.shape)} vs {tuple(estimate.shape)}")
    return torch.stack([log_spectral_distance(reference, estimate, n) for n in RESOLUTIONS]).mean(0)
