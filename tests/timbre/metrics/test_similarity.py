import numpy as np
import pytest
import torch
import torch.nn.functional as F

from timbre.metrics.embedding_frames import embedding_frames, window_waves
from timbre.metrics.similarity import clap_similarity, embed_audio_at, top1_correct


def test_clap_similarity_is_the_cosine_of_each_pair(bundle):
    waves = torch.randn(3, 8000, generator=torch.Generator().manual_seed(0)) * 0.1
    audio = embed_audio_at(bundle.conditioner, waves, bundle.conditioner.sample_rate)
    text = bundle.conditioner.embed_text(["violin", "flute", "a bright trumpet"])
    expected = [float(a @ t / (a.norm() * t.norm())) for a, t in zip(audio, text)]
    assert clap_similarity(audio, text).tolist() == pytest.approx(expected, abs=1e-6)
    assert clap_similarity(audio, audio).tolist() == pytest.approx([1.0] * 3, abs=1e-6)
    with pytest.raises(ValueError, match="differ in shape"):
        clap_similarity(audio, text[:2])


def test_embedding_at_another_rate_resamples_first(bundle):
    rate = bundle.conditioner.sample_rate
    t = torch.arange(rate) / rate
    wave = (0.3 * torch.sin(2 * torch.pi * 330 * t))[None]
    at_48k = torch.from_numpy(np.interp(np.arange(48000) / 48000, t.numpy(), wave[0].numpy())).float()[None]
    same = F.cosine_similarity(embed_audio_at(bundle.conditioner, wave, rate),
                               embed_audio_at(bundle.conditioner, at_48k, 48000))
    assert same.item() > 0.99


def test_top1_is_the_argmax_against_the_target():
    logits = torch.tensor([[0.1, 2.0, 0.3], [3.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert top1_correct(lambda w: logits, torch.zeros(3, 10), torch.tensor([1, 2, 2])).tolist() == [True, False, True]


def test_windows_cover_the_wave_and_leave_silence_out(bundle):
    rate = 1000
    wave = torch.cat([torch.zeros(1500), 0.5 * torch.ones(1200)])  # 1.5 s of silence, then 1.2 s of sound
    windows = window_waves(wave, rate, window_s=1.0, hop_s=0.5)
    # starts 0.0 and 0.5 are silent; 1.0 is half sound, 1.5 whole, 2.0 zero-padded after 0.7 s
    assert windows.shape == (3, 1000)
    assert windows[0, :500].abs().max() == 0 and windows[0, 500:].min() == 0.5
    assert windows[2, :700].min() == 0.5 and windows[2, 700:].abs().max() == 0
    assert embedding_frames(bundle.conditioner, torch.zeros(rate * 2), bundle.conditioner.sample_rate).shape == (
        0, bundle.conditioner.dim)
