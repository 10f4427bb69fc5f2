import math

import pytest
import torch

from timbre.training.loop import fit, lr_factor, seeded


def test_learning_rate_warms_up_then_decays_to_five_percent():
    assert lr_factor(0, 100) == 1.0
    assert lr_factor(50, 100) == pytest.approx(0.05 + 0.95 * 0.5)
    assert lr_factor(100, 100) == pytest.approx(0.05) and lr_factor(500, 100) == pytest.approx(0.05)
    assert lr_factor(0, 1000, warmup=10) == pytest.approx(0.1 * (0.05 + 0.95 * 0.5 * (1 + math.cos(0))))
    assert lr_factor(9, 1000, warmup=10) == pytest.approx(lr_factor(9, 1000))


def test_fit_minimises_a_quadratic_and_reports_progress():
    model = seeded(lambda: torch.nn.Linear(1, 1, bias=False), 0)
    seen = []
    metrics = fit(model, 200, 0.2, lambda _: (model.weight - 3.0).pow(2).sum(), lambda s, l: seen.append(s))
    assert model.weight.item() == pytest.approx(3.0, abs=1e-2)
    assert seen == [100, 200] and metrics["steps"] == 200 and not model.training
    assert torch.equal(seeded(lambda: torch.nn.Linear(2, 2), 5).weight, seeded(lambda: torch.nn.Linear(2, 2), 5).weight)
