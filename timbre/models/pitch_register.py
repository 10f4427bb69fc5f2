"""A piecewise-linear function of log pitch: the harmonic codec's mean timbre at each register."""
import torch
from torch import Tensor


def register_weights(hz: Tensor, knots: int, low_hz: float, high_hz: float) -> Tensor:
    """(...) f0 -> (..., knots) hat-function weights over knots spaced evenly in log pitch from low_hz to high_hz;
    pitches outside the range take the end knot's value. Each row sums to 1."""
    span = torch.log2(torch.tensor(high_hz / low_hz, dtype=hz.dtype, device=hz.device))
    position = (torch.log2(hz / low_hz) / span * (knots - 1)).clamp(0, knots - 1)
    left = position.floor().clamp(max=knots - 2).long()
    right_share = position - left
    weights = torch.zeros(*hz.shape, knots, dtype=hz.dtype, device=hz.device)
    weights.scatter_(-1, left[..., None], (1 - right_share)[..., None])
    return weights.scatter_add(-1, (left + 1)[..., None], right_share[..., None])


def fit_register_values(weights: Tensor, values: Tensor, smoothness: float = 1e-3) -> Tensor:
    """Least-squares knot values (knots, D) of values (M, D) given each row's hat weights (M, knots), with a
    second-difference penalty (smoothness times the mean diagonal of the normal matrix) that fills knots no row
    reaches and is negligible where rows are dense."""
    w, v = weights.double(), values.double()
    normal = w.T @ w
    knots = normal.shape[0]
    second = torch.diff(torch.eye(knots, dtype=torch.float64), n=2, dim=0)  # rows [1, -2, 1]
    penalty = smoothness * normal.diagonal().mean() * (second.T @ second + 1e-6 * torch.eye(knots, dtype=torch.float64))
    return torch.linalg.solve(normal + penalty, w.T @ v).to(values.dtype)
