"""The CPU side of a transfer item, as plain functions (Ray runs them as tasks): download, check, decode and
resample before the model; resample, encode, upload and measure after it. Every failure becomes a manifest row."""
import hashlib
import time
from dataclasses import dataclass, field

import numpy as np

from cluster.catalogue import AUDIO_SUFFIXES
from cluster.plan import OUTPUT_FORMATS, Item, JobConfig, output_key
from cluster.storage import StorageError, split_uri
from timbre.audio import FORMATS, Audio, clipped_count, decode_audio, encode_audio, fit_length, resample
from timbre.errors import AudioError
from timbre.level import LEVEL_GAIN_FACTS
from timbre.randomness import content_item_id


TRANSIENT_MODEL_ERRORS = ("OutOfMemoryError", "StorageError")  # a model failure a later run may not meet again


@dataclass(frozen=True)
class Limits:
    """What the job accepts; anything beyond is skipped with the reason."""

    max_seconds: float = 600.0  # longer stems are skipped (windows make any length possible; this bounds memory)
    max_bytes: int = 2 * 1024**3  # objects larger than this are not downloaded
    max_channels: int = 8
    min_rate: int = 8000
    max_rate: int = 192000
    silence_peak: float = 1e-6  # a stem whose peak is at or below this (-120 dBFS) is skipped as silent


@dataclass(frozen=True, eq=False)
class Prepared:
    """A stem ready for the model: its waves at the model's rate and what is needed to write the edit back."""

    item: Item
    key: str  # output key
    content_hash: str
    rate: int
    frames: int
    format: str
    subtype: str | None
    waves: np.ndarray = field(repr=False)  # (channels, samples) float32 at the model's rate
    row: dict = field(default_factory=dict)  # manifest fields known so far

    @property
    def noise_id(self) -> str:
        """What the edit's noise derives from (with the seed): the stem's content, as `timbre edit` derives it, so the
        same bytes get the same edit wherever they are listed, and an output key (keyed on the content) always holds
        the same audio."""
        return content_item_id(self.content_hash)


def base_row(item: Item, config: JobConfig) -> dict:
    return {"item_id": item.item_id, "source_uri": item.stem.uri, "edit": config.edits[item.edit].name,
            "seed": item.seed}


def failed(row: dict, error: BaseException, retryable: bool) -> dict:
    return {**row, "status": "failed", "reason": str(error), "error_class": type(error).__name__,
            "retryable": retryable, "finished_at": time.time()}


def skipped(row: dict, reason: str) -> dict:
    return {**row, "status": "skipped", "reason": reason, "retryable": False, "finished_at": time.time()}


def _rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(max(float(np.mean(np.square(x, dtype=np.float64))), 1e-20)))


def prepare(item: Item, config: JobConfig, output_store, model_rate: int, limits: Limits = Limits()) -> Prepared | dict:
    """Download and check one stem; a Prepared item, or a finished manifest row (skipped, failed, or ok when its
    output is already in the store from an earlier, interrupted run)."""
    start = time.perf_counter()
    row = base_row(item, config)
    uri = item.stem.uri
    if not item.stem.is_audio:
        return skipped(row, f"{uri}: not an audio file name (expected one of {' '.join(AUDIO_SUFFIXES)})")
    if item.stem.size > limits.max_bytes:
        return skipped(row, f"{uri}: {item.stem.size} bytes, over the {limits.max_bytes}-byte limit")
    try:
        store, key = split_uri(uri)
        data = store.get(key)
    except StorageError as e:
        return failed(row, e, retryable=True)
    content_hash = hashlib.sha256(data).hexdigest()
    out_key = output_key(item, config, content_hash)
    row.update(content_hash=content_hash, output_key=out_key)
    try:
        if output_store.exists(out_key):
            return {**row, "status": "ok", "reason": "output already written by an earlier run", "retryable": False,
                    "finished_at": time.time()}
        audio = decode_audio(data, uri)
    except StorageError as e:
        return failed(row, e, retryable=True)
    except AudioError as e:
        return failed(row, e, retryable=False)
    row.update(sample_rate=audio.sample_rate, channels=audio.channels, frames=audio.frames,
               seconds_audio=audio.duration, peak_in=float(np.abs(audio.samples).max()), rms_in_db=_rms_db(audio.samples))
    reason = _out_of_limits(audio, limits)
    if reason:
        return skipped(row, f"{uri}: {reason}")
    waves = resample(audio.samples, audio.sample_rate, model_rate).T.astype(np.float32)
    row["seconds_fetch"] = time.perf_counter() - start
    return Prepared(item, out_key, content_hash, audio.sample_rate, audio.frames, audio.format, audio.subtype,
                    np.ascontiguousarray(waves), row)


def _out_of_limits(audio: Audio, limits: Limits) -> str | None:
    if audio.duration > limits.max_seconds:
        return f"{audio.duration:.1f} s long, over the {limits.max_seconds:.0f} s limit"
    if audio.channels > limits.max_channels:
        return f"{audio.channels} channels, over the {limits.max_channels}-channel limit"
    if not limits.min_rate <= audio.sample_rate <= limits.max_rate:
        return f"sample rate {audio.sample_rate} Hz outside {limits.min_rate}-{limits.max_rate} Hz"
    if float(np.abs(audio.samples).max()) <= limits.silence_peak:
        return "silent (peak at or below -120 dBFS): nothing to edit"
    return None


def finish(prepared: Prepared, edited: np.ndarray | None, info: dict, config: JobConfig, output_store,
           model_rate: int, seconds_edit: float) -> dict:
    """Write one edited stem back at the source's rate, channel count, length and sample format (its level course
    made the source's by edit_clips, nothing else normalised), create-only; its manifest row with cheap metrics.
    `edited` is None when the model failed on this stem."""
    start = time.perf_counter()
    row = dict(prepared.row)
    if edited is None:
        return {**row, "status": "failed", "reason": f"{prepared.item.stem.uri}: {info['error']}",
                "error_class": info["error_class"], "retryable": info["error_class"] in TRANSIENT_MODEL_ERRORS,
                "seconds_edit": seconds_edit, "finished_at": time.time()}
    try:
        samples = fit_length(resample(np.ascontiguousarray(edited.T), model_rate, prepared.rate), prepared.frames)
        audio = Audio(np.ascontiguousarray(samples, dtype=np.float32), prepared.rate, prepared.format, prepared.subtype)
        data = encode_audio(audio, FORMATS[OUTPUT_FORMATS[config.format]])
        written = output_store.put(prepared.key, data)
    except StorageError as e:
        return failed(row, e, retryable=True)
    except (AudioError, ValueError, RuntimeError) as e:
        return failed(row, e, retryable=False)
    return {**row, "status": "ok", "reason": "" if written else "output already written by an earlier run",
            "retryable": False, "windows": int(info.get("windows", 1)), "peak_out": float(np.abs(samples).max()),
            "rms_out_db": _rms_db(samples), **{key: info[key] for key in LEVEL_GAIN_FACTS if key in info},
            "clipped_samples": clipped_count(audio), "seconds_edit": seconds_edit,
            "seconds_store": time.perf_counter() - start, "finished_at": time.time()}
