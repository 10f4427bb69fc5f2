"""`make demo`: the catalogue transfer job on the embedded default. A small catalogue of held-out corpus melodies
is written to a local folder in the shapes labels send (44.1/48 kHz, stereo and mono, 16/24-bit, one stem longer
than the model window, one broken file); `timbre transfer` runs two edits over it on local Ray; `timbre evaluate` then measures every edit
(accuracy, CLAP, DPD, onset F1, chroma, FAD/KAD) and writes the HTML report."""
import shutil
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from jobs.cli import main as timbre

OUT = Path("out/demo")
CATALOGUE, EDITED, SPEC, EVALUATION = OUT / "catalogue", OUT / "edited", OUT / "job.yaml", OUT / "evaluation"
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
  - {{name: violin, to: violin, method: mi-inpaint, steps: 30}}
  - {{name: marimba, to: marimba, method: diff-tone, steps: 30}}
"""  # each method's other settings (MI-inpaint's space, k, clamp, cfg; Diff-TONE's k, cfg, fallback): the bundle's
# edit defaults (its bundle.json)


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
    print(f"edited stems, manifest.parquet and summary.json: {EDITED.resolve()}")
    code = timbre(["evaluate", str(EDITED), "--out", str(EVALUATION), "--no-progress"])
    if code:
        return code
    per_item(played)
    print(f"report: {(EVALUATION / 'report' / 'index.html').resolve()}")
    return 0


def per_item(played: dict[str, str]) -> None:
    """What the evaluation found in each edit: the instrument the audio classifier hears, pitch and onsets kept."""
    import pandas as pd

    metrics = pd.read_parquet(EVALUATION / "metrics.parquet")
    for row in metrics.sort_values(["source", "setting"]).itertuples():
        name = row.source.split(f"{CATALOGUE.name}/", 1)[-1]
        if row.status != "ok":
            print(f"  {name:22s} -> {row.setting:6s} {row.status}: {row.reason}")
            continue
        print(f"  {name:22s} ({played[name]:8s}) -> {row.setting:6s} heard as {row.predicted}; DPD {row.dpd_cents:.0f} "
              f"cents, {row.within_50_cents:.0%} within 50 cents, {row.voiced_kept:.0%} of voiced frames kept, "
              f"onset F1 {row.onset_f1:.2f}")


if __name__ == "__main__":
    sys.exit(run_demo())
