"""Pilot (issue 3): MI-inpaint on a finer grid of k (share of directions renoised as timbre), clamp (share of the
steps the structure is pinned for) and guidance than `timbre analyse tradeoff` sweeps, on the same held-out melodies
and scores (target accuracy, median cents, share within 50 cents, voiced frames kept).

The tradeoff's basis points straddle the issue's bars: k 0.5 clamp 0.5 reaches 60% target with 69% of frames within
50 cents, k 0.75 clamp 1 57% with 78%. This asks whether a point between meets both. A point picked on one item set
is confirmed on another (--first skips that many held-out melodies) before it is quoted.

--pinned N refits the timbre basis with the codec's first N raw channels kept whole as structure directions (the
spectral codec's channel 0 is the frame's overall level, which its decoder weighs 1,900 times the median channel):
the edits then keep the source's level course, which the voicing pilot found them losing.
--decode-ceiling HZ decodes a harmonic codec's edits with no harmonic rendered above HZ (the encoding unchanged): it
asks what the harmonics a bundle's DiT puts in the band above the corpus's partial ceiling cost the edits.
--cfg-rescales PHI rescales the guided estimate to the conditional one's spread by that share (Lin et al. 2024): does
guidance's exaggeration of a target's harmonic pattern cost the edits what guidance buys?
--hold-levels 0 1 edits without and with guidance that holds each frame's level at the conditional estimate's
(SamplerConfig.hold_level; a harmonic codec).
--regenerate CH [CH ...] moves those raw channels to the front of the channel ranking, so that a k raised by their
share regenerates them beside the same top channels (the harmonic codec's periodicity is channels 4 and 5: does
holding the source's periodicity keep a breathy target like the flute from being heard?).
Edits are scored with their level course made the source's over --level-window seconds (1, as the product writes
them; 0: as the model decodes them, as every figure before the twenty-fifth session was); --decode-ceiling's are
scored as decoded.
Usage: python benchmarks/pilots/mi_inpaint_grid.py [--space basis] [--ks 0.5 0.625 0.75] [--clamps 0.625 0.75 0.875]
       [--cfgs 4] [--cfg-rescales 0 0.7] [--hold-levels 0 1] [--level-window 1] [--items 40] [--first 0]
       [--pinned 0 1 4] [--decode-ceiling 7200] [--regenerate 4 5]
"""
import argparse
import copy
import dataclasses
import itertools
import json
import time

import torch

from timbre.analysis.channels import analyse_channels
from timbre.analysis.edit_quality import (edit_latents, edit_scores, held_out_items, run_edits,
                                          source_and_rendition_contours)
from timbre.analysis.frames import note_frames
from timbre.edits import EditSpec, SamplerConfig
from timbre.models.bundle import ModelBundle, load_bundle


def with_pinned_basis(bundle: ModelBundle, pinned: int, notes: int = 600) -> ModelBundle:
    """The bundle with its timbre basis refitted on the shipped analysis's notes, the first `pinned` raw channels
    kept whole and ranked last (pinned 0 gives the shipped basis back)."""
    seed = int(bundle.provenance.get("corpus_seed", 0))
    tensors = analyse_channels(note_frames(bundle.codec, seed, notes), pinned=tuple(range(pinned))).bundle_tensors()
    return dataclasses.replace(bundle, channel_basis=tensors["channel_basis"], basis_ranking=tensors["basis_ranking"])


def with_regenerated(bundle: ModelBundle, channels: list[int]) -> ModelBundle:
    """The bundle with `channels` moved to the front of its raw channel ranking, the rest in their order."""
    if not channels:
        return bundle
    ranking = bundle.channel_ranking.tolist()
    moved = [*channels, *(c for c in ranking if c not in channels)]
    return dataclasses.replace(bundle, channel_ranking=torch.tensor(moved, dtype=bundle.channel_ranking.dtype))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--space", default="basis", choices=("basis", "raw"))
    p.add_argument("--ks", type=float, nargs="+", default=[0.5, 0.625, 0.75])
    p.add_argument("--clamps", type=float, nargs="+", default=[0.625, 0.75, 0.875])
    p.add_argument("--cfgs", type=float, nargs="+", default=[4.0])
    p.add_argument("--cfg-rescales", type=float, nargs="+", default=[0.0])
    p.add_argument("--hold-levels", type=int, nargs="+", default=[0], choices=(0, 1))
    p.add_argument("--level-window", type=float, default=1.0)
    p.add_argument("--items", type=int, default=40)
    p.add_argument("--first", type=int, default=0, help="held-out melodies skipped (another item set)")
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--structure-cfgs", type=float, nargs="+", default=[None],
                   help="guidance on the structure part (default: the cfg, as on the timbre part)")
    p.add_argument("--pinned", type=int, nargs="+", default=[None],
                   help="refit the basis with the first N raw channels pinned as structure (default: the shipped basis)")
    p.add_argument("--decode-ceiling", type=float, default=0.0, help="harmonic codecs: no harmonic decoded above (Hz)")
    p.add_argument("--regenerate", type=int, nargs="+", default=[],
                   help="raw channels moved to the front of the ranking (raise --ks by their share)")
    args = p.parse_args()
    shipped = with_regenerated(load_bundle(args.model), args.regenerate)
    items = held_out_items(0, args.items, args.seconds, len(shipped.instruments), first=args.first)
    source, rendition = source_and_rendition_contours(items)
    for pinned in args.pinned:
        bundle = shipped if pinned is None else with_pinned_basis(shipped, pinned)
        if pinned is not None:
            drift = float((bundle.channel_basis - shipped.channel_basis).abs().max())
            print(json.dumps({"pinned": pinned, "basis_max_difference_from_shipped": round(drift, 6)}), flush=True)
        grid(args, bundle, items, source, rendition, pinned)


def rounded(value):
    """Scores to four places, inside the per-instrument dictionaries too."""
    if isinstance(value, dict):
        return {key: rounded(v) for key, v in value.items()}
    return round(value, 4) if isinstance(value, float) else value  # 4 places: a 0.8997 must not read 0.9


def grid(args, bundle: ModelBundle, items, source, rendition, pinned: int | None) -> None:
    """One line of scores per (cfg, rescale, k, clamp)."""
    for cfg, rescale, hold in itertools.product(args.cfgs, args.cfg_rescales, args.hold_levels):
        for k in args.ks:
            for clamp, structure_cfg in itertools.product(args.clamps, args.structure_cfgs):
                start = time.perf_counter()
                sampler = SamplerConfig(steps=args.steps, cfg=cfg, cfg_rescale=rescale, hold_level=bool(hold))
                spec = EditSpec.build("mi-inpaint", sampler, k=k, clamp=clamp, structure_cfg=structure_cfg)
                with torch.no_grad():
                    edited = run_edits(bundle, items, spec, args.space, args.seed, level_seconds=args.level_window) \
                        if not args.decode_ceiling else \
                        decoded_below(bundle, edit_latents(bundle, items, spec, args.space, args.seed),
                                      args.decode_ceiling, items.waves.shape[1])
                scores = edit_scores(bundle, items, edited, source, rendition)
                print(json.dumps({"space": args.space, "pinned": pinned, "k": k, "clamp": clamp, "cfg": cfg,
                                  **({"cfg_rescale": rescale} if rescale else {}),
                                  **({"hold_level": True} if hold else {}),
                                  **({} if args.decode_ceiling else {"level_window": args.level_window}),
                                  **({"decode_ceiling": args.decode_ceiling} if args.decode_ceiling else {}),
                                  "structure_cfg": structure_cfg, "first": args.first,
                                  **({"regenerate": args.regenerate} if args.regenerate else {}),
                                  **{name: rounded(v) for name, v in scores.items()},
                                  "seconds": round(time.perf_counter() - start, 1)}), flush=True)


def decoded_below(bundle: ModelBundle, latents, ceiling_hz: float, length: int):
    """Latents decoded by a copy of the bundle's harmonic codec that renders no harmonic above ceiling_hz."""
    codec = copy.deepcopy(bundle.codec)
    codec.config = dataclasses.replace(codec.config, harmonic_ceiling_hz=ceiling_hz)
    return torch.cat([codec.decode(chunk)[:, :length] for chunk in latents.split(16)])


if __name__ == "__main__":
    main()
