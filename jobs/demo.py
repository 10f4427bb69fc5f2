"""`make demo`: generate an example melody and run `timbre edit` on it with several methods."""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from jobs.cli import main as timbre

OUT = Path("out/demo")
RATE = 22050
MELODY = [(60, 0.0, 0.45), (64, 0.5, 0.45), (67, 1.0, 0.45), (72, 1.5, 0.9), (71, 2.5, 0.45), (67, 3.0, 0.9)]


def pluck_melody(notes=MELODY, rate=RATE, seconds=4.0) -> np.ndarray:
    """A plucked-string melody: decaying harmonics per note (MIDI pitch, onset s, duration s)."""
    wave = np.zeros(int(seconds * rate), np.float32)
    for pitch, onset, duration in notes:
        t = np.arange(int(duration * rate)) / rate
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        tone = sum(np.sin(2 * np.pi * h * f0 * t) * np.exp(-t * (2 + h)) / h for h in range(1, 9))
        start = int(onset * rate)
        wave[start:start + len(t)] += 0.25 * tone.astype(np.float32)
    return wave


def run_demo() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    source = OUT / "source.wav"
    wave = pluck_melody()
    sf.write(source, np.stack([wave, 0.8 * wave], 1), RATE, subtype="PCM_16")
    print(f"example melody: {source}")
    runs = [("mi-inpaint", ["--k", "0.5", "--clamp", "0.5"]), ("pni", ["--noise-fraction", "0.3"]),
            ("diff-tone", ["--source", "guitar"])]
    for method, flags in runs:
        code = timbre(["edit", str(source), "--method", method, "--to", "violin", "-o", str(OUT / f"{method}.wav"),
                       "--steps", "20", *flags])
        if code:
            return code
    print(f"results in {OUT.resolve()} (model: the random-weight debug twin until the trained default bundle lands)")
    return 0


if __name__ == "__main__":
    sys.exit(run_demo())
