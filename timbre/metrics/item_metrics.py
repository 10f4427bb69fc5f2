"""Every per-item metric of both papers for one (source, output, target) pair, with per-metric reasons for gaps."""
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from timbre.audio import resample_waves
from timbre.metrics.chroma import chroma_similarity
from timbre.metrics.dpd import dynamic_pitch_distance
from timbre.metrics.embedding_frames import embedding_frames
from timbre.metrics.onset import detect_onsets, onset_f1
from timbre.metrics.pitch import pitch_contour
from timbre.metrics.similarity import clap_similarity, embed_audio_at
from timbre.models.protocols import Conditioner

METRICS = ("clap", "correct", "dpd_cents", "dpd_pitch_class_cents", "within_50_cents", "voiced_kept", "onset_f1",
           "chroma")


@dataclass(frozen=True)
class Judges:
    """The models evaluation listens with: an audio embedder (CLAP similarity, FAD/KAD frames) and an instrument
    classifier over waves at `classifier_rate` (top-1 accuracy; None: accuracy is not measured)."""

    embedder: Conditioner
    classifier: Callable[[Tensor], Tensor] | None
    classifier_rate: int
    instruments: tuple[str, ...]

    @classmethod
    def of(cls, bundle) -> "Judges":
        """A bundle's audio embedder (its LAION-CLAP when named, else its conditioner) and audio classifier."""
        return cls(bundle.judge_embedder, bundle.audio_classifier, bundle.sample_rate, tuple(bundle.instruments))

    def instrument_of(self, target: str) -> int | None:
        """The instrument a text target names (a whole word of it), if exactly one known instrument is named."""
        words = set(target.lower().replace("-", " ").replace("_", " ").split())
        named = [i for i, name in enumerate(self.instruments) if name.lower() in words]
        return named[0] if len(named) == 1 else None


@dataclass(frozen=True, eq=False)
class Pair:
    """One evaluated item: the source (context) and the output, mono at one rate, and what was asked for."""

    item_id: str
    source: np.ndarray  # (S,) float32
    output: np.ndarray  # (S',) float32
    sample_rate: int
    target_text: str | None = None  # a prompt, or None when the target is a recording
    target_audio: np.ndarray | None = None  # (S'',) the target recording at sample_rate
    target_instrument: int | None = None  # index into Judges.instruments, for accuracy


@dataclass(frozen=True, eq=False)
class ItemResult:
    """The metrics of one pair (NaN where not measurable, with the reason), and its output's embedding frames."""

    values: dict
    reasons: tuple[str, ...]
    output_frames: np.ndarray  # (n, dim) for FAD/KAD

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def _check(name: str, wave: np.ndarray) -> str | None:
    if wave.ndim != 1 or wave.size == 0:
        return f"{name} is empty or not mono"
    if not np.isfinite(wave).all():
        return f"{name} holds NaN or infinite samples"
    if float(np.abs(wave).max()) == 0.0:
        return f"{name} is silent"
    return None


@torch.no_grad()
def evaluate_pair(judges: Judges, pair: Pair) -> ItemResult:
    """All metrics of one pair. A metric that cannot be measured (silence, no voiced frames, no known target
    instrument) is NaN and says why; the others are still measured."""
    values = {name: float("nan") for name in METRICS}
    values["predicted"] = None
    reasons = []
    rate = pair.sample_rate
    problems = {name: _check(name, wave) for name, wave in (("source", pair.source), ("output", pair.output))}
    output_ok = problems["output"] is None or problems["output"] == "output is silent"
    reasons += [p for p in problems.values() if p]
    output = torch.from_numpy(np.ascontiguousarray(pair.output, dtype=np.float32))
    frames = np.zeros((0, judges.embedder.dim))
    if output_ok:
        frames = embedding_frames(judges.embedder, output, rate)
        target = (judges.embedder.embed_text([pair.target_text]) if pair.target_text is not None else
                  embed_audio_at(judges.embedder, torch.from_numpy(pair.target_audio).float()[None], rate))
        values["clap"] = float(clap_similarity(embed_audio_at(judges.embedder, output[None], rate), target)[0])
        if judges.classifier is None or pair.target_instrument is None:
            reasons.append("accuracy: no classifier" if judges.classifier is None else "accuracy: target names no known instrument")
        else:
            judged = resample_waves(output[None], rate, judges.classifier_rate)
            predicted = int(judges.classifier(judged).argmax(-1)[0])
            values["predicted"] = judges.instruments[predicted]
            values["correct"] = float(predicted == pair.target_instrument)
    if problems["source"] is None and output_ok:
        source = torch.from_numpy(np.ascontiguousarray(pair.source, dtype=np.float32))
        pair_waves = torch.stack(_same_length(source, output))  # both in one PESTO call, at the source's level
        contours = pitch_contour(pair_waves, rate, reference=pair_waves[:1].expand(2, -1))
        distance = dynamic_pitch_distance(contours[0], contours[1])
        values.update(dpd_cents=distance.cents, dpd_pitch_class_cents=distance.pitch_class_cents,
                      within_50_cents=distance.within_50_cents, voiced_kept=distance.voiced_kept)
        if distance.reason:
            reasons.append(f"pitch: {distance.reason}")
        values["onset_f1"] = onset_f1(detect_onsets(pair.source, rate), detect_onsets(pair.output, rate))
        if np.isnan(values["onset_f1"]):
            reasons.append("onset: no onsets in the source")
        values["chroma"] = float(chroma_similarity(*[w[None] for w in _same_length(source, output)], rate)[0])
        if np.isnan(values["chroma"]):
            reasons.append("chroma: no frame loud in both")
    return ItemResult(values, tuple(reasons), frames)


def _same_length(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Both waves zero-padded to the longer one (an edit may come back a few samples longer or shorter)."""
    n = max(a.shape[-1], b.shape[-1])
    return torch.nn.functional.pad(a, (0, n - a.shape[-1])), torch.nn.functional.pad(b, (0, n - b.shape[-1]))
