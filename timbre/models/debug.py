"""Tiny debug models with random weights: they build offline in well under a second and exercise real code paths."""
import hashlib
import math
from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from timbre.models.dit import DIT_SIZES, DiT, randomize_
from timbre.models.layers import ItemLinear


@dataclass(frozen=True)
class FrameCodecConfig:
    sample_rate: int = 16000  # audio rate
    hop_length: int = 256  # samples per latent frame
    channels: int = 16  # latent channels
    seed: int = 0  # seed of the random orthonormal projection


class FrameCodec(nn.Module):
    """A linear codec: each frame of `hop_length` samples projected on `channels` orthonormal directions."""

    kind = "frame_codec"

    def __init__(self, config: FrameCodecConfig = FrameCodecConfig()):
        super().__init__()
        self.config = config
        self.sample_rate, self.hop_length, self.channels = config.sample_rate, config.hop_length, config.channels
        g = torch.Generator().manual_seed(config.seed)
        q, _ = torch.linalg.qr(torch.randn(config.hop_length, config.channels, generator=g))
        self.register_buffer("basis", q * math.sqrt(config.hop_length / config.channels))

    def encode(self, wave: Tensor) -> Tensor:
        pad = (-wave.shape[-1]) % self.hop_length
        frames = nn.functional.pad(wave, (0, pad)).unflatten(-1, (-1, self.hop_length))
        return torch.einsum("bts,sc->bct", frames.to(self.basis.dtype), self.basis)

    def decode(self, latents: Tensor) -> Tensor:
        gram = self.basis.T @ self.basis
        frames = torch.einsum("bct,sc->bts", latents.to(self.basis.dtype), self.basis @ torch.linalg.inv(gram))
        return frames.flatten(1)


@dataclass(frozen=True)
class HashConditionerConfig:
    dim: int = 64  # embedding size
    sample_rate: int = 16000  # audio rate it embeds
    bands: int = 32  # spectral bands of the audio embedding
    seed: int = 0  # seed of word vectors and the audio projection


class HashConditioner(nn.Module):
    """Text: mean of per-word vectors seeded by the word's hash. Audio: band energies through a random projection."""

    kind = "hash_conditioner"

    def __init__(self, config: HashConditionerConfig = HashConditionerConfig()):
        super().__init__()
        self.config = config
        self.dim, self.sample_rate, self.bands, self.seed = config.dim, config.sample_rate, config.bands, config.seed
        g = torch.Generator().manual_seed(config.seed)
        self.register_buffer("audio_proj", torch.randn(config.bands, config.dim, generator=g))

    def _word(self, word: str) -> Tensor:
        h = int.from_bytes(hashlib.blake2b(f"{self.seed}:{word}".encode(), digest_size=8).digest(), "little")
        return torch.randn(self.dim, generator=torch.Generator().manual_seed(h & ((1 << 63) - 1)))

    def embed_text(self, texts: list[str]) -> Tensor:
        vecs = [torch.stack([self._word(w) for w in (t.lower().split() or [""])]).mean(0) for t in texts]
        return nn.functional.normalize(torch.stack(vecs), dim=-1)

    def embed_audio(self, wave: Tensor) -> Tensor:
        spec = torch.fft.rfft(wave.float(), dim=-1).abs() ** 2
        energies = torch.stack([band.mean(-1) for band in spec.tensor_split(self.bands, dim=-1)], -1)
        return nn.functional.normalize(torch.log1p(energies) @ self.audio_proj, dim=-1)


@dataclass(frozen=True)
class PooledClassifierConfig:
    channels: int = 16  # latent channels
    classes: int = 8  # instruments


class PooledClassifier(nn.Module):
    """Instrument logits from the time-mean and time-std of each latent channel."""

    kind = "pooled_classifier"

    def __init__(self, config: PooledClassifierConfig = PooledClassifierConfig()):
        super().__init__()
        self.config = config
        self.head = ItemLinear(2 * config.channels, config.classes)

    def forward(self, latents: Tensor) -> Tensor:
        x = latents.to(self.head.weight.dtype)
        return self.head(torch.cat([x.mean(-1), x.std(-1, correction=0)], -1))


DEBUG_INSTRUMENTS = ("violin", "cello", "flute", "clarinet", "trumpet", "piano", "guitar", "organ")


def debug_dit(seed: int = 0, channels: int = 16, cond_dim: int = 64) -> DiT:
    """The tiny DiT with random weights."""
    return randomize_(DiT(replace(DIT_SIZES["tiny"], channels=channels, cond_dim=cond_dim)), seed).eval()
