"""A learned spectral codec: log-magnitude STFT frames -> latents [C, T] -> log-magnitude, phase by fast Griffin-Lim.

Each side is a linear map (initialised from a whitened PCA of training frames) plus a convolutional residual
correction trained end to end, so the channels are learned and mix every spectral feature, as a real codec's do."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from timbre.models.layers import ResBlock, zeroed

LOG_FLOOR = 1e-4  # magnitude floor before the log (-80 dB); training and encoding see the same floor
LOG_CENTRE, LOG_SPREAD = -3.0, 4.0  # log-magnitudes span about -9.2..3.5: mapped to about -1.5..1.6 inside the network


@dataclass(frozen=True)
class SpectralCodecConfig:
    """Sizes of the spectral codec; hop_length = stft_hop * stride samples per latent frame."""

    sample_rate: int = 16000  # corpus rate
    n_fft: int = 1024  # STFT window (64 ms)
    stft_hop: int = 256  # STFT hop (16 ms)
    stride: int = 2  # STFT frames stacked per latent frame: 31.25 latent frames/s at 16 kHz
    channels: int = 128  # latent channels C (64 kept 84% of voiced frames in a pilot, 128 kept 95%)
    width: int = 256  # width of the residual corrections
    depth: int = 2  # residual blocks in each correction
    griffin_lim_iters: int = 48  # phase-recovery iterations when decoding
    latent_scale: float = 1.0  # multiplies encoder outputs so latents have std ~ 0.5 (EDM's sigma_data)


def griffin_lim(magnitude: Tensor, n_fft: int, hop: int, length: int, iters: int, momentum: float = 0.99,
                angles: Tensor | None = None) -> Tensor:
    """Fast Griffin-Lim phase recovery (Griffin & Lim 1984; Perraudin et al. 2013), from zero phase (deterministic)
    or from the given unit-modulus complex `angles` of the magnitude's shape. A `length` shorter than the frames span
    is cut from the wave they span, so every iteration sees all of them."""
    window = torch.hann_window(n_fft, device=magnitude.device, dtype=magnitude.dtype)
    wanted, length = length, max(length, (magnitude.shape[-1] - 1) * hop)
    if angles is None:
        angles = torch.ones_like(magnitude, dtype=torch.complex64 if magnitude.dtype != torch.float64 else torch.complex128)
    elif angles.shape != magnitude.shape:
        raise ValueError(f"angles must have the magnitude's shape {tuple(magnitude.shape)}, got {tuple(angles.shape)}")
    previous = torch.zeros_like(angles)
    for _ in range(iters):
        wave = torch.istft(magnitude * angles, n_fft, hop, window=window, length=length)
        rebuilt = torch.stft(wave, n_fft, hop, window=window, pad_mode="constant", return_complex=True)[..., : magnitude.shape[-1]]
        accelerated = rebuilt - momentum / (1 + momentum) * previous
        angles = accelerated / accelerated.abs().clamp_min(1e-16)
        previous = rebuilt
    return torch.istft(magnitude * angles, n_fft, hop, window=window, length=length)[..., :wanted]


class Correction(nn.Module):
    """A residual conv stack (conv k3, dilated blocks, GELU, conv k1). As a correction its output layer starts at
    zero, so the linear map it corrects is the starting point; `zero_out=False` keeps the default start."""

    def __init__(self, inputs: int, width: int, outputs: int, depth: int, zero_out: bool = True):
        super().__init__()
        self.inp = nn.Conv1d(inputs, width, 3, padding=1)
        self.blocks = nn.Sequential(*(ResBlock(width, 2**i) for i in range(depth)))
        self.out = nn.Conv1d(width, outputs, 1)
        if zero_out:
            zeroed(self.out)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(F.gelu(self.blocks(self.inp(x))))


class SpectralFrames(nn.Module):
    """The spectral side every spectral codec shares: waves <-> stacked, normalised log-magnitude STFT frames, and
    decoding by fast Griffin-Lim. Subclasses map stacked frames to latents in encode_log_magnitude and back in
    decode_log_magnitude."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.channels = config.channels
        self.sample_rate = config.sample_rate
        self.hop_length = config.stft_hop * config.stride
        self.bins = config.n_fft // 2 + 1

    def spectrum(self, wave: Tensor) -> Tensor:
        """(B, S) -> (B, bins, stride * T) complex STFT frames, S padded to a whole number of latent frames."""
        c = self.config
        pad = (-wave.shape[-1]) % self.hop_length
        wave = F.pad(wave.float(), (0, pad))
        window = torch.hann_window(c.n_fft, device=wave.device)
        spec = torch.stft(wave, c.n_fft, c.stft_hop, window=window, pad_mode="constant", return_complex=True)
        return spec[..., : wave.shape[-1] // c.stft_hop]

    def log_magnitude(self, wave: Tensor) -> Tensor:
        """(B, S) -> (B, bins, stride * T) log-magnitude frames, S padded to a whole number of latent frames."""
        return self.spectrum(wave).abs().clamp_min(LOG_FLOOR).log()

    def stack(self, logmag: Tensor) -> Tensor:
        """(B, bins, stride * T) log-magnitudes -> (B, bins * stride, T) normalised network input."""
        return self.stack_frames((logmag - LOG_CENTRE) / LOG_SPREAD)

    def stack_frames(self, frames: Tensor) -> Tensor:
        """(B, D, stride * T) -> (B, D * stride, T): frame s of latent frame t, feature d, at channel d * stride + s."""
        b, d, n = frames.shape
        stride = self.config.stride
        return frames.reshape(b, d, n // stride, stride).permute(0, 1, 3, 2).reshape(b, d * stride, -1)

    def unstack(self, stacked: Tensor) -> Tensor:
        """Inverse of `stack`."""
        return self.interleave(stacked) * LOG_SPREAD + LOG_CENTRE

    def interleave(self, stacked: Tensor) -> Tensor:
        """(B, D * stride, T) -> (B, D, stride * T): `stack_frames` undone, values unchanged."""
        b, _, t = stacked.shape
        stride = self.config.stride
        return stacked.reshape(b, -1, stride, t).permute(0, 1, 3, 2).reshape(b, stacked.shape[1] // stride, -1)

    def encode(self, wave: Tensor) -> Tensor:
        return self.encode_log_magnitude(self.log_magnitude(wave))

    def waveform(self, magnitude: Tensor, length: int) -> Tensor:
        """Magnitude frames (B, bins, N) -> waves (B, length) by the codec's own Griffin-Lim."""
        c = self.config
        return griffin_lim(magnitude, c.n_fft, c.stft_hop, length, c.griffin_lim_iters)

    def decode(self, latents: Tensor) -> Tensor:
        magnitude = self.decode_log_magnitude(latents).float().clamp(max=10.0).exp()
        return self.waveform(magnitude, latents.shape[-1] * self.hop_length)


class SpectralCodec(SpectralFrames):
    """Codec protocol: encode (B, S) -> (B, C, ceil(S / hop_length)); decode (B, C, T) -> (B, T * hop_length)."""

    kind = "spectral_codec"

    def __init__(self, config: SpectralCodecConfig = SpectralCodecConfig()):
        super().__init__(config)
        c, stacked = config, self.bins * config.stride
        self.enc_linear = nn.Conv1d(stacked, c.channels, 1)
        self.enc_correction = Correction(stacked, c.width, c.channels, c.depth)
        self.dec_linear = nn.Conv1d(c.channels, stacked, 1)
        self.dec_correction = Correction(c.channels, c.width, stacked, c.depth)

    def encode_log_magnitude(self, logmag: Tensor) -> Tensor:
        x = self.stack(logmag)
        return (self.enc_linear(x) + self.enc_correction(x)) * self.config.latent_scale

    def decode_log_magnitude(self, latents: Tensor) -> Tensor:
        z = latents.to(self.dec_linear.weight.dtype) / self.config.latent_scale
        return self.unstack(self.dec_linear(z) + self.dec_correction(z))
