"""DDIM inversion on the EDM grid: the probability-flow ODE run towards higher sigma, keeping the path."""
from dataclasses import dataclass

import torch
from torch import Tensor

from timbre.conditions import Cond
from timbre.denoisers import Denoiser, sigma_batch
from timbre.errors import ConfigError
from timbre.samplers import Callback, ode_step


@dataclass(frozen=True, eq=False)
class Trajectory:
    """Inversion states by grid index: states[j] is x at index `first + j`; the last two are the clean latent."""

    sigmas: Tensor
    first: int
    states: Tensor

    def at(self, i: int) -> Tensor:
        """The state at grid index i (first <= i <= len(sigmas) - 1)."""
        if not self.first <= i < len(self.sigmas):
            raise IndexError(f"trajectory holds grid indices {self.first}..{len(self.sigmas) - 1}, not {i}")
        return self.states[i - self.first]

    @property
    def top(self) -> Tensor:
        """The most-noised state, at grid index `first`."""
        return self.states[0]


def invert(denoiser: Denoiser, x0: Tensor, sigmas: Tensor, cond: Cond, *, to: int = 0, heun: bool = True,
           callback: Callback | None = None) -> Trajectory:
    """DDIM inversion (Song et al. 2021): from sigma_min up to grid index `to`, the clean latent taken as x(sigma_min)."""
    last = len(sigmas) - 1  # index of the final sigma = 0
    if not 0 <= to <= last:
        raise ConfigError(f"inversion target index must be in [0, {last}], got {to}")
    states = [x0, x0] if to < last else [x0]
    x = x0
    for i in range(last - 1, to, -1):
        sigma, sigma_up = float(sigmas[i]), float(sigmas[i - 1])
        denoised = denoiser(x, sigma_batch(x, sigma), cond)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigma, "denoised": denoised})
        x = ode_step(denoiser, x, sigma, sigma_up, cond, denoised, heun)
        states.append(x)
    return Trajectory(sigmas=sigmas, first=to, states=torch.stack(states[::-1]))
