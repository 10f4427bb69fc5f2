"""Stable Audio Open behind the engine's protocols, on its tiny twin: the v-objective in sigma space against
diffusers' own preconditioning and pipeline conditioning, the trimmed canvas, channel policy, prompt swap, errors."""
import copy
import json
import math
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from timbre.audio import Audio
from timbre.edits import EditSpec, SamplerConfig
from timbre.errors import ModelError
from timbre.models.bundle import load_bundle
from timbre.models.stable_audio import load_stable_audio, save_tiny_stable_audio
from timbre.models.stable_audio_net import StableAudioNet, stable_audio_denoiser
from timbre.transfer import text_condition, transfer_audio

diffusers = pytest.importorskip("diffusers")


@pytest.fixture(scope="module")
def sao_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sao")
    save_tiny_stable_audio(folder)
    return folder


@pytest.fixture(scope="module")
def parts(sao_folder):
    return load_stable_audio(sao_folder)


class ScriptedTransformer(nn.Module):
    """Stands in for the DiT: returns the exact v of known (x0, eps) and records what it was given."""

    def __init__(self, x0, eps):
        super().__init__()
        self.x0, self.eps, self.calls = x0, eps, []
        self.config = SimpleNamespace(sample_size=1024, attention_head_dim=8)
        self.dtype = torch.float64

    def forward(self, x_in, t, encoder_hidden_states, global_hidden_states, rotary_embedding, return_dict):
        self.calls.append(SimpleNamespace(x_in=x_in, t=t, tokens=encoder_hidden_states, rotary=rotary_embedding))
        angle = (t * math.pi / 2).reshape(-1, 1, 1)  # t = 2 atan(sigma) / pi: alpha = cos, sigma_t = sin
        return (angle.cos() * self.eps - angle.sin() * self.x0,)


def scripted(parts, batch=3, frames=5):
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(batch, 8, frames, generator=g, dtype=torch.float64), torch.randn(batch, 8, frames, generator=g, dtype=torch.float64)
    transformer = ScriptedTransformer(x0, eps)
    net = StableAudioNet(transformer, copy.deepcopy(parts.conditioner.projection).double(), 44100, 2048)
    return stable_audio_denoiser(net), transformer, x0, eps


@torch.no_grad()
def test_the_denoiser_recovers_x0_from_the_true_v(parts):
    denoiser, transformer, x0, eps = scripted(parts)
    sigma = torch.tensor([0.05, 1.0, 400.0], dtype=torch.float64)
    x = x0 + sigma.reshape(-1, 1, 1) * eps
    cond = {k: v.double() for k, v in parts.conditioner.embed_text(["violin", "flute", "a"]).items()}
    torch.testing.assert_close(denoiser(x, sigma, cond), x0, rtol=1e-9, atol=1e-9)
    [call] = transformer.calls
    torch.testing.assert_close(call.t, sigma.atan() * 2 / math.pi)
    alpha, sigma_t = (1 / (1 + sigma**2).sqrt()).reshape(-1, 1, 1), (sigma / (1 + sigma**2).sqrt()).reshape(-1, 1, 1)
    torch.testing.assert_close(call.x_in, alpha * x0 + sigma_t * eps)  # the VP point at the same noise level


@torch.no_grad()
def test_the_denoiser_matches_diffusers_scheduler_preconditioning(parts):
    from diffusers import CosineDPMSolverMultistepScheduler

    denoiser, transformer, x0, eps = scripted(parts, batch=1)
    scheduler = CosineDPMSolverMultistepScheduler(sigma_data=1.0, prediction_type="v_prediction")
    cond = {k: v.double() for k, v in parts.conditioner.embed_text(["violin"]).items()}
    for sigma in (0.3, 2.0, 80.0):
        s = torch.tensor(sigma, dtype=torch.float64)
        x = x0 + 0.7 * eps  # any point: the algebra, not the truth of v
        ours = denoiser(x, s, cond)
        v = transformer(scheduler.precondition_inputs(x, s), scheduler.precondition_noise(s).reshape(1), None, None,
                        None, False)[0]
        torch.testing.assert_close(ours, scheduler.precondition_outputs(x, v, s), rtol=1e-9, atol=1e-9)


@torch.no_grad()
def test_conditioning_on_a_trimmed_canvas_matches_the_pipeline_at_the_clip_length(parts, sao_folder):
    from diffusers import CosineDPMSolverMultistepScheduler, StableAudioPipeline
    from diffusers.models.embeddings import get_1d_rotary_pos_embed

    net = parts.denoiser.net
    pipe = StableAudioPipeline(vae=parts.codec.vae, text_encoder=parts.conditioner.text_encoder,
                               projection_model=net.projection, tokenizer=parts.conditioner.tokenizer,
                               transformer=net.transformer, scheduler=CosineDPMSolverMultistepScheduler())
    frames = 22  # one second: the canvas is 22 frames, not 1024
    prompts = ["a recording of violin", "flute solo"]
    seconds = frames * 2048 / 44100
    text = pipe.encode_prompt(prompts, "cpu", False)
    start, end = pipe.encode_duration(0.0, seconds, "cpu", False, 2)
    x = torch.randn(2, 8, frames, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([0.3, 0.9])
    rotary = get_1d_rotary_pos_embed(pipe.rotary_embed_dim, frames + 1, use_real=True, repeat_interleave_real=False)
    expected = net.transformer(x, t, encoder_hidden_states=torch.cat([text, start, end], 1),
                               global_hidden_states=torch.cat([start, end], 2), rotary_embedding=rotary,
                               return_dict=False)[0]
    torch.testing.assert_close(net(x, t, parts.conditioner.embed_text(prompts)), expected)
    # the unconditional branch of the pipeline's guidance: every cross-attention token zero, timing kept global
    null = {k: v.expand(2, *v.shape[1:]) for k, v in parts.null_cond.items()}
    unconditional = net.transformer(x, t, encoder_hidden_states=torch.zeros_like(torch.cat([text, start, end], 1)),
                                    global_hidden_states=torch.cat([start, end], 2), rotary_embedding=rotary,
                                    return_dict=False)[0]
    torch.testing.assert_close(net(x, t, null), unconditional)


@torch.no_grad()
def test_prompt_padding_is_masked_out(parts):
    tokens = parts.conditioner.tokenizer(["violin"], padding="max_length", max_length=8, return_tensors="pt")
    cond = parts.conditioner.embed_text(["violin"])
    padding = tokens.attention_mask[0] == 0
    assert padding.any() and cond["text"][0, padding].abs().max() == 0 and cond["text"][0, ~padding].abs().max() > 0
    assert cond["prompted"].tolist() == [[1.0]] and parts.null_cond["prompted"].tolist() == [[0.0]]


@torch.no_grad()
def test_the_oobleck_codec_edits_mono_channels_as_centred_stereo(parts):
    codec = parts.codec
    assert (codec.sample_rate, codec.hop_length, codec.channels) == (44100, 2048, 8)
    wave = torch.randn(2, 3000, generator=torch.Generator().manual_seed(2)) * 0.1
    z = codec.encode(wave)
    assert z.shape == (2, 8, 2)  # ceil(3000 / 2048)
    padded = torch.nn.functional.pad(wave, (0, 2 * 2048 - 3000))
    torch.testing.assert_close(z, codec.vae.encode(torch.stack([padded, padded], 1)).latent_dist.mean)
    decoded = codec.decode(z)
    assert decoded.shape == (2, 2 * 2048)
    torch.testing.assert_close(decoded, codec.vae.decode(z).sample.mean(1))


def _bundle_folder(tmp_path, sao_folder, **extra):
    shutil.copytree(sao_folder, tmp_path / "sao")
    manifest = {"format": "timbre-bundle", "version": 1, "name": "sao-twin", "architecture": "stable-audio-open",
                "stable_audio": "sao", "instruments": ["violin", "flute"], **extra}
    (tmp_path / "bundle.json").write_text(json.dumps(manifest))
    return tmp_path


@torch.no_grad()
def test_diff_tone_swaps_the_prompt_on_stable_audio(tmp_path, sao_folder):
    from timbre.models.checkpoint import save_component
    from timbre.models.debug import PooledClassifier, PooledClassifierConfig
    from timbre.models.dit import randomize_

    save_component(randomize_(PooledClassifier(PooledClassifierConfig(8, 2)), 1), tmp_path / "latent_classifier.safetensors")
    bundle = load_bundle(_bundle_folder(tmp_path, sao_folder, components=["latent_classifier"]))
    seen = []
    bundle.denoiser.net.transformer.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs["encoder_hidden_states"][:, :8].abs().sum((1, 2))),
        with_kwargs=True)
    audio = Audio(np.random.default_rng(0).normal(0, 0.1, (44100, 1)).astype(np.float32), 44100)
    target = text_condition(bundle, "flute solo")
    spec = EditSpec.build("diff-midpoint", SamplerConfig(steps=4, solver="euler", sigma_max=80))
    out = transfer_audio(bundle, audio, spec, target, None, seed=0, item_id="clip")
    assert out.audio.samples.shape == (44100, 1) and np.isfinite(out.audio.samples).all()
    assert out.info["swap_step"] == [2]
    inversion = [s for s in seen if len(s) == 1]  # plain conditional forwards (inversion guidance 1)
    generation = [s for s in seen if len(s) == 2]  # guided forwards: (conditional, unconditional)
    assert len(generation) == 4 and all(s[0] == 0 for s in inversion)  # the source is the null condition
    assert [bool(s[0] > 0) for s in generation] == [False, False, True, True]  # the target from the swap step
    assert all(s[1] == 0 for s in generation)  # guidance's unconditional half never sees a prompt


def test_a_missing_tokenizer_folder_is_named(tmp_path, sao_folder):
    shutil.copytree(sao_folder, tmp_path / "sao")
    shutil.rmtree(tmp_path / "sao" / "tokenizer")
    with pytest.raises(ModelError, match=r"sao/tokenizer: missing T5 tokenizer folder"):
        load_stable_audio(tmp_path / "sao")


def test_weights_that_do_not_match_the_config_are_named(tmp_path, sao_folder):
    shutil.copytree(sao_folder, tmp_path / "sao")
    config = json.loads((tmp_path / "sao" / "transformer" / "config.json").read_text())
    (tmp_path / "sao" / "transformer" / "config.json").write_text(json.dumps({**config, "num_layers": 3}))
    with pytest.raises(ModelError, match=r"sao/transformer: weights do not match the Stable Audio DiT config "
                                         r"\(missing transformer_blocks.2"):
        load_stable_audio(tmp_path / "sao")


def test_a_bundle_without_an_audio_embedder_says_so_when_judged(tmp_path, sao_folder):
    bundle = load_bundle(_bundle_folder(tmp_path, sao_folder))
    with pytest.raises(ModelError, match=r"bundle sao-twin has no audio embedder for evaluation"):
        bundle.judge_embedder


def test_a_stable_audio_manifest_carries_edit_defaults_and_a_bad_one_is_named(tmp_path, sao_folder):
    defaults = {"diff-tone": {"sigma_max": 500.0}}
    assert load_bundle(_bundle_folder(tmp_path / "a", sao_folder, edit_defaults=defaults)).edit_defaults == defaults
    with pytest.raises(ModelError, match=r"bundle.json: edit defaults for diff-tone: diff-tone does not take clamp"):
        load_bundle(_bundle_folder(tmp_path / "b", sao_folder, edit_defaults={"diff-tone": {"clamp": 0.5}}))
