"""Diff-TONE and its baselines: swap the prompt's instrument at a chosen step of a same-seed regeneration."""
import math
from dataclasses import dataclass

import torch
from torch import Tensor

from timbre.conditions import Cond, expand_cond, select_cond
from timbre.denoisers import sigma_batch
from timbre.edits.base import (EditBatch, EditModel, EditResult, SamplerConfig, check_fraction, generate,
                               invert_source, network, source_cond, target_cond)
from timbre.edits.channel_split import ChannelSplit, timbre_mask
from timbre.edits.mi_inpaint import reading_structure
from timbre.errors import ConfigError
from timbre.inversion import Trajectory

@dataclass(frozen=True)
class RegenerationParams:
    """What Diff-TONE and its baselines share: how much of a recording they regenerate."""

    k: float = 1.0  # the share of the latent channels (by the bundle's MI ranking, in MI-inpaint's channel space)
    # made anew; the others follow the source's inversion path at every step, as MI-inpaint's clamp 1 holds them, so
    # the melody stays the source's. 1 regenerates every channel, as the paper does

    def __post_init__(self):
        check_fraction("k", self.k)


ESTIMATES = ("guided", "unconditional")  # what Diff-TONE's classifier may read at each step


@dataclass(frozen=True)
class DiffToneParams(RegenerationParams):
    """Diff-TONE's settings: k, where to swap when the classifier never changes its mind, and what it reads."""

    fallback: float = 0.5  # swap at this fraction of the steps then; recorded per item as swap_found = False
    estimate: str = "guided"  # what the classifier reads each step: the sampler's guided x0_hat (the paper's), or
    # "unconditional": the denoiser's estimate from the same state with the condition dropped, which holds only the
    # instrument the state itself already carries (docs/models.md, "Diff-TONE's estimate")

    def __post_init__(self):
        super().__post_init__()
        check_fraction("fallback", self.fallback)
        if self.estimate not in ESTIMATES:
            raise ConfigError(f"diff-tone estimate must be one of {', '.join(ESTIMATES)}, got {self.estimate!r}")


@dataclass(frozen=True)
class DiffRandomParams(RegenerationParams):
    """Diff-Random swaps at a step drawn uniformly from the item's generator."""


@dataclass(frozen=True)
class DiffMidpointParams(RegenerationParams):
    """Diff-Midpoint swaps at step steps // 2."""


def step_at(fraction: float, steps: int) -> int:
    """The swap step a fraction of the way through the steps, rounded down (0.5 gives the midpoint's steps // 2)."""
    return int(math.floor(fraction * steps + 1e-9))


def last_change_step(predictions: Tensor) -> tuple[Tensor, Tensor]:
    """Per item, the last step whose prediction differs from the previous step's (Diff-TONE sec. IV).

    predictions: (steps, B) class indices. Returns (step, found); step is 0 where nothing changed."""
    changed = predictions[1:] != predictions[:-1]  # (steps - 1, B): change observed at step j + 1
    steps = torch.arange(1, predictions.shape[0], device=predictions.device).unsqueeze(1)
    last = torch.where(changed, steps, torch.zeros_like(steps)).amax(0) if changed.numel() else \
        torch.zeros(predictions.shape[1], dtype=torch.long, device=predictions.device)
    return last, last > 0


@dataclass(frozen=True, eq=False)
class HeldStructure:
    """The channels a recording's regeneration holds: to the source's inversion path before each step, and to the
    source's clean values in each estimate the classifier reads and in the result (MI-guided inpainting 4.3.2's
    clamp, at every step)."""

    split: ChannelSplit
    trajectory: Trajectory  # the source's inversion path; its last state is the clean source

    def before_step(self, x: Tensor, i: int) -> Tensor:
        return self.split.with_structure(x, self.trajectory.at(i))

    def clean(self, x: Tensor) -> Tensor:
        return self.split.with_structure(x, self.trajectory.at(len(self.trajectory.sigmas) - 1))


@dataclass(frozen=True, eq=False)
class HeldAfterSwap(HeldStructure):
    """The channels a generation's edit holds: each item is the source generation's own state until its swap step,
    and from it on keeps that path's structure channels, as HeldStructure holds a recording's to its inversion."""

    swap_steps: Tensor  # (B,) each item's swap step

    def before_step(self, x: Tensor, i: int) -> Tensor:
        before_swap = (self.swap_steps.to(x.device) > i).reshape(-1, *([1] * (x.ndim - 1)))
        return torch.where(before_swap, self.trajectory.at(i), super().before_step(x, i))


@dataclass(frozen=True, eq=False)
class SourceRun:
    """A source-only regeneration and where Diff-TONE's classifier, read along it, last changed its mind."""

    states: Tensor  # (steps, B, ...): the state before each step
    output: Tensor  # (B, ...) the clean result
    swap: Tensor  # (B,) the swap step: the last change, or the fallback's step where none was found
    found: Tensor  # (B,) a last change was found
    predictions: Tensor  # (steps, B) the classifier's class at each step

    def path(self, sigmas: Tensor) -> Trajectory:
        """The run as a trajectory over the sampler's grid (index `steps` is the clean result)."""
        return Trajectory(sigmas, 0, torch.cat([self.states, self.output.unsqueeze(0)]))


def generate_with_swap(model: EditModel, sampler: SamplerConfig, x_start: Tensor, source: Cond, target: Cond,
                       swap_steps: Tensor, states: Tensor | None = None, held: HeldStructure | None = None) -> Tensor:
    """Sample from x_start under the source condition, switching each item to the target from its swap step.

    `states` (steps, B, ...) holds an earlier source-only run's states; the run then resumes at the first swap."""
    sigmas = sampler.sigmas()
    swap_steps = swap_steps.cpu()
    start = int(swap_steps.min()) if states is not None else 0
    x = states[start] if states is not None else x_start
    out = generate(model, sampler, x, sigmas, lambda i: select_cond(swap_steps <= i, source, target), start=start,
                   hook=None if held is None else held.before_step)
    return out if held is None else held.clean(out)


def unconditional_estimate(model: EditModel, sampler: SamplerConfig, step: dict) -> Tensor:
    """The denoiser's x0_hat from a sampling step's state with the condition dropped, at the sampler's precision."""
    x = step["x"]
    return network(model, sampler)(x, sigma_batch(x, step["sigma"]), expand_cond(model.null_cond, x.shape[0]))


def classify_source_run(model: EditModel, x_start: Tensor, source: Cond, params: DiffToneParams,
                        sampler: SamplerConfig, held: HeldStructure | None = None) -> SourceRun:
    """Regenerate under the source condition alone, classifying x0_hat each step; the swap is at the last change of
    the classifier's mind (Diff-TONE sec. IV), or at the fallback's step where it never changes."""
    if model.latent_classifier is None:
        raise ConfigError("diff-tone needs a latent instrument classifier: the model bundle has none")
    predictions, states = [], []

    def observe(step):
        states.append(step["x"])
        estimate = step["denoised"] if params.estimate == "guided" else unconditional_estimate(model, sampler, step)
        estimate = estimate if held is None else held.clean(estimate)
        predictions.append(model.latent_classifier(estimate).argmax(-1).cpu())

    output = generate(model, sampler, x_start, sampler.sigmas(), source, callback=observe,
                      hook=None if held is None else held.before_step)
    predictions = torch.stack(predictions)
    swap, found = last_change_step(predictions)
    swap = torch.where(found, swap, torch.full_like(swap, step_at(params.fallback, sampler.steps)))
    return SourceRun(torch.stack(states), output if held is None else held.clean(output), swap, found, predictions)


def diff_tone_from(model: EditModel, x_start: Tensor, source: Cond, target: Cond, params: DiffToneParams,
                   sampler: SamplerConfig, held: HeldStructure | None = None) -> tuple[EditResult, Tensor]:
    """Diff-TONE from a start state at sigma_max: classify x0_hat each step, swap at the last change.

    Returns the edit and the source-only regeneration it classified along the way."""
    run = classify_source_run(model, x_start, source, params, sampler, held)
    out = generate_with_swap(model, sampler, x_start, source, target, run.swap, run.states, held)
    info = {"swap_step": run.swap.tolist(), "swap_found": run.found.tolist(), "predictions": run.predictions.T.tolist()}
    return EditResult(out, info), run.output


def held_split(model: EditModel, k: float) -> ChannelSplit:
    """The split whose structure part (the channels outside the ranking's top k) a regeneration holds."""
    if model.channel_ranking is None:
        raise ConfigError(f"k = {k} holds the channels outside the top k of a channel ranking: the model bundle has "
                          "none (run `timbre analyse mi`)")
    return ChannelSplit(timbre_mask(model.channel_ranking, k), model.channel_basis)


def random_swap_steps(batch: EditBatch, steps: int) -> Tensor:
    """One uniform step in [0, steps) per item, from the item's own generator."""
    return torch.cat([torch.randint(0, steps, (1,), generator=g) for g in batch.generators])


def regeneration(model: EditModel, batch: EditBatch, sampler: SamplerConfig,
                 k: float) -> tuple[EditModel, Tensor, HeldStructure | None]:
    """Where a recording's regeneration starts: the source DDIM-inverted to sigma_max under the source condition.
    With k < 1 the channels outside the ranking's top k are held (HeldStructure), and an inpainting DiT reads their
    clean values, as MI-inpaint's clamped steps do. Returns (the model view, the start, what is held)."""
    trajectory = invert_source(model, batch, sampler, sampler.sigmas(), to=0)
    if k == 1:
        return model, trajectory.top, None
    split = held_split(model, k)
    return reading_structure(model, split, batch.latents), trajectory.top, HeldStructure(split, trajectory)


def _invert_then_swap(model, batch, sampler, swap_steps: Tensor, k: float) -> EditResult:
    view, x_start, held = regeneration(model, batch, sampler, k)
    out = generate_with_swap(view, sampler, x_start, source_cond(model, batch), target_cond(batch), swap_steps,
                             held=held)
    return EditResult(out, {"swap_step": swap_steps.tolist()})


def diff_tone(model: EditModel, batch: EditBatch, params: DiffToneParams, sampler: SamplerConfig) -> EditResult:
    """Diff-TONE on a real recording: DDIM-invert under the source condition, then regenerate with the swap."""
    view, x_start, held = regeneration(model, batch, sampler, params.k)
    return diff_tone_from(view, x_start, source_cond(model, batch), target_cond(batch), params, sampler, held)[0]


def diff_random(model: EditModel, batch: EditBatch, params: DiffRandomParams, sampler: SamplerConfig) -> EditResult:
    """Diff-Random baseline (Diff-TONE sec. V-D) on a real recording."""
    return _invert_then_swap(model, batch, sampler, random_swap_steps(batch, sampler.steps), params.k)


def diff_midpoint(model: EditModel, batch: EditBatch, params: DiffMidpointParams,
                  sampler: SamplerConfig) -> EditResult:
    """Diff-Midpoint baseline (Diff-TONE sec. V-D) on a real recording."""
    return _invert_then_swap(model, batch, sampler, torch.full((batch.size,), step_at(0.5, sampler.steps)), params.k)
