"""Guidance at one scale on the timbre part and another on the structure part of a channel split."""
import dataclasses

import pytest
import torch

from timbre.denoisers import ClassifierFreeGuidance
from timbre.edits import EditSpec, SamplerConfig
from timbre.edits.channel_split import ChannelSplit, timbre_mask
from timbre.edits.split_guidance import SplitGuidance
from timbre.errors import ConfigError

from .helpers import make_batch, source_latents


def _inputs(bundle, n=3):
    x = source_latents(n=n)
    sigma = torch.full((n,), 0.7)
    cond = bundle.conditioner.embed_text(["flute", "violin", "oboe"][:n])
    return x, sigma, cond


def test_equal_scales_are_plain_cfg(bundle):
    x, sigma, cond = _inputs(bundle)
    q, _ = torch.linalg.qr(torch.randn(16, 16, generator=torch.Generator().manual_seed(3)))
    split = ChannelSplit(timbre_mask(bundle.channel_ranking, 0.5), q)
    plain = ClassifierFreeGuidance(bundle.denoiser, bundle.null_cond, 4.0)(x, sigma, cond)
    both = SplitGuidance(bundle.denoiser, bundle.null_cond, split, 4.0, 4.0)(x, sigma, cond)
    assert torch.allclose(both, plain, atol=1e-5)


def test_each_part_is_guided_at_its_own_scale(bundle):
    """In the basis's coordinates the output is D_u + w_j (D_c - D_u) direction by direction, with w_j the timbre
    scale on the masked directions and the structure scale on the rest."""
    x, sigma, cond = _inputs(bundle)
    q, _ = torch.linalg.qr(torch.randn(16, 16, generator=torch.Generator().manual_seed(4), dtype=torch.float64))
    mask = timbre_mask(bundle.channel_ranking, 0.25)
    out = SplitGuidance(bundle.denoiser, bundle.null_cond, ChannelSplit(mask, q.float()), 7.0, 1.5)(x, sigma, cond)
    d_c = bundle.denoiser(x, sigma, cond).double()
    d_u = bundle.denoiser(x, sigma, bundle.null_cond.expand(3, -1)).double()
    scales = torch.where(mask, 7.0, 1.5).double()
    expected = torch.einsum("cj,j,dj,bdt->bct", q, scales, q, d_c - d_u) + d_u
    assert torch.allclose(out.double(), expected, atol=1e-4)
    assert not torch.allclose(out, ClassifierFreeGuidance(bundle.denoiser, bundle.null_cond, 7.0)(x, sigma, cond),
                              atol=1e-3)


def _edit(bundle, structure_cfg, clamp, solver="euler"):
    model = dataclasses.replace(bundle.edit_model(), channel_basis=None)
    x0 = source_latents()
    target = bundle.conditioner.embed_text(["flute"] * 3)
    sampler = SamplerConfig(steps=8, cfg=4.0, solver=solver)
    spec = EditSpec.build("mi-inpaint", sampler, k=0.5, clamp=clamp, structure_cfg=structure_cfg)
    return spec.run(model, make_batch(x0, target)).latents


def test_mi_inpaint_structure_cfg_at_the_cfg_is_the_plain_edit(bundle):
    assert torch.equal(_edit(bundle, 4.0, 0.5), _edit(bundle, None, 0.5))


def test_structure_cfg_moves_only_the_free_structure(bundle):
    """With Euler steps and the structure pinned before every step, the denoiser only ever sees pinned structure and
    the timbre part of its guided output does not depend on the structure scale: the edit's timbre channels are the
    same, and only the last step's structure differs. With the clamp released halfway, the timbre differs too."""
    mask = timbre_mask(bundle.channel_ranking, 0.5)
    low, plain = _edit(bundle, 1.0, 1.0), _edit(bundle, None, 1.0)
    assert torch.allclose(low[:, mask], plain[:, mask], atol=1e-6)
    assert not torch.allclose(low[:, ~mask], plain[:, ~mask], atol=1e-4)
    assert not torch.allclose(_edit(bundle, 1.0, 0.5)[:, mask], _edit(bundle, None, 0.5)[:, mask], atol=1e-3)


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf")])
def test_bad_structure_cfg_is_refused(value):
    with pytest.raises(ConfigError, match="structure_cfg must be a finite number >= 0"):
        EditSpec.build("mi-inpaint", k=0.5, clamp=0.5, structure_cfg=value)


def test_a_guidance_rescale_with_a_structure_cfg_is_refused_by_name(bundle):
    model = dataclasses.replace(bundle.edit_model(), channel_basis=None)
    target = bundle.conditioner.embed_text(["flute"] * 3)
    spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=4, cfg=4.0, cfg_rescale=0.7), k=0.5, clamp=0.5,
                          structure_cfg=1.0)
    with pytest.raises(ConfigError, match="cfg_rescale .* does not combine with structure_cfg"):
        spec.run(model, make_batch(source_latents(), target))
