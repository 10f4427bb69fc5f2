import math

import pytest
import torch

from timbre.denoisers import ClassifierFreeGuidance, EDMPrecond, EpsPrediction, MixedPrecision, VPrediction
from timbre.models.gaussian import GaussianDenoiser


class Recorder:
    """A raw network that records its inputs and returns a scripted output."""

    def __init__(self, output=lambda x, t, c: torch.zeros_like(x)):
        self.calls, self.output = [], output

    def __call__(self, x, t, cond):
        self.calls.append((x.clone(), t.clone(), cond))
        return self.output(x, t, cond)


@pytest.mark.parametrize("sigma", [0.002, 0.1, 1.0, 10.0, 80.0])
def test_edm_preconditioning_gives_unit_variance_inputs(sigma):
    net = Recorder()
    g = torch.Generator().manual_seed(1)
    x0 = 0.5 * torch.randn(4, 8, 4000, generator=g, dtype=torch.float64)
    x = x0 + sigma * torch.randn(x0.shape, generator=g, dtype=torch.float64)
    EDMPrecond(net, sigma_data=0.5)(x, torch.full((4,), sigma, dtype=torch.float64), None)
    x_in, c_noise, _ = net.calls[0]
    assert x_in.std().item() == pytest.approx(1.0, rel=0.01)
    assert c_noise[0].item() == pytest.approx(math.log(sigma) / 4)


def test_edm_with_zero_network_is_the_exact_denoiser_of_gaussian_data_at_sigma_data():
    # For x0 ~ N(0, sigma_data^2) the optimum is D = c_skip x, i.e. F = 0.
    x = torch.randn(2, 3, 10, dtype=torch.float64)
    sigma = torch.tensor([0.3, 7.0], dtype=torch.float64)
    exact = GaussianDenoiser(torch.full((3,), 0.25, dtype=torch.float64))(x, sigma, torch.zeros(2, 3))
    assert torch.allclose(EDMPrecond(Recorder(), 0.5)(x, sigma, None), exact)


def test_v_prediction_recovers_x0_from_the_true_v():
    g = torch.Generator().manual_seed(2)
    x0, eps = torch.randn(3, 4, 5, generator=g, dtype=torch.float64), torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    sigma = torch.tensor([0.05, 1.0, 30.0], dtype=torch.float64)
    s = sigma.reshape(-1, 1, 1)
    alpha, sig = 1 / (1 + s**2).sqrt(), s / (1 + s**2).sqrt()  # VP pair with tan(phi) = sigma
    net = Recorder(lambda x_in, t, c: alpha * eps - sig * x0)  # v = alpha eps - sigma_vp x0
    out = VPrediction(net)(x0 + s * eps, sigma, None)
    assert torch.allclose(out, x0, atol=1e-10)
    x_in, t, _ = net.calls[0]
    assert torch.allclose(x_in, alpha * x0 + sig * eps) and torch.allclose(t, sigma.atan() * 2 / math.pi)


def test_eps_prediction_recovers_x0_from_the_true_noise():
    x0, eps = torch.randn(2, 3, 4, dtype=torch.float64), torch.randn(2, 3, 4, dtype=torch.float64)
    sigma = torch.tensor([0.5, 12.0], dtype=torch.float64)
    net = Recorder(lambda x_in, t, c: eps)
    out = EpsPrediction(net, sigma_to_t=lambda s: s * 10)(x0 + sigma.reshape(-1, 1, 1) * eps, sigma, None)
    assert torch.allclose(out, x0)
    assert torch.allclose(net.calls[0][1], sigma * 10)


def _conditional_gaussian():
    return GaussianDenoiser(torch.tensor([0.3, 1.0, 2.0], dtype=torch.float64))


def test_cfg_at_scale_one_is_the_conditional_denoiser():
    d = _conditional_gaussian()
    x, sigma, cond = torch.randn(4, 3, 6, dtype=torch.float64), torch.full((4,), 2.0, dtype=torch.float64), torch.randn(4, 3)
    assert torch.equal(ClassifierFreeGuidance(d, torch.zeros(3), 1.0)(x, sigma, cond), d(x, sigma, cond))


def test_cfg_runs_one_batched_forward_and_extrapolates():
    calls = []

    def counting(x, sigma, cond):
        calls.append(x.shape[0])
        return _conditional_gaussian()(x, sigma, cond)

    x, sigma = torch.randn(4, 3, 6, dtype=torch.float64), torch.full((4,), 2.0, dtype=torch.float64)
    cond, uncond = torch.randn(4, 3), torch.zeros(3)
    out = ClassifierFreeGuidance(counting, uncond, 2.5)(x, sigma, cond)
    assert calls == [8]
    d = _conditional_gaussian()
    expected = d(x, sigma, torch.zeros(4, 3)) + 2.5 * (d(x, sigma, cond) - d(x, sigma, torch.zeros(4, 3)))
    assert torch.allclose(out, expected)


def test_rescaled_cfg_matches_the_conditional_spread_and_mixes_back_by_phi():
    d = _conditional_gaussian()
    x, sigma = torch.randn(4, 3, 6, dtype=torch.float64), torch.full((4,), 2.0, dtype=torch.float64)
    cond, uncond = torch.randn(4, 3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    plain = ClassifierFreeGuidance(d, uncond, 4.0)(x, sigma, cond)
    assert torch.equal(ClassifierFreeGuidance(d, uncond, 4.0, rescale=0.0)(x, sigma, cond), plain)
    full = ClassifierFreeGuidance(d, uncond, 4.0, rescale=1.0)(x, sigma, cond)
    conditional = d(x, sigma, cond)
    assert torch.allclose(full.std(dim=(1, 2)), conditional.std(dim=(1, 2)))  # each item at its conditional spread
    assert torch.allclose(full / plain, (full / plain)[:, :1, :1].expand_as(full))  # one factor per item
    mixed = ClassifierFreeGuidance(d, uncond, 4.0, rescale=0.7)(x, sigma, cond)
    assert torch.allclose(mixed, 0.7 * full + 0.3 * plain)
    assert torch.equal(ClassifierFreeGuidance(d, uncond, 1.0, rescale=0.7)(x, sigma, cond), conditional)


def test_a_sampler_refuses_a_rescale_outside_zero_to_one():
    from timbre.edits import SamplerConfig
    from timbre.errors import ConfigError
    assert SamplerConfig(cfg_rescale=0.7).cfg_rescale == 0.7
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ConfigError, match="cfg_rescale must be a share in"):
            SamplerConfig(cfg_rescale=bad)


def test_mixed_precision_runs_the_network_in_bf16_and_returns_the_latents_dtype():
    torch.manual_seed(0)
    layer = torch.nn.Linear(6, 6)
    seen = []
    net = Recorder(lambda x, t, c: seen.append(layer(x).dtype) or layer(x).float())
    x, sigma = torch.randn(4, 3, 6), torch.full((4,), 2.0)
    full = EDMPrecond(net)(x, sigma, None)
    mixed = MixedPrecision(EDMPrecond(net))(x, sigma, None)
    assert seen == [torch.float32, torch.bfloat16] and mixed.dtype == torch.float32
    # EDM's skip path stays fp32; only F's matrix product is rounded to bf16's 8-bit mantissa
    assert 0 < ((mixed - full).norm() / full.norm()).item() < 2 ** -7
