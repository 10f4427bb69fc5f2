"""A transfer job's plan: its edits, the item table (stem x edit x seed), content-keyed output keys, and the job
fingerprint that keeps two different jobs out of one output prefix."""
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath

from cluster.catalogue import JOB_FOLDER, Stem
from timbre.batch_edit import WindowConfig
from timbre.edits import EditSpec

FINGERPRINT = f"{JOB_FOLDER}/job.json"
OUTPUT_FORMATS = {"wav": ".wav", "flac": ".flac"}


class JobConflict(Exception):
    """The output prefix already belongs to a job with another configuration."""


def text_hash(*parts) -> str:
    """sha256 hex of the parts joined by NUL: the one hash behind every content key."""
    return hashlib.sha256("\x00".join(map(str, parts)).encode()).hexdigest()


# Settings added after output keys existed, with the value every earlier job ran with: at that value a setting is
# left out of the key. Add a new setting here when it joins SamplerConfig or a method's parameters.
ADDED_SETTINGS = {"sampler": {"precision": "fp32", "cfg_rescale": 0.0, "hold_level": False},
                  "params": {"structure_cfg": None}}


def without_added_defaults(values: dict, added: dict) -> dict:
    """`values` less the added settings that hold their earlier value."""
    return {name: v for name, v in values.items() if not (name in added and v == added[name])}


@dataclass(frozen=True)
class Edit:
    """One requested edit: a target (prompt or reference recording URI) reached by a method."""

    name: str  # names the outputs, e.g. "violin"
    target: str
    spec: EditSpec
    space: str | None = None  # mi-inpaint: "basis" or "raw"; None: the bundle's first

    def config(self) -> dict:
        """What determines the edit's outputs. Settings added after output keys existed are left out at the value
        every earlier job had (ADDED_SETTINGS), so the keys of earlier jobs stay the same."""
        return {"name": self.name, "target": self.target, "method": self.spec.method,
                "params": without_added_defaults(asdict(self.spec.params), ADDED_SETTINGS["params"]),
                "sampler": without_added_defaults(asdict(self.spec.sampler), ADDED_SETTINGS["sampler"]),
                "space": self.space}

    @property
    def key(self) -> str:
        return text_hash(json.dumps(self.config(), sort_keys=True))[:12]


@dataclass(frozen=True)
class JobConfig:
    """Everything that determines a job's outputs."""

    source: str
    output: str
    model_id: str  # bundle_fingerprint of the model
    edits: tuple[Edit, ...]
    seeds: tuple[int, ...] = (0,)
    format: str = "wav"
    windows: WindowConfig = WindowConfig()

    def __post_init__(self):
        if self.format not in OUTPUT_FORMATS:
            raise ValueError(f"output format must be one of {', '.join(OUTPUT_FORMATS)}, got {self.format!r}")
        if not self.edits or not self.seeds:
            raise ValueError("a job needs at least one edit and one seed")
        names = [e.name for e in self.edits]
        if len(set(names)) != len(names):
            raise ValueError(f"edit names must differ: {names}")

    def fingerprint(self) -> dict:
        return {"source": self.source, "model": self.model_id, "edits": [e.config() for e in self.edits],
                "seeds": list(self.seeds), "format": self.format, "windows": asdict(self.windows)}


@dataclass(frozen=True)
class Item:
    """One unit of work: a stem, an edit (index into the job's edits) and a seed."""

    item_id: str
    stem: Stem
    edit: int
    seed: int


def plan_items(stems: Iterable[Stem], config: JobConfig) -> Iterator[Item]:
    """The item table, lazily: ids from (URI, listed version, edit, seed), so a re-run recognises its items before
    downloading anything."""
    for stem in stems:
        for e, edit in enumerate(config.edits):
            for seed in config.seeds:
                yield Item(text_hash(stem.uri, stem.version, edit.key, seed)[:20], stem, e, seed)


def output_key(item: Item, config: JobConfig, content_hash: str) -> str:
    """`<relative path without suffix>.<edit name>.<16 hex>.<format>`, the hex keyed on the input's content, the
    model, the edit and the seed: the same work always lands on the same key."""
    edit = config.edits[item.edit]
    key = text_hash(content_hash, config.model_id, edit.key, item.seed)[:16]
    stem = PurePosixPath(item.stem.relative)
    return str(stem.with_name(f"{stem.stem}.{edit.name}.{key}{OUTPUT_FORMATS[config.format]}"))


def claim_fingerprint(store, key: str, fingerprint: dict, conflict: type[Exception], what: str) -> bool:
    """Write a job's fingerprint at `key` (True), or find the same one there (False: a resume). A different one
    raises `conflict` naming what differs."""
    text = json.dumps(fingerprint, indent=2, sort_keys=True)
    if store.put(key, text.encode()):
        return True
    found, wanted = json.loads(store.get(key)), json.loads(text)  # both through JSON: tuples become lists
    if found != wanted:
        differ = sorted(k for k in set(found) | set(wanted) if found.get(k) != wanted.get(k))
        raise conflict(f"{store.uri}/{key}: the output prefix holds {what} with another {', '.join(differ)}; "
                       "use a new output prefix, or rerun with the same configuration to resume it")
    return False


def claim_output(store, config: JobConfig) -> bool:
    """Claim the output prefix for a transfer job (see claim_fingerprint)."""
    return claim_fingerprint(store, FINGERPRINT, config.fingerprint(), JobConflict, "a job")
