"""Classifier-free guidance at one scale on the timbre part of a channel split and another on its structure part."""
from dataclasses import dataclass

from torch import Tensor

from timbre.conditions import Cond
from timbre.denoisers import Denoiser, Hold, conditional_and_unconditional
from timbre.edits.channel_split import ChannelSplit


@dataclass(frozen=True, eq=False)
class SplitGuidance:
    """D_u + w_T P_T (D_c - D_u) + w_S P_S (D_c - D_u): CFG (Ho & Salimans 2022) at `scale` on the timbre part and
    at `structure_scale` on the structure part of `split` (P_T + P_S = I), conditional and unconditional in one
    batched forward. Equal scales give plain CFG. With a `hold`, the guided estimate is passed through it with the
    conditional one, as ClassifierFreeGuidance does."""

    denoiser: Denoiser
    uncond: Cond  # the null condition, one item or a batch
    split: ChannelSplit
    scale: float
    structure_scale: float
    hold: Hold | None = None  # (guided, conditional) -> guided with some of what it holds put back

    def __call__(self, x: Tensor, sigma: Tensor, cond: Cond) -> Tensor:
        cond_out, uncond_out = conditional_and_unconditional(self.denoiser, self.uncond, x, sigma, cond)
        delta = cond_out - uncond_out
        out = self.split.with_structure(uncond_out + self.scale * delta, uncond_out + self.structure_scale * delta)
        return out if self.hold is None else self.hold(out, cond_out)
