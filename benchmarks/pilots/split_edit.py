"""Shared by the harmonic-codec pilots: MI-inpaint with the codec's own split (every timbre channel renoised, the
structure clamped at every step), in raw channels."""
from dataclasses import replace

import torch
from torch import Tensor

from timbre.analysis.channels import structure_last
from timbre.analysis.edit_quality import EditItems, edit_latents
from timbre.edits import EditSpec, SamplerConfig
from timbre.models.bundle import ModelBundle


def split_edit_latents(bundle: ModelBundle, items: EditItems, sampler: SamplerConfig, seed: int = 0) -> Tensor:
    """Edited latents (N, C, T) of all items in one batch, the structure channels ranked last."""
    s, channels = bundle.codec.structure_channels, bundle.codec.channels
    ranking = torch.from_numpy(structure_last(bundle.channel_ranking.numpy(), s))
    spec = EditSpec.build("mi-inpaint", sampler, k=(channels - s) / channels, clamp=1.0)
    return edit_latents(replace(bundle, channel_ranking=ranking), items, spec, "raw", seed, batch=items.waves.shape[0])
