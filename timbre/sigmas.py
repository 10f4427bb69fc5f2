"""Noise schedules as explicit tensors and the PnI noise-fraction lookup."""
import torch
from torch import Tensor

from timbre.errors import ConfigError


def karras_sigmas(steps: int, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0) -> Tensor:
    """The EDM grid (Karras et al. 2022, eq. 5): `steps` descending sigmas, then a final 0 (float64)."""
    if not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"steps must be an integer >= 1, got {steps!r}")
    if not 0 < sigma_min < sigma_max:
        raise ConfigError(f"need 0 < sigma_min < sigma_max, got sigma_min={sigma_min}, sigma_max={sigma_max}")
    if rho <= 0:
        raise ConfigError(f"rho must be > 0, got {rho}")
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64) if steps > 1 else torch.zeros(1, dtype=torch.float64)
    max_inv, min_inv = sigma_max ** (1 / rho), sigma_min ** (1 / rho)
    sigmas = (max_inv + ramp * (min_inv - max_inv)) ** rho
    return torch.cat([sigmas, sigmas.new_zeros(1)])


def noise_fraction_index(sigmas: Tensor, fraction: float) -> int:
    """The grid index whose sigma is nearest fraction * sigma_max (MI-guided inpainting, sec. 4.2.1)."""
    if not 0.0 <= fraction <= 1.0:
        raise ConfigError(f"noise_fraction must be in [0, 1], got {fraction}")
    target = fraction * float(sigmas[0])
    return int(torch.argmin((sigmas.double() - target).abs()))
