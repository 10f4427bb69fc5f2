"""Timbre transfer of one audio clip: channels as batch items, model rate in, source rate and length out."""
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from timbre.audio import Audio, clipped_count, fit_length, resample
from timbre.batch_edit import Clip, WindowConfig, edit_clips
from timbre.edits import EditSpec
from timbre.models.bundle import ModelBundle


@dataclass(frozen=True, eq=False)
class TransferOutput:
    """The edited clip and what was done to make it."""

    audio: Audio
    info: dict[str, Any]


def _mono(audio: Audio) -> np.ndarray:
    return audio.samples.mean(axis=1, keepdims=True)


def text_condition(bundle: ModelBundle, text: str) -> Tensor:
    """A (1, dim) condition from a prompt."""
    return bundle.conditioner.embed_text([text])


def audio_condition(bundle: ModelBundle, audio: Audio) -> Tensor:
    """A (1, dim) condition from a recording (mono mix at the conditioner's rate), as CLAP embeds audio."""
    wave = resample(_mono(audio), audio.sample_rate, bundle.conditioner.sample_rate)[:, 0]
    return bundle.conditioner.embed_audio(torch.from_numpy(np.ascontiguousarray(wave)).unsqueeze(0).to(bundle.device))


@torch.no_grad()
def transfer_audio(bundle: ModelBundle, audio: Audio, spec: EditSpec, target: Tensor, source: Tensor | None,
                   seed: int, item_id: str, space: str | None = None,
                   windows: WindowConfig = WindowConfig()) -> TransferOutput:
    """Edit every channel of a clip, in overlapping windows when it is longer than the model window; all channels
    share the item's noise, so equal channels stay equal.

    `space` picks where MI-inpaint splits timbre from structure ("basis" or "raw"; None: the bundle's first)."""
    rate = bundle.sample_rate
    waves = resample(audio.samples, audio.sample_rate, rate)
    if source is None:
        source = audio_condition(bundle, audio)
    clip = Clip(item_id, np.ascontiguousarray(waves.T), target, source)
    [(edited_waves, info)] = edit_clips(bundle, [clip], spec, seed, space, windows)
    samples = fit_length(resample(np.ascontiguousarray(edited_waves.T), rate, audio.sample_rate), audio.frames)
    edited = replace(audio, samples=np.ascontiguousarray(samples, dtype=np.float32))
    info = {"model": bundle.name, "method": spec.method, "model_sample_rate": rate,
            "resampled": audio.sample_rate != rate, "channels": audio.channels, "clipped_samples": clipped_count(edited),
            **info}
    return TransferOutput(edited, info)
