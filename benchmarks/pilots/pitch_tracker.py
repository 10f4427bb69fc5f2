"""Pilot (issue 3): the harmonic codec's pitch tracker (timbre.pitch_tracking) against PESTO, the judge, on held-out
melodies' STFT frames: cents on PESTO's voiced frames, per source instrument, octave errors, and run time.
Usage: python benchmarks/pilots/pitch_tracker.py [--items 40]
"""
import argparse
import json
import time

import torch

from timbre.analysis.edit_quality import held_out_items
from timbre.corpus.dataset import SAMPLE_RATE
from timbre.metrics.pitch import STEP_MS, cents, pitch_contour
from timbre.pitch_tracking import track_pitch

N_FFT, HOP = 1024, 256


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=40)
    args = p.parse_args()
    items = held_out_items(0, args.items, 4.0, 10)
    magnitude = torch.stft(items.waves, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True).abs()
    start = time.perf_counter()
    track = track_pitch(magnitude, SAMPLE_RATE, N_FFT, 110.0, 1250.0)
    seconds = time.perf_counter() - start
    contour = pitch_contour(items.waves, SAMPLE_RATE)
    at = (torch.arange(magnitude.shape[-1]) * HOP / SAMPLE_RATE * 1000 / STEP_MS).round().long()
    at = at.clamp(max=contour.hz.shape[1] - 1)
    voiced, error = contour.voiced[:, at], cents(track.hz, contour.hz[:, at]).abs()
    per_instrument = {int(i): float((error[items.sources == i][voiced[items.sources == i]] <= 50).float().mean())
                      for i in items.sources.unique()}
    print(json.dumps({"voiced_frames": int(voiced.sum()), "median_cents": float(error[voiced].median()),
                      "within_50_cents": float((error[voiced] <= 50).float().mean()),
                      "octave_errors": float(((error - 1200).abs() < 100)[voiced].float().mean()),
                      "within_50_cents_by_source_instrument": per_instrument, "seconds": round(seconds, 2)}))


if __name__ == "__main__":
    main()
