import pytest
import torch

from timbre.analysis.edit_quality import EditItems, edit_scores, held_out_items, run_edits
from timbre.edits import EditSpec, SamplerConfig
from timbre.models.bundle import debug_bundle


def test_items_are_monophonic_and_every_target_differs_from_its_source():
    items = held_out_items(0, 18, 0.5, classes=10)
    assert items.waves.shape == (18, 8000)
    assert bool((items.targets != items.sources).all())
    assert {int(t - s) % 10 for s, t in zip(items.sources, items.targets)} == set(range(1, 10))


def test_edits_keep_the_item_count_and_length_and_are_reproducible():
    bundle = debug_bundle()
    items = EditItems(0.1 * torch.randn(3, 1000, generator=torch.Generator().manual_seed(0)),
                      torch.tensor([0, 1, 2]), torch.tensor([1, 2, 3]))
    spec = EditSpec.build("pni", SamplerConfig(steps=3), noise_fraction=0.5)
    a = run_edits(bundle, items, spec, None, seed=1, batch=2)
    assert a.shape == (3, 1000)
    assert torch.allclose(a, run_edits(bundle, items, spec, None, seed=1, batch=3), atol=1e-5)  # batching aside
    with pytest.raises(ValueError, match="has no audio classifier"):
        edit_scores(bundle, items, a)
