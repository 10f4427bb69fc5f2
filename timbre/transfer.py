"""Timbre transfer of one audio clip: channels as batch items, model rate in, source rate and length out."""
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from timbre.audio import Audio, clipped_count, fit_length, resample
from timbre.batch_edit import Clip, WindowConfig, edit_clips
from timbre.conditions import Cond
from timbre.edits import EditSpec
from timbre.errors import ModelError
from timbre.models.bundle import ModelBundle
from timbre.models.protocols import embeds_audio


@dataclass(frozen=True, eq=False)
class TransferOutput:
    """The edited clip and what was done to make it."""

    audio: Audio
    info: dict[str, Any]


def _mono(audio: Audio) -> np.ndarray:
    return audio.samples.mean(axis=1, keepdims=True)


def text_condition(bundle: ModelBundle, text: str) -> Cond:
    """One item's condition from a prompt."""
    return bundle.conditioner.embed_text([text])


def audio_condition(bundle: ModelBundle, audio: Audio, name: str = "the recording") -> Cond:
    """One item's condition from a recording (mono mix at the conditioner's rate), as CLAP embeds audio; ModelError
    when the bundle conditions on text only."""
    if not embeds_audio(bundle.conditioner):
        raise ModelError(f"{name}: bundle {bundle.name} conditions on text only; give the target as a prompt")
    wave = resample(_mono(audio), audio.sample_rate, bundle.conditioner.sample_rate)[:, 0]
    return bundle.conditioner.embed_audio(torch.from_numpy(np.ascontiguousarray(wave)).unsqueeze(0).to(bundle.device))


def source_condition(bundle: ModelBundle, audio: Audio) -> Cond | None:
    """A recording's own condition for inversion: its audio embedding, or None (the null condition) for a bundle
    that conditions on text only."""
    return audio_condition(bundle, audio) if embeds_audio(bundle.conditioner) else None


@torch.no_grad()
def transfer_audio(bundle: ModelBundle, audio: Audio, spec: EditSpec, target: Cond, source: Cond | None,
                   seed: int, item_id: str, space: str | None = None,
                   windows: WindowConfig = WindowConfig()) -> TransferOutput:
    """Edit every channel of a clip, in overlapping windows when it is longer than the model window; all channels
    share the item's noise, so equal channels stay equal.

    `space` picks where MI-inpaint splits timbre from structure ("basis" or "raw"; None: the bundle's first)."""
    rate = bundle.sample_rate
    waves = resample(audio.samples, audio.sample_rate, rate)
    if source is None:
        source = source_condition(bundle, audio)
    clip = Clip(item_id, np.ascontiguousarray(waves.T), target, source)
    [(edited_waves, info)] = edit_clips(bundle, [clip], spec, seed, space, windows)
    samples = fit_length(resample(np.ascontiguousarray(edited_waves.T), rate, audio.sample_rate), audio.frames)
    edited = replace(audio, samples=np.ascontiguousarray(samples, dtype=np.float32))
    info = {"model": bundle.name, "method": spec.method, "model_sample_rate": rate,
            "resampled": audio.sample_rate != rate, "channels": audio.channels, "clipped_samples": clipped_count(edited),
            **info}
    return TransferOutput(edited, info)
