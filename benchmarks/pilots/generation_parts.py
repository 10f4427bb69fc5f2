"""Pilot (issue 3): is a harmonic-line bundle's generation short of the bar in the structure it generates or in the
timbre it fills in?

For each instrument, `--items` clips of 4 s, judged by the bundle's audio classifier, each row also described as
`note_course` describes audio (sustain, decay after onsets, centroid):
- real: held-out stems of the instrument (the judge's own ceiling);
- codec: the same stems through the codec (the ceiling of anything the DiT makes);
- own structure: their structure channels (pitch, onsets, periodicity) kept and the timbre channels refilled under
  the instrument's prompt (RePaint-style, as `--structure-first` refills);
- other structure: the same refill on the structure of held-out stems of the other instruments;
- generated: whole latents generated from the prompt, as `timbre analyse generation` makes them;
- generated, refilled: the generated structure kept and the timbre refilled (`--structure-first`);
- structure at cfg S, refilled: the structure generated at guidance S (`--structure-cfgs`), the timbre refilled at
  `--cfg`, to ask whether guidance bends the structure it generates;
- generated, pitch steadied, refilled (`--steady-window W`): the generated pitch median-filtered over W STFT frames
  and rounded to the nearest semitone, onsets and periodicity as generated, the timbre refilled: is the generated
  pitch's wander from frame to frame what the judge misses?
Every row that has latents also describes their structure channels: the voiced share (periodicity above the
tracker's 0.3), the median and 10th-90th percentile pitch of voiced frames (MIDI), pitch changes of more than half a
semitone between neighbouring voiced frames per second, the median distance of voiced frames from the semitone grid
(cents), and level rises of more than half a nat per second (frames where the onset channel exceeds half a nat and
rises from the frame before: the same count for a held onset feature, `onset_hold_s`).
If the refills on real structure are heard as the instrument and the generated rows are not, the generated structure
is what the judge misses; if the own-structure row beats the other-structure row, the instrument lives partly in its
structure (a struck note's onsets and periodicity course).
Usage: python benchmarks/pilots/generation_parts.py --model DIR [--items 10 --cfg 4 --steps 16 --structure-cfgs 1,2
           --skip-real-refills --steady-window 9]
"""
import argparse
import json
import time
from dataclasses import replace

import torch
import torch.nn.functional as F

from timbre.analysis.edit_quality import held_out_items
from timbre.analysis.generation import generate_instrument, judged_counts, structure_mask
from timbre.corpus.prompts import canonical_prompt
from timbre.edits.base import SamplerConfig
from timbre.edits.refill import refill
from timbre.models.bundle import load_bundle
from timbre.randomness import item_generators

from note_course import describe


VOICING = 0.3  # the pitch tracker's periodicity threshold
ONSET_NATS = 0.5


def describe_structure(codec, latents: torch.Tensor, seconds: float) -> dict:
    """What the structure channels of latents (B, C, T) say, per STFT frame (see the module docstring)."""
    octaves, onset, periodicity = codec.structure_frames(latents).unbind(1)
    midi = 60 + 12 * octaves
    voiced = periodicity > VOICING
    both = voiced[:, 1:] & voiced[:, :-1]
    step = (midi[:, 1:] - midi[:, :-1]).abs()[both]
    pitches = midi[voiced]
    items = latents.shape[0]
    if not pitches.numel():
        return {"voiced": 0.0}
    return {"voiced": round(float(voiced.float().mean()), 3),
            "midi_median": round(float(pitches.median()), 1),
            "midi_10_90": [round(float(pitches.quantile(q)), 1) for q in (0.1, 0.9)],
            "changes_per_s": round(float((step > 0.5).sum()) / (items * seconds), 2),
            "cents_off_grid": round(float((100 * (pitches - pitches.round())).abs().median()), 1),
            "onsets_per_s": round(float(rising_onsets(onset).sum()) / (items * seconds), 2)}


def rising_onsets(onset: torch.Tensor) -> torch.Tensor:
    """(B, N) onset feature -> frames where it exceeds ONSET_NATS and rises from the frame before: a level rise, for
    the feature as each frame's own rise or as a held rise that releases over the frames after it."""
    previous = torch.cat([torch.zeros_like(onset[:, :1]), onset[:, :-1]], dim=1)
    return (onset > ONSET_NATS) & (onset > previous)


def steadied_pitch(codec, latents: torch.Tensor, window: int) -> torch.Tensor:
    """Latents (B, C, T) with the pitch their structure channels hold median-filtered over `window` STFT frames
    (odd) and rounded to the nearest semitone; every other channel unchanged."""
    features = codec.structure_frames(latents)
    padded = F.pad(features[:, :1], (window // 2, window // 2), mode="replicate")
    midi = (60 + 12 * padded.unfold(-1, window, 1).median(-1).values).round()
    features = torch.cat([(midi - 60) / 12, features[:, 1:]], dim=1)
    out = latents.clone()
    out[:, : codec.structure_channels] = codec.structure_latents(codec.stack_frames(features))
    return out


def row(bundle, waves: torch.Tensor, index: int, latents: torch.Tensor | None, seconds: float) -> dict:
    """The judge's share for instrument `index` and what the clips are heard as, with their note course and, given
    their latents, what their structure channels say."""
    heard_as = judged_counts(bundle.audio_classifier(waves).argmax(-1), bundle.instruments)
    out = {"accuracy": round(heard_as.get(bundle.instruments[index], 0) / waves.shape[0], 3),
           "heard_as": heard_as, **describe(waves, bundle.sample_rate)}
    if latents is not None:
        out["structure"] = describe_structure(bundle.codec, latents, seconds)
    return out


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--items", type=int, default=10)
    p.add_argument("--cfg", type=float, default=4.0)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--instruments", default="", help="comma-separated (default: every one)")
    p.add_argument("--structure-cfgs", default="", help="comma-separated guidance scales for the structure")
    p.add_argument("--steady-window", type=int, default=0, help="odd STFT frames: also the steadied-pitch row")
    p.add_argument("--skip-real-refills", action="store_true", help="leave out the refills on real structure")
    args = p.parse_args()
    bundle = load_bundle(args.model)
    names = bundle.instruments
    keep = structure_mask(bundle)
    if keep is None:
        raise SystemExit(f"{args.model}: needs a codec with structure channels and an inpainting denoiser")
    sampler = SamplerConfig(steps=args.steps, cfg=args.cfg)
    frames = round(args.seconds * bundle.sample_rate / bundle.codec.hop_length)
    held = held_out_items(0, 40 * len(names), args.seconds, len(names))
    model = bundle.edit_model()
    rows, totals = {}, {}
    chosen = args.instruments.split(",") if args.instruments else names
    started = time.time()
    for name in chosen:
        index = names.index(name)
        cond = bundle.conditioner.embed_text([canonical_prompt(name)]).expand(args.items, -1)
        real = held.waves[held.sources == index][: args.items].float()
        other = held.waves[held.sources != index][: args.items].float()
        ids = [f"{name}#{i}" for i in range(args.items)]
        real_latents = bundle.codec.encode(real)
        parts = {"real": (real, real_latents), "codec": (bundle.codec.decode(real_latents), None)}
        if not args.skip_real_refills:
            for label, structure in (("own structure", real_latents), ("other structure", bundle.codec.encode(other))):
                refilled = refill(model, sampler, structure, keep, cond, item_generators(1, ids))
                parts[label] = (bundle.codec.decode(refilled), refilled)
        for label, first in (("generated", False), ("generated, refilled", True)):
            latents = generate_instrument(bundle, name, args.items, frames, sampler, 0, first)
            parts[label] = (bundle.codec.decode(latents), latents)
            if args.steady_window and not first:
                steady = steadied_pitch(bundle.codec, latents, args.steady_window)
                latents = refill(model, sampler, steady, keep, cond, item_generators(3, ids))
                parts["generated, pitch steadied, refilled"] = (bundle.codec.decode(latents), latents)
        for s in [float(v) for v in args.structure_cfgs.split(",") if v]:
            structure = generate_instrument(bundle, name, args.items, frames, replace(sampler, cfg=s), 0)
            latents = refill(model, sampler, structure, keep, cond, item_generators(2, ids))
            parts[f"structure at cfg {s:g}, refilled"] = (bundle.codec.decode(latents), latents)
        rows[name] = {label: row(bundle, waves, index, latents, args.seconds)
                      for label, (waves, latents) in parts.items()}
        for label, r in rows[name].items():
            totals.setdefault(label, []).append(r["accuracy"])
    mean = {label: round(sum(v) / len(v), 3) for label, v in totals.items()}
    print(json.dumps({"model": args.model, "cfg": args.cfg, "steps": args.steps, "items_each": args.items,
                      "accuracy": mean, "rows": rows, "seconds": round(time.time() - started)}, indent=1))


if __name__ == "__main__":
    main()
