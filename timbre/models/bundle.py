"""A model bundle: codec, denoiser, conditioner, classifier and channel analysis, loaded by name."""
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from timbre.conditions import Cond, cond_tensors, cond_to
from timbre.denoisers import Denoiser, EDMPrecond
from timbre.edits.base import EditModel
from timbre.edits.defaults import checked_edit_defaults
from timbre.errors import ConfigError, ModelError
from timbre.models.debug import (DEBUG_INSTRUMENTS, FrameCodec, FrameCodecConfig, HashConditioner,
                                 HashConditionerConfig, PooledClassifier, PooledClassifierConfig, debug_dit)
from timbre.models.checkpoint import load_component, load_tensors, save_component, save_tensors
from timbre.models.dit import randomize_
from timbre.models.protocols import (Codec, Conditioner, LatentClassifier, always_known_count, embeds_audio,
                                    level_hold, structure_channels)


@dataclass(frozen=True, eq=False)
class ModelBundle:
    """Everything an edit needs, with the facts about it that are recorded beside outputs."""

    name: str  # recorded in output keys
    codec: Codec
    denoiser: Denoiser  # conditional denoiser D(x, sigma, cond)
    conditioner: Conditioner
    null_cond: Cond  # the dropped condition, one item
    instruments: tuple[str, ...]  # classifier labels
    latent_classifier: LatentClassifier | None = None
    channel_ranking: Tensor | None = None  # raw channels, most instrument-informative first (the paper's ranking)
    channel_basis: Tensor | None = None  # (C, C) orthogonal timbre basis, column j = direction j
    basis_ranking: Tensor | None = None  # basis directions, most timbre- and least pitch-informative first
    audio_classifier: Callable[[Tensor], Tensor] | None = None  # (B, S) waves -> logits; evaluation's judge
    embedder: Conditioner | None = None  # evaluation's audio embedder (LAION-CLAP); None: the conditioner
    provenance: Mapping[str, Any] = field(default_factory=dict)  # corpus seed, training metrics, versions
    edit_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # per method, the settings its
    # edits were tuned at, used where a request leaves one out (timbre.edits.defaults)
    always_known: int | None = None  # how many of the codec's leading structure channels the denoiser always saw
    # known in training (DenoiserTrainingConfig.always_known); None: every one the codec declares

    @property
    def held_channels(self) -> int:
        """How many leading channels the raw ranking keeps last, so that MI-inpaint regenerates them only when k
        reaches beyond every other channel: those the denoiser always saw known in training. A structure channel it
        saw known only as often as the timbre channels keeps its MI rank, and an edit may regenerate it."""
        return always_known_count(structure_channels(self.codec), self.always_known)

    @property
    def sample_rate(self) -> int:
        return self.codec.sample_rate

    @property
    def channel_spaces(self) -> tuple[str, ...]:
        """Where MI-inpaint can split timbre from structure: "basis" (the timbre basis) and/or "raw" channels."""
        return tuple(name for name, ready in (("basis", self.channel_basis is not None and self.basis_ranking is not None),
                                              ("raw", self.channel_ranking is not None)) if ready)

    @property
    def default_space(self) -> str | None:
        """MI-inpaint's channel space where a request names none: the bundle's edit default for MI-inpaint, else the
        first of its channel spaces (None where it has neither)."""
        space = self.edit_defaults.get("mi-inpaint", {}).get("space")
        return space or (self.channel_spaces[0] if self.channel_spaces else None)

    @property
    def device(self) -> torch.device:
        return next(iter(cond_tensors(self.null_cond, "null_cond").values())).device

    @property
    def judge_embedder(self) -> Conditioner:
        """The audio embedder evaluation listens with: the bundle's embedder, else its conditioner when that embeds
        audio; ModelError naming the bundle otherwise."""
        embedder = self.embedder if self.embedder is not None else self.conditioner
        if not embeds_audio(embedder):
            raise ModelError(f"bundle {self.name} has no audio embedder for evaluation: name one (LAION-CLAP) "
                             "under \"embedder\" in its bundle.json")
        return embedder

    def to(self, device: str | torch.device) -> "ModelBundle":
        """The bundle with every model and tensor on `device` (modules move in place, as torch's `to` does)."""
        def move(part):
            return part.to(device) if hasattr(part, "to") else part

        return replace(self, codec=move(self.codec), denoiser=replace(self.denoiser, net=move(self.denoiser.net)),
                       conditioner=move(self.conditioner), null_cond=cond_to(self.null_cond, device),
                       latent_classifier=move(self.latent_classifier), channel_basis=move(self.channel_basis),
                       audio_classifier=move(self.audio_classifier), embedder=move(self.embedder))

    def compiled(self, **options) -> "ModelBundle":
        """The bundle with its denoiser's network under torch.compile (`options` go to it): on an H100 a bf16 forward
        of Stable Audio Open's DiT runs 1.6 to 1.8x faster (docs/benchmarks.md). The first calls of each new batch
        shape compile; every later one reuses the compiled code."""
        return replace(self, denoiser=replace(self.denoiser, net=torch.compile(self.denoiser.net, **options)))

    def edit_model(self, space: str | None = None) -> EditModel:
        """The engine's view; `space` picks MI-inpaint's split: "raw", "basis", or None for `default_space`."""
        spaces = self.channel_spaces
        if space is None:
            space = self.default_space or "raw"
        if space not in ("raw", "basis"):
            raise ModelError(f"channel space must be 'raw' or 'basis', got {space!r}")
        if space == "basis":
            if "basis" not in spaces:
                raise ModelError(f"bundle {self.name} has no timbre basis (run `timbre analyse mi`)")
            return EditModel(self.denoiser, self.null_cond, self.latent_classifier, self.basis_ranking,
                             self.channel_basis, level_hold(self.codec))
        return EditModel(self.denoiser, self.null_cond, self.latent_classifier, self.channel_ranking, None,
                         level_hold(self.codec))


def debug_bundle(seed: int = 0) -> ModelBundle:
    """The tiny twin: random weights, 16 latent channels at 62.5 Hz from 16 kHz audio, 64-d conditions."""
    codec = FrameCodec(FrameCodecConfig(sample_rate=16000, hop_length=256, channels=16, seed=seed))
    conditioner = HashConditioner(HashConditionerConfig(dim=64, sample_rate=16000, seed=seed))
    classifier = randomize_(PooledClassifier(PooledClassifierConfig(16, len(DEBUG_INSTRUMENTS))), seed + 1).eval()
    ranking = torch.randperm(16, generator=torch.Generator().manual_seed(seed))
    return ModelBundle(name=f"debug-{seed}", codec=codec, denoiser=EDMPrecond(debug_dit(seed, 16, 64)),
                       conditioner=conditioner, null_cond=torch.zeros(64), instruments=DEBUG_INSTRUMENTS,
                       latent_classifier=classifier, channel_ranking=ranking)


BUNDLE_FORMAT, BUNDLE_VERSION = "timbre-bundle", 1
ANALYSIS_TENSORS = ("channel_ranking", "channel_basis", "basis_ranking")
MANIFEST = "bundle.json"


def save_bundle(bundle: ModelBundle, folder: Path, dtype: torch.dtype | None = None) -> None:
    """Write a bundle folder: a manifest, one safetensors file per component (weights in `dtype` when given),
    the analysis tensors (always at full precision: the basis must stay orthogonal)."""
    if not isinstance(bundle.denoiser, EDMPrecond):
        raise ModelError("only EDM-preconditioned denoisers can be saved in a bundle")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    parts = {"codec": bundle.codec, "denoiser": bundle.denoiser.net, "conditioner": bundle.conditioner}
    for name in ("latent_classifier", "audio_classifier"):
        if getattr(bundle, name) is not None:
            parts[name] = getattr(bundle, name)
    for part, module in parts.items():
        save_component(module, folder / f"{part}.safetensors", dtype)
    analysis = {"null_cond": bundle.null_cond}
    analysis |= {k: v for k in ANALYSIS_TENSORS if (v := getattr(bundle, k)) is not None}
    save_tensors(analysis, folder / "analysis.safetensors")
    manifest = {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "name": bundle.name,
                "instruments": list(bundle.instruments), "sigma_data": bundle.denoiser.sigma_data,
                "components": sorted(parts), "provenance": dict(bundle.provenance)}
    if bundle.edit_defaults:
        manifest["edit_defaults"] = {method: dict(settings) for method, settings in bundle.edit_defaults.items()}
    if bundle.always_known is not None:
        manifest["always_known"] = bundle.always_known
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def read_manifest(folder: Path) -> dict[str, Any]:
    """The bundle manifest; ModelError naming the file when missing, unreadable or of another format."""
    path = folder / MANIFEST
    if not path.is_file():
        raise ModelError(f"{path}: missing bundle manifest")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise ModelError(f"{path}: not a timbre bundle manifest")
    if manifest.get("version") != BUNDLE_VERSION:
        raise ModelError(f"{path}: bundle version {manifest.get('version')!r}, this timbre reads {BUNDLE_VERSION}")
    return manifest


def described_path(folder: Path, spec: Mapping[str, Any], key: str, owner: str = "the manifest") -> Path:
    """A path a bundle manifest (or one of its entries, `owner`) gives under `key`, relative to the bundle folder
    unless absolute; ModelError naming the manifest when it is absent."""
    value = spec.get(key)
    if not isinstance(value, str) or not value:
        raise ModelError(f"{folder / MANIFEST}: {owner} names no {key!r}")
    return Path(value) if Path(value).is_absolute() else folder / value


def load_bundle_folder(folder: Path) -> ModelBundle:
    """Load a bundle folder: one written by save_bundle, or a description of pretrained parts (its manifest's
    "architecture", docs/models.md); every error names the file at fault."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    architecture = manifest.get("architecture", "timbre")
    if architecture == "stable-audio-open":
        from timbre.models.stable_audio_bundle import load_stable_audio_bundle

        return load_stable_audio_bundle(folder, manifest)
    if architecture != "timbre":
        raise ModelError(f"{folder / MANIFEST}: unknown architecture {architecture!r}; known: timbre, stable-audio-open")
    parts = load_components(folder, manifest)
    for required in ("codec", "denoiser", "conditioner"):
        if required not in parts:
            raise ModelError(f"{folder / MANIFEST}: lists no {required}")
    analysis = load_tensors(folder / "analysis.safetensors")
    if "null_cond" not in analysis:
        raise ModelError(f"{folder / 'analysis.safetensors'}: missing null_cond")
    return ModelBundle(name=manifest["name"], codec=parts["codec"],
                       denoiser=EDMPrecond(parts["denoiser"], manifest["sigma_data"]),
                       conditioner=parts["conditioner"], null_cond=analysis["null_cond"],
                       instruments=tuple(manifest["instruments"]), latent_classifier=parts.get("latent_classifier"),
                       audio_classifier=parts.get("audio_classifier"),
                       **{k: analysis.get(k) for k in ANALYSIS_TENSORS}, provenance=manifest.get("provenance", {}),
                       edit_defaults=read_edit_defaults(folder, manifest),
                       always_known=read_always_known(folder, manifest, parts["codec"]))


def read_always_known(folder: Path, manifest: Mapping[str, Any], codec: Codec) -> int | None:
    """The manifest's "always_known", checked against the codec's structure channels; ModelError naming the
    manifest."""
    value = manifest.get("always_known")
    if value is None:
        return None
    declared = structure_channels(codec)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= declared:
        raise ModelError(f"{folder / MANIFEST}: always_known must be a whole number from 0 to the codec's "
                         f"{declared} structure channels, got {value!r}")
    return value


def read_edit_defaults(folder: Path, manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The manifest's "edit_defaults", checked as a request's settings are; ModelError naming the manifest."""
    try:
        return checked_edit_defaults(manifest.get("edit_defaults", {}))
    except ConfigError as e:
        raise ModelError(f"{folder / MANIFEST}: {e}") from None


def load_components(folder: Path, manifest: dict[str, Any]) -> dict[str, torch.nn.Module]:
    """The timbre components the manifest lists, each from `<name>.safetensors` beside it."""
    return {p: load_component(folder / f"{p}.safetensors") for p in manifest.get("components", [])}


DEFAULT_FOLDER = Path(__file__).parent / "default"  # trained by `make train-default`, committed with the code


def default_bundle() -> ModelBundle:
    """The embedded default: small models trained from scratch on the synthetic corpus (docs/models.md)."""
    if not (DEFAULT_FOLDER / MANIFEST).is_file():
        raise ModelError(f"{DEFAULT_FOLDER}: the default bundle is missing from this installation "
                         "(`make train-default` rebuilds it)")
    return load_bundle_folder(DEFAULT_FOLDER)


BUILTIN_BUNDLES = {"debug": debug_bundle, "default": default_bundle}


def load_bundle(name_or_path: str | Path) -> ModelBundle:
    """A bundle by built-in name ("default", "debug"), or from a bundle folder."""
    if str(name_or_path) in BUILTIN_BUNDLES:
        return BUILTIN_BUNDLES[str(name_or_path)]()
    path = Path(name_or_path)
    if path.is_dir():
        return load_bundle_folder(path)
    raise ModelError(f"no model bundle {str(name_or_path)!r}: neither a built-in name "
                     f"({', '.join(BUILTIN_BUNDLES)}) nor a bundle folder")


def bundle_folder(name_or_path: str | Path) -> Path | None:
    """The folder a bundle loads from (None for one built in code, such as "debug"): its plots live there."""
    if str(name_or_path) == "default":
        return DEFAULT_FOLDER
    path = Path(name_or_path)
    return path if path.is_dir() else None


def bundle_fingerprint(bundle: ModelBundle) -> str:
    """`name-<12 hex>`: the name and a hash of every weight and analysis tensor, so outputs keyed by it change
    exactly when the model does."""
    digest = hashlib.sha256(f"{bundle.name}\x00{getattr(bundle.denoiser, 'sigma_data', '')}".encode())
    modules = {"codec": bundle.codec, "denoiser": getattr(bundle.denoiser, "net", bundle.denoiser),
               "conditioner": bundle.conditioner}
    tensors = {f"{name}.{key}": value for name, module in modules.items() if isinstance(module, torch.nn.Module)
               for key, value in module.state_dict().items()}
    tensors.update(cond_tensors(bundle.null_cond, "null_cond"))
    tensors.update({key: getattr(bundle, key) for key in ANALYSIS_TENSORS if getattr(bundle, key) is not None})
    if isinstance(bundle.embedder, torch.nn.Module):  # the judge, when it is not the conditioner
        tensors.update({f"embedder.{k}": v for k, v in bundle.embedder.state_dict().items()})
    for key in sorted(tensors):
        digest.update(key.encode())
        digest.update(tensors[key].detach().cpu().contiguous().float().numpy().tobytes())
    return f"{bundle.name}-{digest.hexdigest()[:12]}"
