import copy
import dataclasses

import pytest
import torch

from timbre.denoisers import EDMPrecond
from timbre.edits import METHODS, EditSpec, SamplerConfig

from .helpers import RecordingDenoiser, make_batch, source_latents


def test_inversion_with_cfg_runs_one_fused_forward_per_call(bundle):
    recorder = RecordingDenoiser(bundle.denoiser)
    model = dataclasses.replace(bundle.edit_model(), denoiser=recorder)
    sampler = SamplerConfig(steps=5, cfg=1.0, inversion_cfg=2.0, solver="euler")
    source = bundle.conditioner.embed_text(["piano"] * 3)
    EditSpec.build("ddim-inversion", sampler).run(model, make_batch(source_latents(), torch.zeros(3, 64), source))
    sizes = [x.shape[0] for x, _, _ in recorder.calls]
    assert sizes == [6] * 4 + [3] * 5  # guided inversion (cond + uncond fused), then unguided sampling


def test_a_bf16_network_under_float32_latents_tracks_float32(bundle):
    net32 = bundle.denoiser.net
    net16 = copy.deepcopy(net32).to(torch.bfloat16)
    x0, target = source_latents(), bundle.conditioner.embed_text(["violin"] * 3)
    spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=8))
    outs = [spec.run(dataclasses.replace(bundle.edit_model(), denoiser=EDMPrecond(net)), make_batch(x0, target)).latents
            for net in (net32, net16)]
    assert outs[1].dtype == torch.float32 and torch.isfinite(outs[1]).all()
    assert ((outs[1] - outs[0]).norm() / outs[0].norm()).item() < 0.05


@pytest.mark.parametrize("method", ["mi-inpaint", "diff-tone"])
def test_bf16_precision_runs_the_network_under_autocast_and_tracks_fp32(bundle, method):
    dtypes = []
    hook = bundle.denoiser.net.register_forward_hook(lambda module, args, out: dtypes.append(out.dtype))
    x0, target = source_latents(), bundle.conditioner.embed_text(["violin"] * 3)
    try:
        outs = [EditSpec.build(method, SamplerConfig(steps=8, precision=p)).run(bundle.edit_model(),
                                                                                make_batch(x0, target)).latents
                for p in ("fp32", "bf16")]
    finally:
        hook.remove()
    half = len(dtypes) // 2
    assert set(dtypes[:half]) == {torch.float32} and set(dtypes[half:]) == {torch.bfloat16}
    assert outs[1].dtype == torch.float32 and torch.isfinite(outs[1]).all()
    assert 0 < ((outs[1] - outs[0]).norm() / outs[0].norm()).item() < 0.05


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_mi_inpaint_on_cuda_in_each_precision_tracks_fp32_on_cpu(bundle, precision):
    x0, target = source_latents(), bundle.conditioner.embed_text(["violin"] * 3)
    cpu = EditSpec.build("mi-inpaint", SamplerConfig(steps=8)).run(bundle.edit_model(), make_batch(x0, target)).latents
    model = bundle.edit_model()
    cuda_model = dataclasses.replace(model, denoiser=EDMPrecond(copy.deepcopy(bundle.denoiser.net).cuda()),
                                     null_cond=model.null_cond.cuda())
    spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=8, precision=precision))
    gpu = spec.run(cuda_model, make_batch(x0.cuda(), target.cuda())).latents
    assert gpu.dtype == torch.float32
    assert ((gpu.cpu() - cpu).norm() / cpu.norm()).item() < (1e-3 if precision == "fp32" else 0.05)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_on_cuda_matches_cpu(bundle, method):
    spec = EditSpec.build(method, SamplerConfig(steps=6))
    x0, target = source_latents(), bundle.conditioner.embed_text(["violin"] * 3)
    cpu = spec.run(bundle.edit_model(), make_batch(x0, target)).latents
    model = bundle.edit_model()
    cuda_model = dataclasses.replace(
        model, denoiser=EDMPrecond(copy.deepcopy(bundle.denoiser.net).cuda()), null_cond=model.null_cond.cuda(),
        latent_classifier=copy.deepcopy(model.latent_classifier).cuda())
    gpu = spec.run(cuda_model, make_batch(x0.cuda(), target.cuda())).latents
    assert gpu.is_cuda and ((gpu.cpu() - cpu).norm() / cpu.norm()).item() < 1e-3
