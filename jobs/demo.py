"""`make demo`: generate an example melody and turn it into a violin with several methods, using the trained
default bundle; each output is judged by the bundle's audio classifier and its pitch compared with the source."""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from jobs.cli import main as timbre

OUT = Path("out/demo")
RATE = 44100  # the demo file is written at 44.1 kHz stereo: the edit resamples to the model's 16 kHz and back
SECONDS = 6.0


def held_out_melody(instrument: str = "guitar") -> np.ndarray:
    """The first monophonic held-out (test split) corpus melody played by `instrument`, at 16 kHz."""
    from timbre.corpus.dataset import stem_example
    from timbre.corpus.instruments import INSTRUMENT_NAMES

    index = INSTRUMENT_NAMES.index(instrument)
    for i in range(index, 1000, len(INSTRUMENT_NAMES)):
        stem = stem_example(0, "test", i)
        if stem.voices == 1:
            return stem.audio[: int(SECONDS * 16000)]
    raise RuntimeError(f"no monophonic {instrument} melody in the test split")


def run_demo() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    from timbre.audio import resample

    source = OUT / "source.wav"
    wave = resample(held_out_melody("guitar")[:, None], 16000, RATE)[:, 0]
    sf.write(source, np.stack([wave, 0.8 * wave], 1), RATE, subtype="PCM_16")
    print(f"example melody (a held-out guitar melody from the corpus, 44.1 kHz stereo): {source}")
    runs = [("mi-inpaint", ["--k", "0.25", "--clamp", "1.0"]), ("pni", ["--noise-fraction", "0.05"]),
            ("diff-tone", ["--source", "guitar"])]
    for method, flags in runs:
        code = timbre(["edit", str(source), "--method", method, "--to", "violin", "-o", str(OUT / f"{method}.wav"),
                       "--cfg", "4", *flags])
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
