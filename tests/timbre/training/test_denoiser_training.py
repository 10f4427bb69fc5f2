import dataclasses

import pytest
import torch

from timbre.models.dit import DiT, DiTConfig
from timbre.models.gaussian import GaussianDenoiser
from timbre.training.denoiser import (ConditionTables, DenoiserTrainingConfig, always_known_channels, draw_conditions,
                                     draw_known_mask,
                                      edm_loss, ema_rate, latent_batch, power_function_rate, train_denoiser,
                                      update_weight_average)
from timbre.training.loop import seeded

TINY = DiTConfig(channels=4, cond_dim=8, width=16, depth=1, heads=2, noise_features=8)


def _tables(classes=3, templates=2, rows=12, dim=8):
    g = torch.Generator().manual_seed(0)
    return ConditionTables(torch.randn(classes, templates, dim, generator=g), torch.randn(rows, dim, generator=g),
                           torch.arange(rows) % classes, torch.zeros(dim))


def _sinusoid_latents(rows=12, frames=40):
    g = torch.Generator().manual_seed(1)
    return 0.7 * torch.sin(0.3 * torch.arange(frames) + 6.3 * torch.rand(rows, 4, 1, generator=g))


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


@pytest.mark.parametrize("audio_share", [0.25, 0.0])  # 0: prompts only (scale full-text-only)
def test_conditions_drop_and_mix_in_the_configured_shares(audio_share):
    tables = _tables()
    config = DenoiserTrainingConfig(cond_dropout=0.2, audio_condition_share=audio_share)
    instruments = torch.arange(6000) % 3
    cond = draw_conditions(tables, instruments, config, torch.Generator().manual_seed(0))
    null = (cond == 0).all(-1)
    text = torch.stack([(cond[:, None] == tables.text[instruments]).all(-1).any(-1)]).squeeze(0)
    audio = (cond[:, None] == tables.audio[None]).all(-1)  # (B, rows)
    from_audio = audio.any(-1)
    assert null.float().mean().item() == pytest.approx(0.2, abs=0.02)
    assert from_audio.float().mean().item() == pytest.approx(0.8 * audio_share, abs=0.02)
    assert text.float().mean().item() == pytest.approx(0.8 * (1 - audio_share), abs=0.02)
    assert bool((null | text | from_audio).all())
    rows = audio.float().argmax(-1)[from_audio]
    assert bool((tables.row_instruments[rows] == instruments[from_audio]).all())  # same instrument's recording


def test_weight_average_ramps_its_decay_then_holds_it():
    average, net = torch.nn.Linear(1, 1, bias=False), torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(average.weight), torch.nn.init.ones_(net.weight)
    update_weight_average(average, net, ema_rate(0.9, step=0))  # early: decay (1 + 0) / (10 + 0) = 0.1, 90% of the way
    assert average.weight.item() == pytest.approx(0.9)
    update_weight_average(average, net, ema_rate(0.9, step=1000))  # late: the configured decay, 0.9 * 0.9 + 0.1 * 1
    assert average.weight.item() == pytest.approx(0.91)
    # the ramp is below 0.998 until step 4,490: a longer decay changes nothing before it
    assert ema_rate(0.998, 2499) == ema_rate(0.9995, 2499) == pytest.approx(9 / 2509)


@pytest.mark.parametrize("gamma", [0.0, 2.0, 8.0])
def test_power_function_average_weighs_step_s_as_s_to_the_gamma(gamma):
    # averaging the scalar sequence w_t = t (t = 1..T) gives about sum t * t^gamma / sum t^gamma (Karras et al. 2024,
    # eq. 3: exact for gamma 0, the discrete sum approximated by its integral otherwise; measured 8e-4 at T = 200)
    steps = 200
    average = 0.0
    for step in range(steps):
        rate = power_function_rate(gamma, step)
        average += rate * ((step + 1) - average)
    t = torch.arange(1, steps + 1, dtype=torch.float64)
    assert average == pytest.approx(float((t * t**gamma).sum() / (t**gamma).sum()), rel=2e-3 if gamma else 1e-12)
    assert abs(average - float((t * t**(gamma + 1)).sum() / (t**(gamma + 1)).sum())) > 0.2  # gamma + 1 is told apart


def test_an_average_kept_through_the_hook_matches_the_returned_one():
    # the hook sees the raw net after every step; the same decay kept outside, from the same seeded initialisation,
    # reproduces the returned average, and a different decay does not
    config = DenoiserTrainingConfig(steps=30, batch=8, crop_frames=16, ema=0.95)
    same, other = (seeded(lambda: DiT(TINY), config.seed).requires_grad_(False) for _ in range(2))
    seen = []

    def after_step(step, net):
        seen.append(step)
        update_weight_average(same, net, ema_rate(config.ema, step))
        update_weight_average(other, net, ema_rate(0.5, step))

    net, _ = train_denoiser(TINY, config, _sinusoid_latents(), torch.full((12,), 40), _tables(), after_step=after_step)
    assert seen == list(range(30))
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), same.state_dict().values()))
    assert not all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), other.state_dict().values()))


@pytest.mark.parametrize("patch", [1, 2])  # 2: tokens of two latent frames
def test_training_lowers_the_loss_deterministically_and_refuses_bad_latents(patch):
    # smooth sinusoids with random phases: far more predictable than white noise, whose EDM loss stays at 1
    latents = _sinusoid_latents()
    config = DenoiserTrainingConfig(steps=300, batch=16, crop_frames=16, lr=3e-3)
    tables = _tables()
    frames = torch.full((12,), 40)
    _, metrics = train_denoiser(dataclasses.replace(TINY, patch=patch), config, latents, frames, tables)
    assert metrics["final_loss"] < 0.9  # measured 0.81; an untrained net (c_skip x) sits at ~1
    short = DenoiserTrainingConfig(steps=20, batch=8, crop_frames=16)
    net, _ = train_denoiser(TINY, short, latents, frames, tables)
    again, _ = train_denoiser(TINY, short, latents, frames, tables)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))
    with pytest.raises(ValueError, match=r"latents must be \(N, 4, frames\)"):
        train_denoiser(TINY, config, latents[:, :3], frames, tables)
    with pytest.raises(ValueError, match="fewer than a 16-frame crop"):
        train_denoiser(TINY, config, latents[..., :8], frames, tables)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("known_share", [0.0, 0.5])  # 0.5: an inpainting DiT, scored on the unknown channels
def test_training_on_cuda_draws_the_same_batches_and_tracks_the_cpu_run(known_share):
    latents, tables = _sinusoid_latents(), _tables()
    model = dataclasses.replace(TINY, known_input=known_share > 0)
    config = DenoiserTrainingConfig(steps=20, batch=8, crop_frames=16, known_share=known_share)
    weights = torch.tensor([4.0, 1.0, 1.0, 2.0])
    runs = [train_denoiser(model, config, latents, torch.full((12,), 40), tables, structure_channels=1, device=d,
                           channel_weights=weights) for d in ("cpu", "cuda")]
    (cpu, cpu_metrics), (gpu, gpu_metrics) = runs
    assert next(gpu.parameters()).device.type == "cpu"  # the average comes back to the CPU, ready to save
    assert gpu_metrics["final_loss"] == pytest.approx(cpu_metrics["final_loss"], rel=1e-3)
    for a, b in zip(cpu.state_dict().values(), gpu.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-4)


def test_known_masks_hold_the_structure_and_a_random_share_of_the_rest():
    config = DenoiserTrainingConfig(known_share=0.4, known_extra=0.6)
    structure = torch.arange(10) < 3
    mask = draw_known_mask(20000, structure, config, torch.Generator().manual_seed(0))
    knowing = mask.any(-1)
    assert knowing.float().mean().item() == pytest.approx(0.4, abs=0.015)
    assert bool(mask[knowing][:, :3].all())  # the structure is always among the known channels
    extra = mask[knowing][:, 3:].float().mean(-1)  # each item's rate is uniform on [0, 0.6]: mean 0.3
    assert extra.mean().item() == pytest.approx(0.3, abs=0.01)


def test_always_known_keeps_the_codecs_last_structure_channels_out_of_every_items_known_set():
    # the harmonic codec's periodicity (channels 4 and 5 of 6) known only as the timbre channels are
    config = DenoiserTrainingConfig(known_share=1.0, known_extra=0.5, always_known=4)
    always = always_known_channels(10, 6, config)
    assert always.tolist() == [True] * 4 + [False] * 6
    assert always_known_channels(10, 6, DenoiserTrainingConfig()).tolist() == [True] * 6 + [False] * 4
    mask = draw_known_mask(20000, always, config, torch.Generator().manual_seed(0))
    assert bool(mask[:, :4].all())
    assert mask[:, 4:6].float().mean().item() == pytest.approx(0.25, abs=0.01)  # as often as the timbre channels
    with pytest.raises(ValueError, match=r"always_known \(7\) is more than the codec's 6 structure channels"):
        always_known_channels(10, 6, dataclasses.replace(config, always_known=7))
    with pytest.raises(ValueError, match="always_known must be None"):
        DenoiserTrainingConfig(always_known=-1)


def test_the_known_channel_loss_scores_only_the_unknown_channels():
    config = DenoiserTrainingConfig()
    g = torch.Generator().manual_seed(0)
    x = 0.5 * torch.randn(8, 4, 16, generator=g)
    known = torch.tensor([True, False, True, False]).expand(8, 4)
    seen = []

    def right_where_scored(noisy, sigma, cond):
        seen.append(cond)
        out = cond["known"].clone()
        out[cond["mask"]] = 100.0  # nonsense on the known channels costs nothing
        return out

    assert edm_loss(right_where_scored, x, torch.zeros(8, 8), config, g, known).item() == 0.0
    assert torch.equal(seen[0]["known"], x) and torch.equal(seen[0]["mask"], known)
    assert edm_loss(lambda n, s, c: torch.zeros_like(n), x, torch.zeros(8, 8), config, g, known).item() > 1


def test_training_with_known_channels_needs_a_dit_that_reads_them_and_is_deterministic():
    g = torch.Generator().manual_seed(1)
    latents = 0.7 * torch.sin(0.3 * torch.arange(40) + 6.3 * torch.rand(12, 4, 1, generator=g))
    config = DenoiserTrainingConfig(steps=10, batch=8, crop_frames=16, known_share=0.5)
    frames = torch.full((12,), 40)
    with pytest.raises(ValueError, match="known_input=True"):
        train_denoiser(TINY, config, latents, frames, _tables())
    reading = DiTConfig(channels=4, cond_dim=8, width=16, depth=1, heads=2, noise_features=8, known_input=True)
    net, _ = train_denoiser(reading, config, latents, frames, _tables(), structure_channels=1)
    again, _ = train_denoiser(reading, config, latents, frames, _tables(), structure_channels=1)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))


def test_channel_weights_scale_each_channels_squared_error_in_the_edm_loss():
    config = DenoiserTrainingConfig()
    x = torch.randn(64, 4, 8)
    weights = torch.tensor([1.0, 3.0, 0.5, 10.0])
    zero = lambda x, s, c: torch.zeros_like(x)  # its error is x itself, whatever the noise
    loss = edm_loss(zero, x, None, config, torch.Generator().manual_seed(5), channel_weights=weights)
    sigma = (torch.randn(64, generator=torch.Generator().manual_seed(5)) * config.p_std + config.p_mean).exp()
    lam = (sigma**2 + config.sigma_data**2) / (sigma * config.sigma_data) ** 2
    assert loss.item() == pytest.approx((lam[:, None, None] * weights[None, :, None] * x**2).mean().item(), rel=1e-5)
    with pytest.raises(ValueError, match=r"channel_weights must be \(4,\)"):
        train_denoiser(TINY, DenoiserTrainingConfig(steps=1, batch=2, crop_frames=16), _sinusoid_latents(),
                       torch.full((12,), 40), _tables(), channel_weights=torch.ones(3))


def test_spectral_term_adds_the_root_lambda_weighted_compressed_magnitude_l1_of_the_decoded_latents():
    # a zero denoiser's latent error is x itself; with decode = exp-free identity "log-magnitudes", the spectral
    # term is the mean over items of sqrt(lambda) * mean |exp(0.3 * 0) - exp(0.3 * min(x, cap))|
    config = DenoiserTrainingConfig(spectral_weight=2.0)
    x = torch.randn(64, 4, 8)
    zero = lambda x, s, c: torch.zeros_like(x)
    loss = edm_loss(zero, x, None, config, torch.Generator().manual_seed(5), decode=lambda z: z)
    sigma = (torch.randn(64, generator=torch.Generator().manual_seed(5)) * config.p_std + config.p_mean).exp()
    lam = (sigma**2 + config.sigma_data**2) / (sigma * config.sigma_data) ** 2
    latent = (lam[:, None, None] * x**2).mean()
    spectral = (lam.sqrt() * (1 - (0.3 * x).exp()).abs().flatten(1).mean(1)).mean()
    assert loss.item() == pytest.approx((latent + 2.0 * spectral).item(), rel=1e-5)
    perfect = lambda n, s, c: x  # a denoiser that returns the clean latents costs nothing in either term
    assert edm_loss(perfect, x, None, config, torch.Generator().manual_seed(5), decode=lambda z: z).item() == 0.0


def test_spectral_term_scores_known_channels_as_the_clean_ones_and_needs_a_decoder():
    config = DenoiserTrainingConfig(spectral_weight=1.0)
    x = torch.randn(8, 4, 8)
    known = torch.zeros(8, 4, dtype=torch.bool)
    known[:, :2] = True
    right_where_scored = lambda n, s, c: torch.where(known[..., None], torch.zeros_like(x), x)
    g = torch.Generator().manual_seed(0)
    assert edm_loss(right_where_scored, x, torch.zeros(8, 8), config, g, known, decode=lambda z: z).item() == 0.0
    with pytest.raises(ValueError, match="decode_log_magnitude"):
        edm_loss(right_where_scored, x, torch.zeros(8, 8), config, g, known)
    with pytest.raises(ValueError, match="decode_log_magnitude"):
        train_denoiser(TINY, DenoiserTrainingConfig(steps=1, batch=2, crop_frames=16, spectral_weight=1.0),
                       _sinusoid_latents(), torch.full((12,), 40), _tables())


def test_spectral_term_trains_only_the_denoiser_through_a_frozen_decoder():
    decoder = torch.nn.Linear(4, 6)
    before = [p.detach().clone() for p in decoder.parameters()]
    decode = lambda z: decoder(z.transpose(1, 2)).transpose(1, 2)
    config = DenoiserTrainingConfig(steps=3, batch=4, crop_frames=16, spectral_weight=1.0)
    net, metrics = train_denoiser(TINY, config, _sinusoid_latents(), torch.full((12,), 40), _tables(), decode=decode)
    assert all(torch.equal(a, b) for a, b in zip(before, decoder.parameters()))
    plain, _ = train_denoiser(TINY, dataclasses.replace(config, spectral_weight=0.0), _sinusoid_latents(),
                              torch.full((12,), 40), _tables())
    assert any(not torch.equal(a, b) for a, b in zip(net.parameters(), plain.parameters()))


def test_a_structure_weight_needs_the_timbre_weighted_loss():
    config = DenoiserTrainingConfig(decoder_weighting=0.5, weight_structure=False, structure_weight=30.0)
    assert config.structure_weight == 30.0
    for settings in ({"decoder_weighting": 0.0, "weight_structure": False}, {"decoder_weighting": 0.5}):
        with pytest.raises(ValueError, match="structure_weight needs the timbre-weighted loss"):
            DenoiserTrainingConfig(structure_weight=30.0, **settings)


def test_weighted_rows_are_drawn_in_proportion_and_crops_stay_in_each_row():
    latents = torch.arange(5.0)[:, None, None].expand(5, 2, 30).clone()  # each frame holds its row's number
    frames = torch.tensor([30, 30, 10, 10, 10])
    weights = torch.tensor([0.35, 0.35, 0.3, 0.0, 0.0], dtype=torch.float64)
    x, rows = latent_batch(latents, frames, 20000, 8, torch.Generator().manual_seed(0), weights)
    share = torch.bincount(rows, minlength=5).double() / 20000
    assert torch.allclose(share, weights, atol=0.015)
    assert bool((x == rows[:, None, None].float()).all())  # every crop comes from the row it names
    again, _ = latent_batch(latents, frames, 20000, 8, torch.Generator().manual_seed(0), weights)
    assert torch.equal(x, again)


def test_row_weights_and_a_stem_share_are_checked():
    frames, tables = torch.full((12,), 40), _tables()
    config = DenoiserTrainingConfig(steps=2, batch=4, crop_frames=16)
    with pytest.raises(ValueError, match="row_weights must be 12 non-negative weights with a positive sum, got shape"):
        train_denoiser(TINY, config, _sinusoid_latents(), frames, tables, row_weights=torch.zeros(12))
    with pytest.raises(ValueError, match=r"stem_share must be None \(rows alike\) or a share in \[0, 1\], got 2"):
        DenoiserTrainingConfig(stem_share=2.0)


def test_one_product_gradients_train_to_the_plain_runs_weights_up_to_rounding_and_leave_the_model_unset():
    from timbre.models.layers import ItemLinear
    latents, tables, frames = _sinusoid_latents(), _tables(), torch.full((12,), 40)
    plain_config = DenoiserTrainingConfig(steps=20, batch=8, crop_frames=16)
    plain, _ = train_denoiser(TINY, plain_config, latents, frames, tables)
    seen = []
    fast, _ = train_denoiser(TINY, dataclasses.replace(plain_config, one_product_gradients=True), latents, frames,
                             tables, after_step=lambda step, net: seen.append(
                                 {m.one_product_gradients for m in net.modules() if isinstance(m, ItemLinear)}))
    assert seen[0] == {True}  # the network trained with them
    assert {m.one_product_gradients for m in fast.modules() if isinstance(m, ItemLinear)} == {False}
    for a, b in zip(plain.state_dict().values(), fast.state_dict().values()):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)
