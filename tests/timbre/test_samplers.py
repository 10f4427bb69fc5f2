import pytest
import torch
import torchdiffeq

from timbre.denoisers import EDMPrecond, sigma_batch
from timbre.models.debug import debug_dit
from timbre.models.gaussian import GaussianDenoiser, gaussian_flow
from timbre.samplers import sample_euler, sample_heun
from timbre.sigmas import karras_sigmas


def _error(sampler, steps, gaussian_data):
    x0, mean, var = gaussian_data
    sigmas = karras_sigmas(steps)[:-1]  # end at sigma_min, where the exact solution is smooth
    x_T = gaussian_flow(x0, 0.0, 80.0, mean, var)
    out = sampler(GaussianDenoiser(var), x_T, sigmas, mean)
    exact = gaussian_flow(x_T, 80.0, float(sigmas[-1]), mean, var)
    return ((out - exact).norm() / exact.norm()).item()


@pytest.mark.parametrize("sampler, order", [(sample_euler, 1), (sample_heun, 2)])
def test_global_error_falls_at_the_solver_order(sampler, order, gaussian_data):
    errors = [_error(sampler, n, gaussian_data) for n in (16, 32, 64, 128)]
    ratios = [a / b for a, b in zip(errors, errors[1:])]
    assert all(r == pytest.approx(2**order, rel=0.2) for r in ratios[1:]), (errors, ratios)
    assert errors[-1] < (0.03 if order == 1 else 1e-3)  # measured at 128 steps: 1.9e-2 and 7.3e-4


def test_heun_matches_the_exact_flow_to_the_end(gaussian_data):
    x0, mean, var = gaussian_data
    x_T = gaussian_flow(x0, 0.0, 80.0, mean, var)
    out = sample_heun(GaussianDenoiser(var), x_T, karras_sigmas(200), mean)
    assert ((out - x0).norm() / x0.norm()).item() < 5e-4  # measured 2.9e-4; 1.4e-5 at 800 steps


def _ode(denoiser, cond):
    def f(sigma, x):
        return (x - denoiser(x, sigma_batch(x, sigma), cond)) / sigma
    return f


@pytest.mark.parametrize("ours, method", [(sample_euler, "euler"), (sample_heun, "heun2")])
def test_agrees_with_torchdiffeq_on_a_network_denoiser(ours, method):
    denoiser = EDMPrecond(debug_dit(seed=3).double())
    g = torch.Generator().manual_seed(0)
    x_T = 80 * torch.randn(2, 16, 12, generator=g, dtype=torch.float64)
    cond = torch.randn(2, 64, generator=g, dtype=torch.float64)
    sigmas = karras_sigmas(20)
    reference = torchdiffeq.odeint(_ode(denoiser, cond), x_T, sigmas[:-1], method=method)[-1]
    reference = denoiser(reference, sigma_batch(reference, sigmas[-2]), cond)  # EDM's last step to 0 is Euler
    out = ours(denoiser, x_T, sigmas, cond)
    assert torch.allclose(out, reference, rtol=1e-5, atol=1e-5)
    assert ((out - reference).abs().max() / reference.abs().max()).item() < 1e-9


def test_start_callback_and_hook_see_every_step():
    sigmas = karras_sigmas(6)
    calls, hooked, seen = [], [], []

    def denoiser(x, sigma, cond):
        calls.append(sigma[0].item())
        return torch.zeros_like(x)

    def hook(x, i):
        hooked.append(i)
        return x

    sample_euler(denoiser, torch.ones(1, 2, 3), sigmas, None, start=2, hook=hook, callback=seen.append)
    assert hooked == [2, 3, 4, 5] and [s["i"] for s in seen] == [2, 3, 4, 5]
    assert calls == pytest.approx(sigmas[2:-1].tolist())
    assert all(set(s) == {"x", "i", "sigma", "denoised"} for s in seen)


def test_hook_overwrites_the_state_used_by_the_step():
    sigmas = karras_sigmas(4)
    out = sample_euler(lambda x, s, c: torch.zeros_like(x), torch.ones(1, 2, 3), sigmas, None,
                       hook=lambda x, i: torch.full_like(x, 5.0) if i == 3 else x)
    assert torch.equal(out, torch.zeros(1, 2, 3))  # the last step from sigma_min to 0 returns D = 0
    seen = []
    sample_euler(lambda x, s, c: torch.zeros_like(x), torch.ones(1, 2, 3), sigmas, None,
                 hook=lambda x, i: torch.full_like(x, 5.0) if i == 3 else x, callback=seen.append)
    assert torch.equal(seen[3]["x"], torch.full((1, 2, 3), 5.0))


def test_a_condition_schedule_gives_each_step_its_condition():
    conds = []
    sample_heun(lambda x, s, c: (conds.append(c), torch.zeros_like(x))[1], torch.ones(1, 1, 1),
                karras_sigmas(4), lambda i: f"c{i}")
    assert conds == ["c0", "c0", "c1", "c1", "c2", "c2", "c3"]  # Heun: two calls per step, last step Euler
