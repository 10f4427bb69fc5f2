"""Pretrained diffusers / transformers components from a local folder only: never a hub, never a pickle, and every
mismatch a ModelError naming the folder and what is missing."""
from pathlib import Path
from typing import Any

from timbre.errors import ModelError, cause_of
from timbre.models.weights import listing


def require_folder(folder: Path, what: str) -> Path:
    """`folder` when it is a directory, else ModelError naming it and what it should hold."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelError(f"{folder}: missing {what} folder")
    return folder


def load_pretrained(cls: Any, folder: Path, what: str) -> Any:
    """`cls.from_pretrained(folder)` offline from safetensors, refusing missing, unexpected or mis-shaped weights."""
    folder = require_folder(folder, what)
    if not (folder / "config.json").is_file():
        raise ModelError(f"{folder}: missing config.json of the {what}")
    if not any(folder.glob("*.safetensors")):
        raise ModelError(f"{folder}: no .safetensors weights for the {what} (pickled .bin weights are not loaded)")
    try:
        model, info = cls.from_pretrained(str(folder), local_files_only=True, use_safetensors=True,
                                          output_loading_info=True)
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as e:
        raise ModelError(f"{folder}: the {what} does not load ({cause_of(e)})") from None
    problems = {label: sorted(str(k) for k in info.get(key) or ()) for label, key in
                (("missing", "missing_keys"), ("unexpected", "unexpected_keys"), ("shape", "mismatched_keys"))}
    problems = {label: keys for label, keys in problems.items() if keys}
    if problems or info.get("error_msgs"):
        details = "; ".join(f"{label} {listing(keys)}" for label, keys in problems.items()) or \
            "; ".join(map(str, info["error_msgs"]))
        raise ModelError(f"{folder}: weights do not match the {what} config ({details})")
    return model.eval()


def load_tokenizer(folder: Path, what: str = "tokenizer") -> Any:
    """A tokenizer from its local files (tokenizer.json, or vocabulary files), offline."""
    from transformers import AutoTokenizer

    folder = require_folder(folder, what)
    if not any((folder / name).is_file() for name in ("tokenizer.json", "vocab.json", "spiece.model", "vocab.txt")):
        raise ModelError(f"{folder}: no tokenizer files (tokenizer.json, vocab.json + merges.txt, spiece.model)")
    try:
        return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelError(f"{folder}: the {what} does not load ({cause_of(e)})") from None
