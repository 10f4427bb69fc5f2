"""Pilot (issue 3): why each note of a harmonic-codec edit seemed to need its own harmonic profile.

The renditions of held-out melodies (the target instrument playing them, as `held_out_items` pairs them) are read by
the harmonic codec's analysis (no learned channels) and rendered back with their relative harmonic amplitudes held
static per note or per item (their mean over the item's loud frames), judged per target by the shipped audio
classifier. Three readings of a failure to hold static per item are asked apart:
- the per-note draws of each instrument's parameters: the same rows on renditions whose instruments draw none (every
  range at its midpoint);
- a resonance fixed in Hz that falls on other harmonic numbers at every note: a smooth envelope over log frequency
  (knots `--per-octave`, penalised least squares) held static in Hz, with the pattern by harmonic number it leaves;
- the band edge: the corpus synthesises no partial above 0.45 of the rate (7.2 kHz), while the codec reads harmonics
  up to 2 bins below Nyquist, so in 7.2-8 kHz it reads the noise floor into whichever harmonic numbers a note's pitch
  puts there; held static per item, those readings mix with real harmonics of other notes. The rows with the
  harmonics above the partial ceiling left to the noise floor ask this.
Usage: python benchmarks/pilots/harmonic_hold.py [--items 120 --seconds 4 --per-octave 3 --smoothness 30]
"""
import argparse
import dataclasses
import json

import numpy as np
import torch
from torch import Tensor

from timbre.analysis.edit_quality import accuracy_by_target, held_out_pairs
from timbre.corpus.dataset import SAMPLE_RATE, draw_voices, item_rng, stem_example
from timbre.corpus.instruments import INSTRUMENTS, INSTRUMENT_NAMES
from timbre.corpus.melody import random_melody
from timbre.corpus.synth import PARTIAL_CEILING, render_note
from timbre.models.bundle import load_bundle
from timbre.models.harmonic_codec import ABSENT_HARMONIC, HarmonicCodec, HarmonicCodecConfig

LOUD_NATS = 3.0  # a frame is loud within this many nats of its item's loudest frame


def fixed(inst):
    """The instrument with every per-note parameter range collapsed to its midpoint."""
    def mid(r):
        return (0.5 * (r[0] + r[1]),) * 2

    ranges = {f.name: mid(getattr(inst, f.name)) for f in dataclasses.fields(inst)
              if isinstance(getattr(inst, f.name), tuple) and len(getattr(inst, f.name)) == 2
              and all(isinstance(v, float | int) for v in getattr(inst, f.name))}
    return dataclasses.replace(inst, **ranges, formants=tuple((mid(r), gain) for r, gain in inst.formants),
                               drawbars=tuple(mid(r) for r in inst.drawbars))


def renditions(count: int, seconds: float, draws: bool) -> tuple[Tensor, Tensor]:
    """Targets (N,) and renditions (N, S) of the first `count` monophonic test stems, as held_out_items pairs them;
    without `draws`, each rendered by its target instrument at the midpoint of every parameter range."""
    samples, targets, waves = int(seconds * SAMPLE_RATE), [], []
    for index, _, target in held_out_pairs(0, count, len(INSTRUMENTS)):
        if draws:
            wave = stem_example(0, "test", index, instrument=target).audio[:samples]
        else:
            rng = item_rng(0, "test", "stem", index)
            draw_voices(rng)  # as stem_example draws them first
            notes, inst, wave = random_melody(rng, 10.0, 1), fixed(INSTRUMENTS[target]), np.zeros(samples, np.float32)
            for note in notes:
                start = int(round(note.onset * SAMPLE_RATE))
                if start < samples:
                    audio = render_note(inst, note.pitch, note.velocity, note.duration, rng)[: samples - start]
                    wave[start: start + len(audio)] += audio
        targets.append(target)
        waves.append(wave)
    return torch.tensor(targets), torch.from_numpy(np.stack(waves))


def held(x: Tensor, groups: Tensor, valid: Tensor | None = None) -> Tensor:
    """(B, D, N) values replaced within each group (B, N) of frames (ids >= 0) by their mean there, over the entries
    `valid` (B, D, N) marks (all by default); an entry with no valid one in its group is kept."""
    valid = torch.ones_like(x, dtype=torch.bool) if valid is None else valid
    out = x.clone()
    for b in range(x.shape[0]):
        for g in groups[b].unique():
            if g >= 0:
                cols = groups[b] == g
                weight = valid[b][:, cols].float()
                mean = (x[b][:, cols] * weight).sum(-1, keepdim=True) / weight.sum(-1, keepdim=True).clamp_min(1)
                out[b][:, cols] = torch.where(weight.sum(-1, keepdim=True) > 0, mean, x[b][:, cols])
    return out


def note_ids(hz: Tensor, loud: Tensor) -> Tensor:
    """(B, N) ids of notes (runs of loud frames within a quarter tone of the run's first), -1 for quiet frames."""
    ids = torch.full_like(hz, -1, dtype=torch.long)
    semitones = 12 * torch.log2(hz.clamp_min(1.0))
    for b in range(hz.shape[0]):
        note, start = 0, None
        for n in range(hz.shape[1]):
            if not loud[b, n]:
                start = None
                continue
            if start is None or (semitones[b, n] - semitones[b, start]).abs() > 0.5:
                note, start = note + 1, n
            ids[b, n] = note
    return ids


def hat_weights(hz: Tensor, knots: Tensor) -> Tensor:
    """(...) Hz -> (..., G) piecewise-linear weights on evenly spaced log2-Hz knots, the end knots held beyond."""
    x = torch.log2(hz.clamp_min(1e-6)).clamp(float(knots[0]), float(knots[-1]))
    return (1 - (x[..., None] - knots).abs() / (knots[1] - knots[0])).clamp_min(0)


def fit_envelope(amplitudes: Tensor, harmonic_hz: Tensor, present: Tensor, knots: Tensor, smoothness: float) -> Tensor:
    """(B, K, N) log amplitudes at (B, K, N) Hz -> the (B, G, N) envelope on the knots fitting the present harmonics
    in least squares, plus smoothness times the squared steps between neighbouring knots."""
    hat = hat_weights(harmonic_hz.transpose(1, 2).double(), knots.double())  # (B, N, K, G)
    weighted = hat * present.transpose(1, 2).double()[..., None]
    step = torch.diff(torch.eye(len(knots), dtype=torch.float64), dim=0)
    normal = weighted.transpose(-1, -2) @ hat + smoothness * step.T @ step + 1e-6 * torch.eye(len(knots))
    rhs = weighted.transpose(-1, -2) @ amplitudes.transpose(1, 2).double()[..., None]
    return torch.linalg.solve(normal, rhs)[..., 0].transpose(1, 2).float()


def envelope_at(envelope: Tensor, harmonic_hz: Tensor, knots: Tensor) -> Tensor:
    """A (B, G, N) envelope read at (B, K, N) Hz."""
    return torch.einsum("bkng,bgn->bkn", hat_weights(harmonic_hz, knots), envelope)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=120)
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--per-octave", type=float, default=3.0)
    p.add_argument("--smoothness", type=float, default=30.0)
    args = p.parse_args()
    judge = load_bundle("default").audio_classifier
    codec = HarmonicCodec(HarmonicCodecConfig())
    ceiling = HarmonicCodec(HarmonicCodecConfig(harmonic_ceiling_hz=PARTIAL_CEILING * SAMPLE_RATE))
    octaves = float(np.log2(8000.0 / 50.0))
    knots = float(np.log2(50.0)) + torch.arange(int(np.ceil(octaves * args.per_octave)) + 1) / args.per_octave
    for draws in (True, False):
        targets, waves = renditions(args.items, args.seconds, draws)
        with torch.no_grad():
            f = codec.analyse(codec.log_magnitude(waves))
            loud = f.level > f.level.amax(1, keepdim=True) - LOUD_NATS
            item, notes = torch.where(loud, 0, -1), note_ids(f.hz, loud)
            a = f.amplitudes
            harmonic_hz = torch.arange(1, a.shape[1] + 1)[None, :, None] * f.hz[:, None]
            present = a > ABSENT_HARMONIC
            below = ceiling.audible(ceiling.harmonic_positions(f.hz))
            envelope = fit_envelope(a, harmonic_hz, present, knots, args.smoothness)
            pattern = a - envelope_at(envelope, harmonic_hz, knots)

            def on_grid(env, pat):
                return torch.where(present, envelope_at(env, harmonic_hz, knots) + pat, ABSENT_HARMONIC)

            rows = {
                "as analysed": a,
                "static per note": held(a, notes),
                "static per item": held(a, item),
                "as analysed, none above the partial ceiling": torch.where(below, a, ABSENT_HARMONIC),
                "static per item, none above the partial ceiling": torch.where(below, held(a, item, below),
                                                                               ABSENT_HARMONIC),
                "envelope static per item in Hz, pattern as analysed": on_grid(held(envelope, item), pattern),
                "envelope as analysed, pattern static per item": on_grid(envelope, held(pattern, item, present)),
            }
            for row, amplitudes in rows.items():
                magnitude = codec.log_magnitude_of(f.hz, f.level, amplitudes, f.floor).exp()
                audio = torch.cat([codec.waveform(m, m.shape[-1] * codec.config.stft_hop) for m in magnitude.split(16)])
                predicted = judge(audio).argmax(-1)
                print(json.dumps({"per_note_draws": draws, "row": row,
                                  "target_accuracy": round(float((predicted == targets).float().mean()), 3),
                                  "by_target": {n: round(v, 2) for n, v in accuracy_by_target(
                                      list(INSTRUMENT_NAMES), targets, predicted).items()}}), flush=True)


if __name__ == "__main__":
    main()
