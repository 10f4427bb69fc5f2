"""Edit quality on held-out melodies: target-instrument accuracy by the audio classifier and pitch kept (PESTO)."""
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from timbre.batch_edit import WindowConfig
from timbre.corpus.dataset import SAMPLE_RATE, stem_example, stem_instrument, stem_voices
from timbre.corpus.prompts import canonical_prompt
from timbre.edits import EditBatch, EditSpec
from timbre.edits.channel_split import ChannelSplit, timbre_mask
from timbre.level import match_level
from timbre.metrics.pitch import Contour, pitch_agreement, pitch_contour
from timbre.models.bundle import ModelBundle
from timbre.randomness import item_generators


@dataclass(frozen=True, eq=False)
class EditItems:
    """Held-out monophonic melodies, each with a target instrument other than its own."""

    waves: Tensor  # (N, S) mono at the corpus rate
    sources: Tensor  # (N,) instrument played
    targets: Tensor  # (N,) instrument asked for
    renditions: Tensor | None = None  # (N, S) the same notes played by the target instrument: what a perfect edit gives
    donors: Tensor | None = None  # (N, S) another melody played by the target instrument: its notes are not the source's

    def __post_init__(self):
        if self.waves.ndim != 2 or self.sources.shape != (self.waves.shape[0],) != self.targets.shape:
            raise ValueError("waves must be (N, S) with N sources and N targets")
        for name in ("renditions", "donors"):
            other = getattr(self, name)
            if other is not None and other.shape != self.waves.shape:
                raise ValueError(f"{name} must match waves {tuple(self.waves.shape)}, got {tuple(other.shape)}")


def held_out_pairs(corpus_seed: int, count: int, classes: int, split: str = "test") -> list[tuple[int, int, int]]:
    """(stem index, source, target) of the first `count` monophonic stems of the split; item i asks for instrument
    (source + 1 + i mod (classes - 1)) mod classes, so every source-target pair comes round. Nothing is rendered."""
    pairs, index = [], 0
    while len(pairs) < count:
        if stem_voices(corpus_seed, split, index) == 1:
            source = stem_instrument(index)
            pairs.append((index, source, (source + 1 + len(pairs) % (classes - 1)) % classes))
        index += 1
    return pairs


def held_out_items(corpus_seed: int, count: int, seconds: float, classes: int, split: str = "test",
                   first: int = 0) -> EditItems:
    """The stems `held_out_pairs` picks, after skipping its `first` (another item set), cut to `seconds`, each with
    its target. Each item comes with its rendition: the same melody, drawn from the same generator, played by the
    target instrument; and a donor: the next stem's melody played by the target instrument."""
    waves, sources, targets, renditions, donors = [], [], [], [], []
    samples = int(seconds * SAMPLE_RATE)
    for index, source, target in held_out_pairs(corpus_seed, first + count, classes, split)[first:]:
        waves.append(stem_example(corpus_seed, split, index).audio[:samples])
        sources.append(source)
        targets.append(target)
        renditions.append(stem_example(corpus_seed, split, index, instrument=target).audio[:samples])
        donors.append(stem_example(corpus_seed, split, index + 1, instrument=target).audio[:samples])
    return EditItems(torch.from_numpy(np.stack(waves)), torch.tensor(sources), torch.tensor(targets),
                     torch.from_numpy(np.stack(renditions)), torch.from_numpy(np.stack(donors)))


@torch.no_grad()
def edit_latents(bundle: ModelBundle, items: EditItems, spec: EditSpec, space: str | None, seed: int,
                 batch: int = 16) -> Tensor:
    """Edited latents (N, C, T): text targets by canonical prompt, source condition from each item's own audio."""
    out = []
    names = bundle.instruments
    for first in range(0, items.waves.shape[0], batch):
        waves = items.waves[first: first + batch]
        ids = [f"item{first + i}" for i in range(waves.shape[0])]
        target = bundle.conditioner.embed_text([canonical_prompt(names[int(t)]) for t in items.targets[first: first + batch]])
        edit = EditBatch(bundle.codec.encode(waves), target, bundle.conditioner.embed_audio(waves),
                         item_generators(seed, ids), tuple(ids))
        out.append(spec.run(bundle.edit_model(space), edit).latents)
    return torch.cat(out)


@torch.no_grad()
def run_edits(bundle: ModelBundle, items: EditItems, spec: EditSpec, space: str | None, seed: int,
              batch: int = 16, level_seconds: float = WindowConfig.level_seconds) -> Tensor:
    """Edited waves (N, S) as the product writes them: `edit_latents` decoded batch by batch, cut to the items'
    length, and each one's level course made its source's over `level_seconds` as edit_clips makes it (0: the waves
    as the model decodes them)."""
    latents = edit_latents(bundle, items, spec, space, seed, batch)
    edited = torch.cat([bundle.codec.decode(chunk)[:, : items.waves.shape[1]] for chunk in latents.split(batch)])
    return level_matched(edited, items.waves, bundle.sample_rate, level_seconds)


def level_matched(edited: Tensor, sources: Tensor, sample_rate: int, level_seconds: float,
                  max_boost_db: float = WindowConfig.max_level_boost_db) -> Tensor:
    """Edits (N, S) with each one's level course made its source's (N, S) over `level_seconds`, as edit_clips makes
    it (items as channels, each its own); unchanged when level_seconds is 0."""
    if level_seconds == 0:
        return edited
    matched, _ = match_level(edited.numpy(), sources.numpy().astype(edited.numpy().dtype), sample_rate,
                             level_seconds, max_boost_db)
    return torch.from_numpy(matched)


@torch.no_grad()
def codec_round_trip(bundle: ModelBundle, waves: Tensor, batch: int = 16) -> Tensor:
    """Waves (N, S) encoded and decoded by the bundle's codec, cut to their length: the renditions through it are
    the ceiling of any edit that decodes through this codec."""
    codec = bundle.codec
    return torch.cat([codec.decode(codec.encode(chunk))[:, : waves.shape[1]] for chunk in waves.split(batch)])


@torch.no_grad()
def oracle_swap(bundle: ModelBundle, items: EditItems, space: str, k: float, batch: int = 16,
                donor: str = "rendition") -> Tensor:
    """The edit MI-inpaint aims at, with no sampling: each source latent's structure part kept and its timbre part
    (top-k of the space's ranking) taken from a donor's latent, then decoded. With the rendition as donor (the same
    notes on the target instrument) it shows how much of the instrument the timbre part carries; with another
    melody as donor ("other-melody") it also shows whether the structure part alone carries the pitch."""
    fields = {"rendition": "renditions", "other-melody": "donors"}
    if donor not in fields:
        raise ValueError(f"oracle_swap: unknown donor {donor!r}; one of {', '.join(fields)}")
    donors = getattr(items, fields[donor])
    if donors is None:
        raise ValueError(f"oracle_swap with donor {donor!r} needs items with {fields[donor]}")
    model = bundle.edit_model(space)
    split = ChannelSplit(timbre_mask(model.channel_ranking, k), model.channel_basis)
    out = []
    for first in range(0, items.waves.shape[0], batch):
        waves = items.waves[first: first + batch]
        swapped = split.with_structure(bundle.codec.encode(donors[first: first + batch]),
                                       bundle.codec.encode(waves))
        out.append(bundle.codec.decode(swapped)[:, : waves.shape[1]])
    return torch.cat(out)


@torch.no_grad()
def source_and_rendition_contours(items: EditItems) -> tuple[Contour, Contour | None]:
    """The pitch contours of the items' sources and of their renditions, both at the source's listening level."""
    return (pitch_contour(items.waves, SAMPLE_RATE),
            None if items.renditions is None else pitch_contour(items.renditions, SAMPLE_RATE, reference=items.waves))


@torch.no_grad()
def edit_scores(bundle: ModelBundle, items: EditItems, edited: Tensor, source_contour=None,
                rendition_contour=None) -> dict:
    """Target accuracy, source-instrument retention and pitch agreement with the source audio (and, given the
    renditions' contour, voicing kept where the target instrument itself stays voiced)."""
    if bundle.audio_classifier is None:
        raise ValueError(f"bundle {bundle.name} has no audio classifier to judge edits with")
    predicted = bundle.audio_classifier(edited).argmax(-1)
    source_contour = source_contour or pitch_contour(items.waves, SAMPLE_RATE)
    edited_contour = pitch_contour(edited, SAMPLE_RATE, reference=items.waves)
    pitch = pitch_agreement(source_contour, edited_contour, rendition_contour)
    return {"target_accuracy": float((predicted == items.targets).float().mean()),
            "target_accuracy_by_instrument": accuracy_by_target(bundle.instruments, items.targets, predicted),
            "source_kept": float((predicted == items.sources).float().mean()),
            **{f"pitch_{k}": v for k, v in pitch.items()},
            "pitch_voiced_kept_by_instrument": voiced_kept_by_target(bundle.instruments, items.targets,
                                                                    source_contour.voiced, edited_contour.voiced),
            "items": int(items.waves.shape[0])}


def voiced_kept_by_target(names, targets: Tensor, source_voiced: Tensor, edited_voiced: Tensor) -> dict[str, float]:
    """Share of the source's voiced frames (B, frames) still voiced in the edit, over the items asking for each
    instrument (instruments never asked for, or whose sources are never voiced, left out)."""
    kept, voiced = (source_voiced & edited_voiced).sum(-1), source_voiced.sum(-1)
    return {name: float(kept[targets == i].sum() / voiced[targets == i].sum())
            for i, name in enumerate(names) if bool(voiced[targets == i].sum() > 0)}


def accuracy_by_target(names, targets: Tensor, predicted: Tensor) -> dict[str, float]:
    """Share of the items asking for each instrument that the judge hears as it (instruments never asked for left out)."""
    return {name: float((predicted[targets == i] == i).float().mean())
            for i, name in enumerate(names) if bool((targets == i).any())}
