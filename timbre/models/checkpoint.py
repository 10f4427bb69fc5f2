"""One model component per safetensors file, its kind and config in the file's metadata."""
import json
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from timbre.errors import ModelError
from timbre.models.weights import check_state
from timbre.models.debug import (FrameCodec, FrameCodecConfig, HashConditioner, HashConditionerConfig,
                                 PooledClassifier, PooledClassifierConfig)
from timbre.models.audio_classifier import AudioClassifier, AudioClassifierConfig
from timbre.models.codec import SpectralCodec, SpectralCodecConfig
from timbre.models.conditioner import ContrastiveConditioner, ContrastiveConditionerConfig
from timbre.models.dit import DiT, DiTConfig
from timbre.models.harmonic_codec import HarmonicCodec, HarmonicCodecConfig
from timbre.models.latent_classifier import ConvLatentClassifier, LatentClassifierConfig
from timbre.models.music2latent_codec import Music2LatentCodec, Music2LatentConfig
from timbre.models.split_codec import SplitCodec, SplitCodecConfig

COMPONENT_FORMAT = "timbre-component/1"
# kind -> (module class, config class); an explicit registry, never a class name looked up from a string
KINDS: dict[str, tuple[type[nn.Module], type]] = {
    AudioClassifier.kind: (AudioClassifier, AudioClassifierConfig),
    ContrastiveConditioner.kind: (ContrastiveConditioner, ContrastiveConditionerConfig),
    ConvLatentClassifier.kind: (ConvLatentClassifier, LatentClassifierConfig),
    DiT.kind: (DiT, DiTConfig),
    FrameCodec.kind: (FrameCodec, FrameCodecConfig),
    HarmonicCodec.kind: (HarmonicCodec, HarmonicCodecConfig),
    HashConditioner.kind: (HashConditioner, HashConditionerConfig),
    Music2LatentCodec.kind: (Music2LatentCodec, Music2LatentConfig),
    PooledClassifier.kind: (PooledClassifier, PooledClassifierConfig),
    SpectralCodec.kind: (SpectralCodec, SpectralCodecConfig),
    SplitCodec.kind: (SplitCodec, SplitCodecConfig),
}


def save_component(module: nn.Module, path: Path, dtype: torch.dtype | None = None) -> None:
    """Write a registered component's weights with its kind and config; `dtype` stores floating tensors in that
    precision (float16 halves a bundle; loading casts back to the module's own precision)."""
    if getattr(module, "kind", None) not in KINDS:
        raise ModelError(f"cannot save {type(module).__name__}: not a registered component kind")
    tensors = {k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v).detach().contiguous().cpu()
               for k, v in module.state_dict().items()}
    metadata = {"format": COMPONENT_FORMAT, "kind": module.kind, "config": json.dumps(asdict(module.config))}
    save_file(tensors, str(path), metadata=metadata)


def read_metadata(path: Path) -> dict[str, str]:
    """The metadata of a component file; ModelError naming the file when missing or unreadable."""
    if not path.is_file():
        raise ModelError(f"{path}: missing component file")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelError(f"{path}: not a readable safetensors file ({e})") from None
    if metadata.get("format") != COMPONENT_FORMAT:
        raise ModelError(f"{path}: not a timbre component (format {metadata.get('format')!r})")
    return metadata


def load_component(path: Path) -> nn.Module:
    """Rebuild a component from its file: config from the metadata, weights strictly matched to it."""
    metadata = read_metadata(path)
    kind = metadata.get("kind")
    if kind not in KINDS:
        raise ModelError(f"{path}: unknown component kind {kind!r}; known: {', '.join(KINDS)}")
    module_cls, config_cls = KINDS[kind]
    try:
        config = config_cls(**json.loads(metadata["config"]))
    except (KeyError, TypeError, ValueError) as e:
        raise ModelError(f"{path}: bad {kind} config ({e})") from None
    module = module_cls(config)
    check_state(module, load_file(str(path)), str(path), kind)
    return module.eval()


def save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Plain named tensors (analysis results), in the same format."""
    save_file({k: v.contiguous().cpu() for k, v in tensors.items()}, str(path), metadata={"format": COMPONENT_FORMAT,
                                                                                        "kind": "tensors"})


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    read_metadata(path)
    return load_file(str(path))
