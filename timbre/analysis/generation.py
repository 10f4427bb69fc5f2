"""Conditional generation check: generate each instrument from its prompt and ask the audio classifier."""
import numpy as np
import torch
from torch import Tensor, nn

from timbre.corpus.prompts import canonical_prompt
from timbre.edits.base import SamplerConfig, generate
from timbre.edits.refill import refill
from timbre.errors import ModelError
from timbre.known_channels import reads_known_channels
from timbre.models.bundle import ModelBundle
from timbre.models.protocols import structure_channels
from timbre.samplers import Callback
from timbre.randomness import randn_items, item_generators


def structure_mask(bundle: ModelBundle) -> Tensor | None:
    """(C,) bool of the codec's structure channels when it declares them and the denoiser reads known channels:
    then generation can refill the timbre around a generated structure. None otherwise."""
    count = structure_channels(bundle.codec)
    if not count or not reads_known_channels(bundle.denoiser):
        return None
    return torch.arange(bundle.codec.channels) < count


def judged_counts(judged: Tensor, instruments: tuple[str, ...] | list[str]) -> dict[str, int]:
    """(N,) judged instrument indices -> how many clips each instrument was heard as (instruments never heard left
    out): a row of the confusion matrix."""
    counts = torch.bincount(judged, minlength=len(instruments)).tolist()
    return {name: n for name, n in zip(instruments, counts) if n}


@torch.no_grad()
def generate_instrument(bundle: ModelBundle, instrument: str, count: int, frames: int, sampler: SamplerConfig,
                        seed: int, structure_first: bool = False, callback: Callback | None = None) -> Tensor:
    """(count, C, frames) latents generated from the instrument's canonical prompt on the bundle's device; item i's
    noise from (seed, i), drawn on the CPU, so every device starts from the same noise.
    With `structure_first` (a bundle with structure channels and an inpainting denoiser), the timbre channels are
    then sampled again with the generated structure read clean. `callback` sees each step of the first sampling."""
    cond = bundle.conditioner.embed_text([canonical_prompt(instrument)]).expand(count, -1)
    generators = item_generators(seed, [f"{instrument}#{i}" for i in range(count)])
    sigmas = sampler.sigmas()
    x = randn_items(generators, (bundle.codec.channels, frames), device=bundle.device) * sigmas[0]
    latents = generate(bundle.edit_model(), sampler, x, sigmas, cond, callback=callback)
    if not structure_first:
        return latents
    keep = structure_mask(bundle)
    if keep is None:
        raise ModelError(f"bundle {bundle.name} cannot generate structure first: its codec declares no structure "
                         "channels or its denoiser does not read known channels")
    return refill(bundle.edit_model(), sampler, latents, keep, cond, generators)


@torch.no_grad()
def generation_accuracy(bundle: ModelBundle, audio_classifier: nn.Module, per_instrument: int, frames: int,
                        sampler: SamplerConfig, seed: int = 0, structure_first: bool = False,
                        only: tuple[str, ...] | None = None) -> dict:
    """Share of generations the audio classifier assigns to the conditioned instrument, overall and per instrument,
    and what each instrument's generations are heard as (counts per judged instrument, the confusion matrix's row).
    `only` names the instruments to generate (default: every one)."""
    per, heard_as = {}, {}
    for name in bundle.instruments:
        if only is not None and name not in only:
            continue
        latents = generate_instrument(bundle, name, per_instrument, frames, sampler, seed, structure_first)
        judged = audio_classifier(bundle.codec.decode(latents)).argmax(-1)
        heard_as[name] = judged_counts(judged, bundle.instruments)
        per[name] = heard_as[name].get(name, 0) / per_instrument
    return {"accuracy": float(np.mean(list(per.values()))), "per_instrument": per, "heard_as": heard_as,
            "structure_first": structure_first,
            "items": per_instrument * len(per), "seconds_each": frames * bundle.codec.hop_length / bundle.sample_rate}
