"""Benchmark: what the evaluations `timbre train all` runs after each stage cost, on a trained bundle folder.

Times, one after another, the codec's round trip on held-out stems (spectral distance, Griffin-Lim ceiling, pitch
through PESTO), the conditioner's retrieval, the classifiers' held-out accuracy (the latent ones on one encoding),
the MI analysis and the denoiser's generation check, at the scale's settings; `--codec-stems` and `--check-steps`
time the codec's round trip and the check again at other settings beside them (the twenty-sixth session's run used
100 stems and 24 steps). Run it alone on the cores.
Usage: python benchmarks/training_evaluation_cost.py --out FOLDER [--scale NAME] [--codec-stems 100] [--check-steps 24]
"""
import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from jobs.mi_plot import analyse_and_record
from jobs.training_stages import CHECK_SAMPLER, SCALES, SHIPPED_SCALE, check_bundle
from timbre.analysis.generation import generation_accuracy
from timbre.models.checkpoint import load_component
from timbre.training.classifiers import held_out_accuracies, held_out_accuracy
from timbre.training.codec import evaluate_codec
from timbre.training.conditioner import evaluate_conditioner


def timed(name: str, fn, seconds: dict) -> dict:
    start = time.perf_counter()
    result = fn()
    seconds[name] = round(time.perf_counter() - start, 1)
    print(json.dumps({name: seconds[name]}), flush=True)
    return result


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="a `train all` folder (its component files)")
    p.add_argument("--scale", default=SHIPPED_SCALE)
    p.add_argument("--codec-stems", type=int, nargs="*", default=[])
    p.add_argument("--check-steps", type=int, nargs="*", default=[])
    args = p.parse_args()
    scale, folder, seed, seconds = SCALES[args.scale], Path(args.out), 0, {}
    codec, conditioner, judge = (load_component(folder / f"{n}.safetensors")
                                 for n in ("codec", "conditioner", "audio_classifier"))
    latent = {n: load_component(folder / f"{n}.safetensors") for n in ("latent_classifier", "latent_classifier_direct")}
    codec_stems = scale.codec_eval_stems or scale.eval_stems
    for stems in [codec_stems, *args.codec_stems]:
        timed(f"codec round trip, {stems} stems", lambda: evaluate_codec(codec, seed, stems), seconds)
    timed("conditioner retrieval", lambda: evaluate_conditioner(conditioner, seed, scale.eval_stems), seconds)
    timed("audio classifier", lambda: held_out_accuracy(judge, seed, scale.eval_stems), seconds)
    timed("latent classifiers, one encoding",
          lambda: held_out_accuracies(latent, seed, scale.eval_stems, prepare=codec.encode), seconds)
    with tempfile.TemporaryDirectory() as scratch:
        timed("mi analysis", lambda: analyse_and_record(codec, seed, scale.analysis_notes, Path(scratch) / "mi.json",
                                                        Path(scratch) / "mi.png"), seconds)
    bundle = check_bundle(codec, load_component(folder / "denoiser.safetensors"), conditioner,
                          scale.denoiser_training.sigma_data)
    for steps in [CHECK_SAMPLER.steps, *args.check_steps]:
        timed(f"generation check, {steps} steps", lambda: generation_accuracy(
            bundle, judge, scale.generation_items, scale.generation_frames, replace(CHECK_SAMPLER, steps=steps), seed),
            seconds)
    print(json.dumps({"out": args.out, "threads": torch.get_num_threads(), "seconds": seconds}, indent=1))


if __name__ == "__main__":
    main()
