"""Train the audio instrument classifier and two latent ones: distilled from the audio classifier's representation
(as Diff-TONE distils MERT into a latent student) and trained directly on labels."""
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from timbre.corpus.dataset import stem_example
from timbre.models.audio_classifier import AudioClassifier, AudioClassifierConfig
from timbre.models.latent_classifier import ConvLatentClassifier, LatentClassifierConfig
from timbre.models.protocols import Codec
from timbre.training.loop import Progress, fit, seeded
from timbre.training.pool import Pool, random_crops


@dataclass(frozen=True)
class ClassifierTrainingConfig:
    """Settings shared by the three classifier runs."""

    steps: int = 800  # optimiser steps per classifier
    batch: int = 64  # crops per step
    crop_seconds: float = 2.0  # crop length (latent crops cover the same audio)
    lr: float = 1e-3  # Adam learning rate, cosine-decayed to 5% of it
    gain_db: float = 12.0  # audio crops get a random gain within +-gain_db: level is not timbre
    latent_noise: float = 0.1  # std of Gaussian noise on latent crops, relative to the latents' std (x0_hat is blurred)
    seed: int = 0  # initialisation and sampling


def train_audio_classifier(model_config: AudioClassifierConfig, config: ClassifierTrainingConfig, pool: Pool,
                           progress: Progress | None = None) -> tuple[AudioClassifier, dict]:
    """Cross-entropy on random crops with random gain."""
    model = seeded(lambda: AudioClassifier(model_config), config.seed)
    g = torch.Generator().manual_seed(config.seed)
    samples = int(config.crop_seconds * model_config.sample_rate)

    def batch_loss(_: int) -> Tensor:
        crops = random_crops(pool, config.batch, samples, g)
        gain = 10 ** ((torch.rand(config.batch, 1, generator=g) * 2 - 1) * config.gain_db / 20)
        return F.cross_entropy(model(crops.audio * gain), pool.instruments[crops.rows])

    return model, fit(model, config.steps, config.lr, batch_loss, progress)


@torch.no_grad()
def encode_pool(codec: Codec, pool: Pool, batch: int = 32, margin_seconds: float = 1.0) -> Tensor:
    """(N, C, frames) latents of every pool row, as encoding each whole zero-padded row gives them, at the cost of
    its real audio: rows of one length are encoded together up to that length and `margin_seconds` of the padding's
    silence, and their frames from half the margin on repeat the frame there (a codec encodes every frame of silence
    that far from the audio alike; the frames near the cut are the cut's edge, and only each row's very last frame,
    never read, sees the row's own end). A note padded to 2 s in a pool of 10 s stems then costs 3 s of encoding,
    not 10."""
    whole = codec.encode(pool.audio[:1])  # one whole row: the latents' channels and frames
    out = whole.new_empty(pool.audio.shape[0], whole.shape[1], whole.shape[2])
    margin = int(margin_seconds * codec.sample_rate)
    for length in pool.lengths.unique().tolist():
        rows = (pool.lengths == length).nonzero()[:, 0]
        samples = min(pool.audio.shape[1], int(length) + margin)
        latents = torch.cat([codec.encode(pool.audio[chunk, :samples]) for chunk in rows.split(batch)])
        keep = out.shape[-1] if samples == pool.audio.shape[1] else (int(length) + margin // 2) // codec.hop_length
        out[rows, :, :keep] = latents[..., :keep]
        out[rows, :, keep:] = latents[..., keep - 1: keep]
    return out


def latent_crops(latents: Tensor, pool: Pool, count: int, frames: int, hop: int, g: torch.Generator):
    """Random latent crops and the audio they encode (aligned on the codec hop)."""
    crops = random_crops(pool, count, frames * hop, g, align=hop)
    first = (crops.starts // hop).tolist()
    z = torch.stack([latents[r, :, f: f + frames] for r, f in zip(crops.rows.tolist(), first)])
    return z, crops


def train_latent_classifier(model_config: LatentClassifierConfig, config: ClassifierTrainingConfig, pool: Pool,
                            latents: Tensor, hop: int, sample_rate: int, teacher: AudioClassifier | None = None,
                            progress: Progress | None = None) -> tuple[ConvLatentClassifier, dict]:
    """Directly on labels (teacher None), or distilled: regress the teacher's audio representation of the same
    crop (mean squared error) and read logits through the teacher's frozen head."""
    if teacher is not None:
        model_config = replace(model_config, embed_dim=teacher.config.embed_dim, classes=teacher.config.classes)
    model = seeded(lambda: ConvLatentClassifier(model_config), config.seed)
    if teacher is not None:
        model.head.load_state_dict(teacher.head.state_dict())
        model.head.requires_grad_(False)
    g = torch.Generator().manual_seed(config.seed)
    frames = max(1, round(config.crop_seconds * sample_rate / hop))
    noise = config.latent_noise * float(latents.std())

    def batch_loss(_: int) -> Tensor:
        z, crops = latent_crops(latents, pool, config.batch, frames, hop, g)
        z = z + noise * torch.randn(z.shape, generator=g)
        if teacher is None:
            return F.cross_entropy(model(z), pool.instruments[crops.rows])
        with torch.no_grad():
            target = teacher.embed(crops.audio)
        return F.mse_loss(model.embed(z), target)

    metrics = fit(model, config.steps, config.lr, batch_loss, progress)
    return model, {**metrics, "mode": "direct" if teacher is None else "distilled"}


@torch.no_grad()
def held_out_accuracy(classify: Callable[[Tensor], Tensor], corpus_seed: int, stems: int = 100,
                      split: str = "test", batch: int = 20) -> float:
    """Top-1 instrument accuracy on held-out 10 s stems; `classify` maps (B, S) waves to logits."""
    return held_out_accuracies({"": classify}, corpus_seed, stems, split, batch)[""]


def held_out_accuracies(classifiers: Mapping[str, Callable[[Tensor], Tensor]], corpus_seed: int, stems: int = 100,
                        split: str = "test", batch: int = 20,
                        prepare: Callable[[Tensor], Tensor] = lambda waves: waves) -> dict[str, float]:
    """Top-1 instrument accuracy of each named classifier on the same held-out 10 s stems; each maps what `prepare`
    makes of (B, S) waves (the waves themselves, or for latent classifiers the codec's encoding, made once) to
    logits."""
    correct = dict.fromkeys(classifiers, 0)
    for first in range(0, stems, batch):
        examples = [stem_example(corpus_seed, split, i) for i in range(first, min(stems, first + batch))]
        inputs = prepare(torch.from_numpy(np.stack([e.audio for e in examples])))
        labels = torch.tensor([e.instrument for e in examples])
        for name, classify in classifiers.items():
            correct[name] += int((classify(inputs).argmax(-1) == labels).sum())
    return {name: count / stems for name, count in correct.items()}
