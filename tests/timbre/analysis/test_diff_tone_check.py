import numpy as np
import pytest
import torch

from timbre.analysis.diff_tone_check import (DiffToneGenerations, diff_tone_generations, paired_against_midpoint,
                                             shuffled_steps)
from timbre.corpus.prompts import canonical_prompt
from timbre.errors import ConfigError


def generations(found, steps):
    n = len(found)
    return DiffToneGenerations(torch.zeros(n, 4), {}, torch.zeros(n), torch.ones(n), np.asarray(found),
                               np.asarray(steps))


def test_diff_tone_is_compared_with_the_midpoint_item_by_item():
    g = generations([True, True, False, True], [12, 3, 8, 10])
    similarity = {"diff-tone": np.array([0.9, 0.5, 0.7, np.nan]), "diff-midpoint": np.array([0.6, 0.6, 0.7, 0.2])}
    hit = {"diff-tone": np.array([True, False, True, True]), "diff-midpoint": np.array([True, True, True, False])}
    result = paired_against_midpoint(hit, similarity, g, steps=16)
    # per item: +0.3, -0.1, 0 (both swapped at 8), and no chroma for the last: it is left out, not counted as 0
    assert result["chroma_similarity"]["mean"] == pytest.approx(0.2 / 3)
    assert result["chroma_similarity"]["items"] == 3
    assert result["chroma_similarity_where_found"]["mean"] == pytest.approx(0.1)
    assert result["chroma_similarity_where_found"]["items"] == 2
    low, high = result["chroma_similarity"]["ci95"]
    assert -0.1 - 1e-9 <= low <= result["chroma_similarity"]["mean"] <= high <= 0.3 + 1e-9
    assert result["target_accuracy"]["mean"] == pytest.approx(0.0)  # 0, -1, 0, +1
    assert result["target_accuracy_where_found"]["mean"] == pytest.approx(0.0)  # 0, -1, +1
    assert result["swap_after_midpoint"] == pytest.approx(2 / 3)  # steps 12 and 10 of the found 12, 3, 10


def test_no_swap_found_leaves_the_found_subset_empty():
    g = generations([False, False], [8, 8])
    same = {"diff-tone": np.array([0.5, 0.4]), "diff-midpoint": np.array([0.5, 0.4])}
    hit = {"diff-tone": np.array([True, False]), "diff-midpoint": np.array([True, False])}
    result = paired_against_midpoint(hit, same, g, steps=16)
    assert result["chroma_similarity"]["mean"] == 0.0 and result["chroma_similarity"]["ci95"] == [0.0, 0.0]
    assert result["chroma_similarity_where_found"]["items"] == 0
    assert np.isnan(result["swap_after_midpoint"])


def test_shuffled_steps_give_each_item_another_items_step_by_a_seeded_permutation():
    steps = torch.arange(20)
    once, again, other = shuffled_steps(steps, 0), shuffled_steps(steps, 0), shuffled_steps(steps, 1)
    assert sorted(once.tolist()) == steps.tolist() and torch.equal(once, again)
    assert not torch.equal(once, steps) and not torch.equal(once, other)


def test_fixed_step_swaps_match_the_midpoint_and_the_target_alone():
    from timbre.edits.base import SamplerConfig, generate
    from timbre.models.bundle import debug_bundle
    from timbre.randomness import item_generators, randn_items
    bundle, sampler = debug_bundle(), SamplerConfig(steps=4, cfg=2.0)
    g = diff_tone_generations(bundle, 6, 8, sampler, seed=3, fixed_steps=(0, 2), shuffled=True)
    assert set(g.outputs) == {"diff-tone", "diff-midpoint", "diff-random", "diff-step-0", "diff-step-2",
                              "diff-shuffled"}
    assert torch.equal(g.outputs["diff-step-2"], g.outputs["diff-midpoint"])  # the midpoint of 4 steps is step 2
    # swapping at step 0 is generating the target from the same noise
    x = randn_items(item_generators(3, [f"generation{i}" for i in range(6)]), (16, 8)) * sampler.sigmas()[0]
    target = bundle.conditioner.embed_text([canonical_prompt(bundle.instruments[int(t)]) for t in g.targets])
    alone = bundle.codec.decode(generate(bundle.edit_model(), sampler, x, sampler.sigmas(), target))
    assert torch.allclose(g.outputs["diff-step-0"], alone, atol=1e-5)
    with pytest.raises(ConfigError, match=r"\[0, 4\)"):
        diff_tone_generations(bundle, 2, 8, sampler, fixed_steps=(4,))


def test_k_holds_each_edit_to_the_source_generations_structure_and_k_1_is_diff_tone_itself():
    from timbre.edits.base import SamplerConfig
    from timbre.edits.channel_split import timbre_mask
    from timbre.edits.diff_tone import DiffToneParams, diff_tone_from
    from timbre.models.bundle import debug_bundle
    from timbre.randomness import item_generators, randn_items
    bundle, sampler = debug_bundle(), SamplerConfig(steps=4, cfg=2.0)
    whole = diff_tone_generations(bundle, 6, 8, sampler, seed=3)
    held = diff_tone_generations(bundle, 6, 8, sampler, seed=3, k=0.5)
    structure = ~timbre_mask(bundle.channel_ranking, 0.5)
    assert torch.equal(held.source_latents, whole.source_latents)
    assert np.array_equal(held.swap_step, whole.swap_step)  # holding changes the edits, not where they swap
    for name, x in held.latents.items():
        assert torch.equal(x[:, structure], held.source_latents[:, structure]), name
        assert not torch.allclose(x[:, ~structure], held.source_latents[:, ~structure], atol=1e-3), name
        assert not torch.equal(whole.latents[name][:, structure], whole.source_latents[:, structure]), name
    # at k = 1 the check's Diff-TONE edit is the engine's
    x = randn_items(item_generators(3, [f"generation{i}" for i in range(6)]), (16, 8)) * sampler.sigmas()[0]
    prompts = lambda idx: bundle.conditioner.embed_text([canonical_prompt(bundle.instruments[int(i)]) for i in idx])
    edit, source = diff_tone_from(bundle.edit_model(), x, prompts(whole.sources), prompts(whole.targets),
                                  DiffToneParams(), sampler)
    assert torch.equal(source, whole.source_latents) and torch.equal(edit.latents, whole.latents["diff-tone"])
