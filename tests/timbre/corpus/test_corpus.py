import numpy as np
import pytest

from timbre.corpus.dataset import SAMPLE_RATE, STEM_SECONDS, note_example, render_notes, stem_example
from timbre.corpus.instruments import INSTRUMENT_NAMES, INSTRUMENTS, SIMILAR_PAIRS, instrument
from timbre.corpus.melody import PITCH_RANGE, Note
from timbre.corpus.synth import render_note


def midi_to_hz(pitch):
    return 440.0 * 2.0 ** ((pitch - 69) / 12)  # the reference, independent of the synth

HARMONIC = [i.name for i in INSTRUMENTS if i.partials is None]


def _spectrum(x):
    held = x[int(0.1 * SAMPLE_RATE): int(0.6 * SAMPLE_RATE)] * np.hanning(int(0.5 * SAMPLE_RATE))
    mag = np.abs(np.fft.rfft(held, 8 * len(held)))
    return np.fft.rfftfreq(8 * len(held), 1 / SAMPLE_RATE), mag


def _peak_near(freqs, mag, f, width=0.03):
    band = (freqs > f * (1 - width)) & (freqs < f * (1 + width))
    i = np.argmax(np.where(band, mag, 0))
    return freqs[i], mag[i]


@pytest.mark.parametrize("name", HARMONIC)
@pytest.mark.parametrize("pitch", [48, 69, 84])
def test_the_fundamental_is_at_the_labelled_pitch(name, pitch):
    x = render_note(instrument(name), pitch, 100, 0.75, np.random.default_rng(pitch))
    freqs, mag = _spectrum(x)
    f0 = midi_to_hz(pitch)
    peak_f, peak_m = _peak_near(freqs, mag, f0)
    assert abs(1200 * np.log2(peak_f / f0)) < 15  # cents
    assert peak_m > 0.02 * mag.max()
    assert mag[(freqs > 30) & (freqs < 0.85 * f0)].max() < 0.05 * mag.max()  # nothing below the fundamental


def test_marimba_partials_are_inharmonic():
    x = render_note(instrument("marimba"), 60, 110, 0.75, np.random.default_rng(0))
    freqs, mag = _spectrum(x)
    f0 = midi_to_hz(60)
    assert _peak_near(freqs, mag, 3.93 * f0, 0.02)[1] > 20 * _peak_near(freqs, mag, 2 * f0, 0.02)[1]


def _even_odd_ratio(name, n=12):
    ratios = []
    for k in range(n):
        x = render_note(instrument(name), 55, 100, 0.75, np.random.default_rng(k))
        freqs, mag = _spectrum(x)
        f0 = midi_to_hz(55)
        h = [_peak_near(freqs, mag, j * f0, 0.02)[1] for j in range(1, 9)]
        ratios.append(sum(h[1::2]) / sum(h[0::2]))
    return np.mean(ratios)


def test_clarinet_favours_odd_harmonics_more_than_oboe():
    assert _even_odd_ratio("clarinet") < 0.7 * _even_odd_ratio("oboe")


def test_items_are_deterministic_and_independent_of_order():
    later = stem_example(3, "train", 7).audio
    for i in range(7):
        stem_example(3, "train", i)
    assert np.array_equal(stem_example(3, "train", 7).audio, later)
    assert not np.array_equal(stem_example(3, "train", 8).audio[:16000], later[:16000])
    assert not np.array_equal(stem_example(3, "test", 7).audio, later)
    assert np.array_equal(note_example(1, "valid", 4).audio, note_example(1, "valid", 4).audio)


def test_notes_cover_three_octaves_and_every_instrument():
    notes = [note_example(0, "train", i) for i in range(200)]
    pitches = [n.pitch for n in notes]
    assert min(pitches) <= PITCH_RANGE[0] + 2 and max(pitches) >= PITCH_RANGE[1] - 2
    assert PITCH_RANGE[1] - PITCH_RANGE[0] >= 36
    assert sorted({n.instrument for n in notes}) == list(range(len(INSTRUMENTS))) and len(INSTRUMENTS) >= 8
    assert len({n.velocity for n in notes}) >= 3
    for n in notes[:20]:
        assert n.audio.dtype == np.float32 and n.audio.shape == (SAMPLE_RATE,)
        assert np.isfinite(n.audio).all() and 0.01 < np.abs(n.audio).max() < 1.0


def test_similar_pairs_are_named_instruments():
    assert len(SIMILAR_PAIRS) >= 2
    assert all(a in INSTRUMENT_NAMES and b in INSTRUMENT_NAMES and instrument(a).family == instrument(b).family
               for a, b in SIMILAR_PAIRS)


def test_stems_are_ten_seconds_with_consistent_ground_truth():
    stems = [stem_example(0, "train", i) for i in range(24)]
    assert any(s.voices == 2 for s in stems) and any(s.voices == 1 for s in stems)
    for s in stems:
        assert s.audio.shape == (int(STEM_SECONDS * SAMPLE_RATE),) and np.abs(s.audio).max() < 1.0
        assert all(0 <= n.onset < STEM_SECONDS and n.offset <= STEM_SECONDS + 1e-6 for n in s.notes)
        for voice in range(s.voices):
            line = [n for n in s.notes if n.voice == voice]
            assert all(a.offset <= b.onset + 1e-6 for a, b in zip(line, line[1:]))  # each voice monophonic
    two = next(s for s in stems if s.voices == 2)
    assert any(a.voice != b.voice and a.onset < b.offset and b.onset < a.offset for a in two.notes for b in two.notes)


def test_sound_sits_where_the_notes_say():
    notes = (Note(60, 1.0, 0.5, 100), Note(67, 3.0, 0.5, 100))
    audio = render_notes(INSTRUMENT_NAMES.index("flute"), notes, np.random.default_rng(0), seconds=5.0)

    def rms(a, b):
        return np.sqrt(np.mean(audio[int(a * SAMPLE_RATE): int(b * SAMPLE_RATE)] ** 2))

    assert rms(1.1, 1.5) > 100 * rms(0.0, 0.95) and rms(3.1, 3.5) > 100 * rms(1.8, 2.9)


def test_an_unknown_split_is_refused():
    with pytest.raises(ValueError, match="split must be one of train, valid, test"):
        note_example(0, "dev", 0)
