"""Diff-TONE on the bundle's own generations (the paper's setting): swap step found, instrument changed, chroma kept,
against the midpoint and random-step baselines on the same items and noise."""
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from timbre.corpus.prompts import canonical_prompt
from timbre.edits.base import EditBatch, SamplerConfig
from timbre.edits.diff_tone import DiffToneParams, diff_tone_from, generate_with_swap, random_swap_steps, step_at
from timbre.metrics.bootstrap import mean_with_ci
from timbre.metrics.chroma import chroma_similarity
from timbre.models.bundle import ModelBundle
from timbre.randomness import item_generators, randn_items


@dataclass(frozen=True, eq=False)
class DiffToneGenerations:
    """The bundle's source generations and their edits by Diff-TONE and its baselines, as audio."""

    source_audio: Tensor  # (N, S)
    outputs: dict  # method -> (N, S) edited audio
    sources: Tensor  # (N,) instrument generated
    targets: Tensor  # (N,) instrument asked for
    swap_found: np.ndarray  # (N,) Diff-TONE found a step where the classifier settles
    swap_step: np.ndarray  # (N,)


@torch.no_grad()
def diff_tone_generations(bundle: ModelBundle, count: int, frames: int, sampler: SamplerConfig,
                          seed: int = 0) -> DiffToneGenerations:
    """Item i generates instrument i mod K from its prompt and is edited to instrument (i + 1 + i // K) mod K by
    Diff-TONE (Diff-TONE §3) and by a swap at the midpoint and at a random step, from the same noise."""
    if bundle.latent_classifier is None:
        raise ValueError(f"bundle {bundle.name} needs a latent classifier for Diff-TONE")
    k = len(bundle.instruments)
    sources = torch.arange(count) % k
    targets = (sources + 1 + (torch.arange(count) // k) % (k - 1)) % k
    prompts = lambda idx: bundle.conditioner.embed_text([canonical_prompt(bundle.instruments[int(i)]) for i in idx])
    source_cond, target_cond = prompts(sources), prompts(targets)
    ids = [f"generation{i}" for i in range(count)]
    generators = item_generators(seed, ids)
    sigmas = sampler.sigmas()
    x_start = randn_items(generators, (bundle.codec.channels, frames)) * sigmas[0]
    model = bundle.edit_model()
    edit, source_latents = diff_tone_from(model, x_start, source_cond, target_cond, DiffToneParams(), sampler)
    batch = EditBatch(source_latents, target_cond, source_cond, item_generators(seed + 1, ids), tuple(ids))
    baselines = {"diff-midpoint": torch.full((count,), step_at(0.5, sampler.steps)),
                 "diff-random": random_swap_steps(batch, sampler.steps)}
    latents = {"diff-tone": edit.latents, **{name: generate_with_swap(model, sampler, x_start, source_cond,
                                                                        target_cond, steps)
                                             for name, steps in baselines.items()}}
    return DiffToneGenerations(bundle.codec.decode(source_latents),
                               {name: bundle.codec.decode(x) for name, x in latents.items()}, sources, targets,
                               np.asarray(edit.info["swap_found"]), np.asarray(edit.info["swap_step"]))


@torch.no_grad()
def diff_tone_on_generations(bundle: ModelBundle, count: int, frames: int, sampler: SamplerConfig,
                             seed: int = 0) -> dict:
    """Swap found, target accuracy, share still heard as the source instrument and chroma similarity to the source
    generation, per method; and Diff-TONE against the midpoint item by item."""
    if bundle.audio_classifier is None:
        raise ValueError(f"bundle {bundle.name} needs an audio classifier for this check")
    g = diff_tone_generations(bundle, count, frames, sampler, seed)
    rate = bundle.sample_rate
    result = {"items": count, "seconds_each": frames * bundle.codec.hop_length / rate,
              "source_generation_accuracy": float((bundle.audio_classifier(g.source_audio).argmax(-1) == g.sources)
                                                  .float().mean()),
              "swap_found": float(np.mean(g.swap_found)), "swap_step_mean": float(np.mean(g.swap_step)),
              "steps": sampler.steps, "methods": {}}
    hit, similarity = {}, {}
    for name, audio in g.outputs.items():
        predicted = bundle.audio_classifier(audio).argmax(-1)
        hit[name] = (predicted == g.targets).numpy()
        similarity[name] = chroma_similarity(g.source_audio, audio, rate).numpy()
        result["methods"][name] = {"target_accuracy": float(hit[name].mean()),
                                   "source_kept": float((predicted == g.sources).float().mean()),
                                   "chroma_similarity": float(np.nanmean(similarity[name]))}
    result["diff_tone_against_midpoint"] = paired_against_midpoint(hit, similarity, g, sampler.steps)
    return result


def paired_against_midpoint(hit: dict, similarity: dict, g: DiffToneGenerations, steps: int) -> dict:
    """Diff-TONE minus the midpoint swap item by item (same noise, same prompts), with a bootstrap 95% interval,
    on every item and on those where a swap step was found (elsewhere, at the default fallback, both swap at the
    midpoint's step)."""
    found = g.swap_found.astype(bool)

    def paired(values: np.ndarray, where: np.ndarray) -> dict:
        mean, low, high, n = mean_with_ci(values[where])
        return {"mean": mean, "ci95": [low, high], "items": n}

    chroma = similarity["diff-tone"] - similarity["diff-midpoint"]
    accuracy = hit["diff-tone"].astype(float) - hit["diff-midpoint"].astype(float)
    everywhere = np.ones_like(found)
    return {"chroma_similarity": paired(chroma, everywhere), "chroma_similarity_where_found": paired(chroma, found),
            "target_accuracy": paired(accuracy, everywhere), "target_accuracy_where_found": paired(accuracy, found),
            "swap_after_midpoint": float(np.mean(g.swap_step[found] > step_at(0.5, steps))) if found.any() else float("nan")}
