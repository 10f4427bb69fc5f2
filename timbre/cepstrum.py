"""The smooth spectral envelope of log-magnitude spectra by cepstral liftering (Oppenheim & Schafer, homomorphic
processing): keep the cepstrum's low quefrencies, drop the fine (harmonic) structure."""
import torch
from torch import Tensor


def cepstral_envelope(logmag: Tensor, lifter: int, dim: int = -2, level: bool = True) -> Tensor:
    """Log-magnitudes with `dim` over the bins 0..Nyquist -> their envelope: quefrencies 1..lifter (both signs) kept,
    and quefrency 0 (the mean level over the bins) when `level`; same shape."""
    bins = logmag.shape[dim]
    size = 2 * (bins - 1)
    cepstrum = torch.fft.irfft(logmag, n=size, dim=dim)
    index = torch.arange(size, device=logmag.device)
    quefrency = torch.minimum(index, size - index)
    keep = (quefrency <= lifter) & ((quefrency > 0) | level)
    shape = [1] * logmag.ndim
    shape[dim] = size
    return torch.fft.rfft(cepstrum * keep.view(shape).to(cepstrum.dtype), dim=dim).real


def cepstral_coefficients(logmag: Tensor, lifter: int) -> Tensor:
    """Log-magnitudes (..., bins) over 0..Nyquist -> the real cepstrum's quefrencies 0..lifter (..., lifter + 1): the
    numbers `envelope_from_coefficients` turns back into `cepstral_envelope(logmag, lifter, dim=-1)`."""
    return torch.fft.irfft(logmag, n=2 * (logmag.shape[-1] - 1), dim=-1)[..., : lifter + 1]


def envelope_from_coefficients(coefficients: Tensor, bins: int) -> Tensor:
    """(..., lifter + 1) cepstral coefficients -> the smooth log-magnitude envelope (..., bins): c0 + 2 sum_q c_q
    cos(pi q f / (bins - 1)), the even cepstrum's spectrum."""
    lifter = coefficients.shape[-1] - 1
    q = torch.arange(lifter + 1, device=coefficients.device, dtype=coefficients.dtype)
    f = torch.arange(bins, device=coefficients.device, dtype=coefficients.dtype)
    basis = torch.cos(torch.pi * q[:, None] * f / (bins - 1)) * torch.where(q == 0, 1.0, 2.0)[:, None]
    return coefficients @ basis
