import pytest
import torch

from timbre.edits import METHODS, EditBatch, EditSpec, SamplerConfig
from timbre.errors import ConfigError, InputError
from timbre.randomness import item_generators

from .helpers import make_batch, source_latents


@pytest.mark.parametrize("method", sorted(METHODS))
def test_an_item_edits_identically_alone_or_in_a_batch_of_16(bundle, method):
    spec = EditSpec.build(method, SamplerConfig(steps=6))
    x0 = source_latents(n=16, frames=24, seed=3)
    target = bundle.conditioner.embed_text([["violin", "flute"][i % 2] for i in range(16)])
    ids = [f"stem-{i}" for i in range(16)]
    together = spec.run(bundle.edit_model(), EditBatch(x0, target, None, item_generators(11, ids))).latents
    for i in (0, 5, 15):
        alone = spec.run(bundle.edit_model(), EditBatch(x0[i:i + 1], target[i:i + 1], None,
                                                        item_generators(11, ids[i:i + 1]))).latents
        assert torch.equal(alone[0], together[i]), (method, i)


def test_different_seeds_differ_and_the_same_seed_repeats(bundle):
    spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=4))
    x0, target = source_latents(n=1), torch.zeros(1, 64)
    runs = [spec.run(bundle.edit_model(), make_batch(x0, target, seed=s)).latents for s in (1, 1, 2)]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(ConfigError, match="unknown method 'warp'.*mi-inpaint"):
        EditSpec.build("warp")


def test_a_parameter_the_method_does_not_take_is_refused():
    with pytest.raises(ConfigError, match="'pni' does not take k; it takes: noise_fraction"):
        EditSpec.build("pni", k=0.5)


@pytest.mark.parametrize("kwargs, word", [({"steps": 0}, "steps"), ({"steps": 2.5}, "steps"),
                                          ({"cfg": float("nan")}, "cfg"), ({"solver": "rk4"}, "solver"),
                                          ({"sigma_min": -1.0}, "sigma_min"), ({"precision": "fp16"}, "precision")])
def test_bad_sampler_settings_name_themselves(kwargs, word):
    with pytest.raises(ConfigError, match=word):
        SamplerConfig(**kwargs)


def test_nan_latents_are_refused_naming_the_item():
    x = source_latents(n=2)
    x[1, 3, 5] = float("nan")
    with pytest.raises(InputError, match=r"NaN.*\['item1'\]"):
        make_batch(x, torch.zeros(2, 64))


@pytest.mark.parametrize("shape", [(16, 40), (2, 16, 40, 1), (0, 16, 4), (2, 16, 0)])
def test_wrong_latent_shapes_are_refused(shape):
    with pytest.raises(InputError, match="latents"):
        EditBatch(torch.zeros(shape), torch.zeros(1, 64), None, item_generators(0, range(max(shape[0], 1))))


def test_condition_batch_must_match():
    with pytest.raises(InputError, match="target condition has batch 3"):
        make_batch(source_latents(n=2), torch.zeros(3, 64))


def test_one_generator_per_item():
    with pytest.raises(InputError, match="one generator per item"):
        EditBatch(source_latents(n=2), torch.zeros(1, 64), None, item_generators(0, ["a"]))
