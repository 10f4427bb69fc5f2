"""Train the contrastive conditioner: audio crops and instrument prompts meet in one unit-vector space (CLAP-style)."""
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from timbre.corpus.dataset import SAMPLE_RATE, stem_example
from timbre.corpus.instruments import INSTRUMENT_NAMES
from timbre.corpus.prompts import HELD_OUT_TEMPLATES, TRAIN_TEMPLATES, prompt
from timbre.models.conditioner import ContrastiveConditioner, ContrastiveConditionerConfig
from timbre.training.loop import Progress, fit, seeded
from timbre.training.pool import Pool, random_crops


@dataclass(frozen=True)
class ConditionerTrainingConfig:
    """Settings of one conditioner training run."""

    steps: int = 600  # optimiser steps
    batch: int = 64  # audio crops (and as many prompts) per step
    crop_seconds: float = 2.0  # crop length
    lr: float = 1e-3  # Adam learning rate, cosine-decayed to 5% of it
    seed: int = 0  # initialisation and sampling


def supervised_contrastive_loss(audio: torch.Tensor, text: torch.Tensor, labels: torch.Tensor,
                                logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE (Radford et al. 2021, CLIP) with every same-instrument pair counted as a positive
    (Khosla et al. 2020): with ten instruments a batch holds many, and CLIP's one-positive targets would push
    apart pairs that match."""
    logits = logit_scale.exp().clamp(max=100) * audio @ text.T
    positives = (labels[:, None] == labels[None, :]).float()
    targets = positives / positives.sum(-1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))


def train_conditioner(model_config: ContrastiveConditionerConfig, config: ConditionerTrainingConfig, pool: Pool,
                      progress: Progress | None = None) -> tuple[ContrastiveConditioner, dict]:
    """Train from scratch, deterministically for a given seed."""
    model = seeded(lambda: ContrastiveConditioner(model_config), config.seed)
    g = torch.Generator().manual_seed(config.seed)
    samples = int(config.crop_seconds * model_config.sample_rate)

    def batch_loss(_: int) -> torch.Tensor:
        crops = random_crops(pool, config.batch, samples, g)
        labels = pool.instruments[crops.rows]
        templates = torch.randint(0, len(TRAIN_TEMPLATES), (config.batch,), generator=g).tolist()
        texts = [prompt(INSTRUMENT_NAMES[int(i)], TRAIN_TEMPLATES[t]) for i, t in zip(labels, templates)]
        return supervised_contrastive_loss(model.embed_audio(crops.audio), model.embed_text(texts), labels,
                                           model.logit_scale)

    return model, fit(model, config.steps, config.lr, batch_loss, progress)


@torch.no_grad()
def evaluate_conditioner(model: ContrastiveConditioner, corpus_seed: int, stems: int = 100,
                         split: str = "test") -> dict:
    """Zero-shot retrieval on held-out stems with held-out prompt templates: the share of stems whose nearest
    prompt names their instrument (text -> audio agreement, as CLAP is evaluated)."""
    examples = [stem_example(corpus_seed, split, i) for i in range(stems)]
    audio = model.embed_audio(torch.from_numpy(np.stack([e.audio for e in examples])))
    labels = torch.tensor([e.instrument for e in examples])
    result = {"stems": stems, "sample_rate": SAMPLE_RATE}
    for template in HELD_OUT_TEMPLATES:
        text = model.embed_text([prompt(n, template) for n in INSTRUMENT_NAMES])
        result[f"retrieval_accuracy[{template}]"] = float(((audio @ text.T).argmax(-1) == labels).float().mean())
    return result
