"""An item's pitch metrics hear the pair at the source's listening level: a quietly rendered stem is still tracked,
and an output much quieter than its source still counts as silenced."""
import math

import numpy as np

from timbre.corpus.dataset import SAMPLE_RATE, stem_example
from timbre.metrics.item_metrics import Judges, Pair, evaluate_pair
from timbre.models.bundle import debug_bundle


def _quiet_melody() -> np.ndarray:
    wave = next(s.audio for s in (stem_example(0, "test", i) for i in range(20)) if s.voices == 1)[: 2 * SAMPLE_RATE]
    return (wave / np.abs(wave).max() * 10 ** (-50 / 20)).astype(np.float32)  # its peak at -50 dBFS


def test_a_quiet_stem_keeps_its_pitch_metrics_and_a_much_quieter_output_loses_its_voicing():
    judges, source = Judges.of(debug_bundle()), _quiet_melody()
    same = evaluate_pair(judges, Pair("same", source, source.copy(), SAMPLE_RATE, "violin"))
    assert same.values["dpd_cents"] < 1e-3 and same.values["voiced_kept"] == 1.0, same.reasons
    faded = evaluate_pair(judges, Pair("faded", source, source * np.float32(1e-3), SAMPLE_RATE, "violin"))
    assert faded.values["voiced_kept"] == 0.0 and math.isnan(faded.values["dpd_cents"])
    assert "pitch: output has no voiced frames" in faded.reasons
