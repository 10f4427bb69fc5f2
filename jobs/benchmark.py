"""`timbre benchmark --out DIR`: both papers' experiments on the testbed, as one command.

MI-guided inpainting's table: PnI and DDIM-PnI at the noise probe's fraction, DDIM-inversion, and MI-inpaint over
the 3x2 grid of k (share of timbre channels) and clamp (share of steps with the structure pinned), on held-out
melodies with each melody's rendition by the target instrument as the FAD/KAD reference; FAD, DPD, CLAP, onset F1.
Diff-TONE's table: Diff-TONE against a random and the midpoint swap step on the bundle's own generations; chroma,
KAD, accuracy. Then the (k, clamp) setting with the best CLAP whose DPD is within a bound. The edits are written as
WAV files with a pairs table, measured by `timbre evaluate` on Ray, and the tables land in DIR as Parquet and
Markdown beside the HTML report."""
import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from timbre.batch_edit import WindowConfig
from timbre.errors import ConfigError

from jobs.benchmark_tables import (DIFF_TONE_METHODS, DIFF_TONE_TABLE, MI_METHODS, MI_TABLE, markdown, markdown_html,
                                   pick_setting, table)
from jobs.evaluate import write_evaluation_report

# The raw noise probe's chance level on the default bundle, whose edits default to raw channels (docs/benchmarks.md;
# 0.05 before the twelfth session, 0.1 from it to the thirty-fourth)
PROBE_FRACTION = 0.05
K_GRID = (0.75, 0.5, 0.25)  # share of channels in the timbre mask, high to low
CLAMP_GRID = (0.5, 1.0)  # share of steps with the structure clamped: short, long
DEFAULT_CFG = 2.0  # each table's guidance where neither --cfg nor the bundle's edit defaults name one


def mi_settings(space: str | None) -> list[tuple[str, str, dict]]:
    """(method, setting label, params): the baselines, then Settings 1-6 (structure kept more and more)."""
    rows = [("pni", f"fraction {PROBE_FRACTION}", {"noise_fraction": PROBE_FRACTION}),
            ("ddim-pni", f"fraction {PROBE_FRACTION}", {"noise_fraction": PROBE_FRACTION}),
            ("ddim-inversion", "", {})]
    for i, (k, clamp) in enumerate(((k, c) for k in K_GRID for c in CLAMP_GRID), start=1):
        rows.append(("mi-inpaint", f"{i}: k {k}, clamp {clamp}{f', {space}' if space else ''}", {"k": k, "clamp": clamp}))
    return rows


def table_cfgs(given: float | None, edit_defaults) -> dict[str, float]:
    """Each table's guidance: the one given for both, else the bundle's tuned cfg for MI-inpaint (the MI table, every
    method on its items at the same guidance) and for Diff-TONE (the Diff-TONE table), else DEFAULT_CFG."""
    return {table: float(given if given is not None else edit_defaults.get(method, {}).get("cfg", DEFAULT_CFG))
            for table, method in (("mi", "mi-inpaint"), ("diff-tone", "diff-tone"))}


def add_parser(sub) -> None:
    p = sub.add_parser("benchmark", help="the papers' tables on the testbed", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--model", default="default", help="bundle name, folder or s3:// prefix (default: default)")
    p.add_argument("--items", type=int, default=24, help="held-out melodies, and generations for Diff-TONE")
    p.add_argument("--seconds", type=float, default=4.0, help="length of each item")
    p.add_argument("--steps", type=int, default=16, help="sampling steps")
    p.add_argument("--cfg", type=float, default=None,
                   help="guidance scale of both tables (default: the bundle's edit default for MI-inpaint in the MI "
                        f"table and for Diff-TONE in the Diff-TONE table, else {DEFAULT_CFG:g})")
    p.add_argument("--hold-level", action="store_true",
                   help="guidance holds each frame's level at the conditional model's (the harmonic codec)")
    p.add_argument("--level-window", type=float, default=WindowConfig.level_seconds, metavar="SECONDS",
                   help="edits are written and judged with their level course made the source's over windows this "
                        "long, as the product writes them (0: as the model decodes them)")
    p.add_argument("--space", choices=("basis", "raw"), default=None,
                   help="MI-inpaint's channel space (default: the bundle's edit default, else its first; 'raw' is "
                        "the paper's)")
    p.add_argument("--dpd-bound", type=float, default=50.0, help="the search's bound on DPD, in cents")
    p.add_argument("--seed", type=int, default=0, help="seed of every edit's noise")
    p.add_argument("--corpus-seed", type=int, default=0, help="corpus the held-out melodies come from")
    p.add_argument("--workers", type=int, default=None, help="evaluator actors (default: one per core)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _writer(rate: int):
    def write(path: Path, wave) -> str:
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, np.asarray(wave, dtype=np.float32), rate, subtype="FLOAT")
        return str(path)

    return write


def produce_edits(args, bundle, out: Path, cfgs: dict[str, float], log=print) -> pd.DataFrame:
    """Every edit of both tables by `bundle` as WAV files under out/audio, each table at its guidance in `cfgs`, and
    the pairs table that lists them."""
    from timbre.analysis.diff_tone_check import diff_tone_generations
    from timbre.analysis.edit_quality import held_out_items, run_edits
    from timbre.edits import EditSpec, SamplerConfig

    _write = _writer(bundle.sample_rate)
    names = bundle.instruments
    sampler = SamplerConfig(steps=args.steps, cfg=cfgs["mi"], hold_level=args.hold_level)
    space = args.space or bundle.default_space
    items = held_out_items(args.corpus_seed, args.items, args.seconds, len(names))
    audio = out / "audio"
    rows = []
    sources = [_write(audio / "source" / f"{i}.wav", w) for i, w in enumerate(items.waves)]
    references = [_write(audio / "rendition" / f"{i}.wav", w) for i, w in enumerate(items.renditions)]
    for method, setting, params in mi_settings(space):
        log(f"editing: {method} {setting}")
        edited = run_edits(bundle, items, EditSpec.build(method, sampler, **params),
                           space if method == "mi-inpaint" else None, args.seed, level_seconds=args.level_window)
        folder = audio / method / (setting.split(":")[0] or "default").replace(" ", "_")
        for i, wave in enumerate(edited):
            rows.append({"item_id": f"{method}/{setting}/{i}", "source": sources[i],
                         "output": _write(folder / f"{i}.wav", wave), "target": names[int(items.targets[i])],
                         "method": method, "setting": setting, "reference": references[i]})
    log("editing: diff-tone and its baselines on generations")
    frames = max(1, round(args.seconds * bundle.sample_rate / bundle.codec.hop_length))
    generations = diff_tone_generations(bundle, args.items, frames, replace(sampler, cfg=cfgs["diff-tone"]),
                                        args.seed)
    generated = [_write(audio / "generation" / f"{i}.wav", w) for i, w in enumerate(generations.source_audio)]
    for method, waves in generations.outputs.items():
        for i, wave in enumerate(waves):
            rows.append({"item_id": f"{method}/{i}", "source": generated[i],
                         "output": _write(audio / method / f"{i}.wav", wave),
                         "target": names[int(generations.targets[i])], "method": method, "setting": "",
                         "reference": ""})
    (out / "diff-tone.json").write_text(json.dumps({"swap_found": float(generations.swap_found.mean()),
                                                    "swap_step_mean": float(generations.swap_step.mean()),
                                                    "steps": args.steps}, indent=2) + "\n")
    pairs = pd.DataFrame(rows)
    pairs.to_csv(out / "pairs.csv", index=False)
    return pairs


def run(args) -> int:
    from cluster.driver import RunOptions
    from cluster.evaluation_driver import run_evaluation
    from cluster.evaluation_plan import EvalConfig
    from cluster.model_store import load_model
    from timbre.models.bundle import bundle_fingerprint

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bundle = load_model(args.model)
    cfgs = table_cfgs(args.cfg, bundle.edit_defaults)
    edits = {**{k: getattr(args, k) for k in ("model", "items", "seconds", "steps", "space", "seed", "corpus_seed",
                                              "hold_level", "level_window")}, "cfg": cfgs}
    recorded = out / "edits.json"
    if recorded.exists() and json.loads(recorded.read_text()) != edits:
        found = json.loads(recorded.read_text())
        differ = sorted(k for k in edits if found.get(k) != edits[k])
        raise ConfigError(f"{out} holds a benchmark made with another {', '.join(differ)}; use a new --out, or the same "
                          "settings to resume it")
    if not (out / "pairs.csv").exists():  # edits are deterministic: a re-run reuses them and resumes the evaluation
        produce_edits(args, bundle, out, cfgs)
        recorded.write_text(json.dumps(edits, indent=2) + "\n")
    config = EvalConfig(str(out / "pairs.csv"), str(out / "evaluation"), bundle_fingerprint(bundle),
                        shard_size=8, seed=args.seed)
    result = run_evaluation(config, args.model, RunOptions(editors=args.workers, progress=not args.no_progress))
    sections = write_tables(result.summary, out, args, cfgs)
    report = write_evaluation_report(str(out / "evaluation"), result.rows, result.summary, args.model,
                                     f"Benchmark of {args.model}", sections)
    print((out / "benchmark.md").read_text())
    print(f"report: {out / 'evaluation' / report}")
    return 0


def _closest(mi: pd.DataFrame) -> str:
    settings = mi[mi["method"] == "mi-inpaint"].dropna(subset=["dpd_cents"])
    if settings.empty:
        return "none has a DPD"
    best = settings.loc[settings["dpd_cents"].idxmin()]
    return f"the lowest DPD is setting {best['setting']} ({best['dpd_cents']:.1f}¢, CLAP {best['clap']:.3f})"


def write_tables(summary: pd.DataFrame, out: Path, args, cfgs: dict[str, float]) -> tuple[tuple[str, str], ...]:
    """Parquet and Markdown tables in `out`; returns them as report sections (heading, HTML)."""
    mi, diff_tone = table(summary, MI_METHODS, MI_TABLE), table(summary, DIFF_TONE_METHODS, DIFF_TONE_TABLE)
    chosen = pick_setting(mi, args.dpd_bound)
    mi.to_parquet(out / "mi_inpainting_table.parquet", index=False)
    diff_tone.to_parquet(out / "diff_tone_table.parquet", index=False)
    swap = json.loads((out / "diff-tone.json").read_text())
    command = (f"timbre benchmark --out {args.out} --model {args.model} --items {args.items} --seconds {args.seconds} "
               f"--steps {args.steps}" + (f" --cfg {args.cfg}" if args.cfg is not None else "")
               + f" --dpd-bound {args.dpd_bound} --seed {args.seed}"
               f" --level-window {args.level_window}" + (" --hold-level" if args.hold_level else "")
               + (f" --space {args.space}" if args.space else ""))
    text = [f"Made by `{command}`; 95% bootstrap intervals in brackets.", "",
            f"**MI-guided inpainting** (held-out melodies, cfg {cfgs['mi']:g}; FAD/KAD against the target instrument's "
            "renditions)", "",
            markdown(mi, MI_TABLE), "",
            f"**Search**: best CLAP with DPD ≤ {args.dpd_bound:g}¢: "
            + (f"setting {chosen['setting']} (CLAP {chosen['clap']:.3f}, DPD {chosen['dpd_cents']:.1f}¢)"
               if chosen is not None else "no MI-inpaint setting is within the bound; " + _closest(mi)), "",
            f"**Diff-TONE** (the bundle's generations, cfg {cfgs['diff-tone']:g}; a swap step found for "
            f"{swap['swap_found']:.0%} of items, mean step {swap['swap_step_mean']:.1f} of {swap['steps']}; KAD against "
            "the source generations)", "",
            markdown(diff_tone, DIFF_TONE_TABLE), ""]
    (out / "benchmark.md").write_text("\n".join(text))
    sections = (("MI-guided inpainting table", markdown_html(markdown(mi, MI_TABLE))),
                ("Diff-TONE table", markdown_html(markdown(diff_tone, DIFF_TONE_TABLE))))
    (out / "benchmark.json").write_text(json.dumps({"command": command, "cfg": cfgs,
                                                    "args": {k: v for k, v in vars(args).items() if k != "run"},
                                                    "chosen": None if chosen is None else chosen["setting"]},
                                                   indent=2, default=str) + "\n")
    return sections

