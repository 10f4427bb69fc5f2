"""Shared fixtures: the debug bundle and Gaussian test data."""
import pytest
import torch

from timbre.models.bundle import debug_bundle


@pytest.fixture(scope="session")
def bundle():
    return debug_bundle()


@pytest.fixture
def gaussian_data():
    """Latents x0 ~ N(mean, var) per channel, float64: (x0, mean (B, C), var (C,))."""
    g = torch.Generator().manual_seed(0)
    var = torch.tensor([0.25, 0.5, 1.0, 0.1], dtype=torch.float64)
    mean = torch.randn(3, 4, generator=g, dtype=torch.float64) * 0.3
    x0 = mean.unsqueeze(-1) + var.sqrt().reshape(1, -1, 1) * torch.randn(3, 4, 50, generator=g, dtype=torch.float64)
    return x0, mean, var
