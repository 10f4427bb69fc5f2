import numpy as np
import pytest

from timbre.audio import Audio
from timbre.edits import EditSpec, SamplerConfig
from timbre.transfer import text_condition, transfer_audio

SPEC = EditSpec.build("mi-inpaint", SamplerConfig(steps=4))


def _clip(rate, channels, frames, identical=False):
    t = np.arange(frames) / rate
    cols = [0.3 * np.sin(2 * np.pi * (220 if identical else 220 * (c + 1)) * t) for c in range(channels)]
    return Audio(np.stack(cols, 1).astype(np.float32), rate, "WAV", "PCM_16")


@pytest.mark.parametrize("rate, channels, frames", [(16000, 1, 16000), (44100, 2, 30001), (8000, 6, 7999)])
def test_output_keeps_rate_channels_and_length(bundle, rate, channels, frames):
    clip = _clip(rate, channels, frames)
    out = transfer_audio(bundle, clip, SPEC, text_condition(bundle, "violin"), None, seed=0, item_id="x")
    assert (out.audio.sample_rate, out.audio.channels, out.audio.frames) == (rate, channels, frames)
    assert out.audio.subtype == "PCM_16" and np.isfinite(out.audio.samples).all()
    assert out.info["resampled"] == (rate != bundle.sample_rate)


def test_identical_channels_stay_identical(bundle):
    out = transfer_audio(bundle, _clip(16000, 2, 8000, identical=True), SPEC, text_condition(bundle, "flute"),
                         None, seed=3, item_id="x")
    assert np.array_equal(out.audio.samples[:, 0], out.audio.samples[:, 1])


def test_same_seed_and_item_repeat_other_seeds_differ(bundle):
    clip, target = _clip(16000, 1, 8000), text_condition(bundle, "flute")
    a, b, c = (transfer_audio(bundle, clip, SPEC, target, None, seed=s, item_id="x").audio.samples for s in (1, 1, 2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_the_edit_changes_the_audio(bundle):
    clip = _clip(16000, 1, 8000)
    out = transfer_audio(bundle, clip, SPEC, text_condition(bundle, "flute"), None, seed=0, item_id="x")
    assert np.abs(out.audio.samples - clip.samples).mean() > 1e-3
