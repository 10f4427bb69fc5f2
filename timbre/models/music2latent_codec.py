"""Music2Latent (Pasini, Lattner & Fazekas, ISMIR 2024) as a Codec: 64 latent channels, one frame per 4096 samples
at 44.1 kHz; encode and decode run whole batches (the package itself runs one item at a time)."""
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from timbre.errors import InputError, ModelError
from timbre.models.weights import check_state, read_state_dict

STFT_HOP = 512  # music2latent.hparams.hop: the STFT hop
FRAME = 8 * STFT_HOP  # 2 ** freq_downsample_list.count(0) STFT frames per latent frame: 4096 samples
EDGE = 3 * STFT_HOP  # the 2048-sample STFT window needs 1536 samples past the last hop
LATENT_SCALE = 0.06  # music2latent.hparams_inference.sigma_rescale: latents are divided by it after encoding
_BUILD_LOCK = threading.Lock()  # the package sizes its UNet from module globals; builds patch them one at a time


@dataclass(frozen=True)
class Music2LatentConfig:
    """The UNet's sizes (the published model's by default); the STFT representation and the 64-channel bottleneck
    are fixed by the package."""

    base_channels: int = 64
    multipliers: tuple[int, ...] = (1, 2, 4, 4, 4)
    layers: tuple[int, ...] = (2, 2, 2, 2, 2)
    encoder_layers: tuple[int, ...] = (1, 1, 1, 1, 1)
    bottleneck_base_channels: int = 512
    bottleneck_layers: int = 4
    cond_channels: int = 256
    heads: int = 4
    decode_steps: int = 1  # consistency steps when decoding (the package's default)
    decode_seed: int = 0  # decoding starts from this seed's noise for every item: the same latents give the same audio

    def __post_init__(self):
        for name in ("multipliers", "layers", "encoder_layers"):
            value = tuple(getattr(self, name))
            if len(value) != 5:
                raise ModelError(f"music2latent {name} needs 5 resolution levels, got {value}")
            object.__setattr__(self, name, value)
        if self.decode_steps < 1:
            raise ModelError(f"music2latent decode_steps must be >= 1, got {self.decode_steps}")


TINY = Music2LatentConfig(base_channels=8, multipliers=(1, 1, 1, 1, 1), layers=(1, 1, 1, 1, 1),
                          bottleneck_base_channels=16, bottleneck_layers=1, cond_channels=16, heads=2)


@contextmanager
def _package_sizes(config: Music2LatentConfig):
    """music2latent.models with its size globals set to `config` for the duration of a build."""
    import music2latent.models as package

    sizes = {"base_channels": config.base_channels, "multipliers_list": list(config.multipliers),
             "layers_list": list(config.layers), "layers_list_encoder": list(config.encoder_layers),
             "bottleneck_base_channels": config.bottleneck_base_channels,
             "num_bottleneck_layers": config.bottleneck_layers, "cond_channels": config.cond_channels,
             "heads": config.heads}
    with _BUILD_LOCK:
        saved = {k: getattr(package, k) for k in sizes}
        try:
            for k, v in sizes.items():
                setattr(package, k, v)
            yield package
        finally:
            for k, v in saved.items():
                setattr(package, k, v)


class Music2LatentCodec(nn.Module):
    """Codec protocol over the music2latent package's UNet: mono (B, S) at 44.1 kHz -> (B, 64, ceil(S / 4096));
    stereo stems are edited channel by channel, as the package encodes channels as batch items."""

    kind = "music2latent_codec"
    sample_rate, hop_length, channels = 44100, FRAME, 64

    def __init__(self, config: Music2LatentConfig = Music2LatentConfig()):
        super().__init__()
        self.config = config
        with _package_sizes(config) as package:
            self.net = package.UNet()
        self.eval()

    def encode(self, wave: Tensor) -> Tensor:
        if wave.ndim != 2:
            raise InputError(f"music2latent encodes (batch, samples) mono waves, got shape {tuple(wave.shape)}")
        from music2latent.audio import to_representation_encoder

        frames = -(-wave.shape[-1] // FRAME)
        padded = F.pad(wave.float(), (0, frames * FRAME + EDGE - wave.shape[-1]))
        spectrum = to_representation_encoder(padded)  # (B, 2 real/imag, 1024 bins, 8 * frames)
        latents = self.net.encoder(spectrum.to(self._dtype))
        return latents.float() / LATENT_SCALE

    def decode(self, latents: Tensor) -> Tensor:
        from music2latent.audio import to_waveform
        from music2latent.utils import get_sigma, reverse_step

        b, _, t = latents.shape
        z = (latents * LATENT_SCALE).to(self._dtype)
        pyramid = self.net.decoder(z)  # the latents' features, shared by every consistency step
        g = torch.Generator().manual_seed(self.config.decode_seed)
        shape = (1, 2, 2 * STFT_HOP, 8 * t)  # one noise draw shared by the batch: an item's audio never depends on
        noise = lambda: torch.randn(shape, generator=g).to(z.device, self._dtype).expand(b, *shape[1:])  # its batch
        steps = self.config.decode_steps
        x = noise() * get_sigma(steps + 1, steps + 1)  # sigma_max
        for k in range(steps):  # the package's reverse_diffusion, with seeded noise and the pyramid computed once
            estimate = self.net(z, x, torch.tensor(get_sigma(steps + 1 - k, steps + 1), device=z.device),
                                pyramid_latents=pyramid)
            if k + 1 < steps:
                x = reverse_step(estimate, noise(), get_sigma(steps - k, steps + 1))
        return to_waveform(estimate.float())[:, : t * FRAME]

    @property
    def _dtype(self) -> torch.dtype:
        return self.net.conv_inp.weight.dtype

    @classmethod
    def from_checkpoint(cls, path: Path, config: Music2LatentConfig = Music2LatentConfig()) -> "Music2LatentCodec":
        """The published weights (music2latent.pt, its `gen_state_dict`) or a safetensors export of them, read
        safely; ModelError naming the file when keys or shapes do not match `config`."""
        codec = cls(config)
        check_state(codec.net, read_state_dict(path, "gen_state_dict"), str(path), cls.kind, allow_unexpected=True)
        return codec.eval()

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self.config).items())
