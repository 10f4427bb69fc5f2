"""The transfer job's driver on Ray: editors pinned one per GPU (or sized to the cores), porters around them,
bounded work in flight, manifest parts as rows finish, resume from them."""
import itertools
import os
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from cluster.catalogue import list_catalogue
from cluster.editor import Editor
from cluster.manifest import ManifestWriter, attempts, consolidate, finished, read_manifest
from cluster.plan import JobConfig, claim_output, plan_items
from cluster.porter import Porter
from cluster.storage import open_store
from cluster.summary import summary_document, write_summary
from cluster.work import Limits, base_row, failed

RESTARTS = 3  # restarts of a killed editor or evaluator, and retries of the calls it had in flight
GPU_EDITOR = {"num_gpus": 1, "num_cpus": 1}  # one editor per GPU (infra/ sizes worker nodes by this)
IO_RESOURCE = "timbre_io"  # a local cluster's custom resource: one per porter, which then needs no CPU of its own


@dataclass(frozen=True)
class RunOptions:
    """How the job runs (not what it computes: none of this enters the job fingerprint)."""

    address: str | None = None  # an existing Ray cluster; None: RAY_ADDRESS (as under `ray job submit`) or a local one
    dashboard: str | None = None  # HOST:PORT for a local cluster's dashboard; None: no dashboard
    editors: int | None = None  # None: one per GPU, else one per `threads` cores
    gpu: bool | None = None  # editors on GPUs; None: when the cluster has GPUs now (say True where an autoscaler adds them)
    threads: int = 1  # torch threads per CPU editor
    batch: int = 8  # clips per editor call
    max_in_flight: int = 64  # items between download and write-back: memory stays flat however long the catalogue
    io_slots: int = 4  # porters: processes downloading and uploading in parallel with the editors
    object_store_mb: int = 512  # object store of a local cluster
    local_gpus: int | None = None  # GPUs a local cluster declares (None: what it finds; tests fake them)
    progress: bool = True
    limits: Limits = Limits()
    compile: bool = False  # editors run the denoiser's network under torch.compile (pays on GPUs)


@dataclass(frozen=True)
class Summary:
    items: int  # in the plan
    already_done: int  # finished by earlier runs and left alone
    counts: dict  # status -> items, over the whole manifest
    seconds: float
    manifest_key: str
    editors: tuple[str, ...] = ()  # where each editor ran (device, visible GPUs)

    @property
    def items_per_second(self) -> float:
        return (self.items - self.already_done) / self.seconds if self.seconds else 0.0


def consistent_auth_mode(environ=os.environ, token_file: Path | None = None) -> str | None:
    """Ray >= 2.59 starts clusters with token authentication when a token exists, but a client sends its token only
    when RAY_AUTH_MODE=token; so when the user left the mode unset and a token is at hand, say token (a cluster
    without authentication accepts such a client too). Returns the mode set, if any."""
    if environ.get("RAY_AUTH_MODE"):
        return None
    token_file = token_file or Path.home() / ".ray" / "auth_token"  # Ray's default place, under today's HOME
    if environ.get("RAY_AUTH_TOKEN") or environ.get("RAY_AUTH_TOKEN_PATH") or token_file.is_file():
        environ["RAY_AUTH_MODE"] = "token"
        return "token"
    return None


def start_ray(options: RunOptions = RunOptions()):
    """Ray joined (options.address or RAY_ADDRESS) or started locally with the options' resources; the module."""
    address = options.address or os.environ.get("RAY_ADDRESS")
    if address and "ray" not in sys.modules:
        consistent_auth_mode()  # only before Ray is imported: it reads the mode once, and client and cluster must agree
    import ray

    if ray.is_initialized():
        return ray
    if address:
        try:
            ray.init(address=address, log_to_driver=False)
        except (ConnectionError, RuntimeError) as e:
            raise ClusterError(f"cannot join the Ray cluster at {address}: {e}. If it uses token authentication, "
                               "set RAY_AUTH_MODE=token and give its token (~/.ray/auth_token, RAY_AUTH_TOKEN or "
                               "RAY_AUTH_TOKEN_PATH)") from None
        return ray
    host, _, port = (options.dashboard or "").rpartition(":")
    ray.init(num_cpus=os.cpu_count(), num_gpus=options.local_gpus, resources={IO_RESOURCE: options.io_slots},
             object_store_memory=options.object_store_mb * 1024**2, log_to_driver=False,
             include_dashboard=bool(options.dashboard),
             **({"dashboard_host": host or "127.0.0.1", "dashboard_port": int(port)} if options.dashboard else {}))
    return ray


class ClusterError(Exception):
    """The Ray cluster cannot be reached or used."""


def run_transfer(config: JobConfig, model: str, options: RunOptions = RunOptions(), log=print,
                 editor_class=Editor) -> Summary:
    """Run (or resume) a transfer job to completion; returns its summary. Every item ends in a manifest row."""
    start = time.perf_counter()
    output_store = open_store(config.output)
    claim_output(output_store, config)
    before = read_manifest(output_store)
    done = finished(before)
    stems = list(list_catalogue(config.source, exclude=config.output))
    items = list(plan_items(stems, config))
    todo = deque(item for item in items if item.item_id not in done)
    log(f"{len(stems)} stems x {len(config.edits)} edits x {len(config.seeds)} seeds = {len(items)} items; "
        f"{len(items) - len(todo)} already done; {len(todo)} to do")
    already = len(items) - len(todo)
    writer = ManifestWriter(output_store, attempts(before))
    placements = ()
    if todo:
        try:
            placements = _execute(todo, config, model, options, output_store, writer, log, editor_class)
        finally:
            writer.flush()
    manifest = read_manifest(output_store)
    manifest = manifest[manifest["item_id"].isin({i.item_id for i in items})]
    key = consolidate(output_store, manifest)
    counts = manifest["status"].value_counts().to_dict()
    summary = Summary(len(items), already, {k: int(v) for k, v in counts.items()},
                      time.perf_counter() - start, key, placements)
    write_summary(output_store, summary_document(config, manifest, {
        "items": summary.items, "already_done": already, "seconds": round(summary.seconds, 3),
        "items_per_second": round(summary.items_per_second, 4), "editors": list(placements)}))
    return summary


def _execute(todo: deque, config: JobConfig, model: str, options: RunOptions, output_store, writer, log,
             editor_class) -> tuple[str, ...]:
    ray = start_ray(options)
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    io = {"num_cpus": 0, "resources": {IO_RESOURCE: 1}} if resources.get(IO_RESOURCE) else {"num_cpus": 0.25}
    slots = min(options.io_slots, int(resources.get(IO_RESOURCE, options.io_slots)))
    porters = [ray.remote(Porter).options(max_restarts=RESTARTS, max_task_retries=RESTARTS, **io).remote()
               for _ in range(max(1, slots))]
    turn = itertools.count()

    def porter():
        return porters[next(turn) % len(porters)]

    actor_class = ray.remote(editor_class)
    if gpus if options.gpu is None else options.gpu:
        count, actor_options = max(1, gpus), GPU_EDITOR
    else:
        count, actor_options = max(1, int(resources.get("CPU", 1)) // options.threads), {"num_cpus": options.threads}
    count = options.editors or count

    def new_editor():
        # A killed editor process is restarted by Ray and its in-flight calls are retried on the new one.
        return actor_class.options(max_restarts=RESTARTS, max_task_retries=RESTARTS, **actor_options).remote(
            model, config, options.threads, options.compile)

    editors = [new_editor() for _ in range(count)]
    replaced = 0
    rate = ray.get(editors[0].sample_rate.remote())
    placements = tuple(ray.get([e.placement.remote() for e in editors]))
    log(f"{count} editor{'s' if count > 1 else ''}: {'; '.join(placements)}")
    bar = progress_bar(len(todo), options.progress)
    preparing, ready, editing, finishing = {}, deque(), {}, {}
    busy = [0] * count
    in_flight = 0
    try:
        while todo or preparing or ready or editing or finishing:
            while todo and in_flight < options.max_in_flight:
                item = todo.popleft()
                meta_ref, waves_ref = porter().prepare.options(num_returns=2).remote(
                    item, config, output_store, rate, options.limits)
                preparing[meta_ref] = (item, waves_ref)
                in_flight += 1
            while ready and (len(ready) >= options.batch or not (todo or preparing)):
                free = [a for a in range(count) if busy[a] < 2]
                if not free:
                    break
                actor = min(free, key=lambda a: busy[a])
                batch = [ready.popleft() for _ in range(min(options.batch, len(ready)))]
                metas = [m for m, _ in batch]
                facts = [(m.noise_id, m.item.edit, m.item.seed) for m in metas]
                ref = editors[actor].edit.remote(facts, *[w for _, w in batch])
                editing[ref] = (actor, metas)
                busy[actor] += 1
            waiting = list(preparing) + list(editing) + list(finishing)
            if not waiting:
                continue
            finished_refs, _ = ray.wait(waiting, num_returns=1, timeout=1.0)
            if finished_refs:  # take every result that is ready, not one per pass
                finished_refs, _ = ray.wait(waiting, num_returns=len(waiting), timeout=0)
            for ref in finished_refs:
                if ref in preparing:
                    item, waves_ref = preparing.pop(ref)
                    try:
                        meta = ray.get(ref)
                    except Exception as e:  # the task itself died: retryable
                        meta = failed(base_row(item, config), e, retryable=True)
                    if isinstance(meta, dict):
                        writer.add(meta)
                        in_flight -= 1
                        bar.update(1)
                    else:
                        ready.append((meta, waves_ref))
                elif ref in editing:
                    actor, metas = editing.pop(ref)
                    busy[actor] -= 1
                    finishing[porter().finish.remote(metas, ref, config, output_store, rate)] = (actor, metas)
                else:
                    actor, metas = finishing.pop(ref)
                    try:
                        rows = ray.get(ref)
                    except Exception as e:  # the editor or the upload task failed after its retries
                        rows = [failed(m.row, e, retryable=True) for m in metas]
                        if isinstance(e, ray.exceptions.RayActorError) and replaced < count * RESTARTS:
                            ray.kill(editors[actor])  # out of restarts (a stem that kills the process?): a fresh one
                            editors[actor], busy[actor] = new_editor(), 0
                            replaced += 1
                    for row in rows:
                        writer.add(row)
                    in_flight -= len(metas)
                    bar.update(len(metas))
    finally:
        bar.close()
        for actor in editors + porters:
            ray.kill(actor)
    return placements


def progress_bar(total: int, enabled: bool, unit: str = "item"):
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, disable=not enabled, smoothing=0.1, dynamic_ncols=True)
