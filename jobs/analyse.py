"""`timbre analyse WHAT --model BUNDLE`: analyses of a model bundle.

  mi        per-channel mutual information with instrument and pitch, raw and in the timbre basis; writes the
            ranking and basis into the bundle folder (MI-inpaint uses them), a JSON record and the PNG plot
  noise-probe  a sigma-conditioned classifier of clean vs timbre-swapped latents: its accuracy per noise fraction
            and the smallest fraction at which it is at chance
  diff-tone Diff-TONE on the bundle's own generations against its midpoint and random baselines: swap found,
            target accuracy, chroma similarity to the source generation
  generation  conditional generations from each instrument's prompt, judged by the audio classifier
  tradeoff  every edit method swept over its strength on the same held-out melodies: target accuracy against
            pitch kept, as a JSON table and a PNG of the curves; beside them four references, none sampled: the
            rendition (the target instrument really playing the notes, the ceiling), its codec round trip (the
            ceiling of any edit decoded by this codec), the oracle swap (each source's
            structure part with its rendition's timbre part: how much instrument the timbre part carries) and the
            donor swap (the timbre part from another melody on the target instrument: whether the structure part
            alone carries the pitch)"""
import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from jobs.mi_plot import analyse_and_record
from jobs.tradeoff_plot import plot_tradeoff
from timbre.analysis.edit_quality import (codec_round_trip, edit_scores, held_out_items, oracle_swap, run_edits,
                                          source_and_rendition_contours)
from timbre.batch_edit import WindowConfig
from timbre.edits import EditSpec, SamplerConfig
from timbre.edits.diff_tone import ESTIMATES
from timbre.errors import ConfigError
from timbre.models.bundle import MANIFEST, load_bundle, save_bundle

# (label, method, space, params): each method's strength from weak to strong. Noise fractions are of sigma_max = 80
# while latents have std 0.5, so the informative range is small: at 0.05 (sigma 4) the source is mostly gone
NOISE_FRACTIONS = (0.003, 0.01, 0.02, 0.05, 0.2)
SWEEP = (
    *[("pni", "pni", None, {"noise_fraction": f}) for f in NOISE_FRACTIONS],
    *[("ddim-pni", "ddim-pni", None, {"noise_fraction": f}) for f in NOISE_FRACTIONS],
    ("ddim-inversion", "ddim-inversion", None, {}),
    *[(f"mi-inpaint {space}", "mi-inpaint", space, {"k": k, "clamp": c})
      for space in ("raw", "basis") for k, c in ((0.25, 1.0), (0.5, 1.0), (0.5, 0.5), (0.75, 1.0), (0.75, 0.5))],
)
# references scored beside the sweep: (label, kind, space, k); an oracle swap takes its timbre part from the
# rendition (same notes), a donor swap from another melody on the target instrument (so pitch must come from structure)
REFERENCES = (("rendition", "rendition", None, None), ("codec round trip", "round-trip", None, None),
              *[(f"{kind} {space}", kind, space, k) for kind in ("oracle-swap", "donor-swap")
                for space in ("raw", "basis") for k in (0.25, 0.5, 0.75)])
DONORS = {"oracle-swap": "rendition", "donor-swap": "other-melody"}


def add_parser(sub) -> None:
    p = sub.add_parser("analyse", help="analyses of a model bundle (mi, tradeoff)", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=("mi", "noise-probe", "diff-tone", "generation", "tradeoff"), help="which analysis")
    p.add_argument("--model", required=True, help="bundle folder (mi writes into it) or bundle name (tradeoff)")
    p.add_argument("--out", default=None, help="folder for the record and plot (default: the bundle folder)")
    p.add_argument("--corpus-seed", type=int, default=0, help="corpus the held-out data comes from")
    p.add_argument("--notes", type=int, default=600, help="mi: validation notes analysed")
    p.add_argument("--items", type=int, default=20,
                   help="tradeoff: held-out melodies edited per setting; diff-tone, generation: items in all")
    p.add_argument("--seconds", type=float, default=4.0, help="tradeoff: length of each melody")
    p.add_argument("--steps", type=int, default=16, help="tradeoff: sampling steps")
    p.add_argument("--cfg", type=float, default=2.0, help="tradeoff: guidance scale while generating")
    p.add_argument("--hold-level", action="store_true",
                   help="tradeoff, generation, diff-tone: guidance holds each frame's level at the conditional "
                        "model's (a codec that can: the harmonic one)")
    p.add_argument("--level-window", type=float, default=WindowConfig.level_seconds, metavar="SECONDS",
                   help="tradeoff: edits are scored with their level course made the source's over windows this "
                        "long, as the product writes them (0: as the model decodes them)")
    p.add_argument("--seed", type=int, default=0,
                   help="tradeoff, generation, diff-tone: seed of every edit's and generation's noise")
    p.add_argument("--space", choices=("basis", "raw"), default=None,
                   help="noise-probe: where the timbre part is swapped (default: the basis when the bundle has one)")
    p.add_argument("--k", type=float, default=None,
                   help="noise-probe: fraction of directions swapped as timbre (default 0.5); diff-tone: share of the "
                        "channels (by the bundle's ranking) regenerated from the swap on, the rest held to the source "
                        "generation's own path (default 1: every channel, as the paper)")
    p.add_argument("--stems", type=int, default=200, help="noise-probe: stems per split (train on valid, test on test)")
    p.add_argument("--probe-steps", type=int, default=600, help="noise-probe: training steps")
    p.add_argument("--methods", default=None, help="tradeoff: comma-separated methods to sweep (default: all)")
    p.add_argument("--structure-first", action="store_true",
                   help="generation: sample the timbre channels again around the generated structure (a bundle "
                        "whose codec declares structure channels and whose DiT reads known channels)")
    p.add_argument("--fixed-steps", default="",
                   help="diff-tone: also swap every item at each of these steps (comma-separated, e.g. 6,7,9,10)")
    p.add_argument("--estimate", choices=ESTIMATES, default="guided",
                   help="diff-tone: what the classifier reads each step: the guided x0_hat (the paper's) or the "
                        "unconditional one from the same state (default: guided)")
    p.add_argument("--shuffled", action="store_true",
                   help="diff-tone: also swap each item at another item's Diff-TONE step (a seeded permutation)")
    p.add_argument("--device", default="cpu", help="generation: where the bundle samples, decodes and judges, e.g. "
                                                   "cuda (the noise is drawn on the CPU, so every device starts alike)")
    p.set_defaults(run=run)


def run(args) -> int:
    return {"mi": run_mi, "noise-probe": run_noise_probe, "diff-tone": run_diff_tone,
            "generation": run_generation, "tradeoff": run_tradeoff}[args.what](args)


def run_generation(args) -> int:
    from timbre.analysis.generation import generation_accuracy

    bundle = load_bundle(args.model)
    if bundle.audio_classifier is None:
        raise ConfigError(f"bundle {bundle.name} has no audio classifier to judge generations with")
    bundle = bundle.to(args.device)
    sampler = SamplerConfig(steps=args.steps, cfg=args.cfg, hold_level=args.hold_level)
    frames = max(1, round(args.seconds * bundle.sample_rate / bundle.codec.hop_length))
    per_instrument = max(1, args.items // len(bundle.instruments))
    result = generation_accuracy(bundle, bundle.audio_classifier, per_instrument, frames, sampler, args.seed,
                                 args.structure_first)
    print(json.dumps({"model": bundle.name, "device": args.device, "sampler": asdict(sampler), **result}, indent=2))
    return 0


def run_diff_tone(args) -> int:
    from timbre.analysis.diff_tone_check import diff_tone_on_generations

    bundle = load_bundle(args.model)
    sampler = SamplerConfig(steps=args.steps, cfg=args.cfg, hold_level=args.hold_level)
    frames = max(1, round(args.seconds * bundle.sample_rate / bundle.codec.hop_length))
    start = time.perf_counter()
    try:
        fixed = tuple(int(s) for s in args.fixed_steps.split(",") if s.strip())
    except ValueError:
        raise ConfigError(f"--fixed-steps takes comma-separated step numbers, got {args.fixed_steps!r}") from None
    result = diff_tone_on_generations(bundle, args.items, frames, sampler, args.seed, fixed, args.shuffled,
                                      args.estimate, 1.0 if args.k is None else args.k)
    record = {"model": bundle.name, "sampler": asdict(sampler), **result,
              "seconds": round(time.perf_counter() - start, 1)}
    out = Path(args.out or "diff-tone")
    out.mkdir(parents=True, exist_ok=True)
    (out / "diff-tone.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return 0


def _stem_crops(bundle, corpus_seed: int, split: str, stems: int, frames: int = 64):
    """Latent crops (frames long, from each stem's start) of `stems` corpus stems, and their instruments."""
    from timbre.corpus.dataset import stem_example

    latents, instruments = [], []
    for first in range(0, stems, 25):
        examples = [stem_example(corpus_seed, split, i) for i in range(first, min(stems, first + 25))]
        waves = torch.from_numpy(np.stack([e.audio for e in examples]))
        with torch.no_grad():
            z = bundle.codec.encode(waves)
        for start in range(0, z.shape[-1] - frames + 1, frames):
            latents.append(z[..., start: start + frames])
            instruments.append(torch.tensor([e.instrument for e in examples]))
    return torch.cat(latents), torch.cat(instruments)


def run_noise_probe(args) -> int:
    from timbre.analysis.noise_probe import NoiseProbeConfig, probe_accuracy, train_probe
    from timbre.edits.channel_split import ChannelSplit, timbre_mask

    bundle = load_bundle(args.model)
    model = bundle.edit_model(args.space)
    if model.channel_ranking is None:
        raise ConfigError(f"bundle {bundle.name} has no channel ranking (run `timbre analyse mi`)")
    k = 0.5 if args.k is None else args.k
    split = ChannelSplit(timbre_mask(model.channel_ranking, k), model.channel_basis)
    config = NoiseProbeConfig(steps=args.probe_steps, seed=args.seed)
    start = time.perf_counter()
    train_latents, train_instruments = _stem_crops(bundle, args.corpus_seed, "valid", args.stems)
    probe = train_probe(train_latents, train_instruments, split, config)
    test_latents, test_instruments = _stem_crops(bundle, args.corpus_seed, "test", args.stems)
    result = probe_accuracy(probe, test_latents, test_instruments, split, config)
    record = {"model": bundle.name, "space": "basis" if model.channel_basis is not None else "raw", "k": k,
              **result, "accuracy": {str(f): a for f, a in result["accuracy"].items()},
              "seconds": round(time.perf_counter() - start, 1), "config": asdict(config)}
    out = Path(args.out) if args.out else (Path(args.model) if Path(args.model).is_dir() else Path("noise-probe"))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"noise-probe-{record['space']}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    for fraction, accuracy in result["accuracy"].items():
        print(f"noise fraction {fraction:5.2f}: accuracy {accuracy:.3f}")
    print(f"at chance from noise fraction {result['chance_fraction']}; wrote {path}")
    return 0


def run_mi(args) -> int:
    folder = Path(args.model)
    if not (folder / MANIFEST).is_file():
        raise ConfigError(f"analyse mi writes into a bundle folder; {folder} has no {MANIFEST}")
    bundle = load_bundle(folder)
    out = Path(args.out) if args.out else folder
    analysis = analyse_and_record(bundle.codec, args.corpus_seed, args.notes, out / "mi.json", out / "mi.png")
    save_bundle(replace(bundle, **analysis.bundle_tensors(bundle.held_channels)), folder)
    print(json.dumps(analysis.summary(), indent=2))
    print(f"wrote the channel ranking and timbre basis into {folder}; record and plot in {out}")
    return 0


def run_tradeoff(args) -> int:
    bundle = load_bundle(args.model)
    out = Path(args.out or "tradeoff")
    out.mkdir(parents=True, exist_ok=True)
    items = held_out_items(args.corpus_seed, args.items, args.seconds, len(bundle.instruments))
    source_contour, rendition_contour = source_and_rendition_contours(items)
    sampler = SamplerConfig(steps=args.steps, cfg=args.cfg, hold_level=args.hold_level)
    known = {m for _, m, _, _ in SWEEP} | {kind for _, kind, _, _ in REFERENCES}
    wanted = set(args.methods.split(",")) if args.methods else known
    if wanted - known:
        raise ConfigError(f"--methods: no sweep for {', '.join(sorted(wanted - known))}")
    rows = []

    def score(label: str, method: str, space, params: dict, edit) -> None:
        start = time.perf_counter()
        edited = edit()
        row = {"label": label, "method": method, "space": space, **params,
               **edit_scores(bundle, items, edited, source_contour, rendition_contour),
               "seconds": round(time.perf_counter() - start, 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)

    unsampled = {"rendition": lambda: items.renditions, "round-trip": lambda: codec_round_trip(bundle, items.renditions)}
    for label, kind, space, k in REFERENCES:
        if kind in wanted and (space is None or space in bundle.channel_spaces):
            score(label, kind, space, {} if k is None else {"k": k},
                  unsampled.get(kind, lambda: oracle_swap(bundle, items, space, k, donor=DONORS[kind])))
    for label, method, space, params in (row for row in SWEEP if row[1] in wanted):
        spec = EditSpec.build(method, sampler, **params)
        score(label, method, space, params,
              lambda: run_edits(bundle, items, spec, space, args.seed, level_seconds=args.level_window))
    record = {"model": bundle.name, "sampler": asdict(sampler), "items": args.items, "seconds_each": args.seconds,
              "seed": args.seed, "level_window": args.level_window, "rows": rows}
    (out / "tradeoff.json").write_text(json.dumps(record, indent=2) + "\n")
    plot_tradeoff(rows, out / "tradeoff.png")
    print(f"wrote {out / 'tradeoff.json'} and {out / 'tradeoff.png'}")
    return 0
