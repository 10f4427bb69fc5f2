"""The evaluation embedder a bundle manifest names under "embedder": a timbre component file, or LAION-CLAP."""
from pathlib import Path
from typing import Any

from timbre.errors import ModelError
from timbre.models.bundle import MANIFEST
from timbre.models.checkpoint import load_component


def load_embedder(folder: Path, spec: Any):
    """{"kind": "component", "file": F}: a saved conditioner component; {"kind": "laion-clap", "checkpoint": F,
    "tokenizer": FOLDER, "audio_model": "HTSAT-base"}: LAION-CLAP; ModelError naming the manifest otherwise."""
    where = folder / MANIFEST
    if not isinstance(spec, dict) or "kind" not in spec:
        raise ModelError(f"{where}: 'embedder' must be an object with a 'kind'")
    if spec["kind"] == "component":
        module = load_component(_path(folder, spec, "file", where))
        if not callable(getattr(module, "embed_audio", None)):
            raise ModelError(f"{where}: the embedder component {spec['file']} does not embed audio")
        return module
    if spec["kind"] == "laion-clap":
        from timbre.models.laion_clap_embedder import LaionClapConfig, load_laion_clap

        return load_laion_clap(_path(folder, spec, "checkpoint", where), _path(folder, spec, "tokenizer", where),
                               LaionClapConfig(spec.get("audio_model", "HTSAT-base")))
    raise ModelError(f"{where}: unknown embedder kind {spec['kind']!r}; known: component, laion-clap")


def _path(folder: Path, spec: dict, key: str, where: Path) -> Path:
    value = spec.get(key)
    if not isinstance(value, str) or not value:
        raise ModelError(f"{where}: the embedder names no {key!r}")
    return Path(value) if Path(value).is_absolute() else folder / value
