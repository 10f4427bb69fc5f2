import torch

from timbre.analysis.noise_probe import NoiseProbeConfig, chance_fraction, probe_accuracy, swapped_pairs, train_probe
from timbre.edits.channel_split import ChannelSplit


def _latents(n=40, t=16):
    """Channel 0 (timbre) and channel 1 (structure) both equal the instrument's level: swaps break the match."""
    instruments = torch.arange(n) % 4
    level = (instruments.float() - 1.5)[:, None, None] * 0.4
    g = torch.Generator().manual_seed(0)
    return torch.cat([level.expand(n, 2, t), 0.1 * torch.randn(n, 2, t, generator=g)], 1), instruments


def test_swapped_pairs_take_timbre_from_another_instrument():
    latents, instruments = _latents()
    split = ChannelSplit(torch.tensor([True, False, False, False]))
    x, labels = swapped_pairs(latents, instruments, split, torch.Generator().manual_seed(1), 200)
    clean, swapped = x[labels == 0], x[labels == 1]
    assert torch.equal(clean[:, 0], clean[:, 1])  # unchanged latents: timbre and structure agree
    assert bool((swapped[:, 0, 0] != swapped[:, 1, 0]).all())  # another instrument's timbre channel
    assert 60 < int(labels.sum()) < 140


def test_chance_fraction_is_where_accuracy_stays_at_chance():
    assert chance_fraction({0.0: 0.99, 0.1: 0.52, 0.2: 0.8, 0.5: 0.51, 1.0: 0.5}, 0.05) == 0.5
    assert chance_fraction({0.0: 0.99, 1.0: 0.7}, 0.05) is None


def test_probe_sees_the_swap_at_low_noise_and_not_at_sigma_max():
    latents, instruments = _latents()
    split = ChannelSplit(torch.tensor([True, False, False, False]))
    config = NoiseProbeConfig(fractions=(0.0, 0.001, 1.0), steps=200, batch=32, width=16)
    probe = train_probe(latents, instruments, split, config)
    result = probe_accuracy(probe, latents, instruments, split, config, count=400)
    assert result["accuracy"][0.0] > 0.9
    assert result["accuracy"][1.0] < 0.6
    assert result["chance_fraction"] == 1.0
