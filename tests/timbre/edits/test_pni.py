import dataclasses

import pytest
import torch

from timbre.edits import EditModel, EditSpec, SamplerConfig
from timbre.models.gaussian import GaussianDenoiser, gaussian_flow
from timbre.randomness import item_generator
from timbre.sigmas import noise_fraction_index

from .helpers import RecordingDenoiser, make_batch, source_latents

EULER = SamplerConfig(steps=12, cfg=1.0, solver="euler")


def test_pni_starts_from_source_plus_noise_at_the_looked_up_step(bundle):
    recorder = RecordingDenoiser(bundle.denoiser)
    model = dataclasses.replace(bundle.edit_model(), denoiser=recorder)
    x0 = source_latents()
    result = EditSpec.build("pni", EULER, noise_fraction=0.25).run(model, make_batch(x0, torch.zeros(3, 64)))
    start = noise_fraction_index(EULER.sigmas(), 0.25)
    assert result.info["start_step"] == [start] * 3
    assert len(recorder.calls) == EULER.steps - start
    x_start, sigma, _ = recorder.calls[0]
    assert sigma == pytest.approx(float(EULER.sigmas()[start]))
    noise = torch.randn((16, 40), generator=item_generator(0, "item1"))
    assert torch.allclose(x_start[1], x0[1] + sigma * noise)


def test_ddim_pni_inverts_only_to_the_pni_step(bundle):
    recorder = RecordingDenoiser(bundle.denoiser)
    model = dataclasses.replace(bundle.edit_model(), denoiser=recorder)
    EditSpec.build("ddim-pni", EULER, noise_fraction=0.5).run(model, make_batch(source_latents(), torch.zeros(3, 64)))
    start = noise_fraction_index(EULER.sigmas(), 0.5)
    sigmas_seen = [s for _, s, _ in recorder.calls]
    assert max(sigmas_seen) == pytest.approx(float(EULER.sigmas()[start]))
    assert len(recorder.calls) == (EULER.steps - 1 - start) + (EULER.steps - start)


@pytest.mark.parametrize("method, params", [("ddim-pni", {"noise_fraction": 0.5}), ("ddim-inversion", {})])
def test_ddim_edits_with_the_source_condition_reconstruct(method, params, gaussian_data):
    x0, mean, var = gaussian_data
    model = EditModel(GaussianDenoiser(var), torch.zeros(4))
    out = EditSpec.build(method, SamplerConfig(steps=100, cfg=1.0), **params).run(model, make_batch(x0, mean, mean))
    assert ((out.latents - x0).norm() / x0.norm()).item() < 1e-3


def test_ddim_inversion_moves_towards_the_target_mean(gaussian_data):
    x0, mean, var = gaussian_data
    target = mean + 2.0
    model = EditModel(GaussianDenoiser(var), torch.zeros(4))
    out = EditSpec.build("ddim-inversion", SamplerConfig(steps=50, cfg=1.0)).run(model, make_batch(x0, target, mean))
    # exact: flow up under the source mean, down under the target mean: nearly a pure shift of the mean
    exact = gaussian_flow(gaussian_flow(x0, 0.002, 80.0, mean, var), 80.0, 0.0, target, var)
    assert ((out.latents - exact).norm() / exact.norm()).item() < 1e-3
    assert torch.allclose(out.latents - x0, (target - mean).unsqueeze(-1).expand_as(x0), atol=0.03)
