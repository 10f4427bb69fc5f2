import numpy as np

from timbre.analysis.channels import analyse_channels
from timbre.analysis.frames import LabelledFrames
from timbre.analysis.timbre_basis import between_class_scatter, timbre_basis


def _mixed_frames(seed=0, n=4000, c=6):
    """Instrument along one hidden direction, pitch along an orthogonal one, both mixed into every raw channel."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((c, c)))
    instruments, pitches = rng.integers(0, 4, n), rng.integers(0, 12, n)
    hidden = rng.standard_normal((n, c)) * 0.3
    hidden[:, 0] += instruments
    hidden[:, 1] += 0.5 * pitches
    return hidden @ rotation.T, instruments, pitches, rotation


def test_between_class_scatter_matches_its_definition():
    frames = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [2.0, 4.0]])
    labels = np.array([0, 0, 1, 1])
    # class means (1, 0) and (1, 4), grand mean (1, 2): scatter = diag(0, 4)
    assert np.allclose(between_class_scatter(frames, labels), [[0, 0], [0, 4]])


def test_basis_is_orthogonal_and_separates_instrument_from_pitch():
    frames, instruments, pitches, rotation = _mixed_frames()
    basis, values = timbre_basis(frames, instruments, pitches)
    assert np.allclose(basis.T @ basis, np.eye(6), atol=1e-10)
    assert np.all(np.diff(values) <= 1e-12)
    assert abs(basis[:, 0] @ rotation[:, 0]) > 0.99  # first direction: the instrument one
    assert abs(basis[:, -1] @ rotation[:, 1]) > 0.99  # last direction: the pitch one


def test_channel_analysis_puts_instrument_mi_first_and_pitch_last_in_the_basis():
    frames, instruments, pitches, _ = _mixed_frames(seed=1, n=3000)
    analysis = analyse_channels(LabelledFrames(frames, instruments, pitches))
    summary = analysis.summary()
    assert summary["basis_top_half_instrument_mi_share"] > 0.9
    assert summary["basis_top_half_pitch_mi_share"] < 0.2
    assert sorted(analysis.raw_ranking.tolist()) == list(range(6))
    assert sorted(analysis.basis_ranking.tolist()) == list(range(6))


def test_a_channel_constant_within_notes_ranks_by_its_note_level_information():
    """Channel 0 holds each note's pitch, repeated (to 1e-7) over its frames and independent of the instrument;
    channel 1 holds the instrument plus frame noise. Over frames, each frame's nearest neighbours are its own note's,
    so the pitch channel looks as informative of the instrument as the instrument channel; over note means it
    does not."""
    rng = np.random.default_rng(2)
    notes, per_note = 400, 20
    instruments, pitches = rng.integers(0, 4, notes), rng.integers(0, 24, notes)
    ids = np.repeat(np.arange(notes), per_note)
    tracked = pitches / 12.0 + 1e-4 * rng.standard_normal(notes)  # as a pitch tracker reads each note: no two alike
    frames = np.stack([tracked[ids] + 1e-7 * rng.standard_normal(ids.size), instruments[ids] + 0.6 * rng.standard_normal(ids.size)], axis=1)
    labelled = LabelledFrames(frames, instruments[ids], pitches[ids], ids)
    means = labelled.note_means()
    assert means.frames.shape == (notes, 2) and np.array_equal(means.instruments, instruments)
    assert np.allclose(means.frames[:, 0], tracked, atol=1e-6)
    by_frames = analyse_channels(LabelledFrames(frames, instruments[ids], pitches[ids]))
    assert by_frames.raw_instrument_mi[0] > 0.5 * by_frames.raw_instrument_mi[1]  # the artefact
    by_notes = analyse_channels(labelled)
    assert by_notes.raw_instrument_mi[0] < 0.1 < by_notes.raw_instrument_mi[1]
    assert by_notes.raw_ranking.tolist() == [1, 0] and by_notes.samples == notes and by_notes.frames == ids.size
