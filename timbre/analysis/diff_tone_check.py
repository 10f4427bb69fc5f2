"""Diff-TONE on the bundle's own generations (the paper's setting): swap step found, instrument changed, chroma kept,
against the midpoint and random-step baselines on the same items and noise, and optionally against swaps at fixed
steps (the trade-off curve a fixed step traces) and at Diff-TONE's own steps given to other items (what its per-item
choice adds over its distribution of steps)."""
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from timbre.corpus.prompts import canonical_prompt
from timbre.edits.base import EditBatch, SamplerConfig
from timbre.edits.diff_tone import (DiffToneParams, HeldAfterSwap, classify_source_run, generate_with_swap, held_split,
                                    random_swap_steps, step_at)
from timbre.edits.mi_inpaint import reading_structure
from timbre.errors import ConfigError
from timbre.metrics.bootstrap import mean_with_ci
from timbre.metrics.chroma import chroma_similarity
from timbre.models.bundle import ModelBundle
from timbre.randomness import item_generator, item_generators, randn_items


@dataclass(frozen=True, eq=False)
class DiffToneGenerations:
    """The bundle's source generations and their edits by Diff-TONE and its baselines, as audio."""

    source_audio: Tensor  # (N, S)
    outputs: dict  # method -> (N, S) edited audio
    sources: Tensor  # (N,) instrument generated
    targets: Tensor  # (N,) instrument asked for
    swap_found: np.ndarray  # (N,) Diff-TONE found a step where the classifier settles
    swap_step: np.ndarray  # (N,)
    source_latents: Tensor | None = None  # (N, C, T) the source generations' latents
    latents: dict | None = None  # method -> (N, C, T) its edits' latents


def shuffled_steps(steps: Tensor, seed: int) -> Tensor:
    """The swap steps permuted across items by a seeded permutation: the same steps, each given to another item."""
    return steps[torch.randperm(len(steps), generator=item_generator(seed, "shuffled-swap-steps"))]


@torch.no_grad()
def diff_tone_generations(bundle: ModelBundle, count: int, frames: int, sampler: SamplerConfig, seed: int = 0,
                          fixed_steps: tuple[int, ...] = (), shuffled: bool = False, estimate: str = "guided",
                          k: float = 1.0) -> DiffToneGenerations:
    """Item i generates instrument i mod K from its prompt and is edited to instrument (i + 1 + i // K) mod K by
    Diff-TONE (Diff-TONE §3) and by a swap at the midpoint and at a random step, from the same noise; with
    `fixed_steps`, also by a swap at each of them ("diff-step-S"), and with `shuffled`, at Diff-TONE's steps
    permuted across items ("diff-shuffled"). `estimate` is what Diff-TONE's classifier reads (DiffToneParams). With
    k < 1 every edit keeps the source generation's structure channels (the bundle's ranking outside its top k) from
    its swap step on, as `k` holds a recording's to its inversion path; 1 regenerates them all, as the paper does."""
    if any(not 0 <= s < sampler.steps for s in fixed_steps):
        raise ConfigError(f"fixed swap steps must lie in [0, {sampler.steps}) (the sampling steps), got "
                          f"{list(fixed_steps)}")
    if bundle.latent_classifier is None:
        raise ValueError(f"bundle {bundle.name} needs a latent classifier for Diff-TONE")
    params = DiffToneParams(k=k, estimate=estimate)
    n = len(bundle.instruments)
    sources = torch.arange(count) % n
    targets = (sources + 1 + (torch.arange(count) // n) % (n - 1)) % n
    prompts = lambda idx: bundle.conditioner.embed_text([canonical_prompt(bundle.instruments[int(i)]) for i in idx])
    source_cond, target_cond = prompts(sources), prompts(targets)
    ids = [f"generation{i}" for i in range(count)]
    generators = item_generators(seed, ids)
    sigmas = sampler.sigmas()
    x_start = randn_items(generators, (bundle.codec.channels, frames)) * sigmas[0]
    model = bundle.edit_model()
    run = classify_source_run(model, x_start, source_cond, params, sampler)
    batch = EditBatch(run.output, target_cond, source_cond, item_generators(seed + 1, ids), tuple(ids))
    swaps = {"diff-tone": run.swap, "diff-midpoint": torch.full((count,), step_at(0.5, sampler.steps)),
             "diff-random": random_swap_steps(batch, sampler.steps),
             **{f"diff-step-{s}": torch.full((count,), s) for s in fixed_steps}}
    if shuffled:
        swaps["diff-shuffled"] = shuffled_steps(run.swap, seed)
    split = None if k == 1 else held_split(model, k)
    view = model if split is None else reading_structure(model, split, run.output)
    path = None if split is None else run.path(sigmas)

    def edit(steps: Tensor) -> Tensor:
        held = None if split is None else HeldAfterSwap(split, path, steps)
        return generate_with_swap(view, sampler, x_start, source_cond, target_cond, steps, run.states, held)

    latents = {name: edit(steps) for name, steps in swaps.items()}
    return DiffToneGenerations(bundle.codec.decode(run.output),
                               {name: bundle.codec.decode(x) for name, x in latents.items()}, sources, targets,
                               run.found.numpy(), run.swap.numpy(), run.output, latents)


@torch.no_grad()
def diff_tone_on_generations(bundle: ModelBundle, count: int, frames: int, sampler: SamplerConfig,
                             seed: int = 0, fixed_steps: tuple[int, ...] = (), shuffled: bool = False,
                             estimate: str = "guided", k: float = 1.0) -> dict:
    """Swap found, target accuracy, share still heard as the source instrument and chroma similarity to the source
    generation, per method; and Diff-TONE against the midpoint (and each other baseline) item by item."""
    if bundle.audio_classifier is None:
        raise ValueError(f"bundle {bundle.name} needs an audio classifier for this check")
    g = diff_tone_generations(bundle, count, frames, sampler, seed, fixed_steps, shuffled, estimate, k)
    rate = bundle.sample_rate
    result = {"items": count, "estimate": estimate, "k": k, "seconds_each": frames * bundle.codec.hop_length / rate,
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
    result["diff_tone_against"] = {name: paired_difference(hit, similarity, name, np.ones(count, dtype=bool))
                                   for name in g.outputs if name != "diff-tone"}
    return result


def _paired(values: np.ndarray, where: np.ndarray) -> dict:
    mean, low, high, n = mean_with_ci(values[where])
    return {"mean": mean, "ci95": [low, high], "items": n}


def paired_difference(hit: dict, similarity: dict, baseline: str, where: np.ndarray) -> dict:
    """Diff-TONE minus `baseline` item by item on the items `where` selects: chroma similarity (items without a
    chroma left out) and target accuracy, each with a bootstrap 95% interval."""
    chroma = similarity["diff-tone"] - similarity[baseline]
    accuracy = hit["diff-tone"].astype(float) - hit[baseline].astype(float)
    return {"chroma_similarity": _paired(chroma, where), "target_accuracy": _paired(accuracy, where)}


def paired_against_midpoint(hit: dict, similarity: dict, g: DiffToneGenerations, steps: int) -> dict:
    """Diff-TONE minus the midpoint swap item by item (same noise, same prompts), with a bootstrap 95% interval,
    on every item and on those where a swap step was found (elsewhere, at the default fallback, both swap at the
    midpoint's step)."""
    found = g.swap_found.astype(bool)
    everywhere = paired_difference(hit, similarity, "diff-midpoint", np.ones_like(found))
    where_found = paired_difference(hit, similarity, "diff-midpoint", found)
    return {"chroma_similarity": everywhere["chroma_similarity"],
            "chroma_similarity_where_found": where_found["chroma_similarity"],
            "target_accuracy": everywhere["target_accuracy"],
            "target_accuracy_where_found": where_found["target_accuracy"],
            "swap_after_midpoint": float(np.mean(g.swap_step[found] > step_at(0.5, steps))) if found.any() else float("nan")}
