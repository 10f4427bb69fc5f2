"""Edit quality on held-out melodies: target-instrument accuracy by the audio classifier and pitch kept (PESTO)."""
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from timbre.corpus.dataset import SAMPLE_RATE, stem_example
from timbre.corpus.prompts import canonical_prompt
from timbre.edits import EditBatch, EditSpec
from timbre.metrics.pitch import pitch_agreement, pitch_contour
from timbre.models.bundle import ModelBundle
from timbre.randomness import item_generators


@dataclass(frozen=True, eq=False)
class EditItems:
    """Held-out monophonic melodies, each with a target instrument other than its own."""

    waves: Tensor  # (N, S) mono at the corpus rate
    sources: Tensor  # (N,) instrument played
    targets: Tensor  # (N,) instrument asked for

    def __post_init__(self):
        if self.waves.ndim != 2 or self.sources.shape != (self.waves.shape[0],) != self.targets.shape:
            raise ValueError("waves must be (N, S) with N sources and N targets")


def held_out_items(corpus_seed: int, count: int, seconds: float, classes: int, split: str = "test") -> EditItems:
    """The first `count` monophonic stems of the split, cut to `seconds`; item i asks for instrument
    (source + 1 + i mod (classes - 1)) mod classes, so every source-target pair comes round."""
    waves, sources, targets = [], [], []
    index = 0
    while len(waves) < count:
        stem = stem_example(corpus_seed, split, index)
        index += 1
        if stem.voices != 1:
            continue
        waves.append(stem.audio[: int(seconds * SAMPLE_RATE)])
        sources.append(stem.instrument)
        targets.append((stem.instrument + 1 + len(targets) % (classes - 1)) % classes)
    return EditItems(torch.from_numpy(np.stack(waves)), torch.tensor(sources), torch.tensor(targets))


@torch.no_grad()
def run_edits(bundle: ModelBundle, items: EditItems, spec: EditSpec, space: str | None, seed: int,
              batch: int = 16) -> Tensor:
    """Edited waves (N, S): text targets by canonical prompt, source condition from each item's own audio."""
    out = []
    names = bundle.instruments
    for first in range(0, items.waves.shape[0], batch):
        waves = items.waves[first: first + batch]
        ids = [f"item{first + i}" for i in range(waves.shape[0])]
        target = bundle.conditioner.embed_text([canonical_prompt(names[int(t)]) for t in items.targets[first: first + batch]])
        edit = EditBatch(bundle.codec.encode(waves), target, bundle.conditioner.embed_audio(waves),
                         item_generators(seed, ids), tuple(ids))
        result = spec.run(bundle.edit_model(space), edit)
        out.append(bundle.codec.decode(result.latents)[:, : waves.shape[1]])
    return torch.cat(out)


@torch.no_grad()
def edit_scores(bundle: ModelBundle, items: EditItems, edited: Tensor, source_contour=None) -> dict:
    """Target accuracy, source-instrument retention and pitch agreement with the source audio."""
    if bundle.audio_classifier is None:
        raise ValueError(f"bundle {bundle.name} has no audio classifier to judge edits with")
    predicted = bundle.audio_classifier(edited).argmax(-1)
    source_contour = source_contour or pitch_contour(items.waves, SAMPLE_RATE)
    pitch = pitch_agreement(source_contour, pitch_contour(edited, SAMPLE_RATE))
    return {"target_accuracy": float((predicted == items.targets).float().mean()),
            "source_kept": float((predicted == items.sources).float().mean()),
            **{f"pitch_{k}": v for k, v in pitch.items()}, "items": int(items.waves.shape[0])}
