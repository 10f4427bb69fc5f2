import pytest
import torch

from timbre.models.dit import DiTConfig
from timbre.models.gaussian import GaussianDenoiser
from timbre.training.denoiser import (ConditionTables, DenoiserTrainingConfig, draw_conditions, edm_loss,
                                      train_denoiser)

TINY = DiTConfig(channels=4, cond_dim=8, width=16, depth=1, heads=2, noise_features=8)


def _tables(classes=3, templates=2, rows=12, dim=8):
    g = torch.Generator().manual_seed(0)
    return ConditionTables(torch.randn(classes, templates, dim, generator=g), torch.randn(rows, dim, generator=g),
                           torch.arange(rows) % classes, torch.zeros(dim))


def test_edm_loss_of_the_exact_gaussian_denoiser_is_one():
    # data N(0, sd^2): the optimal denoiser's error at sigma is sigma^2 sd^2 / (sigma^2 + sd^2), which EDM's
    # weight (sigma^2 + sd^2) / (sigma sd)^2 turns into exactly 1 at every sigma
    config = DenoiserTrainingConfig()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4000, 4, 16, generator=g) * config.sigma_data
    exact = GaussianDenoiser(torch.full((4,), config.sigma_data**2))
    loss = edm_loss(lambda x, s, c: exact(x, s, torch.zeros(x.shape[0], 4)), x, torch.zeros(4000, 8), config, g)
    assert loss.item() == pytest.approx(1.0, abs=0.03)
    assert edm_loss(lambda x, s, c: torch.zeros_like(x), x, None, config, g).item() > 3  # a useless one costs more


def test_conditions_drop_and_mix_in_the_configured_shares():
    tables = _tables()
    config = DenoiserTrainingConfig(cond_dropout=0.2, audio_condition_share=0.25)
    instruments = torch.arange(6000) % 3
    cond = draw_conditions(tables, instruments, config, torch.Generator().manual_seed(0))
    null = (cond == 0).all(-1)
    text = torch.stack([(cond[:, None] == tables.text[instruments]).all(-1).any(-1)]).squeeze(0)
    audio = (cond[:, None] == tables.audio[None]).all(-1)  # (B, rows)
    from_audio = audio.any(-1)
    assert null.float().mean().item() == pytest.approx(0.2, abs=0.02)
    assert from_audio.float().mean().item() == pytest.approx(0.8 * 0.25, abs=0.02)
    assert bool((null | text | from_audio).all())
    rows = audio.float().argmax(-1)[from_audio]
    assert bool((tables.row_instruments[rows] == instruments[from_audio]).all())  # same instrument's recording


def test_training_lowers_the_loss_deterministically_and_refuses_bad_latents():
    # smooth sinusoids with random phases: far more predictable than white noise, whose EDM loss stays at 1
    g = torch.Generator().manual_seed(1)
    phase = 6.3 * torch.rand(12, 4, 1, generator=g)
    latents = 0.7 * torch.sin(0.3 * torch.arange(40) + phase)
    config = DenoiserTrainingConfig(steps=300, batch=16, crop_frames=16, lr=3e-3)
    tables = _tables()
    frames = torch.full((12,), 40)
    _, metrics = train_denoiser(TINY, config, latents, frames, tables)
    assert metrics["final_loss"] < 0.9  # measured 0.81; an untrained net (c_skip x) sits at ~1
    short = DenoiserTrainingConfig(steps=20, batch=8, crop_frames=16)
    net, _ = train_denoiser(TINY, short, latents, frames, tables)
    again, _ = train_denoiser(TINY, short, latents, frames, tables)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))
    with pytest.raises(ValueError, match=r"latents must be \(N, 4, frames\)"):
        train_denoiser(TINY, config, latents[:, :3], frames, tables)
    with pytest.raises(ValueError, match="fewer than a 16-frame crop"):
        train_denoiser(TINY, config, latents[..., :8], frames, tables)
