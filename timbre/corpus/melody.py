"""Random melodies with note-level ground truth: monophonic lines with rests, and two-voice stems."""
from dataclasses import dataclass

import numpy as np

PITCH_RANGE = (48, 84)  # C3..C6, three octaves, the same for every instrument: pitch says nothing of instrument
VELOCITIES = (40, 70, 100, 127)
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}


@dataclass(frozen=True)
class Note:
    """One note of the ground truth: MIDI pitch, onset and held duration in seconds, velocity, voice."""

    pitch: int
    onset: float
    duration: float
    velocity: int
    voice: int = 0

    @property
    def offset(self) -> float:
        return self.onset + self.duration


def _scale_pitches(rng, low: int, high: int) -> np.ndarray:
    tonic = int(rng.integers(0, 12))
    steps = SCALES["major" if rng.random() < 0.5 else "minor"]
    return np.array([p for p in range(low, high + 1) if (p - tonic) % 12 in steps])


def _line(rng, seconds: float, beat: float, pitches: np.ndarray, voice: int, length_scale: float,
          rest_probability: float) -> list[Note]:
    notes, t = [], float(rng.uniform(0.0, 0.4))
    i = int(rng.integers(len(pitches) // 4, 3 * len(pitches) // 4))
    while t < seconds - 0.15:
        length = beat * length_scale * float(rng.choice([0.5, 1.0, 1.0, 1.5, 2.0]))
        if rng.random() < rest_probability:
            t += length
            continue
        i = int(np.clip(i + rng.choice([-3, -2, -1, -1, 1, 1, 2, 3]), 0, len(pitches) - 1))
        held = min(length * float(rng.uniform(0.75, 0.97)), seconds - t)
        velocity = int(np.clip(rng.normal(90, 20), 30, 127))
        notes.append(Note(int(pitches[i]), round(t, 6), round(held, 6), velocity, voice))
        t += length
    return notes


def random_melody(rng: np.random.Generator, seconds: float = 10.0, voices: int = 1) -> tuple[Note, ...]:
    """A melody of 1 or 2 voices in one random key and tempo (80-140 BPM), notes sorted by onset."""
    if voices not in (1, 2):
        raise ValueError(f"voices must be 1 or 2, got {voices}")
    beat = 60.0 / float(rng.uniform(80, 140))
    low, high = PITCH_RANGE
    if voices == 1:
        notes = _line(rng, seconds, beat, _scale_pitches(rng, low, high), 0, 1.0, 0.15)
    else:
        pitches = _scale_pitches(rng, low, high)
        split = (low + high) // 2
        notes = (_line(rng, seconds, beat, pitches[pitches >= split - 2], 0, 1.0, 0.15)
                 + _line(rng, seconds, beat, pitches[pitches <= split + 2], 1, 2.0, 0.1))
    return tuple(sorted(notes, key=lambda n: (n.onset, n.voice)))
