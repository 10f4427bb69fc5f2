"""`make demo`: generate an example melody and turn it into a violin with several methods, using the trained
default bundle; each output is judged by the bundle's audio classifier and its pitch compared with the source."""
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
    runs = [("mi-inpaint", ["--k", "0.5", "--clamp", "1.0"]), ("pni", ["--noise-fraction", "0.6"]),
            ("diff-tone", ["--source", "guitar"])]
    for method, flags in runs:
        code = timbre(["edit", str(source), "--method", method, "--to", "violin", "-o", str(OUT / f"{method}.wav"),
                       "--cfg", "2", *flags])
        if code:
            return code
    judge(source, [OUT / f"{method}.wav" for method, _ in runs])
    print(f"results in {OUT.resolve()}")
    return 0


def judge(source: Path, outputs: list[Path]) -> None:
    """Print what the default bundle's audio classifier hears in each file, and the pitch kept from the source."""
    import torch

    from timbre.audio import decode_audio, resample
    from timbre.metrics.pitch import pitch_agreement, pitch_contour
    from timbre.models.bundle import load_bundle

    bundle = load_bundle("default")

    def mono(path: Path) -> torch.Tensor:
        audio = decode_audio(path.read_bytes(), str(path))
        wave = resample(audio.samples.mean(axis=1, keepdims=True), audio.sample_rate, bundle.sample_rate)[:, 0]
        return torch.from_numpy(np.ascontiguousarray(wave))[None]

    reference = pitch_contour(mono(source), bundle.sample_rate)
    for path in [source, *outputs]:
        wave = mono(path)
        with torch.no_grad():
            probs = bundle.audio_classifier(wave).softmax(-1)[0]
        top = int(probs.argmax())
        pitch = pitch_agreement(reference, pitch_contour(wave, bundle.sample_rate))
        print(f"  {path.name:16s} heard as {bundle.instruments[top]} ({probs[top]:.0%}); pitch: median error "
              f"{pitch['median_cents']:.0f} cents, {pitch['voiced_kept']:.0%} of the source's voiced frames kept")


if __name__ == "__main__":
    sys.exit(run_demo())
