"""Pilot (issue 3, thirty-second session): how much of MI-inpaint's "voiced kept" is the playback level.

PESTO's voicing confidence is a network on the CQT's linear energy, so a frame's voicing depends on its absolute
level. This prints (1) PESTO's mean confidence for a clean harmonic tone at several peak levels, and (2) the share of
the source's voiced frames still voiced in MI-inpaint's edits at the bundle's defaults (120 held-out 4 s melodies,
decoded, level-matched over 0.05, 0.25 and 1 s, and as decoded) and in the renditions (the target instrument
playing the source's notes), with each pair tracked as rendered and with one gain per pair that puts the source's
sample peak at -20, -12, -6 and -1 dBFS. PESTO is called directly here, not through `pitch_contour`, so the
-1 dBFS row is an independent check of the product's listening level.
Usage: python benchmarks/pilots/voicing_level.py [--model default] [--items 120] [--first 0]
"""
import argparse
import json
import math

import torch

from timbre.analysis.edit_quality import edit_latents, held_out_items, level_matched
from timbre.corpus.dataset import SAMPLE_RATE
from timbre.edits import EditSpec, SamplerConfig
from timbre.metrics.pitch import STEP_MS, VOICED
from timbre.models.bundle import load_bundle

LEVELS_DBFS = (None, -20.0, -12.0, -6.0, -1.0)  # None: as rendered


def pesto_voiced(waves: torch.Tensor) -> torch.Tensor:
    import pesto

    return pesto.predict(waves.float(), SAMPLE_RATE, step_size=STEP_MS)[2].reshape(waves.shape[0], -1) > VOICED


def tone_confidence() -> dict:
    import pesto

    t = torch.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = sum(0.5 ** k * torch.sin(2 * math.pi * 220 * (k + 1) * t) for k in range(6))
    tone = tone / tone.abs().max()
    return {f"{db:g} dBFS": round(float(pesto.predict((tone * 10 ** (db / 20))[None], SAMPLE_RATE,
                                                       step_size=STEP_MS)[2][0, 10:-10].mean()), 3)
            for db in (0, -10, -20, -25, -30, -35, -40, -50)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--items", type=int, default=120)
    p.add_argument("--first", type=int, default=0)
    args = p.parse_args()
    print(json.dumps({"tone_mean_confidence_by_peak": tone_confidence()}), flush=True)
    bundle = load_bundle(args.model)
    items = held_out_items(0, args.items, 4.0, len(bundle.instruments), first=args.first)
    spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=16, cfg=2.0), k=0.75, clamp=1.0)
    with torch.no_grad():
        latents = edit_latents(bundle, items, spec, "raw", 0)
        decoded = torch.cat([bundle.codec.decode(c)[:, : items.waves.shape[1]] for c in latents.split(16)])
    outputs = {"rendition": items.renditions, "edit as decoded": decoded,
               **{f"edit, level over {w:g} s": level_matched(decoded, items.waves, SAMPLE_RATE, w)
                  for w in (1.0, 0.25, 0.05)}}
    peak = items.waves.abs().amax(-1, keepdim=True)
    for level in LEVELS_DBFS:
        gain = torch.ones_like(peak) if level is None else 10 ** (level / 20) / peak
        source = pesto_voiced(items.waves * gain)
        row = {"source peak": "as rendered" if level is None else f"{level:g} dBFS",
               "source voiced frames": int(source.sum())}
        for name, wave in outputs.items():
            row[name] = round(float((source & pesto_voiced(wave * gain)).sum() / source.sum()), 4)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
