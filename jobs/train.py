"""`timbre train COMPONENT --out DIR`: train an embedded default component from scratch on the synthetic corpus."""
import json
import time
from dataclasses import asdict
from pathlib import Path

from timbre.models.checkpoint import save_component
from timbre.models.codec import SpectralCodecConfig
from timbre.training.codec import CodecTrainingConfig, train_codec, training_pool

CODEC_DEFAULTS = CodecTrainingConfig()


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train an embedded default component from scratch")
    components = p.add_subparsers(dest="component", required=True, metavar="COMPONENT")
    codec = components.add_parser("codec", help="the spectral codec (audio <-> latents)")
    codec.add_argument("--out", required=True, help="folder for codec.safetensors and codec-training.json")
    codec.add_argument("--steps", type=int, default=CODEC_DEFAULTS.steps, help="optimiser steps")
    codec.add_argument("--stems", type=int, default=CODEC_DEFAULTS.stems, help="training stems in the pool")
    codec.add_argument("--notes", type=int, default=CODEC_DEFAULTS.notes, help="training notes in the pool")
    codec.add_argument("--corpus-seed", type=int, default=CODEC_DEFAULTS.corpus_seed, help="corpus seed")
    codec.add_argument("--seed", type=int, default=CODEC_DEFAULTS.seed, help="initialisation and sampling seed")
    codec.set_defaults(run=run_codec)


def run_codec(args) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = CodecTrainingConfig(steps=args.steps, stems=args.stems, notes=args.notes, corpus_seed=args.corpus_seed,
                                 seed=args.seed)
    start = time.perf_counter()
    pool, lengths = training_pool(config.corpus_seed, config.stems, config.notes, config.crop_seconds)
    print(f"pool: {pool.shape[0]} clips rendered in {time.perf_counter() - start:.1f} s", flush=True)
    codec, metrics = train_codec(SpectralCodecConfig(), config, pool, lengths,
                                 progress=lambda step, loss: print(f"step {step}: loss {loss:.4f}", flush=True))
    save_component(codec, out / "codec.safetensors")
    record = {"config": asdict(config), "model": asdict(codec.config), **metrics,
              "seconds": round(time.perf_counter() - start, 1)}
    (out / "codec-training.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out / 'codec.safetensors'} in {record['seconds']} s (final loss {metrics['final_loss']:.4f})")
    return 0
