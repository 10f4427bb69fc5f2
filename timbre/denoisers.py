"""Denoisers D(x, sigma, cond) -> x0_hat: EDM, v- and eps-prediction wrappers, classifier-free guidance, mixed
precision."""
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from timbre.conditions import Cond, concat_conds, expand_cond

RawNet = Callable[[Tensor, Tensor, Cond], Tensor]
Hold = Callable[[Tensor, Tensor], Tensor]  # (guided, conditional) estimates -> the guided one with a feature held


class Denoiser(Protocol):
    """Maps a noisy batch x at noise level sigma (shape (B,)) to the estimate of the clean batch."""

    def __call__(self, x: Tensor, sigma: Tensor, cond: Cond) -> Tensor: ...


def sigma_batch(x: Tensor, sigma) -> Tensor:
    """Sigma as a (B,) tensor on x's device, float64 for float64 x and float32 otherwise."""
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    s = torch.as_tensor(sigma, dtype=dtype, device=x.device)
    return s.expand(x.shape[0]) if s.ndim == 0 else s.to(dtype)


def _bcast(v: Tensor, x: Tensor) -> Tensor:
    return v.reshape(-1, *([1] * (x.ndim - 1)))


def _precondition(net: RawNet, x, sigma, cond, c_skip, c_out, c_in, c_noise) -> Tensor:
    """x0_hat = c_skip x + c_out F(c_in x, c_noise): the shared form of every parameterisation."""
    f = net((_bcast(c_in, x) * x).to(x.dtype), c_noise, cond)
    return (_bcast(c_skip, x) * x + _bcast(c_out, x) * f).to(x.dtype)


@dataclass(frozen=True, eq=False)
class EDMPrecond:
    """EDM preconditioning of a raw network F(x_in, c_noise, cond) (Karras et al. 2022, Table 1)."""

    net: RawNet
    sigma_data: float = 0.5  # EDM's default data standard deviation

    def __call__(self, x: Tensor, sigma: Tensor, cond: Cond) -> Tensor:
        s, sd = sigma_batch(x, sigma), self.sigma_data
        c_skip = sd**2 / (s**2 + sd**2)
        c_out = s * sd / (s**2 + sd**2).sqrt()
        c_in = 1 / (s**2 + sd**2).sqrt()
        return _precondition(self.net, x, s, cond, c_skip, c_out, c_in, s.log() / 4)


@dataclass(frozen=True, eq=False)
class VPrediction:
    """A v-objective network in sigma space (Salimans & Ho 2022; k-diffusion's VDenoiser): t = 2 atan(sigma) / pi."""

    net: RawNet
    sigma_data: float = 1.0  # Stable Audio Open trains with sigma_data 1

    def __call__(self, x: Tensor, sigma: Tensor, cond: Cond) -> Tensor:
        s, sd = sigma_batch(x, sigma), self.sigma_data
        c_skip = sd**2 / (s**2 + sd**2)
        c_out = -s * sd / (s**2 + sd**2).sqrt()
        c_in = 1 / (s**2 + sd**2).sqrt()
        return _precondition(self.net, x, s, cond, c_skip, c_out, c_in, s.atan() * (2 / math.pi))


@dataclass(frozen=True, eq=False)
class EpsPrediction:
    """An eps-prediction network in sigma space (Ho et al. 2020; Karras et al. 2022, Table 1 VP column)."""

    net: RawNet
    sigma_to_t: Callable[[Tensor], Tensor]  # the network's own time variable as a function of sigma

    def __call__(self, x: Tensor, sigma: Tensor, cond: Cond) -> Tensor:
        s = sigma_batch(x, sigma)
        c_in = 1 / (s**2 + 1).sqrt()
        return _precondition(self.net, x, s, cond, torch.ones_like(s), -s, c_in, self.sigma_to_t(s))


@dataclass(frozen=True, eq=False)
class ClassifierFreeGuidance:
    """CFG (Ho & Salimans 2022): D_u + w (D_c - D_u), conditional and unconditional in one batched forward; with
    `rescale` phi > 0, the guided estimate is scaled per item to the conditional one's std and mixed back by phi
    (Lin et al. 2024, "Common diffusion noise schedules and sample steps are flawed", eq. 15-16); with a `hold`,
    the guided estimate is passed through it with the conditional one (a codec's hold_level puts each frame's level
    back to the conditional estimate's)."""

    denoiser: Denoiser
    uncond: Cond  # the null condition, one item or a batch
    scale: float = 1.25  # Diff-A-Riff's guidance strength
    rescale: float = 0.0  # phi: 0 plain CFG, 1 the guided estimate at the conditional estimate's std
    hold: Hold | None = None  # (guided, conditional) -> guided with some of what it holds put back

    def __call__(self, x: Tensor, sigma: Tensor, cond: Cond) -> Tensor:
        if self.scale == 1.0:
            return self.denoiser(x, sigma, cond)
        cond_out, uncond_out = conditional_and_unconditional(self.denoiser, self.uncond, x, sigma, cond)
        out = uncond_out + self.scale * (cond_out - uncond_out)
        out = rescaled_guidance(out, cond_out, self.rescale) if self.rescale else out
        return out if self.hold is None else self.hold(out, cond_out)


def rescaled_guidance(guided: Tensor, conditional: Tensor, phi: float) -> Tensor:
    """phi * guided * std(conditional) / std(guided) + (1 - phi) * guided, the stds per item over every other axis
    (Lin et al. 2024, eq. 15-16): guidance's push without its inflation of the estimate's spread."""
    dims = tuple(range(1, guided.ndim))
    ratio = conditional.std(dim=dims, keepdim=True) / guided.std(dim=dims, keepdim=True).clamp_min(1e-12)
    return phi * guided * ratio + (1 - phi) * guided


def conditional_and_unconditional(denoiser: Denoiser, uncond: Cond, x: Tensor, sigma: Tensor,
                                  cond: Cond) -> tuple[Tensor, Tensor]:
    """(D(x, sigma, cond), D(x, sigma, uncond)) from one batched forward, as guidance needs them."""
    b = x.shape[0]
    s = sigma_batch(x, sigma)
    both = denoiser(torch.cat([x, x]), torch.cat([s, s]), concat_conds(cond, expand_cond(uncond, b)))
    return both[:b], both[b:]


@dataclass(frozen=True, eq=False)
class MixedPrecision:
    """Runs a denoiser's network under autocast (bf16 matrix work on tensor cores) while the latents, the sampler's
    arithmetic and the returned estimate stay in x's own dtype."""

    denoiser: Denoiser
    dtype: torch.dtype = torch.bfloat16

    def __call__(self, x: Tensor, sigma: Tensor, cond: Cond) -> Tensor:
        with torch.autocast(x.device.type, dtype=self.dtype):
            out = self.denoiser(x, sigma, cond)
        return out.to(x.dtype)
