"""The evaluation job on Ray: plan the shards, skip those already stored, fan the rest out to evaluator actors,
then merge every shard into metrics.parquet and summary.parquet."""
import time
from collections import deque
from dataclasses import dataclass

import pandas as pd

from cluster.driver import RESTARTS, RunOptions, progress_bar, start_ray
from cluster.evaluation_plan import (EvalConfig, Shard, claim_evaluation, plan_shards, read_pairs,
                                     reference_jobs)
from cluster.evaluation_summary import (METRICS_KEY, SUMMARY_KEY, read_rows, read_statistics, summarise,
                                        write_table)
from cluster.evaluator import Evaluator, stored_shards
from cluster.manifest import MAX_ATTEMPTS
from cluster.storage import open_store

@dataclass(frozen=True)
class EvalRun:
    items: int
    shards: int
    shards_done_before: int
    counts: dict  # status -> items
    seconds: float
    metrics_key: str
    summary_key: str
    summary: pd.DataFrame
    rows: pd.DataFrame  # metrics.parquet's content

    @property
    def items_per_second(self) -> float:
        done = self.items * (1 - self.shards_done_before / self.shards) if self.shards else 0
        return done / self.seconds if self.seconds else 0.0


def _needs_work(state: dict[str, tuple[int, bool]], shard: Shard) -> bool:
    """Not stored yet, or stored with failures a retry may fix (storage errors) in fewer than MAX_ATTEMPTS runs."""
    attempts, retry = state.get(shard.key, (0, False))
    return attempts == 0 or (retry and attempts < MAX_ATTEMPTS)


def run_evaluation(config: EvalConfig, model: str, options: RunOptions = RunOptions(), log=print,
                   evaluator_class=Evaluator) -> EvalRun:
    """Run (or resume) an evaluation to completion and write its two tables."""
    start = time.perf_counter()
    store = open_store(config.output)
    claim_evaluation(store, config)
    pairs = read_pairs(config.pairs)
    references, reference_sets = reference_jobs(pairs)
    shards = plan_shards(pairs, references, config)
    state = stored_shards(store)
    todo = [s for s in shards if _needs_work(state, s)]
    log(f"{len(pairs)} pairs and {len(references)} reference recordings in {len(shards)} shards; "
        f"{len(shards) - len(todo)} already done; {len(todo)} to do")
    if todo:
        _execute(todo, state, config, model, options, store, log, evaluator_class)
        state = stored_shards(store)
    rows = read_rows(store, shards, set(state))
    summary = summarise(rows, read_statistics(store, shards, set(state)), reference_sets, config)
    metrics_key, summary_key = write_table(store, METRICS_KEY, rows), write_table(store, SUMMARY_KEY, summary)
    counts = {k: int(v) for k, v in rows["status"].value_counts().items()}
    return EvalRun(len(pairs), len(shards), len(shards) - len(todo), counts, time.perf_counter() - start,
                   metrics_key, summary_key, summary, rows)


def _execute(todo: list[Shard], state: dict, config: EvalConfig, model: str, options: RunOptions, store, log,
             evaluator_class):
    ray = start_ray(options)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    count = min(len(todo), options.editors or max(1, cpus // options.threads))
    actor = ray.remote(evaluator_class).options(max_restarts=RESTARTS, max_task_retries=RESTARTS,
                                                num_cpus=options.threads)
    workers = [actor.remote(model, config, options.threads) for _ in range(count)]
    log(f"{count} evaluator{'s' if count > 1 else ''}")
    queue, running, idle = deque(todo), {}, deque(range(count))
    bar = progress_bar(len(todo), options.progress, unit="shard")
    try:
        while queue or running:
            while queue and idle:
                shard, worker = queue.popleft(), idle.popleft()
                attempt = state.get(shard.key, (0, False))[0] + 1
                running[workers[worker].evaluate.remote(shard, store, attempt)] = (worker, shard)
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                worker, shard = running.pop(ref)
                idle.append(worker)
                try:
                    ray.get(ref)
                except Exception as e:  # the shard's evaluator died past its retries: the shard stays to do
                    log(f"shard {shard.key} not evaluated ({type(e).__name__}: {e}); a re-run retries it")
                bar.update(1)
    finally:
        bar.close()
        for w in workers:
            ray.kill(w)
