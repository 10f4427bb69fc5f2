import math

import pytest
import torch

from timbre.training.pool import Pool


@pytest.fixture(scope="session")
def two_class_pool() -> Pool:
    """Class 0 (guitar): steady harmonic tones; class 1 (piano): bursts of noise. 1 s rows at 16 kHz."""
    g = torch.Generator().manual_seed(0)
    t = torch.arange(16000) / 16000
    rows, labels = [], []
    for i in range(16):
        if i % 2 == 0:
            f0 = 200 + 40 * i
            rows.append(sum(0.2 / h * torch.sin(2 * math.pi * h * f0 * t) for h in range(1, 5)))
        else:
            rows.append(0.2 * torch.randn(16000, generator=g) * (torch.sin(2 * math.pi * 3 * t).abs()))
        labels.append(i % 2)
    return Pool(torch.stack(rows).float(), torch.full((16,), 16000), torch.tensor(labels))
