"""A bundle described by its manifest over Stable Audio Open: the pretrained folder it names, plus any timbre
components (latent classifier, audio classifier), analysis tensors and embedder beside the manifest."""
from pathlib import Path
from typing import Any

from timbre.errors import ModelError
from timbre.models.bundle import (ANALYSIS_TENSORS, MANIFEST, ModelBundle, described_path, load_components,
                                  read_edit_defaults)
from timbre.models.checkpoint import load_tensors
from timbre.models.stable_audio import load_stable_audio


def load_stable_audio_bundle(folder: Path, manifest: dict[str, Any]) -> ModelBundle:
    """The bundle: Stable Audio Open's codec, v-objective denoiser and T5 prompts, with the manifest's extras."""
    parts = load_stable_audio(described_path(folder, manifest, "stable_audio"))
    components = load_components(folder, manifest)
    unknown = sorted(set(components) - {"latent_classifier", "audio_classifier"})
    if unknown:
        raise ModelError(f"{folder / MANIFEST}: a stable-audio-open bundle takes no {', '.join(unknown)} component")
    analysis = load_tensors(folder / "analysis.safetensors") if (folder / "analysis.safetensors").exists() else {}
    instruments = manifest.get("instruments")
    if not isinstance(instruments, list) or not all(isinstance(i, str) for i in instruments):
        raise ModelError(f"{folder / MANIFEST}: 'instruments' must be a list of names")
    embedder = None
    if "embedder" in manifest:
        from timbre.models.embedder_description import load_embedder

        embedder = load_embedder(folder, manifest["embedder"])
    return ModelBundle(name=manifest.get("name", folder.name), codec=parts.codec, denoiser=parts.denoiser,
                       conditioner=parts.conditioner, null_cond=parts.null_cond, instruments=tuple(instruments),
                       latent_classifier=components.get("latent_classifier"),
                       audio_classifier=components.get("audio_classifier"), embedder=embedder,
                       **{k: analysis.get(k) for k in ANALYSIS_TENSORS}, provenance=manifest.get("provenance", {}),
                       edit_defaults=read_edit_defaults(folder, manifest))
