import numpy as np
import pytest
import soundfile as sf

from timbre.audio import Audio, clipped_count, decode_audio, encode_audio, fit_length, resample
from timbre.errors import AudioError


def _wav_bytes(samples, rate, subtype="PCM_16", fmt="WAV"):
    import io
    buf = io.BytesIO()
    sf.write(buf, samples, rate, subtype=subtype, format=fmt)
    return buf.getvalue()


def test_round_trip_keeps_rate_channels_length_and_subtype():
    x = (0.5 * np.sin(np.arange(3000)[:, None] * [0.01, 0.02])).astype(np.float32)
    audio = decode_audio(_wav_bytes(x, 22050), "a.wav")
    assert (audio.sample_rate, audio.channels, audio.frames, audio.subtype) == (22050, 2, 3000, "PCM_16")
    again = decode_audio(encode_audio(audio), "b.wav")
    assert again.subtype == "PCM_16" and np.array_equal(again.samples, audio.samples)


def test_flac_output_keeps_pcm_subtype():
    audio = decode_audio(_wav_bytes(np.zeros((100, 1), np.float32), 8000, "PCM_24"), "a.wav")
    assert decode_audio(encode_audio(audio, "FLAC"), "a.flac").subtype == "PCM_24"


@pytest.mark.parametrize("data, cause", [(b"", "empty file"), (b"hello, not audio" * 10, "not a readable audio file")])
def test_unusable_bytes_name_the_file_and_cause(data, cause):
    with pytest.raises(AudioError, match=f"^stem.wav: {cause}") as caught:
        decode_audio(data, "stem.wav")
    assert "object at 0x" not in str(caught.value)  # libsndfile's view of the buffer, not the user's file


def test_a_truncated_wav_is_refused_not_quietly_shortened():
    whole = _wav_bytes(np.zeros((1000, 2), np.float32), 16000)
    with pytest.raises(AudioError, match="stem.wav: truncated WAV: its header declares 4000 bytes of audio, the file holds 1978"):
        decode_audio(whole[: len(whole) // 2], "stem.wav")
    assert decode_audio(whole, "stem.wav").frames == 1000


def test_nan_samples_are_refused():
    x = np.zeros((100, 1), np.float32)
    x[10] = np.nan
    with pytest.raises(AudioError, match="stem.wav: 1 NaN"):
        decode_audio(_wav_bytes(x, 8000, "FLOAT"), "stem.wav")


def test_resampling_keeps_a_sine_a_sine():
    t_in = np.arange(44100) / 44100
    out = resample(np.sin(2 * np.pi * 440 * t_in)[:, None].astype(np.float32), 44100, 16000)
    t_out = np.arange(out.shape[0]) / 16000
    assert out.shape == (16000, 1)
    middle = slice(1000, 15000)  # away from the filter's edges
    assert np.abs(out[middle, 0] - np.sin(2 * np.pi * 440 * t_out[middle])).max() < 1e-3


def test_resampling_at_equal_rates_is_the_identity():
    x = np.random.default_rng(0).standard_normal((50, 2)).astype(np.float32)
    assert resample(x, 16000, 16000) is x


def test_fit_length_trims_and_pads():
    x = np.ones((5, 2), np.float32)
    assert fit_length(x, 3).shape == (3, 2)
    padded = fit_length(x, 8)
    assert padded.shape == (8, 2) and padded[5:].sum() == 0 and padded[:5].sum() == 10


def test_clipping_is_counted_for_fixed_point_only():
    x = np.array([[0.5], [1.5], [-2.0]], np.float32)
    assert clipped_count(Audio(x, 8000, "WAV", "PCM_16")) == 2
    assert clipped_count(Audio(x, 8000, "WAV", "FLOAT")) == 0
