"""Weights into modules, safely: strict key and shape checks, and checkpoints read without unpickling code."""
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from timbre.errors import ModelError, cause_of


def check_state(module: nn.Module, state: dict[str, torch.Tensor], where: str, kind: str,
                allow_unexpected: bool = False) -> None:
    """Load `state` into `module` strictly: ModelError naming `where` with the missing, unexpected and mis-shaped
    keys (unexpected ones ignored when `allow_unexpected`, for upstream checkpoints that carry training extras)."""
    expected = module.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if allow_unexpected:
        unexpected = []
    wrong = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
             if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        details = "; ".join(f"{label} {listing(items)}" for label, items in
                            (("missing", missing), ("unexpected", unexpected), ("shape", wrong)) if items)
        raise ModelError(f"{where}: weights do not match the {kind} config ({details})")
    module.load_state_dict({k: state[k] for k in expected})


def listing(items: list[str], limit: int = 3) -> str:
    """The first `limit` items, and how many more."""
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def read_state_dict(path: Path, key: str | None = None) -> dict[str, torch.Tensor]:
    """Tensors of a .safetensors file or a torch checkpoint (read with weights_only=True: no code is unpickled);
    `key` picks a nested state dict (e.g. "gen_state_dict") when the checkpoint holds one."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: missing checkpoint file")
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as e:
            raise ModelError(f"{path}: not a readable safetensors file ({e})") from None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises UnpicklingError, RuntimeError or EOFError for bad or unsafe files
        raise ModelError(f"{path}: not a checkpoint that loads safely with weights_only=True ({cause_of(e)})") from None
    for name in ([key] if key else []) + ["state_dict", "model"]:
        if isinstance(data, dict) and isinstance(data.get(name), dict):
            data = data[name]
            break
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ModelError(f"{path}: holds no state dict of tensors" + (f" under {key!r}" if key else ""))
    return data
