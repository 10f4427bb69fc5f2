"""A timbre basis with raw channels pinned as structure: those channels stay whole and last."""
import numpy as np
import pytest
import torch

from timbre.analysis.channels import analyse_channels, moved_last
from timbre.analysis.frames import LabelledFrames
from timbre.analysis.timbre_basis import timbre_basis
from timbre.edits.channel_split import ChannelSplit, timbre_mask


def _frames(seed=0, n=3000, c=6):
    """Channel 0 carries instrument and pitch (a level channel does both); the rest mixes them."""
    rng = np.random.default_rng(seed)
    instruments, pitches = rng.integers(0, 4, n), rng.integers(0, 12, n)
    frames = rng.standard_normal((n, c)) * 0.3
    frames[:, 0] += instruments + 0.2 * pitches
    frames[:, 1:3] += instruments[:, None] * [1.0, -0.5]
    frames[:, 3:] += 0.3 * pitches[:, None]
    return frames, instruments, pitches


def test_unpinned_basis_is_the_plain_one():
    frames, instruments, pitches = _frames()
    plain, values = timbre_basis(frames, instruments, pitches)
    again, again_values = timbre_basis(frames, instruments, pitches, pinned=())
    assert np.array_equal(plain, again) and np.array_equal(values, again_values)


def test_pinned_channels_are_whole_last_directions_and_the_rest_is_fitted_in_their_complement():
    frames, instruments, pitches = _frames()
    basis, values = timbre_basis(frames, instruments, pitches, pinned=(2, 0))
    assert np.allclose(basis.T @ basis, np.eye(6), atol=1e-10)
    assert np.array_equal(basis[:, 4], np.eye(6)[2]) and np.array_equal(basis[:, 5], np.eye(6)[0])
    assert np.allclose(basis[[0, 2], :4], 0.0)  # no other direction holds any part of them
    assert np.all(np.diff(values[:4]) <= 1e-12) and np.isnan(values[4:]).all()
    # the fitted part equals the plain basis of the other channels' frames
    rest, rest_values = timbre_basis(frames[:, [1, 3, 4, 5]], instruments, pitches)
    assert np.allclose(basis[[1, 3, 4, 5], :4], rest) and np.allclose(values[:4], rest_values)


def test_pinned_basis_rejects_bad_channels():
    frames, instruments, pitches = _frames()
    with pytest.raises(ValueError, match="pinned channels"):
        timbre_basis(frames, instruments, pitches, pinned=(0, 0))
    with pytest.raises(ValueError, match="pinned channels"):
        timbre_basis(frames, instruments, pitches, pinned=(6,))


def test_mi_inpaint_never_renoises_a_pinned_channel_below_the_last_k():
    """Channel 0 is the most instrument-informative channel, yet with it pinned the structure part of any split
    short of k = 1 keeps it exactly."""
    frames, instruments, pitches = _frames(seed=1)
    analysis = analyse_channels(LabelledFrames(frames, instruments, pitches), pinned=(0,))
    assert analysis.basis_ranking[-1] == 5
    tensors = analysis.bundle_tensors()
    split = ChannelSplit(timbre_mask(tensors["basis_ranking"], 5 / 6),
                         tensors["channel_basis"].double())
    x, y = torch.randn(3, 6, 7, dtype=torch.float64), torch.randn(3, 6, 7, dtype=torch.float64)
    out = split.with_structure(x, y)
    assert torch.allclose(out[:, 0], y[:, 0], atol=1e-12)
    assert not torch.allclose(out[:, 1:], y[:, 1:])


def test_moved_last_keeps_each_part_in_order():
    assert moved_last(np.array([4, 0, 3, 1, 2]), (0, 2)).tolist() == [4, 3, 1, 0, 2]
    assert moved_last(np.array([4, 0, 3]), ()).tolist() == [4, 0, 3]
