import pytest
import torch

from timbre.denoisers import ClassifierFreeGuidance, EDMPrecond
from timbre.known_channels import KnownChannelsInput, WithKnownChannels, reads_known_channels
from timbre.models.dit import DiT, DiTConfig, randomize_

CFG = DiTConfig(channels=6, cond_dim=8, width=16, depth=1, heads=2, noise_features=8, known_input=True)


def _net(config=CFG):
    return randomize_(DiT(config), 0).eval()


def _inputs(b=2, t=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, CFG.channels, t, generator=g), torch.randn(b, generator=g),
            torch.randn(b, CFG.cond_dim, generator=g), 0.5 * torch.randn(b, CFG.channels, t, generator=g))


def test_the_dit_reads_known_values_only_where_the_mask_is_set():
    net = _net()
    x, c_noise, emb, known = _inputs()
    mask = torch.tensor([[1, 1, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1]], dtype=torch.bool)
    out = net(x, c_noise, {"embedding": emb, "known": known, "mask": mask})
    changed = known.clone()
    changed[~mask] += 3.0  # unknown channels' values are not read
    assert torch.equal(net(x, c_noise, {"embedding": emb, "known": changed, "mask": mask}), out)
    changed[mask] += 1.0  # known ones are
    assert not torch.allclose(net(x, c_noise, {"embedding": emb, "known": changed, "mask": mask}), out)
    # a plain embedding is the same task as an empty mask
    empty = {"embedding": emb, "known": known, "mask": torch.zeros_like(mask)}
    assert torch.equal(net(x, c_noise, emb), net(x, c_noise, empty))


def test_a_dit_without_known_input_refuses_known_channels_and_says_why():
    plain = _net(DiTConfig(channels=6, cond_dim=8, width=16, depth=1, heads=2, noise_features=8))
    x, c_noise, emb, known = _inputs()
    with pytest.raises(ValueError, match="not trained with known channels"):
        plain(x, c_noise, {"embedding": emb, "known": known, "mask": torch.ones(2, 6, dtype=torch.bool)})
    assert not reads_known_channels(EDMPrecond(plain)) and reads_known_channels(EDMPrecond(_net()))
    with pytest.raises(ValueError, match=r"\(B, C\) mask"):
        KnownChannelsInput(known, torch.ones(2, 5))


def test_known_channels_follow_each_item_through_classifier_free_guidance():
    denoiser = EDMPrecond(_net())
    x, _, emb, known = _inputs(b=3)
    mask = torch.rand(3, 6, generator=torch.Generator().manual_seed(1)) < 0.5
    sigma = torch.full((3,), 0.7)
    guided = ClassifierFreeGuidance(WithKnownChannels(denoiser, known, mask), torch.zeros(8), scale=3.0)(x, sigma, emb)

    def alone(cond):
        return denoiser(x, sigma, {"embedding": cond, "known": known, "mask": mask})

    assert torch.allclose(guided, alone(torch.zeros(3, 8)) + 3.0 * (alone(emb) - alone(torch.zeros(3, 8))), atol=1e-5)
    with pytest.raises(ValueError, match="not a repeat of the 3 items"):
        WithKnownChannels(denoiser, known, mask)(x[:2], sigma[:2], emb[:2])
