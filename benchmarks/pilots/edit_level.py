"""Pilot: how far an edit's level strays from its source's, and what matching its level course (`timbre.level`, as
every edit through `edit_clips` now is) does to the level and to the edit's scores.

MI-inpaint edits of the held-out melodies, scored as `mi_inpaint_grid.py` scores them (target accuracy, pitch within
50 cents, voiced frames kept), once as the model decodes them and once with their level course matched over
`--window` seconds. For each: the median over items of the median |edit - source| level-course difference in dB on
the source's active frames, the items whose peak passes full scale (clipped when written as 16-bit PCM) and the
median difference of the whole clip's RMS level.
--hold-level edits with guidance that holds the level the codec reads (SamplerConfig.hold_level; a harmonic codec).
Usage: python benchmarks/pilots/edit_level.py [--model default] [--space basis] [--k 0.5] [--clamp 0.5] [--cfg 4]
       [--items 120] [--window 1.0] [--hold-level]
"""
import argparse
import json
import time

import numpy as np
import torch

from timbre.analysis.edit_quality import (edit_scores, held_out_items, level_matched, run_edits,
                                          source_and_rendition_contours)
from timbre.edits import EditSpec, SamplerConfig
from timbre.level import ACTIVE_DB, level_course_db
from timbre.models.bundle import load_bundle


def level_facts(edited: np.ndarray, source: np.ndarray, rate: int, window: float) -> dict:
    """Level-course error, clipping and whole-clip level difference of (N, samples) edits against their sources."""
    wanted, got = level_course_db(source, rate, window), level_course_db(edited, rate, window)  # items as channels
    errors = [float(np.median(np.abs(g - w)[w > ACTIVE_DB])) for g, w in zip(got, wanted)]
    rms = lambda w: 10 * np.log10(np.maximum((w ** 2).mean(-1), 1e-12))  # noqa: E731
    return {"level_course_error_db_median": round(float(np.median(errors)), 1),
            "level_course_error_db_max": round(float(np.max(errors)), 1),
            "items_past_full_scale": int((np.abs(edited).max(-1) > 1).sum()),
            "clip_level_minus_source_db_median": round(float(np.median(rms(edited) - rms(source))), 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--space", default="basis", choices=("basis", "raw"))
    p.add_argument("--k", type=float, default=0.5)
    p.add_argument("--clamp", type=float, default=0.5)
    p.add_argument("--cfg", type=float, default=4.0)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--items", type=int, default=120)
    p.add_argument("--window", type=float, default=1.0)
    p.add_argument("--max-boost-db", type=float, default=24.0)
    p.add_argument("--hold-level", action="store_true")
    args = p.parse_args()
    bundle = load_bundle(args.model)
    rate = bundle.sample_rate
    items = held_out_items(0, args.items, 4.0, len(bundle.instruments))
    source, rendition = source_and_rendition_contours(items)
    start = time.perf_counter()
    sampler = SamplerConfig(steps=args.steps, cfg=args.cfg, hold_level=args.hold_level)
    spec = EditSpec.build("mi-inpaint", sampler, k=args.k, clamp=args.clamp)
    with torch.no_grad():
        edited = run_edits(bundle, items, spec, args.space, 0, level_seconds=0).numpy()
    waves = items.waves.numpy()
    matched = level_matched(torch.from_numpy(edited), items.waves, rate, args.window, args.max_boost_db).numpy()
    for name, out in (("model's level", edited), ("level course matched", matched)):
        scores = edit_scores(bundle, items, torch.from_numpy(out), source, rendition)
        print(json.dumps({"model": args.model, "space": args.space, "k": args.k, "clamp": args.clamp, "cfg": args.cfg,
                          **({"hold_level": True} if args.hold_level else {}), "window": args.window, "output": name,
                          **level_facts(out, waves, rate, args.window),
                          **{key: round(scores[key], 3) for key in ("target_accuracy", "pitch_median_cents",
                                                                    "pitch_within_50_cents", "pitch_voiced_kept")},
                          "seconds": round(time.perf_counter() - start, 1)}), flush=True)


if __name__ == "__main__":
    main()
