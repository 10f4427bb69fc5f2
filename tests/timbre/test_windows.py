import numpy as np
import pytest

from timbre.windows import overlap_add, window_starts, window_weights


@pytest.mark.parametrize("length", [1, 999, 1000, 1001, 1750, 2600, 10_007])
def test_windows_cover_the_clip_with_at_least_the_overlap_and_rebuild_it_exactly(length):
    window, overlap = 1000, 250
    starts = window_starts(length, window, overlap)
    assert starts[0] == 0 and min(length, starts[-1] + window) == length
    assert all(b - a <= window - overlap for a, b in zip(starts, starts[1:]))  # neighbours overlap enough
    wave = np.random.default_rng(length).standard_normal((2, length)).astype(np.float32)
    pieces = [wave[:, s: s + window] for s in starts]
    assert np.allclose(overlap_add(pieces, starts, length, overlap), wave, atol=1e-6)


def test_weights_add_to_one_and_ramp_between_two_edited_windows():
    starts = window_starts(1500, 1000, 500)
    assert starts == (0, 500)
    weights = window_weights(starts, (1000, 1000), 1500, 500)
    total = np.zeros(1500)
    for s, w in zip(starts, weights):
        total[s: s + len(w)] += w
    assert np.allclose(total, 1.0)
    joined = overlap_add([np.zeros(1000), np.ones(1000)], starts, 1500, 500)
    assert joined[:500].max() == 0 and joined[1000:].min() == 1  # untouched outside the overlap
    assert np.all(np.diff(joined[500:1000]) >= 0) and 0 < joined[750] < 1  # a monotone cross-fade inside it


def test_bad_window_settings_are_refused():
    with pytest.raises(ValueError, match="overlap < window"):
        window_starts(10, 100, 100)
