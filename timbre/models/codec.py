"""A learned spectral codec: log-magnitude STFT -> conv encoder -> latents [C, T] -> conv decoder -> magnitude,
with phase recovered by fast Griffin-Lim."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LOG_FLOOR = 1e-4  # magnitude floor before the log (-80 dB); training and encoding see the same floor
LOG_CENTRE, LOG_SPREAD = -3.0, 4.0  # log-magnitudes span about -9.2..3.5: mapped to about -1.5..1.6 inside the network


@dataclass(frozen=True)
class SpectralCodecConfig:
    """Sizes of the spectral codec; hop_length = stft_hop * stride samples per latent frame."""

    sample_rate: int = 16000  # corpus rate
    n_fft: int = 1024  # STFT window (64 ms)
    stft_hop: int = 256  # STFT hop (16 ms)
    stride: int = 2  # STFT frames per latent frame: 31.25 latent frames/s at 16 kHz
    channels: int = 32  # latent channels C
    width: int = 256  # conv width
    depth: int = 3  # residual blocks on each side
    griffin_lim_iters: int = 48  # phase-recovery iterations when decoding
    latent_scale: float = 1.0  # multiplies encoder outputs so latents have std ~ 0.5 (EDM's sigma_data)


class ResBlock(nn.Module):
    def __init__(self, width: int, dilation: int):
        super().__init__()
        self.conv1 = nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv1d(width, width, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(F.gelu(self.conv1(F.gelu(x))))


def griffin_lim(magnitude: Tensor, n_fft: int, hop: int, length: int, iters: int, momentum: float = 0.99) -> Tensor:
    """Fast Griffin-Lim phase recovery (Griffin & Lim 1984; Perraudin et al. 2013), from zero phase: deterministic."""
    window = torch.hann_window(n_fft, device=magnitude.device, dtype=magnitude.dtype)
    angles = torch.ones_like(magnitude, dtype=torch.complex64 if magnitude.dtype != torch.float64 else torch.complex128)
    previous = torch.zeros_like(angles)
    for _ in range(iters):
        wave = torch.istft(magnitude * angles, n_fft, hop, window=window, length=length)
        rebuilt = torch.stft(wave, n_fft, hop, window=window, pad_mode="constant", return_complex=True)[..., : magnitude.shape[-1]]
        accelerated = rebuilt - momentum / (1 + momentum) * previous
        angles = accelerated / accelerated.abs().clamp_min(1e-16)
        previous = rebuilt
    return torch.istft(magnitude * angles, n_fft, hop, window=window, length=length)


class SpectralCodec(nn.Module):
    """Codec protocol: encode (B, S) -> (B, C, ceil(S / hop_length)); decode (B, C, T) -> (B, T * hop_length)."""

    kind = "spectral_codec"

    def __init__(self, config: SpectralCodecConfig = SpectralCodecConfig()):
        super().__init__()
        c = self.config = config
        self.sample_rate, self.channels = c.sample_rate, c.channels
        self.hop_length = c.stft_hop * c.stride
        bins = c.n_fft // 2 + 1
        self.enc_in = nn.Conv1d(bins, c.width, 3, padding=1)
        self.enc_blocks = nn.Sequential(*(ResBlock(c.width, 2**i) for i in range(c.depth)))
        self.enc_down = nn.Conv1d(c.width, c.width, 2 * c.stride, stride=c.stride, padding=c.stride // 2)
        self.enc_out = nn.Conv1d(c.width, c.channels, 1)
        self.dec_in = nn.Conv1d(c.channels, c.width, 3, padding=1)
        self.dec_up = nn.ConvTranspose1d(c.width, c.width, 2 * c.stride, stride=c.stride, padding=c.stride // 2)
        self.dec_blocks = nn.Sequential(*(ResBlock(c.width, 2**i) for i in range(c.depth)))
        self.dec_out = nn.Conv1d(c.width, bins, 3, padding=1)

    def log_magnitude(self, wave: Tensor) -> Tensor:
        """(B, S) -> (B, bins, 2T) log-magnitude frames, S padded to a whole number of latent frames."""
        c = self.config
        pad = (-wave.shape[-1]) % self.hop_length
        wave = F.pad(wave.float(), (0, pad))
        window = torch.hann_window(c.n_fft, device=wave.device)
        spec = torch.stft(wave, c.n_fft, c.stft_hop, window=window, pad_mode="constant", return_complex=True)
        return spec.abs()[..., : wave.shape[-1] // c.stft_hop].clamp_min(LOG_FLOOR).log()

    def encode_log_magnitude(self, logmag: Tensor) -> Tensor:
        h = self.enc_blocks(self.enc_in((logmag - LOG_CENTRE) / LOG_SPREAD))
        return self.enc_out(self.enc_down(h)) * self.config.latent_scale

    def decode_log_magnitude(self, latents: Tensor) -> Tensor:
        h = self.dec_up(self.dec_in(latents.float() / self.config.latent_scale))
        return self.dec_out(self.dec_blocks(h)) * LOG_SPREAD + LOG_CENTRE

    def encode(self, wave: Tensor) -> Tensor:
        return self.encode_log_magnitude(self.log_magnitude(wave))

    def decode(self, latents: Tensor) -> Tensor:
        c = self.config
        magnitude = self.decode_log_magnitude(latents).clamp(max=10.0).exp()
        return griffin_lim(magnitude, c.n_fft, c.stft_hop, latents.shape[-1] * self.hop_length, c.griffin_lim_iters)
