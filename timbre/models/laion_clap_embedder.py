"""LAION-CLAP (Wu et al. 2023; the music checkpoint music_audioset_epoch_15_esc_90.14.pt, HTSAT-base) as a
Conditioner and evaluation embedder. The laion-clap package's traps stay here: its package __init__ (training data
loaders, downloads) is never run, torchvision is a placeholder during the import when no working one is installed,
RoBERTa is built from a config instead of fetched from a hub, and checkpoints load with weights_only=True."""
import importlib.util
import json
import sys
import threading
import types
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from timbre.errors import InputError, ModelError
from timbre.models.pretrained_folder import load_tokenizer
from timbre.models.weights import check_state, read_state_dict

WINDOW = 480000  # CLAP embeds 10 s windows at 48 kHz
ROBERTA_BASE = dict(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1,
                    bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5)  # roberta-base's config.json, BERT-base sizes
_IMPORT_LOCK = threading.Lock()
TORCHVISION_NAMES = {"torchvision.transforms": ("Normalize", "Compose", "RandomResizedCrop", "InterpolationMode",
                                                "ToTensor", "Resize", "CenterCrop"),
                     "torchvision.ops.misc": ("FrozenBatchNorm2d",), "torchvision.datasets": ()}


def _placeholder(name: str) -> type:
    def refuse(*args, **kwargs):
        raise ModelError(f"torchvision.{name} is a placeholder: timbre's LAION-CLAP adapter never uses it")
    return type(name, (), {"__init__": refuse})


@contextmanager
def _torchvision_for_import():
    """laion-clap imports torchvision (image transforms, a batch-norm helper) that audio embedding never uses. When
    no working torchvision is installed, placeholder modules stand in during the import and are removed after, so
    nothing else (transformers, diffusers) ever sees them."""
    try:
        import torchvision  # noqa: F401
        yield
        return
    except Exception:  # absent, or a CUDA build that fails on this machine (../shared/PLATFORM.md)
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
    added = {"torchvision": types.ModuleType("torchvision"), "torchvision.ops": types.ModuleType("torchvision.ops")}
    for module, names in TORCHVISION_NAMES.items():
        added[module] = types.ModuleType(module)
        for name in names:
            setattr(added[module], name, _placeholder(name))
    sys.modules.update(added)
    try:
        yield
    finally:
        for name in added:
            sys.modules.pop(name, None)


def clap_module() -> types.ModuleType:
    """laion_clap's `clap_module` package (model code only), imported once."""
    with _IMPORT_LOCK:
        if "clap_module" in sys.modules:
            return sys.modules["clap_module"]
        spec = importlib.util.find_spec("laion_clap")  # finds the package without running its __init__
        if spec is None or not spec.submodule_search_locations:
            raise ModelError("laion-clap is not installed (`pip install --no-deps laion-clap==1.1.7`; the Makefile does)")
        folder = str(Path(list(spec.submodule_search_locations)[0]))
        # transformers looks torchvision up when first imported: import what clap_module needs before any placeholder
        from transformers import BartModel, BertModel, RobertaModel  # noqa: F401
        from transformers.tokenization_utils_base import BatchEncoding  # noqa: F401

        sys.path.insert(0, folder)
        try:
            with _torchvision_for_import():
                import clap_module
                import clap_module.factory  # noqa: F401
        finally:
            sys.path.remove(folder)
        return clap_module


@dataclass(frozen=True)
class LaionClapConfig:
    """Which architecture to build: a laion-clap model config name and the RoBERTa text tower's sizes."""

    audio_model: str = "HTSAT-base"  # the music checkpoint's audio tower
    roberta: tuple[tuple[str, int | float], ...] = ()  # overrides of roberta-base's config (the tiny twin's sizes)


def build_clap(config: LaionClapConfig) -> nn.Module:
    """The CLAP module with random weights, RoBERTa built from its config (the package fetches it from a hub)."""
    from transformers import RobertaConfig, RobertaModel

    module = clap_module()
    model_module = sys.modules["clap_module.model"]
    roberta = RobertaConfig(**{**ROBERTA_BASE, **dict(config.roberta)})

    class OfflineRoberta:
        @staticmethod
        def from_pretrained(name, *args, **kwargs):
            return RobertaModel(roberta, add_pooling_layer=True)

    with _IMPORT_LOCK:
        saved = model_module.RobertaModel
        model_module.RobertaModel = OfflineRoberta
        try:
            model, _ = module.factory.create_model(config.audio_model, "roberta", precision="fp32", device="cpu",
                                                   enable_fusion=False)
        except RuntimeError as e:
            raise ModelError(f"laion-clap has no model config {config.audio_model!r} ({e})") from None
        finally:
            model_module.RobertaModel = saved
    return model.eval()


class LaionClapEmbedder(nn.Module):
    """Conditioner protocol over LAION-CLAP: embed_text (RoBERTa tokens, 77 max) and embed_audio ((B, S) mono at
    48 kHz; each clip in consecutive 10 s windows, a short one repeat-padded as CLAP's "repeatpad" does, and the
    windows' embeddings averaged) -> (B, 512) unit vectors."""

    kind = "laion_clap"
    sample_rate = 48000

    def __init__(self, model: nn.Module, tokenizer, config: LaionClapConfig = LaionClapConfig()):
        super().__init__()
        self.model, self.tokenizer, self.config = model.eval(), tokenizer, config
        self.dim = int(model.audio_projection[-1].out_features)

    def embed_text(self, texts: list[str]) -> Tensor:
        tokens = self.tokenizer(list(texts), padding="max_length", truncation=True, max_length=77, return_tensors="pt")
        return self.model.get_text_embedding({"input_ids": tokens.input_ids, "attention_mask": tokens.attention_mask})

    def embed_audio(self, wave: Tensor) -> Tensor:
        if wave.ndim != 2 or wave.shape[-1] == 0:
            raise InputError(f"LAION-CLAP embeds (batch, samples) mono waves, got shape {tuple(wave.shape)}")
        quantised = (wave.float().clamp(-1, 1) * 32767).to(torch.int16).float() / 32767  # as laion-clap feeds audio
        windows, owners = [], []
        for item, clip in enumerate(quantised):
            for start in range(0, clip.shape[-1], WINDOW):
                piece = clip[start: start + WINDOW]
                repeats = -(-WINDOW // piece.shape[-1])
                windows.append(piece.repeat(repeats)[:WINDOW] if piece.shape[-1] < WINDOW else piece)
                owners.append(item)
        device = next(self.model.parameters()).device
        embedded = self.model.get_audio_embedding([{"waveform": w.to(device)} for w in windows])
        owners = torch.tensor(owners, device=embedded.device)
        summed = torch.zeros(wave.shape[0], embedded.shape[-1], device=embedded.device).index_add_(0, owners, embedded)
        return F.normalize(summed, dim=-1)


def load_laion_clap(checkpoint: Path, text_folder: Path, config: LaionClapConfig = LaionClapConfig()) -> LaionClapEmbedder:
    """The embedder from a laion-clap checkpoint (read with weights_only=True) and a local RoBERTa tokenizer folder
    (vocab.json + merges.txt, or tokenizer.json; a config.json there overrides roberta-base's sizes)."""
    tokenizer = load_tokenizer(text_folder, "RoBERTa tokenizer")
    roberta_config = Path(text_folder) / "config.json"
    if roberta_config.is_file() and not config.roberta:
        sizes = json.loads(roberta_config.read_text())
        config = LaionClapConfig(config.audio_model, tuple(sorted(
            (k, v) for k, v in sizes.items() if k in ("vocab_size", "hidden_size", "num_hidden_layers",
                                                      "num_attention_heads", "intermediate_size",
                                                      "max_position_embeddings"))))
    model = build_clap(config)
    state = read_state_dict(checkpoint, "state_dict")
    state = {(k[7:] if k.startswith("module.") else k): v for k, v in state.items()}
    state.pop("text_branch.embeddings.position_ids", None)  # a buffer older transformers saved; newer ones rebuild it
    check_state(model, state, str(checkpoint), f"LAION-CLAP {config.audio_model}", allow_unexpected=True)
    return LaionClapEmbedder(model.eval(), tokenizer, config)


# CLAP projects the RoBERTa pooler output from 768 wide: the twin keeps that width with one layer and a 320-token vocabulary
TINY = LaionClapConfig("HTSAT-tiny", (("hidden_size", 768), ("intermediate_size", 32), ("max_position_embeddings", 80),
                                      ("num_attention_heads", 2), ("num_hidden_layers", 1), ("vocab_size", 320)))


def save_tiny_laion_clap(folder: Path, seed: int = 0) -> None:
    """The tiny twin: HTSAT-tiny and a one-layer RoBERTa with seeded random weights (clap.safetensors), and a
    byte-level BPE tokenizer learnt from prompt words (roberta/); loads with load_laion_clap like the real files."""
    from safetensors.torch import save_file
    from tokenizers import ByteLevelBPETokenizer

    from timbre.models.dit import randomize_

    folder = Path(folder)
    (folder / "roberta").mkdir(parents=True, exist_ok=True)
    words = ByteLevelBPETokenizer()
    words.train_from_iterator(["a recording of a violin viola cello flute clarinet oboe trumpet piano guitar organ "
                               "marimba solo notes played on the"] * 4, vocab_size=300,
                              special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    words.save_model(str(folder / "roberta"))  # vocab.json + merges.txt, as roberta-base ships them
    (folder / "roberta" / "config.json").write_text(json.dumps({"model_type": "roberta", **ROBERTA_BASE, **dict(TINY.roberta)}))
    model = randomize_(build_clap(TINY), seed)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "clap.safetensors"))
