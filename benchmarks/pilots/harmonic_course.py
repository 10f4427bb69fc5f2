"""Pilot (issue 3): which targets MI-inpaint misses on a harmonic-codec bundle, and whether the miss is in the
harmonic amplitudes' mean profile or in their course (how they move from frame to frame and note to note).

MI-inpaint (raw channels, structure clamped) edits held-out melodies; for each cfg the decoded harmonic profile
(harmonics 1-8, relative log amplitude, over the rendition's loud frames) is compared per target with the rendition's.
Then, at the last cfg, the edit's harmonic amplitudes are crossed with the rendition's, whole, held static per item
or per note (their mean over the loud frames) or split into a static part and a course, rendered on the source's
pitch with the edit's level and noise floor, and judged by the bundle's audio classifier per target; and the edit's
level and amplitudes are smoothed over 80 ms, to ask whether frame-to-frame flicker is what the judge hears.
Usage: python benchmarks/pilots/harmonic_course.py --model DIR [--items 120 --k 0.75 --cfgs 1,4
           --targets clarinet,oboe,trumpet]
"""
import argparse
import dataclasses
import json

import torch
import torch.nn.functional as F

from timbre.analysis.edit_quality import accuracy_by_target, edit_latents, held_out_items
from timbre.edits import EditSpec, SamplerConfig
from timbre.models.bundle import load_bundle

PROFILE_HARMONICS = 8
LOUD_NATS = 3.0  # a frame is loud within this many nats of its rendition's loudest frame
SMOOTH_FRAMES = 5  # STFT frames (80 ms) of the moving average that asks whether frame-to-frame flicker is the miss


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--items", type=int, default=120)
    p.add_argument("--k", type=float, default=0.75)
    p.add_argument("--cfgs", default="1,4", help="the profile is compared at each; the crossings run at the last")
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--targets", default="", help="comma-separated instruments asked for (default: every one)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    bundle = load_bundle(args.model)
    names, codec = bundle.instruments, bundle.codec
    every = held_out_items(0, args.items, 4.0, len(names))
    wanted = set(args.targets.split(",")) if args.targets else set(names)
    keep = torch.tensor([names[int(t)] in wanted for t in every.targets])
    items = dataclasses.replace(every, **{f.name: getattr(every, f.name)[keep] for f in dataclasses.fields(every)})
    length = items.waves.shape[1]

    def wave(hz, level, amplitudes, floor, stretch=None):
        magnitude = codec.log_magnitude_of(hz, level, amplitudes, floor, stretch).exp()
        return torch.cat([codec.waveform(m, length) for m in magnitude.split(16)])

    def judged(row: str, audio) -> None:
        predicted = bundle.audio_classifier(audio).argmax(-1)
        print(json.dumps({"row": row, "target_accuracy": round(float((predicted == items.targets).float().mean()), 3),
                          "by_target": {n: round(v, 2) for n, v in
                                        accuracy_by_target(names, items.targets, predicted).items()}}), flush=True)

    with torch.no_grad():
        rendition = codec.encode(items.renditions)
        cfgs = [float(v) for v in args.cfgs.split(",")]
        for cfg in cfgs:
            spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=args.steps, cfg=cfg), k=args.k, clamp=1.0)
            edited = edit_latents(bundle, items, spec, "raw", args.seed)
            hz, level, amplitudes, floor, stretch = codec.rendered_frames(edited)
            _, ref_level, ref_amplitudes, *_ = codec.rendered_frames(rendition[..., : edited.shape[-1]])
            loud = (ref_level > ref_level.amax(1, keepdim=True) - LOUD_NATS)[:, None].float()
            print(json.dumps({"cfg": cfg, **profile_rows(names, items.targets, amplitudes, ref_amplitudes, loud),
                              "mean_abs_frame_step": {"edit": step_size(amplitudes),
                                                      "rendition": step_size(ref_amplitudes)}}),
                  flush=True)

        crossings(judged, lambda *frames: wave(*frames, stretch), cfgs[-1], hz, level, amplitudes, floor,
                  ref_amplitudes, loud)


def crossings(judged, wave, cfg, hz, level, amplitudes, floor, ref_amplitudes, loud) -> None:
    """The last cfg's edit judged with its harmonic amplitudes smoothed, or crossed with the rendition's (rendered
    at the edit's stiffness, for a codec that reads one)."""
    def static(a):
        return ((a * loud).sum(-1, keepdim=True) / loud.sum(-1, keepdim=True).clamp_min(1)).expand_as(a)

    edit_static, ref_static = static(amplitudes), static(ref_amplitudes)
    judged(f"edit (cfg {cfg})", wave(hz, level, amplitudes, floor))
    judged(f"edit, level and amplitudes averaged over {SMOOTH_FRAMES} frames",
           wave(hz, smoothed(level), smoothed(amplitudes), floor))
    judged("rendition amplitudes", wave(hz, level, ref_amplitudes, floor))
    judged("rendition amplitudes held static per item", wave(hz, level, ref_static, floor))
    judged("rendition amplitudes held static per note", wave(hz, level, per_note(ref_amplitudes, hz, loud), floor))
    judged("edit amplitudes held static per item", wave(hz, level, edit_static, floor))
    judged("edit's static part, rendition's course", wave(hz, level, edit_static + ref_amplitudes - ref_static, floor))
    judged("rendition's static part, edit's course", wave(hz, level, ref_static + amplitudes - edit_static, floor))


def per_note(amplitudes, hz, loud):
    """(B, K, N) amplitudes replaced in each note by their mean over its loud frames; a note is a run of frames
    whose pitch stays within a quarter tone of the run's first frame (quiet frames kept as they are)."""
    out = amplitudes.clone()
    semitones = 12 * torch.log2(hz.clamp_min(1.0))
    for b in range(amplitudes.shape[0]):
        start = 0
        for n in range(1, hz.shape[1] + 1):
            if n == hz.shape[1] or (semitones[b, n] - semitones[b, start]).abs() > 0.5:
                weights = loud[b, 0, start:n]
                if float(weights.sum()) > 0:
                    mean = (amplitudes[b, :, start:n] * weights).sum(-1) / weights.sum()
                    out[b, :, start:n] = torch.where(weights.bool(), mean[:, None], amplitudes[b, :, start:n])
                start = n
    return out


def smoothed(x):
    """A centred moving average over SMOOTH_FRAMES STFT frames along the last axis (edges repeated)."""
    flat = x.reshape(-1, 1, x.shape[-1])
    flat = F.avg_pool1d(F.pad(flat, (SMOOTH_FRAMES // 2, SMOOTH_FRAMES // 2), mode="replicate"), SMOOTH_FRAMES, 1)
    return flat.reshape(x.shape)


def step_size(amplitudes) -> float:
    """Mean |change| of the relative harmonic log amplitudes from one STFT frame to the next."""
    return round(float((amplitudes[..., 1:] - amplitudes[..., :-1]).abs().mean()), 3)


def profile_rows(names, targets, amplitudes, ref_amplitudes, loud) -> dict:
    """Per target: the edit's mean profile of harmonics 1-8 over the loud frames, the rendition's, the RMS between,
    and the odd-minus-even harmonic level (a clarinet's mark) of each."""
    def profile(a, mask):
        a = a[mask, :PROFILE_HARMONICS]
        return (a * loud[mask]).sum((0, 2)) / loud[mask].sum()

    rows = {}
    for i, name in enumerate(names):
        mask = targets == i
        if not bool(mask.any()):
            continue
        edit, ref = profile(amplitudes, mask), profile(ref_amplitudes, mask)
        odd_even = lambda p: round(float(p[0::2].mean() - p[1::2].mean()), 2)  # noqa: E731
        rows[name] = {"rms": round(float((edit - ref).pow(2).mean().sqrt()), 2), "odd_even": odd_even(edit),
                      "rendition_odd_even": odd_even(ref)}
    return {"profile": rows}


if __name__ == "__main__":
    main()
