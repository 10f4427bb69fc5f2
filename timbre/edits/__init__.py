"""Edit methods of both papers: each a frozen parameters dataclass and a function over a batch."""
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from timbre.edits.base import EditBatch, EditModel, EditResult, SamplerConfig
from timbre.edits.ddim_inversion import DDIMInversionParams, ddim_inversion
from timbre.edits.diff_tone import (DiffMidpointParams, DiffRandomParams, DiffToneParams, diff_midpoint, diff_random,
                                    diff_tone)
from timbre.edits.mi_inpaint import MIInpaintParams, mi_inpaint
from timbre.edits.pni import PnIParams, ddim_pni, pni
import torch

from timbre.errors import ConfigError


@dataclass(frozen=True)
class Method:
    """An edit method: its parameters class and its function."""

    name: str
    params: type
    run: Callable[[EditModel, EditBatch, Any, SamplerConfig], EditResult]
    summary: str


METHODS: Mapping[str, Method] = {m.name: m for m in (
    Method("pni", PnIParams, pni, "partial noise injection (SDEdit) up to a noise fraction"),
    Method("ddim-pni", PnIParams, ddim_pni, "DDIM inversion up to a noise fraction, then sampling"),
    Method("ddim-inversion", DDIMInversionParams, ddim_inversion, "full DDIM inversion, then sampling"),
    Method("mi-inpaint", MIInpaintParams, mi_inpaint, "MI-guided inpainting: renoise timbre channels, clamp structure"),
    Method("diff-tone", DiffToneParams, diff_tone, "Diff-TONE: prompt swap at the classifier's last change"),
    Method("diff-random", DiffRandomParams, diff_random, "Diff-TONE baseline: prompt swap at a random step"),
    Method("diff-midpoint", DiffMidpointParams, diff_midpoint, "Diff-TONE baseline: prompt swap at the midpoint"),
)}


def get_method(name: str) -> Method:
    """The method called `name`, or a ConfigError listing the known ones."""
    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; known methods: {', '.join(METHODS)}")
    return METHODS[name]


def param_names(name: str) -> tuple[str, ...]:
    """The parameter names a method accepts."""
    return tuple(f.name for f in fields(get_method(name).params))


@dataclass(frozen=True)
class EditSpec:
    """A method, its parameters and the sampler settings: everything that determines an edit but the inputs."""

    method: str
    params: Any
    sampler: SamplerConfig = SamplerConfig()

    def __post_init__(self):
        expected = get_method(self.method).params
        if not isinstance(self.params, expected):
            raise ConfigError(f"method {self.method!r} takes {expected.__name__}, got {type(self.params).__name__}")

    @classmethod
    def build(cls, method: str, sampler: SamplerConfig = SamplerConfig(), **params) -> "EditSpec":
        """Build a spec from keyword parameters, refusing ones the method does not take."""
        allowed = param_names(method)
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise ConfigError(f"method {method!r} does not take {', '.join(unknown)}; it takes: "
                              f"{', '.join(allowed) or 'no parameters'}")
        return cls(method, get_method(method).params(**params), sampler)

    @torch.no_grad()
    def run(self, model: EditModel, batch: EditBatch) -> EditResult:
        return get_method(self.method).run(model, batch, self.params, self.sampler)


__all__ = ["METHODS", "EditBatch", "EditModel", "EditResult", "EditSpec", "Method", "SamplerConfig", "get_method",
           "param_names"]
