"""Corpus items by (seed, split, index): single notes and 10 s melodic stems, each with its labels."""
from dataclasses import dataclass

import numpy as np

from timbre.audio import fit_length
from timbre.corpus.instruments import INSTRUMENTS, INSTRUMENT_NAMES
from timbre.corpus.melody import PITCH_RANGE, VELOCITIES, Note, random_melody
from timbre.corpus.synth import SAMPLE_RATE, render_note

SPLITS = {"train": 0, "valid": 1, "test": 2}
NOTE_SECONDS = 1.0  # every single-note example: 0.75 s held, then released, cut to 1 s
STEM_SECONDS = 10.0
TWO_VOICE_SHARE = 0.25  # share of stems with two voices


@dataclass(frozen=True, eq=False)
class NoteExample:
    """One labelled note, NOTE_SECONDS of mono audio at SAMPLE_RATE."""

    audio: np.ndarray
    instrument: int  # index into INSTRUMENT_NAMES
    pitch: int
    velocity: int


@dataclass(frozen=True, eq=False)
class StemExample:
    """One melodic stem, STEM_SECONDS of mono audio at SAMPLE_RATE, with its notes."""

    audio: np.ndarray
    instrument: int
    notes: tuple[Note, ...]
    voices: int


def item_rng(seed: int, split: str, kind: str, index: int) -> np.random.Generator:
    """The generator of one item: results never depend on which other items were made."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    return np.random.default_rng([seed, SPLITS[split], {"note": 0, "stem": 1}[kind], index])


def note_example(seed: int, split: str, index: int, instrument: int | None = None) -> NoteExample:
    """Item `index` of the note set: instruments cycle with the index; pitch and velocity are drawn."""
    rng = item_rng(seed, split, "note", index)
    inst = index % len(INSTRUMENTS) if instrument is None else instrument
    pitch, velocity = int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1)), int(rng.choice(VELOCITIES))
    audio = render_note(INSTRUMENTS[inst], pitch, velocity, 0.75, rng)
    return NoteExample(fit_length(audio, int(NOTE_SECONDS * SAMPLE_RATE)), inst, pitch, velocity)


def render_notes(instrument: int, notes: tuple[Note, ...], rng: np.random.Generator,
                 seconds: float = STEM_SECONDS) -> np.ndarray:
    """Render a note list with one instrument into a stem of exactly `seconds`."""
    n = int(round(seconds * SAMPLE_RATE))
    out = np.zeros(n, np.float32)
    for note in notes:
        audio = render_note(INSTRUMENTS[instrument], note.pitch, note.velocity, note.duration, rng)
        start = int(round(note.onset * SAMPLE_RATE))
        end = min(n, start + len(audio))
        out[start:end] += audio[: end - start]
    return out


def stem_instrument(index: int) -> int:
    """The instrument that plays stem `index` of every split."""
    return index % len(INSTRUMENTS)


def draw_voices(rng: np.random.Generator) -> int:
    """A stem's number of voices: the first draw of its generator."""
    return 2 if rng.random() < TWO_VOICE_SHARE else 1


def stem_voices(seed: int, split: str, index: int) -> int:
    """How many voices stem `index` of the split has, without rendering it."""
    return draw_voices(item_rng(seed, split, "stem", index))


def stem_example(seed: int, split: str, index: int, instrument: int | None = None) -> StemExample:
    """Item `index` of the stem set: a random melody (a quarter of them two-voice) on one instrument."""
    rng = item_rng(seed, split, "stem", index)
    inst = stem_instrument(index) if instrument is None else instrument
    voices = draw_voices(rng)
    notes = random_melody(rng, STEM_SECONDS, voices)
    return StemExample(render_notes(inst, notes, rng), inst, notes, voices)


__all__ = ["INSTRUMENT_NAMES", "NoteExample", "SAMPLE_RATE", "StemExample", "note_example", "stem_example", "stem_instrument",
           "stem_voices"]
