import dataclasses

import pytest
import torch

from timbre.edits import EditSpec, SamplerConfig
from timbre.edits.diff_tone import DiffToneParams, diff_tone_from, generate_with_swap, last_change_step
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
