"""Pilot (issue 3): train the split codec (timbre.models.split_codec) and judge it by the raw donor swap before any
DiT is trained on it: each held-out melody keeps its structure channels and takes the timbre channels of another
melody on the target instrument (and, beside it, of its own rendition). Judged as the trade-off judges edits, by
the default bundle's audio classifier and PESTO against the source.
Usage: python benchmarks/pilots/split_codec.py OUT [--steps 1500 --envelope-lifter 12 --items 40 ...]
(OUT/codec.safetensors, once trained, is judged again without training; a plain codec copied there is judged by
its round trips.)
"""
import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

import torch

from timbre.analysis.edit_quality import edit_scores, held_out_items, source_and_rendition_contours
from timbre.corpus.dataset import SAMPLE_RATE
from timbre.models.bundle import load_bundle
from timbre.models.checkpoint import load_component, save_component
from timbre.models.split_codec import SplitCodecConfig
from timbre.training.split_codec import SplitCodecTrainingConfig, rendition_pool, train_split_codec


@torch.no_grad()
def swapped(codec, waves, donors) -> torch.Tensor:
    return codec.decode(codec.swap_timbre(codec.encode(waves), codec.encode(donors)))[:, : waves.shape[1]]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--melodies", type=int, default=150)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--consistency", type=float, default=0.0)
    p.add_argument("--swap", type=float, default=1.0)
    p.add_argument("--structure-channels", type=int, default=96)
    p.add_argument("--decoder-depth", type=int, default=6)
    p.add_argument("--harmonic-views", type=int, default=0, help="n: the decoder gates the spectrum at f/2 .. f/(n+1)")
    p.add_argument("--envelope-lifter", type=int, default=12, help="0: the structure reads the whole spectrum")
    p.add_argument("--items", type=int, default=40)
    p.add_argument("--judge", default="default", help="bundle whose audio classifier judges")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / "codec.safetensors"
    if weights.is_file():
        codec = load_component(weights)
    else:
        start = time.perf_counter()
        pool = rendition_pool(0, args.melodies)
        print(f"pool {tuple(pool.audio.shape)} in {time.perf_counter() - start:.0f} s", flush=True)
        model = SplitCodecConfig(structure_channels=args.structure_channels,
                                 timbre_channels=128 - args.structure_channels, decoder_depth=args.decoder_depth,
                                 envelope_lifter=args.envelope_lifter, harmonic_views=args.harmonic_views)
        config = SplitCodecTrainingConfig(steps=args.steps, batch=args.batch, melodies=args.melodies,
                                          consistency_weight=args.consistency, swap_weight=args.swap)
        start = time.perf_counter()
        codec, metrics = train_split_codec(model, config, pool, lambda s, l: print(f"step {s}: {l:.4f}", flush=True))
        seconds = time.perf_counter() - start
        save_component(codec, weights)
        (args.out / "training.json").write_text(json.dumps(
            {"seconds": round(seconds, 1), **metrics, "config": asdict(config), "model": asdict(codec.config)}, indent=2))
        print(f"trained in {seconds:.0f} s", flush=True)
    judge = load_bundle(args.judge)
    items = held_out_items(0, args.items, 4.0, len(judge.instruments))
    source_contour, rendition_contour = source_and_rendition_contours(items)
    with torch.no_grad():  # a plain codec (no structure_channels) in OUT is judged by its round trips alone
        rows = {"round trip": codec.decode(codec.encode(items.waves))[:, : items.waves.shape[1]]}
        if hasattr(codec.config, "structure_channels"):
            rows["rendition swap"] = swapped(codec, items.waves, items.renditions)
            rows["donor swap"] = swapped(codec, items.waves, items.donors)
    results = {}
    for name, audio in rows.items():
        results[name] = edit_scores(judge, items, audio, source_contour, rendition_contour)
        print(json.dumps({"row": name, **results[name]}), flush=True)
    with torch.no_grad():  # the codec's own ceiling: its round trip of the donors, which play the target instrument
        donor_round_trip = codec.decode(codec.encode(items.donors))[:, : items.waves.shape[1]]
        predicted = judge.audio_classifier(donor_round_trip).argmax(-1)
    results["donor round trip"] = {"target_accuracy": float((predicted == items.targets).float().mean())}
    print(json.dumps({"row": "donor round trip", **results["donor round trip"]}), flush=True)
    (args.out / "swaps.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
