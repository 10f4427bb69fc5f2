"""Pilot (issue 3): how much of an instrument a harmonic codec's per-register mean timbre carries. Each instrument's
mean level, harmonic amplitudes and noise floor at each pitch (the codec's register knots, least-squares fitted on
training stems) is rendered on held-out melodies' pitch, asking for the melody's own instrument or its edit target,
with the template's level or the source's, and judged by the bundle's audio classifier. A DiT that only learned the
conditional mean of the timbre channels given the instrument and the pitch would do about this well.
Usage: python benchmarks/pilots/register_templates.py --model DIR [--items 40 --stems 200 --knots 43]
"""
import argparse
import json

import torch

from timbre.analysis.edit_quality import held_out_items
from timbre.corpus.dataset import stem_example
from timbre.models.bundle import load_bundle
from timbre.models.pitch_register import fit_register_values, register_weights


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--items", type=int, default=40)
    p.add_argument("--stems", type=int, default=200)
    p.add_argument("--knots", type=int, default=43)
    args = p.parse_args()
    bundle = load_bundle(args.model)
    codec, c = bundle.codec, bundle.codec.config
    classes = len(bundle.instruments)

    def weights(hz: torch.Tensor) -> torch.Tensor:
        return register_weights(hz, args.knots, c.low_hz, c.high_hz)

    with torch.no_grad():
        hz, raw, instrument = [], [], []
        for i in range(args.stems):
            stem = stem_example(0, "train", i)
            frames = codec.analyse(codec.log_magnitude(torch.from_numpy(stem.audio)[None]))
            hz.append(frames.hz.reshape(-1))
            raw.append(codec.raw_timbre(frames)[0].T)
            instrument.append(torch.full_like(hz[-1], stem.instrument, dtype=torch.long))
        hz, raw, instrument = torch.cat(hz), torch.cat(raw), torch.cat(instrument)
        templates = torch.stack([fit_register_values(weights(hz[instrument == k]), raw[instrument == k])
                                 for k in range(classes)])  # (classes, knots, F)
        held = held_out_items(0, args.items, 4.0, classes)
        frames = codec.analyse(codec.log_magnitude(held.waves))
        length = held.waves.shape[1]

        def heard(level, amplitudes, floor, wanted) -> float:
            magnitude = codec.log_magnitude_of(frames.hz, level, amplitudes, floor).exp()
            wave = codec.waveform(magnitude, length)
            return float((bundle.audio_classifier(wave).argmax(-1) == wanted).float().mean())

        row = {"items": args.items, "stems": args.stems, "knots": args.knots,
               "source frames rendered": heard(frames.level, frames.amplitudes, frames.floor, held.sources)}
        for name, wanted in (("own", held.sources), ("target", held.targets)):
            template = torch.einsum("bnk,bkf->bfn", weights(frames.hz), templates[wanted])
            level, amplitudes, floor = template.split([1, c.harmonics, c.floor_lifter + 1], dim=1)
            row[f"{name} template"] = heard(level[:, 0], amplitudes, floor, wanted)
            row[f"{name} template, source level"] = heard(frames.level, amplitudes, floor, wanted)
            row[f"{name} template harmonics only"] = heard(frames.level, amplitudes, frames.floor, wanted)
        print(json.dumps(row))


if __name__ == "__main__":
    main()
