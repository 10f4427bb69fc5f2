"""Stable Audio Open's Oobleck autoencoder (diffusers' AutoencoderOobleck) as a Codec over mono waves."""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from timbre.errors import InputError


class OobleckCodec(nn.Module):
    """Codec protocol: (B, S) mono at 44.1 kHz -> (B, 64, ceil(S / 2048)) latent means -> (B, T * 2048).

    The autoencoder is stereo; each mono channel is encoded as a centred stereo image (both sides equal) and the
    decoded pair is averaged back, so stems are edited channel by channel like every other codec here."""

    def __init__(self, vae: nn.Module):
        super().__init__()
        self.vae = vae.eval()
        self.sample_rate = int(vae.config.sampling_rate)
        self.hop_length = int(vae.hop_length)
        self.channels = int(vae.config.decoder_input_channels)
        self.audio_channels = int(vae.config.audio_channels)

    def encode(self, wave: Tensor) -> Tensor:
        if wave.ndim != 2:
            raise InputError(f"the Oobleck codec encodes (batch, samples) mono waves, got shape {tuple(wave.shape)}")
        padded = F.pad(wave, (0, (-wave.shape[-1]) % self.hop_length))
        image = padded.unsqueeze(1).expand(-1, self.audio_channels, -1)
        return self.vae.encode(image.to(self._dtype)).latent_dist.mean.float()

    def decode(self, latents: Tensor) -> Tensor:
        return self.vae.decode(latents.to(self._dtype)).sample.float().mean(1)

    @property
    def _dtype(self) -> torch.dtype:
        return next(self.vae.parameters()).dtype
