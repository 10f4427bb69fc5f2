import pytest
import torch

from timbre.training.pool import Pool, corpus_pool, random_crops, row_weights


def test_crops_stay_inside_true_lengths_and_on_the_grid():
    audio = torch.arange(3 * 1000, dtype=torch.float32).reshape(3, 1000)
    pool = Pool(audio, torch.tensor([1000, 600, 300]), torch.tensor([0, 1, 2]))
    crops = random_crops(pool, 200, 256, torch.Generator().manual_seed(0), align=64)
    assert crops.audio.shape == (200, 256)
    assert bool((crops.starts % 64 == 0).all())
    assert bool((crops.starts + 256 <= torch.maximum(pool.lengths[crops.rows], torch.tensor(256))).all())
    for a, r, s in zip(crops.audio, crops.rows.tolist(), crops.starts.tolist()):
        assert torch.equal(a, audio[r, s: s + 256])


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="pool shapes disagree"):
        Pool(torch.zeros(3, 10), torch.zeros(2), torch.zeros(3))
    pool = Pool(torch.zeros(2, 100), torch.tensor([100, 100]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="shorter than a 200-sample crop"):
        random_crops(pool, 2, 200, torch.Generator())


def test_corpus_pool_labels_follow_the_corpus():
    pool = corpus_pool(0, stems=2, notes=3, min_seconds=2.0)
    assert pool.instruments.tolist() == [0, 1, 0, 1, 2]
    assert pool.lengths.tolist() == [160000, 160000, 32000, 32000, 32000]
    assert bool((pool.audio[2:, 32000:] == 0).all())
    weights = row_weights(2, 3, 0.8)  # the stems are the pool's first rows, its 10 s ones
    assert weights[pool.lengths == 160000].tolist() == pytest.approx([0.4, 0.4])
    assert weights[pool.lengths == 32000].tolist() == pytest.approx([0.2 / 3] * 3)


@pytest.mark.parametrize("stems, notes, share", [(2, 3, 1.5), (2, 3, -0.1), (0, 3, 0.5), (2, 0, 0.5)])
def test_row_weights_refuse_a_share_the_pool_cannot_give(stems, notes, share):
    message = f"a stem share of {share} cannot be drawn from {stems} stems and {notes} notes"
    with pytest.raises(ValueError, match=message):
        row_weights(stems, notes, share)
