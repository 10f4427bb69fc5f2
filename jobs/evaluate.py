"""`timbre evaluate PAIRS --out DST`: every metric of both papers over a pairs table or a transfer run, on Ray.

PAIRS is a .parquet/.csv table with columns source, output and target (a prompt or the URI of a recording) and,
optionally, item_id, method, setting, target_instrument and reference (a real recording of the target, for FAD/KAD's
reference set); relative paths are taken from the table's folder. Or PAIRS is a transfer run's output prefix: its
manifest pairs each stem with its edit. DST receives metrics.parquet (one row per item), summary.parquet (per method
and setting, with bootstrap 95% intervals) and the shards; re-running resumes."""
import argparse

from timbre.errors import ConfigError


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="measure edits: FAD, KAD, CLAP, DPD, onset F1, chroma, accuracy",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pairs", metavar="PAIRS", help="pairs table (.parquet/.csv) or a transfer run's output prefix")
    p.add_argument("--out", metavar="DST", required=True, help="output folder or s3:// prefix")
    p.add_argument("--model", default="default", help="bundle (name, folder or s3:// prefix) whose embedder and classifier judge (default: default)")
    p.add_argument("--shard-size", type=int, default=32, help="items per shard")
    p.add_argument("--seed", type=int, default=0, help="bootstrap and KAD sampling seed")
    p.add_argument("--address", default=None, help="join this Ray cluster (default: RAY_ADDRESS, else a local one)")
    p.add_argument("--workers", type=int, default=None, help="evaluator actors (default: one per core)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args) -> int:
    from cluster.driver import ClusterError, RunOptions
    from cluster.evaluation_driver import run_evaluation
    from cluster.evaluation_plan import EvalConfig, EvaluationConflict
    from cluster.evaluation_summary import wide_table
    from cluster.storage import StorageError
    from cluster.model_store import load_model
    from timbre.models.bundle import bundle_fingerprint

    try:
        config = EvalConfig(args.pairs, args.out, bundle_fingerprint(load_model(args.model)), args.shard_size,
                            seed=args.seed)
        result = run_evaluation(config, args.model, RunOptions(address=args.address, editors=args.workers,
                                                               progress=not args.no_progress))
    except (EvaluationConflict, StorageError, ClusterError, ValueError) as e:
        raise ConfigError(str(e)) from None
    report = write_evaluation_report(config.output, result.rows, result.summary, args.model,
                                     f"Evaluation of {args.pairs}")
    counts = ", ".join(f"{v} {k}" for k, v in sorted(result.counts.items()))
    print(f"done: {result.items} items ({counts}) in {result.shards} shards, {result.shards_done_before} done before; "
          f"{result.items_per_second:.2f} items/s over {result.seconds:.0f} s")
    print(wide_table(result.summary).round(3).to_string())
    print(f"{result.metrics_key}, {result.summary_key} and {report} are in {config.output}")
    return 0


def write_evaluation_report(output: str, rows, summary, model: str, title: str, sections: tuple = ()) -> str:
    """The HTML report beside an evaluation's tables, with the judging bundle's MI curve when it has one."""
    from cluster.storage import open_store
    from jobs.report import write_report
    from timbre.models.bundle import bundle_folder

    store = open_store(output)
    folder = bundle_folder(model)
    mi = folder / "mi.png" if folder else None
    return write_report(store, rows, summary, title, sections, mi.read_bytes() if mi and mi.is_file() else None)
