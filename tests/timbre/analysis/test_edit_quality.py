import math

import numpy as np
import pytest
import torch

from timbre.analysis.edit_quality import (EditItems, accuracy_by_target, codec_round_trip, edit_scores, held_out_items,
                                           held_out_pairs, oracle_swap, run_edits, voiced_kept_by_target)
from timbre.corpus.dataset import stem_example
from timbre.edits import EditSpec, SamplerConfig
from timbre.models.bundle import debug_bundle


def test_items_are_monophonic_and_every_target_differs_from_its_source():
    items = held_out_items(0, 18, 0.5, classes=10)
    assert items.waves.shape == (18, 8000)
    assert bool((items.targets != items.sources).all())
    assert {int(t - s) % 10 for s, t in zip(items.sources, items.targets)} == set(range(1, 10))


def test_the_pairs_read_without_rendering_are_the_rendered_stems_voices_and_instruments():
    pairs = held_out_pairs(3, 12, classes=10, split="valid")
    rendered = [stem_example(3, "valid", i) for i in range(pairs[-1][0] + 1)]
    assert [i for i, _, _ in pairs] == [i for i, stem in enumerate(rendered) if stem.voices == 1]
    assert [s for _, s, _ in pairs] == [rendered[i].instrument for i, _, _ in pairs]
    items = held_out_items(3, 12, 0.1, classes=10, split="valid")
    assert [t for _, _, t in pairs] == items.targets.tolist()


def test_a_later_item_set_is_the_tail_of_a_longer_one():
    longer, later = held_out_items(2, 7, 0.1, classes=10), held_out_items(2, 4, 0.1, classes=10, first=3)
    for field in ("waves", "sources", "targets", "renditions", "donors"):
        assert torch.equal(getattr(later, field), getattr(longer, field)[3:])


def test_each_rendition_plays_the_source_notes_on_the_target_instrument():
    items = held_out_items(0, 4, 0.5, classes=10)
    monophonic = [i for i in range(40) if stem_example(0, "test", i).voices == 1][:4]
    for row, index in enumerate(monophonic):
        source = stem_example(0, "test", index)
        rendition = stem_example(0, "test", index, instrument=int(items.targets[row]))
        assert rendition.notes == source.notes and rendition.instrument != source.instrument
        assert torch.equal(items.waves[row], torch.from_numpy(source.audio[:8000]))
        assert torch.equal(items.renditions[row], torch.from_numpy(rendition.audio[:8000]))
        donor = stem_example(0, "test", index + 1, instrument=int(items.targets[row]))
        assert donor.notes != source.notes and donor.instrument == rendition.instrument
        assert torch.equal(items.donors[row], torch.from_numpy(donor.audio[:8000]))


def test_oracle_swap_keeps_the_source_at_k_0_and_takes_the_rendition_at_k_1():
    bundle = debug_bundle()
    g = torch.Generator().manual_seed(0)
    items = EditItems(0.1 * torch.randn(2, 1024, generator=g), torch.tensor([0, 1]), torch.tensor([1, 0]),
                      0.1 * torch.randn(2, 1024, generator=g))
    round_trip = lambda w: bundle.codec.decode(bundle.codec.encode(w))[:, :1024]  # noqa: E731
    assert torch.allclose(oracle_swap(bundle, items, "raw", 0.0), round_trip(items.waves), atol=1e-5)
    assert torch.allclose(oracle_swap(bundle, items, "raw", 1.0), round_trip(items.renditions), atol=1e-5)
    half = oracle_swap(bundle, items, "raw", 0.5)
    assert not torch.allclose(half, round_trip(items.waves), atol=1e-3)


def test_donor_swap_takes_the_timbre_part_from_the_other_melody_and_needs_donors():
    bundle = debug_bundle()
    g = torch.Generator().manual_seed(1)
    waves, renditions, donors = (0.1 * torch.randn(2, 1024, generator=g) for _ in range(3))
    items = EditItems(waves, torch.tensor([0, 1]), torch.tensor([1, 0]), renditions, donors)
    round_trip = lambda w: bundle.codec.decode(bundle.codec.encode(w))[:, :1024]  # noqa: E731
    assert torch.allclose(oracle_swap(bundle, items, "raw", 1.0, donor="other-melody"), round_trip(donors), atol=1e-5)
    assert torch.allclose(oracle_swap(bundle, items, "raw", 0.0, donor="other-melody"), round_trip(waves), atol=1e-5)
    with pytest.raises(ValueError, match="needs items with donors"):
        oracle_swap(bundle, EditItems(waves, items.sources, items.targets, renditions), "raw", 0.5, donor="other-melody")
    with pytest.raises(ValueError, match="unknown donor 'mirror'"):
        oracle_swap(bundle, items, "raw", 0.5, donor="mirror")


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


def test_edits_are_scored_at_their_sources_level_course_as_the_product_writes_them_unless_asked_not_to():
    from timbre.level import level_course_db, match_level

    bundle = debug_bundle()
    t = torch.arange(16000) / 16000
    swell = torch.stack([0.3 * torch.sin(2 * math.pi * 330 * t) * t, 0.02 * torch.sin(2 * math.pi * 220 * t)])
    items = EditItems(swell, torch.tensor([0, 1]), torch.tensor([1, 2]))
    spec = EditSpec.build("pni", SamplerConfig(steps=3), noise_fraction=0.5)
    decoded = run_edits(bundle, items, spec, None, seed=1, level_seconds=0)
    matched = run_edits(bundle, items, spec, None, seed=1)
    expected, _ = match_level(decoded.numpy(), swell.numpy(), 16000, 1.0, 24.0)
    assert np.allclose(matched.numpy(), expected, atol=1e-6)
    course = lambda w: level_course_db(w.numpy(), 16000, 1.0)[:, 20:-20]  # noqa: E731
    assert np.abs(course(matched) - course(swell)).max() < 1.5  # the swell and the quiet item each kept
    assert np.abs(course(decoded) - course(swell)).max() > 6


def test_accuracy_by_target_counts_each_asked_instrument_separately():
    names = ("guitar", "piano", "violin")
    targets = torch.tensor([0, 0, 0, 2, 2])
    predicted = torch.tensor([0, 1, 0, 2, 0])
    assert accuracy_by_target(names, targets, predicted) == pytest.approx({"guitar": 2 / 3, "violin": 0.5})


def test_voiced_kept_by_target_pools_each_asked_instruments_frames():
    names = ("guitar", "piano", "violin")
    targets = torch.tensor([0, 0, 2, 1])
    source = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]], dtype=torch.bool)
    edited = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 1, 1], [1, 1, 1, 1]], dtype=torch.bool)
    # guitar: 2 + 2 of 4 + 2 source-voiced frames; violin: 1 of 2; piano: its source is never voiced, so left out
    assert voiced_kept_by_target(names, targets, source, edited) == pytest.approx({"guitar": 4 / 6, "violin": 0.5})


def test_the_codec_round_trip_is_the_oracle_swap_of_every_channel():
    bundle = debug_bundle()
    g = torch.Generator().manual_seed(2)
    waves, renditions = (0.1 * torch.randn(3, 1024, generator=g) for _ in range(2))
    items = EditItems(waves, torch.tensor([0, 1, 2]), torch.tensor([1, 2, 0]), renditions)
    trip = codec_round_trip(bundle, renditions, batch=2)
    assert trip.shape == renditions.shape and not torch.allclose(trip, renditions, atol=1e-3)
    assert torch.allclose(trip, oracle_swap(bundle, items, "raw", 1.0), atol=1e-5)
