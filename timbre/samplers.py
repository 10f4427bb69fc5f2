"""Deterministic EDM samplers as free functions over an explicit sigma tensor (Karras et al. 2022)."""
from collections.abc import Callable
from typing import Any, Union

from torch import Tensor

from timbre.conditions import Cond
from timbre.denoisers import Denoiser, sigma_batch

Callback = Callable[[dict[str, Any]], None]
Hook = Callable[[Tensor, int], Tensor]  # (x at grid index i, i) -> x to use for step i
CondSchedule = Union[Cond, Callable[[int], Cond]]  # a condition, or one per step index


def cond_at(cond: CondSchedule, i: int) -> Cond:
    """The condition for step i: the schedule's value, or the condition itself."""
    return cond(i) if callable(cond) else cond


def ode_step(denoiser: Denoiser, x: Tensor, sigma: float, sigma_next: float, cond: Cond,
             denoised: Tensor, heun: bool) -> Tensor:
    """One step of the probability-flow ODE dx/dsigma = (x - D(x, sigma)) / sigma, either direction."""
    d = (x - denoised) / sigma
    x_next = x + d * (sigma_next - sigma)  # Euler step
    if not heun or sigma_next == 0:
        return x_next
    denoised_next = denoiser(x_next, sigma_batch(x, sigma_next), cond)
    d_next = (x_next - denoised_next) / sigma_next
    return x + (d + d_next) / 2 * (sigma_next - sigma)  # Heun correction


def sample(denoiser: Denoiser, x: Tensor, sigmas: Tensor, cond: CondSchedule, *, heun: bool = True,
           start: int = 0, callback: Callback | None = None, hook: Hook | None = None) -> Tensor:
    """Deterministic sampling from grid index `start` down to sigmas[-1] (Karras et al. 2022, Alg. 1).

    `hook(x, i)` may overwrite part of x before step i; `callback` sees {x, i, sigma, denoised}."""
    for i in range(start, len(sigmas) - 1):
        if hook is not None:
            x = hook(x, i)
        sigma, sigma_next = float(sigmas[i]), float(sigmas[i + 1])
        c = cond_at(cond, i)
        denoised = denoiser(x, sigma_batch(x, sigma), c)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigma, "denoised": denoised})
        x = ode_step(denoiser, x, sigma, sigma_next, c, denoised, heun)
    return x


def sample_euler(denoiser: Denoiser, x: Tensor, sigmas: Tensor, cond: CondSchedule, **kw) -> Tensor:
    """Euler sampler: EDM Algorithm 1 without the second-order correction."""
    return sample(denoiser, x, sigmas, cond, heun=False, **kw)


def sample_heun(denoiser: Denoiser, x: Tensor, sigmas: Tensor, cond: CondSchedule, **kw) -> Tensor:
    """Heun sampler: EDM Algorithm 1 (deterministic, Euler on the last step to sigma 0)."""
    return sample(denoiser, x, sigmas, cond, heun=True, **kw)
