from dataclasses import replace

import numpy as np
import pytest
import torch

from timbre.batch_edit import Clip, WindowConfig, edit_clips
from timbre.edits import EditSpec, SamplerConfig
from timbre.models.debug import FrameCodec, FrameCodecConfig

RATE = 16000
WINDOWS = WindowConfig(seconds=0.5, overlap_seconds=0.1, bucket_seconds=0.125, max_batch=4)


def _wave(channels, samples, seed):
    return (0.3 * np.random.default_rng(seed).standard_normal((channels, samples))).astype(np.float32)


def _clips(bundle, target="violin"):
    cond = bundle.conditioner.embed_text([target])
    return [Clip("long", _wave(2, 28_001, 0), cond, None),  # 2 channels, several windows
            Clip("short", _wave(1, 3_000, 1), cond, bundle.conditioner.embed_text(["piano"])),  # padded to a bucket
            Clip("exact", _wave(1, 8_000, 2), cond, None)]  # exactly one window


def test_an_identity_edit_through_an_exact_codec_returns_every_clip_unchanged(bundle):
    exact = replace(bundle, codec=FrameCodec(FrameCodecConfig(hop_length=256, channels=256)))  # square: invertible
    identity = EditSpec.build("pni", SamplerConfig(steps=4), noise_fraction=0.0)  # starts at sigma 0: no steps
    clips = _clips(exact)
    results = edit_clips(exact, clips, identity, seed=0, windows=WINDOWS)
    for clip, (wave, info) in zip(clips, results):
        assert wave.shape == clip.waves.shape
        np.testing.assert_allclose(wave, clip.waves, atol=2e-5)
    assert [info["windows"] for _, info in results] == [5, 1, 1]


def test_the_edits_level_course_is_made_the_sources_unless_turned_off(bundle, monkeypatch):
    exact = replace(bundle, codec=FrameCodec(FrameCodecConfig(hop_length=256, channels=256)))
    decode = exact.codec.decode
    monkeypatch.setattr(exact.codec, "decode", lambda z: 30 * decode(z))  # a model whose edits come out 30 dB loud
    identity = EditSpec.build("pni", SamplerConfig(steps=4), noise_fraction=0.0)
    clips = _clips(exact)
    matched = edit_clips(exact, clips, identity, seed=0, windows=WINDOWS)
    as_decoded = edit_clips(exact, clips, identity, seed=0, windows=replace(WINDOWS, level_seconds=0.0))
    for clip, (wave, info), (loud, loud_info) in zip(clips, matched, as_decoded):
        np.testing.assert_allclose(wave, clip.waves, atol=1e-4)
        assert info["level_gain_db_median"] == pytest.approx(-20 * np.log10(30), abs=1e-3)
        np.testing.assert_allclose(loud, 30 * clip.waves, atol=1e-3)
        assert "level_gain_db_median" not in loud_info


def test_results_do_not_depend_on_which_clips_share_a_call(bundle):
    spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=3), k=0.5, clamp=0.5)
    clips = _clips(bundle)
    together = edit_clips(bundle, clips, spec, seed=3, windows=WINDOWS)
    alone = [edit_clips(bundle, [c], spec, seed=3, windows=replace(WINDOWS, max_batch=1))[0] for c in clips]
    for (a, _), (b, _) in zip(together, alone):
        np.testing.assert_allclose(a, b, atol=1e-4)
    other_seed = edit_clips(bundle, clips[:1], spec, seed=4, windows=WINDOWS)[0][0]
    assert np.abs(other_seed - together[0][0]).max() > 1e-3


def test_windows_of_one_length_share_forward_passes_of_at_most_max_batch(bundle, monkeypatch):
    sizes = []
    encode = bundle.codec.encode
    monkeypatch.setattr(bundle.codec, "encode", lambda w: sizes.append(tuple(w.shape)) or encode(w))
    spec = EditSpec.build("pni", SamplerConfig(steps=2), noise_fraction=0.3)
    edit_clips(bundle, _clips(bundle), spec, seed=0, windows=WINDOWS)
    # 5 windows x 2 channels + the exact clip: 11 full windows in passes of 4; the short clip alone, padded to 4000
    assert sorted(sizes) == sorted([(4, 8000)] * 2 + [(3, 8000), (1, 4000)])


def test_bad_window_settings_name_the_setting():
    with pytest.raises(Exception, match="max_batch"):
        WindowConfig(max_batch=0)
    with pytest.raises(Exception, match="level_seconds"):
        WindowConfig(level_seconds=-1.0)
    with pytest.raises(Exception, match="overlap_seconds"):
        WindowConfig(seconds=1.0, overlap_seconds=1.0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("method", ["mi-inpaint", "pni", "diff-tone"])
def test_a_bundle_moved_to_cuda_edits_clips_as_on_cpu(method):
    from timbre.models.bundle import debug_bundle

    spec = EditSpec.build(method, SamplerConfig(steps=3), **({"k": 0.5, "clamp": 0.5} if method == "mi-inpaint" else {}))
    cpu = debug_bundle()
    gpu = debug_bundle().to("cuda")
    assert gpu.device.type == "cuda" and next(gpu.denoiser.net.parameters()).is_cuda
    expected = edit_clips(cpu, _clips(cpu), spec, seed=1, windows=WINDOWS)
    found = edit_clips(gpu, _clips(cpu), spec, seed=1, windows=WINDOWS)  # conditions made on CPU move over
    for (a, _), (b, _) in zip(expected, found):
        assert np.linalg.norm(a - b) / np.linalg.norm(a) < 1e-3


def test_moving_a_bundle_keeps_every_part_and_its_results(bundle):
    from timbre.models.bundle import debug_bundle

    spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=2), k=0.5, clamp=0.5)
    moved = debug_bundle().to("cpu")
    assert moved.device.type == "cpu" and moved.channel_ranking is not None and moved.latent_classifier is not None
    a = edit_clips(debug_bundle(), _clips(moved), spec, seed=2, windows=WINDOWS)
    b = edit_clips(moved, _clips(moved), spec, seed=2, windows=WINDOWS)
    for (x, _), (y, _) in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device")])])
def test_a_compiled_bundle_edits_clips_as_the_plain_one(device):
    from timbre.models.bundle import debug_bundle

    spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=3), k=0.5, clamp=0.5)
    plain = debug_bundle().to(device)
    # the CPU checks the wiring with dynamo's eager backend (no C++ toolchain needed); the GPU compiles with inductor
    compiled = debug_bundle().to(device).compiled(dynamic=True, **({"backend": "eager"} if device == "cpu" else {}))
    assert isinstance(compiled.denoiser.net, torch._dynamo.eval_frame.OptimizedModule)
    expected = edit_clips(plain, _clips(plain), spec, seed=1, windows=WINDOWS)
    found = edit_clips(compiled, _clips(plain), spec, seed=1, windows=WINDOWS)
    for (a, _), (b, _) in zip(expected, found):
        assert np.linalg.norm(a - b) / np.linalg.norm(a) < 1e-4


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_mi_inpaint_in_a_timbre_basis_on_cuda_edits_clips_as_on_cpu():
    from timbre.models.bundle import debug_bundle

    basis = torch.linalg.qr(torch.randn(16, 16, generator=torch.Generator().manual_seed(4)))[0]
    ranking = torch.randperm(16, generator=torch.Generator().manual_seed(5))
    cpu = replace(debug_bundle(), channel_basis=basis, basis_ranking=ranking)
    gpu = replace(debug_bundle(), channel_basis=basis.clone(), basis_ranking=ranking).to("cuda")
    assert gpu.channel_basis.is_cuda and cpu.channel_spaces[0] == "basis"
    spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=3), k=0.5, clamp=0.5)
    expected = edit_clips(cpu, _clips(cpu), spec, seed=1, space="basis", windows=WINDOWS)
    found = edit_clips(gpu, _clips(cpu), spec, seed=1, space="basis", windows=WINDOWS)
    for (a, _), (b, _) in zip(expected, found):
        assert np.linalg.norm(a - b) / np.linalg.norm(a) < 1e-3
