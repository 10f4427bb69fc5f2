"""Conditional generation check: generate each instrument from its prompt and ask the audio classifier."""
import numpy as np
import torch
from torch import Tensor, nn

from timbre.corpus.prompts import canonical_prompt
from timbre.edits.base import SamplerConfig, generate
from timbre.models.bundle import ModelBundle
from timbre.randomness import randn_items, item_generators


@torch.no_grad()
def generate_instrument(bundle: ModelBundle, instrument: str, count: int, frames: int, sampler: SamplerConfig,
                        seed: int) -> Tensor:
    """(count, C, frames) latents generated from the instrument's canonical prompt; item i's noise from (seed, i)."""
    cond = bundle.conditioner.embed_text([canonical_prompt(instrument)]).expand(count, -1)
    generators = item_generators(seed, [f"{instrument}#{i}" for i in range(count)])
    sigmas = sampler.sigmas()
    x = randn_items(generators, (bundle.codec.channels, frames)) * sigmas[0]
    return generate(bundle.edit_model(), sampler, x, sigmas, cond)


@torch.no_grad()
def generation_accuracy(bundle: ModelBundle, audio_classifier: nn.Module, per_instrument: int, frames: int,
                        sampler: SamplerConfig, seed: int = 0) -> dict:
    """Share of generations the audio classifier assigns to the conditioned instrument, overall and per instrument."""
    per = {}
    for index, name in enumerate(bundle.instruments):
        waves = bundle.codec.decode(generate_instrument(bundle, name, per_instrument, frames, sampler, seed))
        per[name] = float((audio_classifier(waves).argmax(-1) == index).float().mean())
    return {"accuracy": float(np.mean(list(per.values()))), "per_instrument": per,
            "items": per_instrument * len(per), "seconds_each": frames * bundle.codec.hop_length / bundle.sample_rate}
