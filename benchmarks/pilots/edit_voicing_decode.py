"""Pilot (issue 3): where MI-inpaint's edits lose their voiced frames: in the magnitudes the DiT makes, or in the
phase Griffin-Lim gives them. The same edited latents are decoded four ways and scored alike (target accuracy, pitch
agreement with the source, voiced frames kept):
  gl-48          the codec's own decode: 48 fast Griffin-Lim iterations from zero phase
  gl-256         256 iterations from zero phase (is the phase recovery unfinished?)
  source-phase   the source's own STFT phase, 48 iterations from it (an oracle: the edit keeps the source's notes)
  source-phase-0 the source's phase as it is, no iteration
The source's and the rendition's codec round trips, decoded the codec's way, come first for reference. Then, for the
codec's own decode, where the lost frames are (voiced in the source and the rendition, not in the edit): the edit's
level there against the rendition's, PESTO's confidence there, the share kept per target instrument, and where in
the source's voiced runs the source's lost frames lie (their first and last 50 ms, or between). A harmonic codec
decodes only its own way: give it `--decodes gl-48`. --first skips that many held-out melodies (another item set).
--pinned N refits the timbre basis with the codec's first N raw channels (its level) kept as structure, as
`mi_inpaint_grid.py --pinned` does. The edits are scored with their level course made the source's over
--level-window seconds (1, as the product writes them; 0: as decoded, as every run before the twenty-fifth session);
--hold-level edits with guidance that holds the level (a harmonic codec).
Usage: python benchmarks/pilots/edit_voicing_decode.py [--items 40] [--k 0.5] [--clamp 0.5] [--cfg 4] [--pinned 1]
       [--level-window 1] [--hold-level]
"""
import argparse
import json

import torch
import torch.nn.functional as F

from mi_inpaint_grid import with_pinned_basis

from timbre.analysis.edit_quality import (edit_latents, edit_scores, held_out_items, level_matched,
                                          source_and_rendition_contours)
from timbre.edits import EditSpec, SamplerConfig
from timbre.metrics.pitch import pitch_contour
from timbre.models.bundle import load_bundle
from timbre.models.codec import griffin_lim


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--items", type=int, default=40)
    p.add_argument("--k", type=float, default=0.5)
    p.add_argument("--clamp", type=float, default=0.5)
    p.add_argument("--cfg", type=float, default=4.0)
    p.add_argument("--space", default="basis")
    p.add_argument("--first", type=int, default=0, help="held-out melodies skipped (another item set)")
    p.add_argument("--decodes", nargs="+", default=["gl-48", "gl-256", "source-phase", "source-phase-0"])
    p.add_argument("--pinned", type=int, default=None, help="the first N raw channels pinned as structure")
    p.add_argument("--level-window", type=float, default=1.0)
    p.add_argument("--hold-level", action="store_true")
    args = p.parse_args()
    bundle = load_bundle(args.model)
    if args.pinned is not None:
        bundle = with_pinned_basis(bundle, args.pinned)
    codec, c = bundle.codec, bundle.codec.config
    items = held_out_items(0, args.items, 4.0, len(bundle.instruments), first=args.first)
    length = items.waves.shape[1]
    source, rendition = source_and_rendition_contours(items)

    def as_written(waves: torch.Tensor) -> torch.Tensor:
        """Edits (N, >= length) cut to the items' length, their level course the source's as the product writes it."""
        return level_matched(waves[:, :length], items.waves, bundle.sample_rate, args.level_window)

    def report(name: str, waves: torch.Tensor) -> None:
        scores = edit_scores(bundle, items, waves[:, :length], source, rendition)
        print(json.dumps({"decode": name, **{k: round(v, 3) if isinstance(v, float) else v
                                             for k, v in scores.items()}}), flush=True)

    with torch.no_grad():
        for name, waves in (("source round trip", items.waves), ("rendition round trip", items.renditions)):
            report(name, codec.decode(codec.encode(waves)))
        sampler = SamplerConfig(steps=16, cfg=args.cfg, hold_level=args.hold_level)
        spec = EditSpec.build("mi-inpaint", sampler, k=args.k, clamp=args.clamp)
        latents = edit_latents(bundle, items, spec, args.space, 0)
        own = as_written(codec.decode(latents))  # gl-48: the codec's own decode, where the lost frames are sought
        if "gl-48" in args.decodes:
            report("gl-48", own)
        if set(args.decodes) - {"gl-48"}:  # spectral codecs only: they decode a log magnitude by Griffin-Lim
            magnitude = codec.decode_log_magnitude(latents).float().clamp(max=10.0).exp()
            spectrum = codec.spectrum(items.waves)[..., : magnitude.shape[-1]]
            angles = spectrum / spectrum.abs().clamp_min(1e-16)  # the source's phase, framed as the codec frames it
            total = latents.shape[-1] * codec.hop_length
            for name, iters, start in (("gl-256", 256, None), ("source-phase", c.griffin_lim_iters, angles),
                                       ("source-phase-0", 0, angles)):
                if name in args.decodes:
                    report(name, as_written(griffin_lim(magnitude, c.n_fft, c.stft_hop, total, iters, angles=start)))
        where_lost(bundle, items, own[:, :length], source, rendition)


def frame_level_db(waves: torch.Tensor, frames: int, hop: int) -> torch.Tensor:
    """(N, frames) RMS level in dB of consecutive `hop`-sample frames (PESTO's 10 ms contour frames)."""
    cut = waves[:, : frames * hop].reshape(waves.shape[0], -1, hop)
    level = 10 * torch.log10(cut.pow(2).mean(-1).clamp_min(1e-10))
    return F.pad(level, (0, frames - level.shape[1]), value=-100.0)


def frame_spectra_db(waves: torch.Tensor, frames: int, hop: int, n_fft: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, frames) each: the geometric-mean power of each `hop`-sample frame's spectrum in dB (the level of its
    log spectrum, what a log-magnitude codec's level channel tracks) and its spectral flatness in dB (geometric over
    arithmetic mean power: 0 for white noise, far below 0 for a few harmonic peaks)."""
    window = torch.hann_window(n_fft)
    power = torch.stft(waves.float(), n_fft, hop, window=window, return_complex=True).abs().pow(2).clamp_min(1e-12)
    power = power[..., :frames]
    geometric = 10 * power.log10().mean(1)
    flatness = geometric - 10 * power.mean(1).log10()
    pad = frames - geometric.shape[1]
    return F.pad(geometric, (0, pad), value=-120.0), F.pad(flatness, (0, pad), value=0.0)


def run_positions(voiced: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, frames) each: frames since the voiced run a frame belongs to began, and frames until it ends (0 on its
    first and last frame; meaningless on unvoiced frames)."""
    index = torch.arange(voiced.shape[1]).expand_as(voiced)
    since = index - torch.where(~voiced, index, torch.full_like(index, -1)).cummax(1).values - 1
    flipped = voiced.flip(1)
    until = (index - torch.where(~flipped, index, torch.full_like(index, -1)).cummax(1).values - 1).flip(1)
    return since, until


def lost_by_position(source_voiced: torch.Tensor, kept: torch.Tensor, edge: int = 5) -> dict:
    """Share of the source's voiced frames kept, and the share of the lost ones, in the first and last `edge` frames
    of each of the source's voiced runs (its notes' onsets and ends) and between them."""
    since, until = run_positions(source_voiced)
    parts = {"onset": source_voiced & (since < edge), "end": source_voiced & (until < edge) & (since >= edge),
             "body": source_voiced & (since >= edge) & (until >= edge)}
    lost = source_voiced & ~kept
    return {name: {"kept": round(float((kept & part).sum() / part.sum().clamp_min(1)), 3),
                   "share_of_lost": round(float((lost & part).sum() / lost.sum().clamp_min(1)), 3)}
            for name, part in parts.items()}


def where_lost(bundle, items, edited: torch.Tensor, source, rendition) -> None:
    """The edit's level and PESTO confidence on the frames it loses, against the frames it keeps."""
    output = pitch_contour(edited, bundle.sample_rate, reference=items.waves)
    frames = min(source.voiced.shape[1], output.voiced.shape[1], rendition.voiced.shape[1])
    expected = (source.voiced & rendition.voiced)[:, :frames]
    kept, lost = expected & output.voiced[:, :frames], expected & ~output.voiced[:, :frames]
    hop = bundle.sample_rate // 100
    edited_db = frame_level_db(edited, frames, hop)
    gap = edited_db - frame_level_db(items.renditions, frames, hop)
    below_source = edited_db - frame_level_db(items.waves, frames, hop)
    confidence = output.confidence[:, :frames]
    spectra = {name: frame_spectra_db(w, frames, hop) for name, w in
               (("edit", edited), ("source", items.waves), ("rendition", items.renditions))}
    per_target = {bundle.instruments[t]: round(float(kept[items.targets == t].sum() / expected[items.targets == t]
                                                    .sum().clamp_min(1)), 2) for t in items.targets.unique().tolist()}
    print(json.dumps({
        "lost_frames": int(lost.sum()), "kept_frames": int(kept.sum()),
        "level_vs_rendition_db_median": {"lost": round(float(gap[lost].median()), 1),
                                         "kept": round(float(gap[kept].median()), 1)},
        "lost_share_20db_below_rendition": round(float((gap[lost] < -20).float().mean()), 3),
        "level_vs_source_db_median": {"lost": round(float(below_source[lost].median()), 1),
                                      "kept": round(float(below_source[kept].median()), 1)},
        "log_spectrum_level_vs_source_db_median": {
            part: round(float((spectra["edit"][0] - spectra["source"][0])[where].median()), 1)
            for part, where in (("lost", lost), ("kept", kept))},
        "flatness_db_median_on_lost": {name: round(float(spectra[name][1][lost].median()), 1) for name in spectra},
        "flatness_db_median_on_kept": {name: round(float(spectra[name][1][kept].median()), 1) for name in spectra},
        "confidence_median": {"lost": round(float(confidence[lost].median()), 3),
                              "kept": round(float(confidence[kept].median()), 3)},
        "kept_per_target": per_target,
        "source_voiced_lost_where_rendition_unvoiced": round(float(
            (source.voiced[:, :frames] & ~output.voiced[:, :frames] & ~rendition.voiced[:, :frames]).sum()
            / (source.voiced[:, :frames] & ~output.voiced[:, :frames]).sum().clamp_min(1)), 3),
        "by_position_in_source_note": lost_by_position(source.voiced[:, :frames], output.voiced[:, :frames])}),
        flush=True)


if __name__ == "__main__":
    main()
