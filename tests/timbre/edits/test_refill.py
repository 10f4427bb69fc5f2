import pytest
import torch

from timbre.denoisers import EDMPrecond
from timbre.edits import EditModel, SamplerConfig
from timbre.edits.refill import refill
from timbre.errors import ConfigError
from timbre.models.dit import DiT, DiTConfig, randomize_
from timbre.randomness import item_generators

from .helpers import RecordingDenoiser, source_latents

SAMPLER = SamplerConfig(steps=6, cfg=2.0)


def _model(known_input=True):
    net = randomize_(DiT(DiTConfig(channels=16, cond_dim=8, width=16, depth=1, heads=2, noise_features=8,
                                   known_input=known_input)), 0).eval()
    return EditModel(EDMPrecond(net), torch.zeros(8))


def test_refill_keeps_the_kept_channels_exactly_and_shows_them_clean_at_every_call():
    model = _model()
    recorder = RecordingDenoiser(model.denoiser)
    recorder.net = model.denoiser.net  # what tells an inpainting denoiser apart
    latents = source_latents()
    keep = torch.arange(16) < 5
    cond = torch.randn(3, 8, generator=torch.Generator().manual_seed(1))
    out = refill(EditModel(recorder, model.null_cond), SAMPLER, latents, keep, cond, item_generators(0, ["a", "b", "c"]))
    assert torch.equal(out[:, keep], latents[:, keep])
    assert not torch.allclose(out[:, ~keep], latents[:, ~keep], atol=0.1)  # regenerated
    assert len(recorder.calls) == 2 * SAMPLER.steps - 1  # Heun, Euler on the last step
    for _, _, c in recorder.calls:  # CFG doubles the batch; both halves read the same clean channels
        assert torch.equal(c["known"], latents.repeat(2, 1, 1)) and torch.equal(c["mask"], keep.expand(6, -1))


def test_refill_draws_per_item_and_refuses_a_denoiser_that_cannot_read_known_channels():
    model = _model()
    latents, keep = source_latents(), torch.arange(16) < 5
    cond = torch.randn(3, 8, generator=torch.Generator().manual_seed(1))
    batched = refill(model, SAMPLER, latents, keep, cond, item_generators(0, ["a", "b", "c"]))
    alone = refill(model, SAMPLER, latents[1:2], keep, cond[1:2], item_generators(0, ["b"]))
    assert torch.allclose(batched[1:2], alone, atol=1e-5)
    with pytest.raises(ConfigError, match="read known channels"):
        refill(_model(known_input=False), SAMPLER, latents, keep, cond, item_generators(0, ["a", "b", "c"]))
