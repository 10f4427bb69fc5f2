"""The interfaces the engine needs from models: codec, conditioner, latent classifier."""
from collections.abc import Callable
from typing import Protocol

from torch import Tensor


class Codec(Protocol):
    """Audio <-> latent [C, T]: `hop_length` samples per latent frame at `sample_rate`."""

    sample_rate: int
    hop_length: int
    channels: int

    def encode(self, wave: Tensor) -> Tensor:
        """(B, S) mono waves -> (B, C, ceil(S / hop_length)) latents."""

    def decode(self, latents: Tensor) -> Tensor:
        """(B, C, T) latents -> (B, T * hop_length) waves."""


class Conditioner(Protocol):
    """Text and audio -> unit vectors in one `dim`-dimensional space (the CLAP interface)."""

    dim: int
    sample_rate: int

    def embed_text(self, texts: list[str]) -> Tensor:
        """(B,) prompts -> (B, dim) unit vectors."""

    def embed_audio(self, wave: Tensor) -> Tensor:
        """(B, S) mono waves at `sample_rate` -> (B, dim) unit vectors."""


def structure_channels(codec) -> int:
    """How many leading latent channels the codec declares as structure by construction (the harmonic codec's pitch,
    onsets and periodicity); 0 for a codec that declares none."""
    return int(getattr(codec, "structure_channels", 0))


def always_known_count(structure: int, always_known: int | None) -> int:
    """How many of a codec's `structure` leading structure channels a denoiser always sees known: `always_known`
    (DenoiserTrainingConfig.always_known, ModelBundle.always_known), or every one when that is None."""
    return structure if always_known is None else always_known


def level_hold(codec) -> Callable[[Tensor, Tensor], Tensor] | None:
    """The codec's (guided, conditional) -> guided latents with each frame's rendered level made the conditional's
    (the harmonic codec's hold_level), or None for a codec whose level the latents do not hold apart."""
    hold = getattr(codec, "hold_level", None)
    return hold if callable(hold) else None


def embeds_audio(model) -> bool:
    """Whether a conditioner embeds recordings as well as text (a CLAP-style one does; Stable Audio Open's T5
    prompts do not)."""
    return callable(getattr(model, "embed_audio", None))


class LatentClassifier(Protocol):
    """Latents (B, C, T) -> instrument logits (B, classes)."""

    def __call__(self, latents: Tensor) -> Tensor: ...
