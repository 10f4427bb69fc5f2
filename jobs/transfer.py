"""`timbre transfer SRC --to TARGET --method M --out DST`: timbre transfer of a whole catalogue on Ray.

SRC is a folder, an s3://bucket/prefix (endpoint and credentials from boto3's default chain, e.g.
AWS_ENDPOINT_URL) or a Parquet/CSV table with a `uri` column; DST is a folder or s3:// prefix. Re-running the
same job resumes it; a different job into the same DST is refused. `--spec job.yaml` gives many edits at once:

  source: s3://label/stems
  output: s3://label/edited
  model: default
  seeds: [0]
  level_window: 1.0  # seconds; 0 keeps the model's own level
  edits:
    - {name: violin, to: solo violin, method: mi-inpaint, k: 0.5, clamp: 0.5}
    - {name: flute, to: flute, method: pni, noise_fraction: 0.2, steps: 16, cfg: 4}

A setting an edit leaves out takes the bundle's edit default for its method (`edit_defaults` in its bundle.json),
else the engine's."""
import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jobs.edit import add_level_flags, add_method_flags, add_sampler_flags, build_spec
from timbre.batch_edit import WindowConfig
from timbre.edits import METHODS
from timbre.edits.defaults import edit_from_settings, with_edit_defaults
from timbre.errors import ConfigError



def add_parser(sub) -> None:
    p = sub.add_parser("transfer", help="timbre-transfer a catalogue of stems on Ray", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", metavar="SRC", nargs="?", help="catalogue: folder, s3:// prefix, or .parquet/.csv of URIs")
    p.add_argument("--spec", help="job YAML with source, output, model, seeds and a list of edits")
    p.add_argument("--to", metavar="TARGET", help="target prompt, or the URI of a reference recording")
    p.add_argument("--method", choices=list(METHODS), help="edit method")
    p.add_argument("--out", metavar="DST", help="output folder or s3:// prefix")
    p.add_argument("--name", default=None, help="edit name in output keys (default: from the target)")
    add_method_flags(p)
    add_sampler_flags(p)
    p.add_argument("--seed", type=int, action="append", default=None, help="seed (repeat for several)")
    p.add_argument("--model", default=None, help="bundle name, folder or s3:// prefix (default: default)")
    p.add_argument("--format", choices=("wav", "flac"), default=None, help="output format (default wav)")
    p.add_argument("--window", type=float, default=WindowConfig.seconds, help="model window in seconds")
    add_level_flags(p)
    p.add_argument("--address", default=None,
                   help="join this Ray cluster (default: RAY_ADDRESS, as under `ray job submit`, else start a local one)")
    p.add_argument("--dashboard", nargs="?", const="127.0.0.1:8265", default=None, metavar="HOST:PORT",
                   help="serve a local cluster's dashboard (default address 127.0.0.1:8265: loopback only)")
    p.add_argument("--editors", type=int, default=None, help="editor actors (default: one per GPU, else per core)")
    p.add_argument("--gpu", action="store_true", default=None,
                   help="editors on GPUs even if none is up yet (an autoscaler adds them; default: when the cluster has GPUs)")
    p.add_argument("--batch", type=int, default=8, help="clips per editor call")
    p.add_argument("--compile", action="store_true",
                   help="editors run the denoiser under torch.compile: 1.55-1.8x more on an H100 with --precision bf16, "
                        "after minutes of warm-up per editor")
    p.add_argument("--max-in-flight", type=int, default=64, help="items between download and write-back")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _edit_from_yaml(entry: dict, defaults: Mapping[str, Mapping[str, Any]] | None = None):
    """One edit of a job YAML, with the bundle's edit defaults where the entry leaves a setting out."""
    from cluster.plan import Edit

    entry = dict(entry)
    try:
        target, method = entry.pop("to"), entry.pop("method")
    except KeyError as e:
        raise ConfigError(f"--spec: every edit needs 'to' and 'method'; one lacks {e}") from None
    name = entry.pop("name", None) or _slug(target)
    spec, space = edit_from_settings(method, with_edit_defaults(method, entry, defaults or {}))
    return Edit(name, target, spec, space)


def _slug(target: str) -> str:
    text = Path(target).stem if "/" in target else target
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split()) or "edit"


def job_from_args(args):
    """(JobConfig, model) from the flags or the YAML spec."""
    from cluster.plan import Edit, JobConfig
    from cluster.model_store import load_model
    from timbre.models.bundle import bundle_fingerprint

    spec = {}
    if args.spec:
        import yaml

        spec = yaml.safe_load(Path(args.spec).read_text()) or {}
    elif not (args.to and args.method):
        raise ConfigError("give --to and --method (or --spec job.yaml)")

    def edits(defaults=None):
        if args.spec:
            return tuple(_edit_from_yaml(e, defaults) for e in spec.get("edits", []))
        edit_spec, space = build_spec(args, defaults)
        return (Edit(args.name or _slug(args.to), args.to, edit_spec, space),)

    edits()  # a bad edit is refused before the bundle loads
    source, output = args.source or spec.get("source"), args.out or spec.get("output")
    if not source or not output:
        raise ConfigError("give SRC and --out (or source and output in --spec)")
    model = args.model or spec.get("model", "default")
    seeds = tuple(args.seed or spec.get("seeds", [0]))
    windows = WindowConfig(seconds=float(spec.get("window", args.window)),
                           level_seconds=float(spec.get("level_window", args.level_window)))
    bundle = load_model(model)
    try:
        config = JobConfig(source, output, bundle_fingerprint(bundle), edits(bundle.edit_defaults), seeds,
                           args.format or spec.get("format", "wav"), windows)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return config, model


def run(args) -> int:
    from cluster.driver import ClusterError, RunOptions, run_transfer
    from cluster.plan import JobConflict
    from cluster.storage import StorageError

    config, model = job_from_args(args)
    options = RunOptions(address=args.address, dashboard=args.dashboard, editors=args.editors, gpu=args.gpu,
                         batch=args.batch, max_in_flight=args.max_in_flight, progress=not args.no_progress,
                         compile=args.compile)
    try:
        summary = run_transfer(config, model, options)
    except (JobConflict, StorageError, ClusterError) as e:
        raise ConfigError(str(e)) from None
    counts = ", ".join(f"{v} {k}" for k, v in sorted(summary.counts.items()))
    print(f"done: {summary.items} items ({counts}); {summary.already_done} were done before; "
          f"{summary.items_per_second:.2f} items/s over {summary.seconds:.0f} s")
    print(f"edited stems, {summary.manifest_key} and summary.json are in {config.output}")
    return 0 if not summary.counts.get("failed") else 1
