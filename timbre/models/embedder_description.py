"""The evaluation embedder a bundle manifest names under "embedder": a timbre component file, or LAION-CLAP."""
from pathlib import Path
from typing import Any

from timbre.errors import ModelError
from timbre.models.bundle import MANIFEST, described_path
from timbre.models.checkpoint import load_component
from timbre.models.protocols import embeds_audio


def load_embedder(folder: Path, spec: Any):
    """{"kind": "component", "file": F}: a saved conditioner component; {"kind": "laion-clap", "checkpoint": F,
    "tokenizer": FOLDER, "audio_model": "HTSAT-base"}: LAION-CLAP; ModelError naming the manifest otherwise."""
    where = folder / MANIFEST
    if not isinstance(spec, dict) or "kind" not in spec:
        raise ModelError(f"{where}: 'embedder' must be an object with a 'kind'")
    if spec["kind"] == "component":
        module = load_component(described_path(folder, spec, "file", "the embedder"))
        if not embeds_audio(module):
            raise ModelError(f"{where}: the embedder component {spec['file']} does not embed audio")
        return module
    if spec["kind"] == "laion-clap":
        from timbre.models.laion_clap_embedder import LaionClapConfig, load_laion_clap

        checkpoint, tokenizer = (described_path(folder, spec, key, "the embedder") for key in ("checkpoint", "tokenizer"))
        return load_laion_clap(checkpoint, tokenizer, LaionClapConfig(spec.get("audio_model", "HTSAT-base")))
    raise ModelError(f"{where}: unknown embedder kind {spec['kind']!r}; known: component, laion-clap")
