import numpy as np
import torch

from timbre.models.pitch_register import fit_register_values, register_weights

LOW, HIGH, KNOTS = 110.0, 880.0, 7  # knots every half octave


def _knot_positions() -> np.ndarray:
    return np.linspace(np.log2(LOW), np.log2(HIGH), KNOTS)


def test_weights_interpolate_knot_values_as_numpy_interp_does():
    hz = torch.tensor([60.0, 110.0, 150.0, 311.1, 440.0, 879.0, 880.0, 2000.0], dtype=torch.float64)
    weights = register_weights(hz, KNOTS, LOW, HIGH)
    assert torch.allclose(weights.sum(-1), torch.ones(len(hz), dtype=torch.float64))
    values = np.random.default_rng(0).normal(size=KNOTS)
    expected = np.interp(np.log2(hz.numpy()), _knot_positions(), values)  # clamps outside, as the codec does
    assert np.allclose(weights.numpy() @ values, expected)
    assert torch.equal(weights[4], torch.eye(KNOTS, dtype=torch.float64)[4])  # 440 Hz sits on knot 4


def test_fit_recovers_a_piecewise_linear_register_and_bridges_knots_no_frame_reaches():
    g = torch.Generator().manual_seed(0)
    octaves = torch.rand(4000, generator=g, dtype=torch.float64) * 3
    octaves = octaves[(octaves < 1.2) | (octaves > 2.3)]  # nothing near knots 3 and 4
    hz = LOW * 2**octaves
    truth = torch.stack([torch.linspace(0, 3, KNOTS, dtype=torch.float64),  # linear in log pitch
                         torch.tensor([0.0, 1, 0, 1, 0, 1, 0], dtype=torch.float64)], dim=1)
    weights = register_weights(hz, KNOTS, LOW, HIGH)
    fitted = fit_register_values(weights, weights @ truth + 0.01 * torch.randn(len(hz), 2, generator=g,
                                                                               dtype=torch.float64))
    assert torch.allclose(fitted[:, 0], truth[:, 0], atol=0.02)  # the penalty does not bend a straight line
    reached = [0, 1, 2, 5, 6]
    assert torch.allclose(fitted[reached, 1], truth[reached, 1], atol=0.1)
