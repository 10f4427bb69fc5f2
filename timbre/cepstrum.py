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
