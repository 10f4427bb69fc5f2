"""`timbre train STAGE --out DIR`: train the embedded default models from scratch on the synthetic corpus.

`timbre train all --out DIR` runs every stage that DIR lacks (codec, conditioner, classifiers, denoiser), then
the channel analysis, and writes DIR as a loadable model bundle; a stage already done is skipped, so an
interrupted run resumes."""
import argparse
import os
import time
from pathlib import Path

from jobs import training_stages as stages

STAGES = {"codec": stages.codec, "conditioner": stages.conditioner, "classifiers": stages.classifiers,
          "denoiser": stages.denoiser}


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train the embedded default models from scratch", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stage", choices=[*STAGES, "all"], help="what to train")
    p.add_argument("--out", required=True, help="training folder (becomes the bundle folder with `all`)")
    p.add_argument("--scale", choices=sorted(stages.SCALES), default=stages.SHIPPED_SCALE, metavar="SCALE",
                   help=f"default {stages.SHIPPED_SCALE}: the shipped default (the harmonic codec and its inpainting "
                        "DiT); full: the plain spectral codec's decoder-weighted DiT, shipped before it; smoke: tiny "
                        "models and a few steps, to check the pipeline; the rest: the variants docs/models.md "
                        "measures (jobs/training_stages.py)")
    p.add_argument("--corpus-seed", type=int, default=0, help="which synthetic corpus")
    p.add_argument("--seed", type=int, default=0, help="initialisation and sampling seed")
    p.add_argument("--device", default="cpu",
                   help="where the denoiser trains, e.g. cuda (its random draws stay on the CPU, so batches match)")
    p.add_argument("--force", action="store_true", help="retrain stages whose outputs already exist")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="processes rendering the corpus pool (default: one per core; the pool is the same)")
    p.set_defaults(run=run)


def run(args) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.workers < 1:
        raise SystemExit(f"--workers must be at least 1, got {args.workers}")
    start = time.perf_counter()

    def log(line: str) -> None:  # each line with the run's elapsed seconds, flushed so a long run can be followed
        print(f"[{time.perf_counter() - start:7.1f} s] {line}", flush=True)

    context = stages.Context(out, stages.SCALES[args.scale], args.corpus_seed, args.seed, log=log,
                             device=args.device, scale_name=args.scale, workers=args.workers)
    names = list(STAGES) if args.stage == "all" else [args.stage]
    for name in names:
        if stages.done(out, name) and not args.force:
            print(f"{name}: already in {out}, skipped (--force retrains)", flush=True)
            continue
        STAGES[name](context)
    if args.stage == "all":
        stages.analyse_and_assemble(context)
        print(f"bundle written to {out} in {time.perf_counter() - start:.0f} s", flush=True)
    return 0
