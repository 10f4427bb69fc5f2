"""`make demo`: the catalogue transfer job on the embedded default. A small catalogue of held-out corpus melodies
is written to a local folder in the shapes labels send (44.1/48 kHz, stereo and mono, 16/24-bit, one stem longer
than the model window, one broken file); `timbre transfer` runs two edits over it on local Ray; the manifest is
summarised and each edited stem judged by the bundle's audio classifier and its pitch against the source."""
import shutil
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from jobs.cli import main as timbre

OUT = Path("out/demo")
CATALOGUE, EDITED, SPEC = OUT / "catalogue", OUT / "edited", OUT / "job.yaml"
CORPUS_RATE = 16000
# (instrument, file name, sample rate, channels, subtype, seconds): the catalogue the demo makes
STEMS = [("guitar", "album-a/guitar.wav", 44100, 2, "PCM_16", 6.0),
         ("piano", "album-a/piano.wav", 48000, 1, "PCM_24", 6.0),
         ("clarinet", "album-b/clarinet.flac", 44100, 2, "PCM_16", 6.0),
         ("trumpet", "album-b/trumpet.wav", 22050, 1, "PCM_16", 6.0),
         ("organ", "album-b/organ-long.wav", 44100, 1, "PCM_16", 20.0)]  # two stems back to back: windows
JOB = """source: {source}
output: {output}
model: default
seeds: [0]
edits:
  - {{name: violin, to: violin, method: mi-inpaint, k: 0.5, clamp: 0.5, steps: 30, cfg: 4}}
  - {{name: flute, to: flute, method: diff-tone, steps: 30, cfg: 4}}
"""


def held_out_melody(instrument: str, seconds: float) -> np.ndarray:
    """Monophonic held-out (test split) corpus melodies played by `instrument`, back to back, at 16 kHz."""
    from timbre.corpus.dataset import stem_example
    from timbre.corpus.instruments import INSTRUMENT_NAMES

    index, pieces, need = INSTRUMENT_NAMES.index(instrument), [], int(seconds * CORPUS_RATE)
    for i in range(index, 2000, len(INSTRUMENT_NAMES)):
        stem = stem_example(0, "test", i)
        if stem.voices == 1:
            pieces.append(stem.audio)
            if sum(len(p) for p in pieces) >= need:
                return np.concatenate(pieces)[:need]
    raise RuntimeError(f"not enough monophonic {instrument} melodies in the test split")


def write_catalogue() -> dict[str, str]:
    """The demo catalogue; returns file name -> the instrument it plays."""
    from timbre.audio import resample

    shutil.rmtree(OUT, ignore_errors=True)
    played = {}
    for instrument, name, rate, channels, subtype, seconds in STEMS:
        wave = resample(held_out_melody(instrument, seconds)[:, None], CORPUS_RATE, rate)[:, 0]
        path = CATALOGUE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, np.stack([wave, 0.8 * wave][:channels], 1), rate, subtype=subtype)
        played[name] = instrument
    (CATALOGUE / "album-b" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVE" + b"\x00" * 20)  # a truncated header
    return played


def run_demo() -> int:
    played = write_catalogue()
    print(f"catalogue: {len(played) + 1} stems of held-out corpus melodies (one broken on purpose) in {CATALOGUE}")
    SPEC.write_text(JOB.format(source=CATALOGUE, output=EDITED))
    code = timbre(["transfer", "--spec", str(SPEC)])
    if code not in (0, 1):  # 1: some items failed, as the broken file must
        return code
    report(played)
    print(f"edited stems, manifest.parquet and summary.json: {EDITED.resolve()}")
    return 0


def report(played: dict[str, str]) -> None:
    """The manifest, then what the default bundle's audio classifier hears in each edit and the pitch it kept."""
    import pandas as pd
    import torch

    from timbre.audio import decode_audio, resample
    from timbre.metrics.pitch import pitch_agreement, pitch_contour
    from timbre.models.bundle import load_bundle

    manifest = pd.read_parquet(EDITED / "manifest.parquet")
    bundle = load_bundle("default")

    def mono(path: Path) -> torch.Tensor:
        audio = decode_audio(path.read_bytes(), str(path))
        wave = resample(audio.samples.mean(axis=1, keepdims=True), audio.sample_rate, bundle.sample_rate)[:, 0]
        return torch.from_numpy(np.ascontiguousarray(wave))[None]

    for row in manifest.sort_values(["source_uri", "edit"]).itertuples():
        name = row.source_uri.split(f"{CATALOGUE.name}/", 1)[-1]
        if row.status != "ok":
            print(f"  {name:22s} -> {row.edit:6s} {row.status}: {row.reason}")
            continue
        source, edited = mono(Path(row.source_uri)), mono(EDITED / row.output_key)
        with torch.no_grad():
            probs = bundle.audio_classifier(edited).softmax(-1)[0]
        top = int(probs.argmax())
        pitch = pitch_agreement(pitch_contour(source, bundle.sample_rate), pitch_contour(edited, bundle.sample_rate))
        print(f"  {name:22s} ({played[name]:8s}) -> {row.edit:6s} heard as {bundle.instruments[top]} ({probs[top]:.0%}); "
              f"pitch median error {pitch['median_cents']:.0f} cents; {int(row.windows)} window(s); "
              f"{int(row.sample_rate)} Hz x {int(row.channels)} ch kept")


if __name__ == "__main__":
    sys.exit(run_demo())
