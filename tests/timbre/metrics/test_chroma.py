import math

import pytest
import torch

from timbre.metrics.chroma import chroma, chroma_similarity

RATE = 16000


def _tone(midi: float, seconds=1.0):
    t = torch.arange(int(seconds * RATE)) / RATE
    return 0.3 * torch.sin(2 * math.pi * 440 * 2 ** ((midi - 69) / 12) * t)


@pytest.mark.parametrize("midi, pitch_class", [(69, 9), (60, 0), (64, 4), (79, 7)])
def test_a_tone_lands_in_its_pitch_class(midi, pitch_class):
    c = chroma(_tone(midi)[None], RATE)
    assert int(c[0, :, 4:-4].sum(-1).argmax()) == pitch_class


def test_similarity_is_one_for_octaves_and_low_for_other_notes():
    a, octave, other = _tone(60)[None], _tone(72)[None], _tone(66)[None]
    assert chroma_similarity(a, a, RATE).item() == pytest.approx(1.0, abs=1e-5)
    assert chroma_similarity(a, octave, RATE).item() > 0.95
    assert chroma_similarity(a, other, RATE).item() < 0.1
    assert math.isnan(chroma_similarity(torch.zeros(1, 16000), a, RATE).item())  # silence has no chroma
