"""Guidance that holds the level: the guided estimate passes through the model's hold with the conditional one."""
import dataclasses

import pytest
import torch

from timbre.denoisers import ClassifierFreeGuidance
from timbre.edits import EditSpec, SamplerConfig
from timbre.edits.base import guided
from timbre.edits.channel_split import ChannelSplit, timbre_mask
from timbre.edits.split_guidance import SplitGuidance
from timbre.errors import ConfigError

from .helpers import make_batch, source_latents


class Projection:
    """A hold that puts the guided estimate's component along orthonormal directions q (C, r) back to the
    conditional estimate's, and records what it was given."""

    def __init__(self, seed=5, channels=16, r=2):
        self.q, _ = torch.linalg.qr(torch.randn(channels, r, generator=torch.Generator().manual_seed(seed)))
        self.seen = []

    def __call__(self, guided, conditional):
        self.seen.append((guided, conditional))
        return guided + torch.einsum("cr,dr,bdt->bct", self.q, self.q, conditional - guided)


def _inputs(bundle, n=3):
    x = source_latents(n=n)
    return x, torch.full((n,), 0.7), bundle.conditioner.embed_text(["flute", "violin", "oboe"][:n])


def test_guidance_passes_its_guided_and_conditional_estimates_through_the_hold(bundle):
    """With a projection hold: D_u + w delta - (w - 1) Q Q^T delta, delta = D_c - D_u, against the explicit form."""
    x, sigma, cond = _inputs(bundle)
    hold = Projection()
    out = ClassifierFreeGuidance(bundle.denoiser, bundle.null_cond, 4.0, hold=hold)(x, sigma, cond)
    plain = ClassifierFreeGuidance(bundle.denoiser, bundle.null_cond, 4.0)(x, sigma, cond)
    d_c = bundle.denoiser(x, sigma, cond)
    assert len(hold.seen) == 1 and torch.allclose(hold.seen[0][0], plain) and torch.allclose(hold.seen[0][1], d_c)
    d_u = bundle.denoiser(x, sigma, bundle.null_cond.expand(3, -1)).double()
    delta, p = d_c.double() - d_u, (hold.q @ hold.q.T).double()
    assert torch.allclose(out.double(), d_u + 4 * delta - 3 * torch.einsum("cd,bdt->bct", p, delta), atol=1e-5)
    assert torch.equal(ClassifierFreeGuidance(bundle.denoiser, bundle.null_cond, 1.0, hold=hold)(x, sigma, cond), d_c)
    assert len(hold.seen) == 1  # at scale 1 there is no guidance to hold back


def test_split_guidance_holds_the_same_way(bundle):
    x, sigma, cond = _inputs(bundle)
    hold = Projection()
    split = ChannelSplit(timbre_mask(bundle.channel_ranking, 0.5))
    free = SplitGuidance(bundle.denoiser, bundle.null_cond, split, 6.0, 1.5)(x, sigma, cond)
    held = SplitGuidance(bundle.denoiser, bundle.null_cond, split, 6.0, 1.5, hold)(x, sigma, cond)
    assert torch.allclose(held, hold(free, bundle.denoiser(x, sigma, cond)), atol=1e-6)


def test_a_sampler_holds_the_level_only_when_asked_and_only_with_a_model_that_can(bundle):
    model = bundle.edit_model()
    assert model.level_hold is None  # the debug codec's latents do not hold the level apart
    assert guided(model, SamplerConfig(cfg=4.0), 4.0).hold is None
    with pytest.raises(ConfigError, match="hold_level needs a codec whose latents hold each frame's level apart"):
        guided(model, SamplerConfig(cfg=4.0, hold_level=True), 4.0)
    hold = Projection()
    assert guided(dataclasses.replace(model, level_hold=hold), SamplerConfig(cfg=4.0, hold_level=True), 4.0).hold is hold


@pytest.mark.parametrize("structure_cfg", [None, 1.0])
def test_an_mi_inpaint_edit_with_the_level_held_changes_only_where_guidance_pushes(bundle, structure_cfg):
    model = dataclasses.replace(bundle.edit_model(), channel_basis=None, level_hold=Projection())
    x0, target = source_latents(), bundle.conditioner.embed_text(["flute"] * 3)

    def edit(cfg, hold):
        sampler = SamplerConfig(steps=6, cfg=cfg, solver="euler", hold_level=hold)
        spec = EditSpec.build("mi-inpaint", sampler, k=0.5, clamp=0.5, structure_cfg=structure_cfg)
        return spec.run(model, make_batch(x0, target)).latents

    assert not torch.allclose(edit(4.0, True), edit(4.0, False), atol=1e-4)
    if structure_cfg is None:  # at cfg 1 there is no guidance to hold back
        assert torch.equal(edit(1.0, True), edit(1.0, False))
