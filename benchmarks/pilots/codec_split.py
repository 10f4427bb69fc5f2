"""Pilot (issue 3): how well a codec with declared structure channels splits pitch from instrument, on held-out
melodies. Per codec file: R^2 of a least-squares linear fit of the pitch channel from the timbre channels (periodic
frames of the sources and renditions; lower is a cleaner split), the audio judge on the round trip (source heard) and
on the oracle swap (each source's structure with its rendition's timbre channels: target heard), and that swap's
pitch against the source.
Usage: python benchmarks/pilots/codec_split.py --codec A/codec.safetensors [B/codec.safetensors ...]
           --judge DIR/audio_classifier.safetensors [--items 40]
"""
import argparse
import json
from pathlib import Path

import torch

from timbre.analysis.edit_quality import held_out_items
from timbre.analysis.structure_leak import pitch_r2_from_timbre
from timbre.corpus.dataset import SAMPLE_RATE
from timbre.corpus.instruments import INSTRUMENT_NAMES
from timbre.metrics.pitch import pitch_agreement, pitch_contour
from timbre.models.checkpoint import load_component


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--codec", nargs="+", required=True)
    p.add_argument("--judge", required=True)
    p.add_argument("--items", type=int, default=40)
    args = p.parse_args()
    judge = load_component(Path(args.judge))
    items = held_out_items(0, args.items, 4.0, len(INSTRUMENT_NAMES))
    source_contour = pitch_contour(items.waves, SAMPLE_RATE)

    def heard(audio: torch.Tensor, instruments: torch.Tensor) -> float:
        return float((judge(audio).argmax(-1) == instruments).float().mean())

    for path in args.codec:
        codec = load_component(Path(path))
        with torch.no_grad():
            source, rendition = codec.encode(items.waves), codec.encode(items.renditions)
            length = items.waves.shape[1]
            round_trip = codec.decode(source)[:, :length]
            swapped = codec.decode(codec.swap_timbre(source, rendition))[:, :length]
        pitch = pitch_agreement(source_contour, pitch_contour(swapped, SAMPLE_RATE, reference=items.waves))
        print(json.dumps({"codec": path, "register_knots": getattr(codec.config, "register_knots", 0),
                          "pitch_r2_from_timbre": round(pitch_r2_from_timbre(codec, torch.cat([source, rendition])), 3),
                          "round_trip_source_heard": heard(round_trip, items.sources),
                          "oracle_swap_target_heard": heard(swapped, items.targets),
                          "oracle_swap_median_cents": pitch["median_cents"],
                          "oracle_swap_within_50_cents": round(pitch["within_50_cents"], 3)}), flush=True)


if __name__ == "__main__":
    main()
