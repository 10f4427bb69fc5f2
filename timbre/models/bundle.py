"""A model bundle: codec, denoiser, conditioner, classifier and channel analysis, loaded by name."""
from dataclasses import dataclass

import torch
from torch import Tensor

from timbre.denoisers import Denoiser, EDMPrecond
from timbre.edits.base import EditModel
from timbre.errors import ModelError
from timbre.models.debug import DEBUG_INSTRUMENTS, FrameCodec, HashConditioner, PooledClassifier, debug_dit
from timbre.models.dit import randomize_
from timbre.models.protocols import Codec, Conditioner, LatentClassifier


@dataclass(frozen=True, eq=False)
class ModelBundle:
    """Everything an edit needs, with the facts about it that are recorded beside outputs."""

    name: str  # recorded in output keys
    codec: Codec
    denoiser: Denoiser  # conditional denoiser D(x, sigma, cond)
    conditioner: Conditioner
    null_cond: Tensor  # (dim,) the dropped condition
    instruments: tuple[str, ...]  # classifier labels
    latent_classifier: LatentClassifier | None = None
    channel_ranking: Tensor | None = None
    channel_basis: Tensor | None = None

    @property
    def sample_rate(self) -> int:
        return self.codec.sample_rate

    def edit_model(self) -> EditModel:
        return EditModel(self.denoiser, self.null_cond, self.latent_classifier, self.channel_ranking, self.channel_basis)


def debug_bundle(seed: int = 0) -> ModelBundle:
    """The tiny twin: random weights, 16 latent channels at 62.5 Hz from 16 kHz audio, 64-d conditions."""
    codec = FrameCodec(sample_rate=16000, hop_length=256, channels=16, seed=seed)
    conditioner = HashConditioner(dim=64, sample_rate=16000, seed=seed)
    classifier = randomize_(PooledClassifier(16, len(DEBUG_INSTRUMENTS)), seed + 1).eval()
    ranking = torch.randperm(16, generator=torch.Generator().manual_seed(seed))
    return ModelBundle(name=f"debug-{seed}", codec=codec, denoiser=EDMPrecond(debug_dit(seed, 16, 64)),
                       conditioner=conditioner, null_cond=torch.zeros(64), instruments=DEBUG_INSTRUMENTS,
                       latent_classifier=classifier, channel_ranking=ranking)


BUILTIN_BUNDLES = {"debug": debug_bundle}


def load_bundle(name: str) -> ModelBundle:
    """A bundle by built-in name."""
    if name in BUILTIN_BUNDLES:
        return BUILTIN_BUNDLES[name]()
    raise ModelError(f"unknown model bundle {name!r}; available: {', '.join(BUILTIN_BUNDLES)}")
