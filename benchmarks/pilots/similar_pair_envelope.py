"""Pilot (issue 3): what a similar pair's generations are heard as, and whose spectral envelope they carry.

For two instruments (default violin and viola) and each guidance scale: 20 generations of each (4 s, 16 Heun steps,
the canonical prompt, noise set 0), the judge's counts and mean probabilities, and the RMS difference in dB between
their mean 1/6-octave band envelope (100 Hz to 6.4 kHz, each frame normalised by its power, frames within 30 dB of
the clip's peak) and that of real test-split stems of each instrument; the same for the codec's round trips of those
stems, and between the two real instruments.
Usage: python benchmarks/pilots/similar_pair_envelope.py --model default --pair violin viola --cfg 4 7
"""
import argparse
import json

import torch

from timbre.analysis.generation import generate_instrument
from timbre.edits.base import SamplerConfig
from timbre.models.bundle import load_bundle
from timbre.training.pool import corpus_pool


def band_envelope(waves: torch.Tensor, rate: int) -> torch.Tensor:
    """(36,) mean log power in dB per 1/6-octave band of (B, S) waves, each frame normalised by its total power."""
    power = torch.stft(waves, 1024, 256, window=torch.hann_window(1024), return_complex=True).abs().pow(2)
    hz = torch.fft.rfftfreq(1024, 1 / rate)
    level = power.sum(1)
    loud = level > level.amax(1, keepdim=True) * 1e-3
    edges = 100 * 2 ** (torch.arange(37) / 6)
    bands = [(power[:, (hz >= lo) & (hz < hi)].mean(1) / level.clamp_min(1e-12)).clamp_min(1e-12).log10()[loud].mean()
             for lo, hi in zip(edges[:-1], edges[1:])]
    return 10 * torch.stack(bands)


def rms_db(a: torch.Tensor, b: torch.Tensor) -> float:
    return round(float((a - b).pow(2).mean().sqrt()), 2)


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--pair", nargs=2, default=["violin", "viola"])
    p.add_argument("--cfg", type=float, nargs="+", default=[4.0, 7.0])
    p.add_argument("--stems", type=int, default=200, help="test-split stems rendered (about a tenth per instrument)")
    args = p.parse_args()
    bundle = load_bundle(args.model)
    names = bundle.instruments
    index = [names.index(n) for n in args.pair]
    pool = corpus_pool(0, args.stems, 0, 4.0, split="test")
    real = {k: pool.audio[pool.instruments == k][:, :4 * bundle.sample_rate] for k in index}
    reference = {k: band_envelope(v, bundle.sample_rate) for k, v in real.items()}
    for cfg in args.cfg:
        for k in index:
            waves = bundle.codec.decode(generate_instrument(bundle, names[k], 20, 125, SamplerConfig(steps=16, cfg=cfg), 0))
            probs = bundle.audio_classifier(waves).softmax(-1)
            heard = torch.bincount(probs.argmax(-1), minlength=len(names)).tolist()
            envelope = band_envelope(waves, bundle.sample_rate)
            print(json.dumps({"cfg": cfg, "generated": names[k], "heard_as": {names[j]: c for j, c in enumerate(heard) if c},
                              "mean_probability": {names[j]: round(float(probs[:, j].mean()), 3) for j in index},
                              "envelope_db_to_real": {names[j]: rms_db(envelope, reference[j]) for j in index}}),
                  flush=True)
    trips = {k: band_envelope(bundle.codec.decode(bundle.codec.encode(v)), bundle.sample_rate) for k, v in real.items()}
    print(json.dumps({"round_trip_envelope_db_to_real": {names[k]: {names[j]: rms_db(trips[k], reference[j]) for j in index}
                                                         for k in index},
                      "real_between_the_pair_db": rms_db(reference[index[0]], reference[index[1]]),
                      "real_stems": {names[k]: int(v.shape[0]) for k, v in real.items()}}))


if __name__ == "__main__":
    main()
