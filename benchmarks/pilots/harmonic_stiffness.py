"""Pilot (issue 3): does the harmonic codec lose the piano because it puts partials at exact multiples of f0?

The corpus's piano and guitar are stiff strings: partial k sounds at k f0 sqrt(1 + B k^2) (Fletcher 1964), B drawn per
note in [2e-4, 8e-4] for the piano (partial 10 is 1-4% sharp, 2-7 bins at middle C) and [1e-5, 1e-4] for the guitar.
A codec that reads and renders partial k at k f0 reads the piano's upper partials off their peaks and renders them
where the piano has none. The renditions of held-out melodies (as `held_out_items` pairs them) are read by the codec's
analysis (no learned channels) and rendered back as analysed, with and without a stiffness read per frame
(`HarmonicCodecConfig.stretch_max`), judged per target by the shipped audio classifier beside the renditions
themselves; the stiffness read is reported per target (median over loud frames, against the synth's range), and the
rendered pitch per target against the rendition's (PESTO: signed median cents on frames voiced in both), since the
codec's tracker reads a stiff string's f0 sharp and the stretched partials may move what is heard.
Usage: python benchmarks/pilots/harmonic_stiffness.py [--items 120 --seconds 4 --stretch-max 1e-3 --steps 12]
"""
import argparse
import json

import torch

from timbre.analysis.edit_quality import accuracy_by_target
from timbre.corpus.dataset import SAMPLE_RATE
from timbre.corpus.instruments import INSTRUMENTS, INSTRUMENT_NAMES
from timbre.corpus.synth import PARTIAL_CEILING
from timbre.metrics.pitch import cents, pitch_contour
from timbre.models.bundle import load_bundle
from timbre.models.harmonic_codec import HarmonicCodec, HarmonicCodecConfig

from harmonic_hold import LOUD_NATS, renditions


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=120)
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--stretch-max", type=float, default=1e-3)
    p.add_argument("--steps", type=int, default=HarmonicCodecConfig().stretch_steps, help="the stiffness search's")
    args = p.parse_args()
    judge = load_bundle("default").audio_classifier
    ceiling = HarmonicCodecConfig(harmonic_ceiling_hz=PARTIAL_CEILING * SAMPLE_RATE)
    codecs = {"harmonic, ceiling": HarmonicCodec(ceiling),
              f"stiffness up to {args.stretch_max:g}, ceiling": HarmonicCodec(HarmonicCodecConfig(
                  harmonic_ceiling_hz=ceiling.harmonic_ceiling_hz, stretch_max=args.stretch_max,
                  stretch_steps=args.steps))}
    targets, waves = renditions(args.items, args.seconds, True)

    def judged(row: str, audio: torch.Tensor, **extra) -> None:
        predicted = torch.cat([judge(a).argmax(-1) for a in audio.split(16)])
        print(json.dumps({"row": row, "target_accuracy": round(float((predicted == targets).float().mean()), 3),
                          "by_target": {n: round(v, 2) for n, v in accuracy_by_target(
                              list(INSTRUMENT_NAMES), targets, predicted).items()}, **extra}), flush=True)

    def signed_cents(audio: torch.Tensor) -> dict:
        out = pitch_contour(audio[:, : waves.shape[1]], SAMPLE_RATE)
        both = heard.voiced & out.voiced
        error = cents(out.hz, heard.hz)
        return {n: round(float(error[(targets == i)[:, None] & both].median()), 1)
                for i, n in enumerate(INSTRUMENT_NAMES) if bool((targets == i).any())}

    with torch.no_grad():
        heard = pitch_contour(waves, SAMPLE_RATE)
        judged("renditions (no codec)", waves)
        for row, codec in codecs.items():
            f = codec.analyse(codec.log_magnitude(waves))
            magnitude = codec.log_magnitude_of(f.hz, f.level, f.amplitudes, f.floor, f.stretch).exp()
            audio = torch.cat([codec.waveform(m, m.shape[-1] * codec.config.stft_hop) for m in magnitude.split(16)])
            extra = {"signed_median_cents": signed_cents(audio)}
            if f.stretch is not None:
                loud = f.level > f.level.amax(1, keepdim=True) - LOUD_NATS
                stiffness = codec.config.stretch_max * f.stretch ** 2
                extra["median_stiffness_read"] = {
                    inst.name: [float(f"{float(stiffness[targets == i][loud[targets == i]].median()):.2g}"),
                                list(inst.inharmonicity)]
                    for i, inst in enumerate(INSTRUMENTS) if bool((targets == i).any())}
            judged(row, audio, **extra)


if __name__ == "__main__":
    main()
