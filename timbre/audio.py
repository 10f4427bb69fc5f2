"""Audio decode/encode, resampling and length fitting: bytes in, arrays out; nothing hidden."""
import io
import re
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr

from timbre.errors import AudioError

FORMATS = {".wav": "WAV", ".flac": "FLAC"}


@dataclass(frozen=True, eq=False)
class Audio:
    """Samples (frames, channels) float32 at a sample rate, with the source file's format and subtype."""

    samples: np.ndarray
    sample_rate: int
    format: str = "WAV"
    subtype: str | None = None  # e.g. PCM_16; kept on write so an edit returns what came in

    @property
    def frames(self) -> int:
        return self.samples.shape[0]

    @property
    def channels(self) -> int:
        return self.samples.shape[1]

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def wav_truncation(data: bytes) -> str | None:
    """For a RIFF/WAVE file whose data chunk declares more bytes than the file holds, the cause (libsndfile would
    quietly read the shorter audio); None otherwise. A streamed WAV's 0 or 0xFFFFFFFF size is not a truncation."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    position = 12
    while position + 8 <= len(data):
        chunk, size = data[position: position + 4], int.from_bytes(data[position + 4: position + 8], "little")
        if chunk == b"data":
            held = len(data) - position - 8
            if size not in (0, 0xFFFFFFFF) and held < size:
                return f"truncated WAV: its header declares {size} bytes of audio, the file holds {held}"
            return None
        position += 8 + size + (size & 1)
    return None


def _libsndfile_reason(error: Exception) -> str:
    """libsndfile's own words, without the "Error opening <_io.BytesIO object at 0x...>: " it puts before them."""
    return re.sub(r"^Error opening <[^>]*>: ", "", str(error))


def decode_audio(data: bytes, name: str) -> Audio:
    """Decode a WAV/FLAC/OGG file's bytes; AudioError naming `name` and the cause when unusable."""
    if not data:
        raise AudioError(name, "empty file (0 bytes)")
    truncated = wav_truncation(data)
    if truncated:
        raise AudioError(name, truncated)
    try:
        info = sf.info(io.BytesIO(data))
        samples, sample_rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise AudioError(name, f"not a readable audio file ({_libsndfile_reason(e)})") from None
    if samples.shape[0] == 0:
        raise AudioError(name, "no audio frames")
    if samples.shape[1] == 0:
        raise AudioError(name, "no audio channels")
    bad = int((~np.isfinite(samples)).sum())
    if bad:
        raise AudioError(name, f"{bad} NaN or infinite samples")
    return Audio(samples, int(sample_rate), info.format, info.subtype)


def encode_audio(audio: Audio, format: str | None = None) -> bytes:
    """Encode to WAV or FLAC, keeping the source subtype where the format allows it."""
    fmt = format or audio.format
    subtype = audio.subtype if audio.subtype and sf.check_format(fmt, audio.subtype) else None
    buffer = io.BytesIO()
    sf.write(buffer, audio.samples, audio.sample_rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling of (frames, channels) with libsoxr (VHQ); identity when the rates match."""
    if rate_in == rate_out:
        return samples
    return soxr.resample(samples, rate_in, rate_out, quality="VHQ").astype(np.float32, copy=False)


def resample_waves(waves, rate_in: int, rate_out: int):
    """resample() for a (B, S) torch tensor of mono waves; the same tensor when the rates match."""
    import torch

    if rate_in == rate_out:
        return waves
    return torch.from_numpy(np.ascontiguousarray(resample(waves.cpu().numpy().T, rate_in, rate_out).T))


def fit_length(samples: np.ndarray, frames: int) -> np.ndarray:
    """Trim or zero-pad along the first axis ((frames,) or (frames, channels)) to exactly `frames`."""
    if samples.shape[0] >= frames:
        return samples[:frames]
    return np.pad(samples, [(0, frames - samples.shape[0])] + [(0, 0)] * (samples.ndim - 1))


def clipped_count(audio: Audio) -> int:
    """Samples that a fixed-point subtype cannot hold (|x| > 1); float subtypes clip nothing."""
    if audio.subtype and ("FLOAT" in audio.subtype or "DOUBLE" in audio.subtype):
        return 0
    return int((np.abs(audio.samples) > 1.0).sum())
