"""Pilot (issue 3): what do the generations of an instrument the judge mishears lack against real stems of it?

For each named instrument: its generations from the canonical prompt (as `analyse generation` makes them) against
held-out real stems of it, each decoded to audio and described by
- sustain: the share of 20 ms frames within 6 dB of the clip's 95th-percentile level (held notes high, struck and
  plucked ones low);
- decay: the median level change over the 200 ms after each onset frame (dB; struck notes fall, blown ones hold);
- centroid: the mean spectral centroid of frames within 20 dB of the peak (Hz);
- the judge's mean probability for the instrument and for what it hears instead.
Usage: python benchmarks/pilots/note_course.py --model default --instruments trumpet,piano [--items 8 --cfg 7]
"""
import argparse
import json

import torch

from timbre.analysis.edit_quality import held_out_items
from timbre.analysis.generation import generate_instrument
from timbre.edits.base import SamplerConfig
from timbre.models.bundle import load_bundle


def frame_levels(waves: torch.Tensor, rate: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, bins, frames) STFT magnitudes of (B, S) waves over 20 ms hops, and (B, frames) levels in dB."""
    hop = rate // 50
    spectrum = torch.stft(waves, 4 * hop, hop, window=torch.hann_window(4 * hop), return_complex=True).abs()
    return spectrum, 10 * torch.log10(spectrum.pow(2).sum(1) + 1e-10)


def describe(waves: torch.Tensor, rate: int) -> dict:
    """Sustain, decay and centroid of (B, S) waves, averaged over the batch."""
    spectrum, level = frame_levels(waves, rate)
    top = level.quantile(0.95, dim=1, keepdim=True)
    sustain = (level > top - 6).float().mean(1)
    onsets = (level[:, 1:] - level[:, :-1]) > 6
    decays = []
    for b, f in onsets.nonzero().tolist():
        if f + 11 < level.shape[1]:
            decays.append(float(level[b, f + 11] - level[b, f + 1]))
    freqs = torch.linspace(0, rate / 2, spectrum.shape[1])
    centroid = (spectrum * freqs[None, :, None]).sum(1) / spectrum.sum(1).clamp_min(1e-8)
    loud = level > level.amax(1, keepdim=True) - 20
    return {"sustain": round(float(sustain.mean()), 3),
            "decay_db_200ms": round(float(torch.tensor(decays).median()), 1) if decays else None,
            "centroid_hz": round(float(centroid[loud].mean()), 0)}


def judged(bundle, waves: torch.Tensor, index: int) -> dict:
    """The judge's mean probability for instrument `index` and for the likeliest other one."""
    probs = bundle.audio_classifier(waves).softmax(-1).mean(0)
    other = int(probs.index_fill(0, torch.tensor([index]), -1.0).argmax())  # the likeliest other instrument
    return {"p_self": round(float(probs[index]), 3), "runner_up": bundle.instruments[other],
            "p_runner_up": round(float(probs[other]), 3)}


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--instruments", default="trumpet,piano")
    p.add_argument("--items", type=int, default=8)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--cfg", type=float, default=7.0)
    p.add_argument("--seconds", type=float, default=4.0)
    args = p.parse_args()
    bundle = load_bundle(args.model)
    rate, names = bundle.sample_rate, bundle.instruments
    frames = round(args.seconds * rate / bundle.codec.hop_length)
    held = held_out_items(0, 40 * len(names), args.seconds, len(names))
    sampler = SamplerConfig(steps=args.steps, cfg=args.cfg)
    rows = {}
    for name in args.instruments.split(","):
        index = names.index(name)
        real = held.waves[held.sources == index][: args.items].float()
        generated = bundle.codec.decode(generate_instrument(bundle, name, args.items, frames, sampler, seed=0))
        rows[name] = {"real": {**describe(real, rate), **judged(bundle, real, index), "items": real.shape[0]},
                      "generated": {**describe(generated, rate), **judged(bundle, generated, index)}}
    print(json.dumps({"model": args.model, "cfg": args.cfg, "steps": args.steps, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
