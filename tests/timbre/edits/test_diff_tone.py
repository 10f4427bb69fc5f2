import dataclasses

import pytest
import torch

from timbre.edits import EditSpec, SamplerConfig
from timbre.conditions import expand_cond
from timbre.edits.base import invert_source
from timbre.edits.channel_split import timbre_mask
from timbre.denoisers import MixedPrecision
from timbre.edits.diff_tone import (DiffToneParams, diff_tone_from, generate_with_swap, last_change_step,
                                     unconditional_estimate)
from timbre.errors import ConfigError
from timbre.randomness import item_generator

from .helpers import RecordingDenoiser, make_batch, source_latents

SAMPLER = SamplerConfig(steps=8, cfg=1.0)


class ScriptedClassifier:
    """Returns, at its n-th call, logits whose argmax is script[n] per item."""

    def __init__(self, script, classes=5):
        self.script, self.classes, self.n = torch.tensor(script), classes, 0

    def __call__(self, latents):
        logits = torch.nn.functional.one_hot(self.script[self.n], self.classes).float()
        self.n += 1
        return logits


SCRIPT = [  # (steps, items): item 0 settles at step 4, item 1 never changes, item 2 flips back and forth to step 3
    [0, 3, 0], [0, 3, 1], [1, 3, 0], [1, 3, 1], [2, 3, 1], [2, 3, 1], [2, 3, 1], [2, 3, 1]]


def test_last_change_step_on_known_sequences():
    step, found = last_change_step(torch.tensor(SCRIPT))
    assert step.tolist() == [4, 0, 3] and found.tolist() == [True, False, True]


def test_swap_step_comes_from_the_scripted_classifier(bundle):
    model = dataclasses.replace(bundle.edit_model(), latent_classifier=ScriptedClassifier(SCRIPT))
    x0 = source_latents()
    source, target = bundle.conditioner.embed_text(["piano"] * 3), bundle.conditioner.embed_text(["violin"] * 3)
    result = EditSpec.build("diff-tone", SAMPLER, fallback=0.25).run(model, make_batch(x0, target, source))
    assert result.info["swap_step"] == [4, 2, 3]  # item 1 falls back to floor(0.25 * 8) = 2
    assert result.info["swap_found"] == [True, False, True]
    assert result.info["predictions"][0] == [0, 0, 1, 1, 2, 2, 2, 2]


def test_swap_uses_the_source_before_and_the_target_from_the_swap_step(bundle):
    recorder = RecordingDenoiser(bundle.denoiser)
    model = dataclasses.replace(bundle.edit_model(), denoiser=recorder)
    source, target = bundle.conditioner.embed_text(["piano"] * 2), bundle.conditioner.embed_text(["violin"] * 2)
    x_start = 80 * torch.randn(2, 16, 20, generator=torch.Generator().manual_seed(0))
    sampler = SamplerConfig(steps=6, cfg=1.0, solver="euler")
    generate_with_swap(model, sampler, x_start, source, target, torch.tensor([2, 4]))
    for i, (_, _, cond) in enumerate(recorder.calls):
        expected = [target[0] if i >= 2 else source[0], target[1] if i >= 4 else source[1]]
        assert torch.equal(cond, torch.stack(expected)), i


def test_resuming_from_the_classified_pass_equals_a_full_regeneration(bundle):
    model = dataclasses.replace(bundle.edit_model(), latent_classifier=ScriptedClassifier(SCRIPT))
    source, target = bundle.conditioner.embed_text(["piano"] * 3), bundle.conditioner.embed_text(["violin"] * 3)
    x_start = 80 * torch.randn(3, 16, 20, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        result, source_only = diff_tone_from(model, x_start, source, target, DiffToneParams(), SAMPLER)
        full = generate_with_swap(model, SAMPLER, x_start, source, target, torch.tensor(result.info["swap_step"]))
        unswapped = generate_with_swap(model, SAMPLER, x_start, source, target, torch.tensor([8, 8, 8]))
    assert torch.equal(result.latents, full)
    assert torch.equal(source_only, unswapped)
    assert not torch.allclose(result.latents, source_only)


def test_midpoint_and_random_baselines(bundle):
    model = bundle.edit_model()
    x0 = source_latents(n=4)
    target = bundle.conditioner.embed_text(["violin"] * 4)
    mid = EditSpec.build("diff-midpoint", SAMPLER).run(model, make_batch(x0, target))
    assert mid.info["swap_step"] == [4, 4, 4, 4]
    rnd = EditSpec.build("diff-random", SAMPLER).run(model, make_batch(x0, target, seed=7))
    expected = [int(torch.randint(0, 8, (1,), generator=item_generator(7, f"item{i}"))) for i in range(4)]
    assert rnd.info["swap_step"] == expected


def test_diff_tone_without_a_classifier_is_refused(bundle):
    model = dataclasses.replace(bundle.edit_model(), latent_classifier=None)
    with pytest.raises(ValueError, match="latent instrument classifier"):
        EditSpec.build("diff-tone", SAMPLER).run(model, make_batch(source_latents(), torch.zeros(3, 64)))


def test_without_a_found_swap_diff_tone_is_the_midpoint_edit_at_odd_step_counts(bundle):
    """The default fallback swaps where Diff-Midpoint does (steps // 2), so an item whose classifier never changes
    its mind gets exactly the midpoint's edit, also when the step count is odd."""
    sampler = SamplerConfig(steps=7, cfg=1.0)
    never = [[3, 3]] * 7
    model = dataclasses.replace(bundle.edit_model(), latent_classifier=ScriptedClassifier(never))
    source, target = bundle.conditioner.embed_text(["piano"] * 2), bundle.conditioner.embed_text(["violin"] * 2)
    tone = EditSpec.build("diff-tone", sampler).run(model, make_batch(source_latents(n=2), target, source))
    mid = EditSpec.build("diff-midpoint", sampler).run(model, make_batch(source_latents(n=2), target, source))
    assert tone.info["swap_found"] == [False, False]
    assert tone.info["swap_step"] == mid.info["swap_step"] == [3, 3]
    torch.testing.assert_close(tone.latents, mid.latents)


EULER = SamplerConfig(steps=6, cfg=1.0, solver="euler")


@pytest.mark.parametrize("method", ["diff-tone", "diff-random", "diff-midpoint"])
def test_with_k_below_1_the_held_channels_follow_the_inversion_path_and_end_as_the_source(bundle, method):
    """Every regeneration step starts with the held channels on the source's own inversion path (computed here
    apart), and the edit's held channels are the source's, bit for bit; the regenerated ones change."""
    recorder = RecordingDenoiser(bundle.denoiser)
    model = dataclasses.replace(bundle.edit_model(), denoiser=recorder)
    x0 = source_latents()
    source, target = bundle.conditioner.embed_text(["piano"] * 3), bundle.conditioner.embed_text(["violin"] * 3)
    out = EditSpec.build(method, EULER, k=0.5).run(model, make_batch(x0, target, source)).latents
    held = ~timbre_mask(model.channel_ranking, 0.5)
    path = invert_source(dataclasses.replace(model, denoiser=bundle.denoiser), make_batch(x0, target, source), EULER,
                         EULER.sigmas(), to=0)
    regeneration = recorder.calls[EULER.steps - 1:]  # after the inversion's steps - 1 calls
    grid = EULER.sigmas().tolist()
    assert len(regeneration) >= EULER.steps
    for x, sigma, _ in regeneration:
        step = min(range(len(grid)), key=lambda j: abs(grid[j] - sigma))  # the denoiser sees sigma as float32
        assert torch.equal(x[:, held], path.at(step)[:, held]), sigma
    assert torch.equal(out[:, held], x0[:, held])
    assert (out - x0)[:, ~held].abs().mean() > 0.1
    plain = EditSpec.build(method, EULER).run(dataclasses.replace(model, denoiser=bundle.denoiser),
                                              make_batch(x0, target, source)).latents
    assert (plain - x0)[:, held].abs().mean() > 0.1  # k = 1, the paper's: every channel regenerated


def test_the_classifier_reads_estimates_with_the_held_channels_clean(bundle):
    seen = []

    def classifier(latents):
        seen.append(latents)
        return torch.zeros(latents.shape[0], 5)

    model = dataclasses.replace(bundle.edit_model(), latent_classifier=classifier)
    x0 = source_latents()
    EditSpec.build("diff-tone", EULER, k=0.25).run(model, make_batch(x0, bundle.conditioner.embed_text(["violin"] * 3)))
    held = ~timbre_mask(model.channel_ranking, 0.25)
    assert len(seen) == EULER.steps
    assert all(torch.equal(estimate[:, held], x0[:, held]) for estimate in seen)
    assert not any(torch.equal(estimate, x0) for estimate in seen)


def test_an_inpainting_dit_reads_the_held_channels_clean_at_every_regeneration_step():
    from timbre.denoisers import EDMPrecond
    from timbre.edits import EditModel
    from timbre.models.dit import DiT, DiTConfig, randomize_

    class Recording(torch.nn.Module):
        reads_known_channels = True

        def __init__(self, net):
            super().__init__()
            self.net, self.conds = net, []

        def forward(self, x, c_noise, cond):
            self.conds.append(cond)
            return self.net(x, c_noise, cond)

    net = Recording(randomize_(DiT(DiTConfig(channels=16, cond_dim=8, width=16, depth=1, heads=2, noise_features=8,
                                             known_input=True)), 0).eval())
    ranking = torch.randperm(16, generator=torch.Generator().manual_seed(0))
    model = EditModel(EDMPrecond(net), torch.zeros(8), channel_ranking=ranking)
    x0 = source_latents()
    EditSpec.build("diff-midpoint", EULER, k=0.5).run(model, make_batch(x0, torch.randn(3, 8)))
    inversion, regeneration = net.conds[:EULER.steps - 1], net.conds[EULER.steps - 1:]
    assert all(isinstance(c, torch.Tensor) for c in inversion)  # the inversion reads no known channels, as MI-inpaint's
    assert len(regeneration) == EULER.steps
    for cond in regeneration:
        assert torch.equal(cond["known"], x0)
        assert torch.equal(cond["mask"], (~timbre_mask(ranking, 0.5)).expand(3, -1))


def test_holding_channels_needs_a_ranking_and_k_is_checked(bundle):
    model = dataclasses.replace(bundle.edit_model(), channel_ranking=None)
    batch = make_batch(source_latents(), bundle.conditioner.embed_text(["violin"] * 3))
    with pytest.raises(ConfigError, match=r"k = 0.5 holds the channels outside the top k of a channel ranking: the "
                                          r"model bundle has none"):
        EditSpec.build("diff-midpoint", EULER, k=0.5).run(model, batch)
    assert EditSpec.build("diff-midpoint", EULER).run(model, batch).latents.shape == batch.latents.shape
    with pytest.raises(ConfigError, match=r"^k must be a number in \[0, 1\], got 1.5"):
        EditSpec.build("diff-tone", k=1.5)


def test_the_unconditional_estimate_is_the_denoiser_from_each_state_with_the_condition_dropped(bundle):
    """With estimate "unconditional" the classifier reads D(x_i, sigma_i, null) from the very state each guided step
    starts from, not the sampler's guided x0_hat."""
    seen = []

    def classifier(latents):
        seen.append(latents)
        return torch.zeros(latents.shape[0], 5)

    recorder = RecordingDenoiser(bundle.denoiser)
    model = dataclasses.replace(bundle.edit_model(), latent_classifier=classifier, denoiser=recorder)
    source, target = bundle.conditioner.embed_text(["piano"] * 2), bundle.conditioner.embed_text(["violin"] * 2)
    x_start = 80 * torch.randn(2, 16, 20, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff_tone_from(model, x_start, source, target, DiffToneParams(estimate="unconditional"), EULER)
        null = expand_cond(model.null_cond, 2)
        for i in range(EULER.steps):
            (x, sigma, cond), (x_read, sigma_read, cond_read) = recorder.calls[2 * i: 2 * i + 2]
            assert torch.equal(cond, source) and torch.equal(cond_read, null) and torch.equal(x_read, x)
            assert sigma_read == sigma
            torch.testing.assert_close(seen[i], bundle.denoiser(x, torch.full((2,), sigma), null))
            assert not torch.allclose(seen[i], bundle.denoiser(x, torch.full((2,), sigma), source))


def test_the_unconditional_estimate_runs_the_network_at_the_samplers_precision(bundle):
    """Under bf16 sampling the classifier's unconditional reading comes from the network under the same autocast as
    the guided steps, returned in the latents' dtype; under fp32, from the network as stored."""
    model = bundle.edit_model()
    x = torch.randn(2, 16, 20, generator=torch.Generator().manual_seed(1))
    sigma, null = torch.full((2,), 1.0), expand_cond(model.null_cond, 2)
    with torch.no_grad():
        half = unconditional_estimate(model, dataclasses.replace(EULER, precision="bf16"), {"x": x, "sigma": 1.0})
        full = unconditional_estimate(model, EULER, {"x": x, "sigma": 1.0})
        assert half.dtype == torch.float32 and torch.equal(half, MixedPrecision(bundle.denoiser)(x, sigma, null))
        assert torch.equal(full, bundle.denoiser(x, sigma, null)) and not torch.equal(half, full)
        torch.testing.assert_close(half, full, atol=0.05, rtol=0.05)


def test_an_unknown_estimate_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="guided, unconditional"):
        DiffToneParams(estimate="conditional")


def test_held_after_swap_is_the_source_path_before_each_items_swap_and_its_structure_from_it_on():
    from timbre.edits.channel_split import ChannelSplit
    from timbre.edits.diff_tone import HeldAfterSwap
    from timbre.inversion import Trajectory
    sigmas = torch.tensor([80.0, 10.0, 1.0, 0.0])
    path = Trajectory(sigmas, 0, torch.randn(4, 3, 4, 5, generator=torch.Generator().manual_seed(0)))
    timbre = torch.tensor([True, False, True, False])
    held = HeldAfterSwap(ChannelSplit(timbre), path, torch.tensor([0, 1, 3]))
    x = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(1))
    at_1 = held.before_step(x, 1)
    assert torch.equal(at_1[2], path.at(1)[2])  # item 2 swaps at step 3: still the source's own state
    for item in (0, 1):  # swapped at steps 0 and 1: the path's structure channels, their own timbre channels
        assert torch.equal(at_1[item, timbre], x[item, timbre])
        assert torch.equal(at_1[item, ~timbre], path.at(1)[item, ~timbre])
    assert torch.equal(held.clean(x)[:, ~timbre], path.at(3)[:, ~timbre])
