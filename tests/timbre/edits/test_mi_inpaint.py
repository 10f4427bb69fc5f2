import dataclasses

import pytest
import torch

from timbre.edits import EditModel, EditSpec, SamplerConfig
from timbre.edits.channel_split import timbre_mask
from timbre.errors import ConfigError
from timbre.models.gaussian import GaussianDenoiser
from timbre.randomness import item_generator

from .helpers import RecordingDenoiser, make_batch, source_latents

EULER = SamplerConfig(steps=10, cfg=1.0, solver="euler")  # one NFE per step keeps call indices simple


def _run(bundle, k, clamp, sampler=EULER, ranking=None, basis=None, latents=None):
    model = bundle.edit_model()
    recorder = RecordingDenoiser(model.denoiser)
    model = dataclasses.replace(model, denoiser=recorder, channel_ranking=ranking if ranking is not None
                                else model.channel_ranking, channel_basis=basis)
    x0 = source_latents() if latents is None else latents
    target = bundle.conditioner.embed_text(["flute"] * x0.shape[0])
    result = EditSpec.build("mi-inpaint", sampler, k=k, clamp=clamp).run(model, make_batch(x0, target))
    return result, recorder, model, x0


def _sampling_states(recorder, steps):
    # inversion makes steps - 1 calls (index steps-1 up to 0); then one call per sampling step
    return [x for x, _, _ in recorder.calls[steps - 1:]]


def test_k0_clamp1_returns_the_reconstruction(bundle):
    result, recorder, model, x0 = _run(bundle, k=0.0, clamp=1.0)
    states = _sampling_states(recorder, EULER.steps)
    assert torch.equal(states[-1], x0)  # every state pinned to the path, which ends at the source
    target = bundle.conditioner.embed_text(["flute"] * 3)
    last_step = model.denoiser.inner(x0, torch.full((3,), EULER.sigma_min), target)  # Euler step to 0 returns D
    assert torch.allclose(result.latents, last_step, atol=1e-6)  # x + (x - D) / s * (0 - s) = D up to rounding


def test_k0_clamp1_reconstructs_the_source_under_the_exact_denoiser(gaussian_data):
    x0, mean, var = gaussian_data
    model = EditModel(GaussianDenoiser(var), torch.zeros(4), channel_ranking=torch.arange(4))
    spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=30), k=0.0, clamp=1.0)
    out = spec.run(model, make_batch(x0, mean, mean)).latents
    assert ((out - x0).norm() / x0.norm()).item() < 1e-4


def test_clamped_structure_equals_the_inversion_path_at_every_clamped_step(bundle):
    result, recorder, model, x0 = _run(bundle, k=0.5, clamp=0.6)
    inversion = [x for x, _, _ in recorder.calls[:EULER.steps - 1]][::-1]  # states at indices 1..N-1
    states = _sampling_states(recorder, EULER.steps)
    mask = timbre_mask(model.channel_ranking, 0.5)
    n_clamp = result.info["clamp_steps"][0]
    assert n_clamp == 6
    for i in range(1, n_clamp):
        assert torch.equal(states[i][:, ~mask], inversion[i - 1][:, ~mask]), i
    # after the clamp the structure runs free and leaves the path
    assert not torch.allclose(states[n_clamp + 1][:, ~mask], inversion[n_clamp][:, ~mask])


def test_timbre_channels_start_as_noise_of_sigma_max(bundle):
    x0 = source_latents(n=4, frames=400)
    result, recorder, model, _ = _run(bundle, k=0.5, clamp=0.5, latents=x0)
    start = _sampling_states(recorder, EULER.steps)[0]
    mask = timbre_mask(model.channel_ranking, 0.5)
    assert start[:, mask].std().item() == pytest.approx(80.0, rel=0.02)
    assert start[:, mask].mean().item() == pytest.approx(0.0, abs=0.5)
    noise = torch.randn((16, 400), generator=item_generator(0, "item0"))
    assert torch.allclose(start[0, mask], 80.0 * noise[mask])  # the item's own generator


def test_identity_basis_equals_raw_channels(bundle):
    raw, *_ = _run(bundle, k=0.5, clamp=0.5)
    rotated, *_ = _run(bundle, k=0.5, clamp=0.5, basis=torch.eye(16))
    assert torch.allclose(raw.latents, rotated.latents, atol=1e-5)


def test_permutation_basis_equals_the_permuted_channel_mask(bundle):
    perm = torch.randperm(16, generator=torch.Generator().manual_seed(5))
    basis = torch.eye(16)[:, perm]  # direction j is raw channel perm[j]
    ranking = bundle.channel_ranking
    in_basis, *_ = _run(bundle, k=0.25, clamp=0.4, ranking=ranking, basis=basis)
    raw, *_ = _run(bundle, k=0.25, clamp=0.4, ranking=perm[ranking])
    assert torch.allclose(in_basis.latents, raw.latents, atol=1e-5)


def test_rotated_basis_pins_the_structure_subspace(bundle):
    q, _ = torch.linalg.qr(torch.randn(16, 16, generator=torch.Generator().manual_seed(1)))
    result, recorder, model, x0 = _run(bundle, k=0.5, clamp=1.0, basis=q)
    mask = timbre_mask(model.channel_ranking, 0.5)
    q_s = q[:, ~mask]
    states = _sampling_states(recorder, EULER.steps)
    assert torch.allclose(q_s.T @ states[-1], q_s.T @ x0, atol=1e-4)  # structure coordinates back at the source


def test_mi_inpaint_changes_timbre_channels_more_than_structure(bundle):
    result, _, model, x0 = _run(bundle, k=0.5, clamp=1.0)
    mask = timbre_mask(model.channel_ranking, 0.5)
    change = (result.latents - x0).pow(2).mean((0, 2))
    assert change[mask].mean() > 10 * change[~mask].mean()


@pytest.mark.parametrize("k, clamp, word", [(1.5, 0.5, "k"), (0.5, -0.1, "clamp"), ("half", 0.5, "k")])
def test_out_of_range_controls_name_themselves(k, clamp, word):
    with pytest.raises(ConfigError, match=rf"^{word} must be a number in \[0, 1\]"):
        EditSpec.build("mi-inpaint", k=k, clamp=clamp)


def test_a_bundle_without_a_ranking_is_refused(bundle):
    model = dataclasses.replace(bundle.edit_model(), channel_ranking=None)
    with pytest.raises(ConfigError, match="channel ranking"):
        EditSpec.build("mi-inpaint").run(model, make_batch(source_latents(), torch.zeros(3, 64)))


def test_non_orthogonal_basis_is_refused(bundle):
    with pytest.raises(ConfigError, match="orthogonal"):
        _run(bundle, k=0.5, clamp=0.5, basis=torch.ones(16, 16))


class _RecordingNet(torch.nn.Module):
    """An inpainting DiT that records the condition of every call."""

    def __init__(self, net):
        super().__init__()
        self.net, self.conds = net, []

    @property
    def reads_known_channels(self):
        return True

    def forward(self, x, c_noise, cond):
        self.conds.append(cond)
        return self.net(x, c_noise, cond)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_an_inpainting_dit_sees_the_clean_structure_while_it_is_pinned_and_nothing_after(precision):
    from timbre.denoisers import EDMPrecond
    from timbre.models.dit import DiT, DiTConfig, randomize_

    net = _RecordingNet(randomize_(DiT(DiTConfig(channels=16, cond_dim=8, width=16, depth=1, heads=2,
                                                 noise_features=8, known_input=True)), 0).eval())
    ranking = torch.randperm(16, generator=torch.Generator().manual_seed(0))
    model = EditModel(EDMPrecond(net), torch.zeros(8), channel_ranking=ranking)
    x0 = source_latents()
    spec = EditSpec.build("mi-inpaint", dataclasses.replace(EULER, precision=precision), k=0.5, clamp=0.6)
    out = spec.run(model, make_batch(x0, torch.randn(3, 8, generator=torch.Generator().manual_seed(2)))).latents
    sampling = net.conds[EULER.steps - 1:]  # after the inversion's steps - 1 calls
    assert all(isinstance(c, torch.Tensor) for c in net.conds[:EULER.steps - 1])  # inversion reads no known channels
    assert len(sampling) == EULER.steps
    mask = timbre_mask(ranking, 0.5)
    for cond in sampling[:6]:  # the 6 clamped steps: the source's structure channels, clean
        assert torch.equal(cond["known"], x0) and torch.equal(cond["mask"], (~mask).expand(3, -1))
    assert all(isinstance(c, torch.Tensor) for c in sampling[6:])  # released: the plain task
    again = spec.run(model, make_batch(x0, torch.randn(3, 8, generator=torch.Generator().manual_seed(2)))).latents
    assert torch.equal(out, again)


def test_the_samplers_guidance_rescale_reaches_generation_and_leaves_inversion_alone(bundle):
    from timbre.denoisers import ClassifierFreeGuidance
    from timbre.edits.base import generate, guided
    from timbre.samplers import sample
    model = bundle.edit_model()
    sampler = SamplerConfig(steps=4, cfg=3.0, cfg_rescale=0.7, solver="euler")
    x = 80.0 * source_latents(n=2)
    target = bundle.conditioner.embed_text(["flute"] * 2)
    out = generate(model, sampler, x, sampler.sigmas(), target)
    expected = sample(ClassifierFreeGuidance(model.denoiser, model.null_cond, 3.0, rescale=0.7), x, sampler.sigmas(),
                      target, heun=False)
    assert torch.equal(out, expected)
    assert not torch.allclose(out, generate(model, dataclasses.replace(sampler, cfg_rescale=0.0), x, sampler.sigmas(),
                                            target))
    assert guided(model, sampler, sampler.inversion_cfg).rescale == 0.0
