import math

import numpy as np
import pytest
import torch

from timbre.models.checkpoint import load_component, save_component
from timbre.models.codec import SpectralCodec, SpectralCodecConfig, griffin_lim
from timbre.training.codec import CodecTrainingConfig, pca_initialise, spectral_loss, train_codec
from timbre.training.pool import Pool

TINY = SpectralCodecConfig(n_fft=256, stft_hop=64, stride=2, channels=8, width=32, depth=1, griffin_lim_iters=8)


def _sines(n=4, seconds=0.5, rate=16000):
    t = torch.arange(int(seconds * rate)) / rate
    return torch.stack([0.3 * torch.sin(2 * math.pi * (220 * (i + 1)) * t) for i in range(n)])


def test_frames_and_lengths():
    codec = SpectralCodec(TINY)
    assert codec.hop_length == 128
    for samples in (128, 1000, 4096):
        z = codec.encode(torch.zeros(2, samples))
        assert z.shape == (2, 8, math.ceil(samples / 128))
        assert codec.decode(z).shape == (2, z.shape[-1] * 128)


def test_griffin_lim_recovers_a_sine_from_its_magnitude():
    x = _sines(1, 1.0)
    window = torch.hann_window(1024)
    magnitude = torch.stft(x, 1024, 256, window=window, pad_mode="constant", return_complex=True).abs()
    y = griffin_lim(magnitude, 1024, 256, x.shape[-1], iters=32)
    spectrum = np.abs(np.fft.rfft(y[0, 2000:14000].numpy() * np.hanning(12000)))
    peak_hz = np.argmax(spectrum) * 16000 / 12000
    assert abs(peak_hz - 220) < 2
    rebuilt = torch.stft(y, 1024, 256, window=window, pad_mode="constant", return_complex=True).abs()
    assert ((rebuilt - magnitude).norm() / magnitude.norm()).item() < 0.1  # spectral convergence, measured 0.072


def test_griffin_lim_from_the_true_phase_gives_the_signal_back():
    # a consistent STFT's own phase: no iteration is needed, and iterating keeps it (a fixed point)
    x = _sines(1, 1.0)
    window = torch.hann_window(1024)
    spec = torch.stft(x, 1024, 256, window=window, pad_mode="constant", return_complex=True)
    angles = spec / spec.abs().clamp_min(1e-16)
    for iters in (0, 8):
        y = griffin_lim(spec.abs(), 1024, 256, x.shape[-1], iters=iters, angles=angles)
        assert ((y - x).norm() / x.norm()).item() < 1e-3
    assert ((griffin_lim(spec.abs(), 1024, 256, x.shape[-1], iters=0) - x).norm() / x.norm()).item() > 0.5  # zero phase
    with pytest.raises(ValueError, match="angles must have the magnitude's shape"):
        griffin_lim(spec.abs(), 1024, 256, x.shape[-1], iters=0, angles=angles[..., :-1])


def test_griffin_lim_cuts_a_length_shorter_than_its_frames_from_the_wave_they_span():
    x = _sines(1, 1.0)
    window = torch.hann_window(1024)
    magnitude = torch.stft(x, 1024, 256, window=window, pad_mode="constant", return_complex=True).abs()
    span = (magnitude.shape[-1] - 1) * 256
    whole = griffin_lim(magnitude, 1024, 256, span, iters=4)
    for short in (span - 1, span - 300, 1000):  # each used to fail: the wave re-framed had fewer frames
        cut = griffin_lim(magnitude, 1024, 256, short, iters=4)
        assert cut.shape == (1, short) and torch.equal(cut, whole[:, :short])


def _pool(audio):
    return Pool(audio, torch.full((audio.shape[0],), audio.shape[1]), torch.zeros(audio.shape[0], dtype=torch.long))


def _train(seed=0, steps=40):
    pool = _sines(8, 1.0) * torch.linspace(0.2, 1.0, 8)[:, None]
    config = CodecTrainingConfig(steps=steps, batch=4, crop_seconds=0.25, lr=3e-3, seed=seed, pca_crops=8)
    return train_codec(TINY, config, _pool(pool)), pool


def test_training_lowers_the_loss_and_is_deterministic():
    (codec, metrics), pool = _train()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        untrained = SpectralCodec(TINY)
    crops = pool[:, :4000]
    with torch.no_grad():
        assert spectral_loss(codec, crops, 5.0) < 0.6 * spectral_loss(untrained, crops, 5.0)
        assert spectral_loss(codec, crops, 5.0).item() == pytest.approx(metrics["final_loss"], rel=0.5)  # the returned model
    (again, _), _ = _train()
    assert all(torch.equal(a, b) for a, b in zip(codec.state_dict().values(), again.state_dict().values()))


def test_the_codec_fits_harmonics_not_just_the_floor():
    # rows exactly one crop long: every step sees the same batch, which the codec must learn to reproduce
    pool = _sines(4, 0.25)
    config = CodecTrainingConfig(steps=300, batch=4, crop_seconds=0.25, lr=3e-3, pca_crops=4)
    codec, _ = train_codec(TINY, config, _pool(pool))
    with torch.no_grad():
        target = codec.log_magnitude(pool)
        rebuilt = codec.decode_log_magnitude(codec.encode(pool))
    loud = target > target.amax((-2, -1), keepdim=True) - 3  # bins within 26 dB of each clip's peak
    assert (rebuilt[loud] - target[loud]).abs().mean() < 4.0  # measured 2.6; a decoder stuck at the floor gives 6-9


def test_latents_are_scaled_to_sigma_data():
    (codec, _), pool = _train()
    with torch.no_grad():
        assert codec.encode(pool[:, :4000]).std().item() == pytest.approx(0.5, rel=0.25)


def test_codec_round_trips_through_a_component_file(tmp_path):
    (codec, _), pool = _train(steps=5)
    save_component(codec, tmp_path / "codec.safetensors")
    loaded = load_component(tmp_path / "codec.safetensors")
    assert loaded.config == codec.config
    with torch.no_grad():
        assert torch.equal(loaded.encode(pool[:2]), codec.encode(pool[:2]))


def test_pca_start_is_the_orthogonal_projection_on_the_top_principal_directions():
    # independent reference: numpy's SVD of the centred frames; at the start, decode(encode(x)) must be the
    # projection of x on the top-C right singular vectors, and the latents must be white
    g = torch.Generator().manual_seed(0)
    pool = _sines(4, 1.0) * (1 + torch.rand(4, 1, generator=g)) + 0.01 * torch.randn(4, 16000, generator=g)
    codec = SpectralCodec(TINY)
    frames = codec.stack(codec.log_magnitude(pool))
    pca_initialise(codec, frames)
    x = frames.transpose(1, 2).reshape(-1, frames.shape[1]).double().numpy()
    mean = x.mean(0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    top = vt[: TINY.channels].T
    expected = (x - mean) @ top @ top.T + mean
    with torch.no_grad():
        z = codec.enc_linear(frames)
        rebuilt = codec.dec_linear(z).transpose(1, 2).reshape(-1, frames.shape[1]).double().numpy()
        assert np.abs(rebuilt - expected).max() < 1e-3
        assert torch.allclose(z.transpose(1, 2).reshape(-1, TINY.channels).std(0, correction=1),
                              torch.ones(TINY.channels), atol=1e-3)
        assert torch.equal(codec.encode_log_magnitude(codec.log_magnitude(pool)), z)  # the correction starts at zero


def test_stack_and_unstack_are_inverse():
    codec = SpectralCodec(TINY)
    logmag = torch.randn(2, TINY.n_fft // 2 + 1, 10)
    assert torch.allclose(codec.unstack(codec.stack(logmag)), logmag, atol=1e-6)
    stacked = codec.stack(logmag)
    assert torch.allclose(stacked[:, 0::2, 3] * 4 - 3, logmag[:, :, 6], atol=1e-6)  # bin-major, sub-frame minor
    assert torch.allclose(stacked[:, 1::2, 3] * 4 - 3, logmag[:, :, 7], atol=1e-6)
