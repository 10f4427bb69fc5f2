"""Pilot (issue 3): the harmonic codec (timbre.models.harmonic_codec) fitted on a corpus pool, judged on held-out
melodies as the edits are (the default bundle's audio classifier, PESTO against the source):
  - round trips of the sources and of the renditions (the same notes on the target instrument),
  - the oracle swap: the source's structure channels with the rendition's timbre channels, frame by frame (what
    MI-inpaint aims at when the denoiser fills the timbre channels perfectly),
  - the donor swap: the source's structure with the timbre channels of another melody on the target, frame by frame
    (timbre that does not follow the source's notes).
Usage: python benchmarks/pilots/harmonic_codec.py [--stems 100 --notes 500 --items 40 --save codec.safetensors]
"""
import argparse
import json
import time

import torch

from timbre.analysis.edit_quality import edit_scores, held_out_items, source_and_rendition_contours
from timbre.corpus.dataset import SAMPLE_RATE
from timbre.models.bundle import load_bundle
from timbre.models.checkpoint import save_component
from timbre.models.harmonic_codec import HarmonicCodecConfig
from timbre.training.harmonic_codec import HarmonicCodecTrainingConfig, train_harmonic_codec
from timbre.training.pool import corpus_pool


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stems", type=int, default=100)
    p.add_argument("--notes", type=int, default=500)
    p.add_argument("--items", type=int, default=40)
    p.add_argument("--timbre-channels", type=int, default=58)
    p.add_argument("--harmonics", type=int, default=64)
    p.add_argument("--save", default=None)
    args = p.parse_args()
    start = time.perf_counter()
    pool = corpus_pool(0, args.stems, args.notes, 2.0)
    print(f"pool {tuple(pool.audio.shape)} in {time.perf_counter() - start:.0f} s", flush=True)
    model = HarmonicCodecConfig(timbre_channels=args.timbre_channels, harmonics=args.harmonics)
    codec, metrics = train_harmonic_codec(model, HarmonicCodecTrainingConfig(), pool)
    print(json.dumps(metrics), flush=True)
    if args.save:
        save_component(codec, args.save)
    judge = load_bundle("default")
    items = held_out_items(0, args.items, 4.0, len(judge.instruments))
    source_contour, rendition_contour = source_and_rendition_contours(items)
    with torch.no_grad():
        source, rendition, donor = (codec.encode(w) for w in (items.waves, items.renditions, items.donors))
        rows = {"round trip": source, "rendition round trip": rendition,
                "oracle swap (rendition timbre)": codec.swap_timbre(source, rendition),
                "donor swap": codec.swap_timbre(source, donor)}
        for name, latents in rows.items():
            audio = codec.decode(latents)[:, : items.waves.shape[1]]
            scores = edit_scores(judge, items, audio, source_contour, rendition_contour)
            print(json.dumps({"row": name, **scores}), flush=True)


if __name__ == "__main__":
    main()
