import pytest
import torch

from timbre.inversion import invert
from timbre.models.gaussian import GaussianDenoiser, gaussian_flow
from timbre.samplers import sample
from timbre.sigmas import karras_sigmas


def _round_trip_error(steps, gaussian_data, heun=True):
    x0, mean, var = gaussian_data
    d, sigmas = GaussianDenoiser(var), karras_sigmas(steps)
    trajectory = invert(d, x0, sigmas, mean, heun=heun)
    out = sample(d, trajectory.top, sigmas, mean, heun=heun)
    return ((out - x0).norm() / x0.norm()).item()


def test_inversion_then_sampling_reconstructs_the_source(gaussian_data):
    errors = [_round_trip_error(n, gaussian_data) for n in (10, 25, 50, 200)]
    assert all(a > b for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 1e-3


def test_euler_round_trip_also_converges(gaussian_data):
    errors = [_round_trip_error(n, gaussian_data, heun=False) for n in (25, 50, 100, 200)]
    assert all(a > b for a, b in zip(errors, errors[1:])), errors


def test_inversion_follows_the_exact_flow(gaussian_data):
    x0, mean, var = gaussian_data
    sigmas = karras_sigmas(200)
    top = invert(GaussianDenoiser(var), x0, sigmas, mean).top
    exact = gaussian_flow(x0, float(sigmas[-2]), 80.0, mean, var)
    assert ((top - exact).norm() / exact.norm()).item() < 5e-4  # measured 3.4e-4


def test_trajectory_is_indexed_by_grid_step(gaussian_data):
    x0, mean, var = gaussian_data
    sigmas = karras_sigmas(8)
    traj = invert(GaussianDenoiser(var), x0, sigmas, mean, to=3)
    assert traj.first == 3 and traj.states.shape == (6, *x0.shape)
    assert torch.equal(traj.at(8), x0) and torch.equal(traj.at(7), x0)
    assert torch.allclose(traj.at(3), traj.top)
    stds = [traj.at(i).std().item() for i in range(3, 9)]
    assert stds == sorted(stds, reverse=True)  # noisier towards lower indices
    with pytest.raises(IndexError, match="3..8"):
        traj.at(2)


def test_partial_inversion_is_a_prefix_of_full_inversion(gaussian_data):
    x0, mean, var = gaussian_data
    sigmas, d = karras_sigmas(10), GaussianDenoiser(var)
    full, part = invert(d, x0, sigmas, mean), invert(d, x0, sigmas, mean, to=4)
    assert torch.equal(full.at(4), part.top)


def test_bad_target_index_names_itself(gaussian_data):
    x0, mean, var = gaussian_data
    with pytest.raises(ValueError, match="inversion target index"):
        invert(GaussianDenoiser(var), x0, karras_sigmas(5), mean, to=9)
