"""The LAION-CLAP adapter on its tiny twin: the package's own embedding calls, CLAP's 10 s windowing, the
packaging traps contained, safe and strict loading."""
import importlib.util
import subprocess
import sys

import pytest
import torch

from timbre.errors import InputError, ModelError
from timbre.models.laion_clap_embedder import WINDOW, LaionClapConfig, load_laion_clap, save_tiny_laion_clap

if importlib.util.find_spec("laion_clap") is None:  # its package __init__ is never imported: it needs training deps
    pytest.skip("laion-clap is not installed (the Makefile installs it)", allow_module_level=True)


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clap")
    save_tiny_laion_clap(folder)
    return folder


@pytest.fixture(scope="module")
def clap(twin):
    return load_laion_clap(twin / "clap.safetensors", twin / "roberta", LaionClapConfig("HTSAT-tiny"))


def noise(batch, samples, seed=0):
    return torch.randn(batch, samples, generator=torch.Generator().manual_seed(seed)) * 0.1


@torch.no_grad()
def test_embeddings_are_unit_vectors_of_512(clap):
    assert (clap.sample_rate, clap.dim) == (48000, 512)
    for e in (clap.embed_text(["a violin", "flute solo", "organ"]), clap.embed_audio(noise(2, 24000))):
        assert e.shape[-1] == 512 and torch.allclose(e.norm(dim=-1), torch.ones(len(e)), atol=1e-5)


@torch.no_grad()
def test_text_goes_through_the_packages_embedding_call(clap):
    tokens = clap.tokenizer(["a violin"], padding="max_length", truncation=True, max_length=77, return_tensors="pt")
    assert tokens.input_ids.shape == (1, 77) and tokens.input_ids[0, 0] == 0  # <s> first, RoBERTa's way
    expected = clap.model.get_text_embedding({"input_ids": tokens.input_ids, "attention_mask": tokens.attention_mask})
    torch.testing.assert_close(clap.embed_text(["a violin"]), expected)


@torch.no_grad()
def test_a_short_clip_is_repeat_padded_to_ten_seconds(clap):
    clip = noise(1, 20000, seed=1)
    quantised = (clip * 32767).to(torch.int16).float() / 32767
    padded = quantised[0].repeat(WINDOW // 20000 + 1)[:WINDOW]
    expected = clap.model.get_audio_embedding([{"waveform": padded}])
    torch.testing.assert_close(clap.embed_audio(clip), expected, rtol=1e-4, atol=1e-5)


@torch.no_grad()
def test_a_long_clip_averages_its_ten_second_windows(clap):
    clip = noise(1, WINDOW + 100000, seed=2)
    first, rest = clap.embed_audio(clip[:, :WINDOW]), clap.embed_audio(clip[:, WINDOW:])
    torch.testing.assert_close(clap.embed_audio(clip), torch.nn.functional.normalize(first + rest, dim=-1),
                               rtol=1e-4, atol=1e-5)


@torch.no_grad()
def test_an_item_embeds_the_same_alone_or_in_a_batch(clap):
    clips = noise(3, 30000, seed=3)
    torch.testing.assert_close(clap.embed_audio(clips)[1], clap.embed_audio(clips[1:2])[0], rtol=1e-4, atol=1e-5)


def test_empty_or_stereo_audio_is_refused(clap):
    with pytest.raises(InputError, match=r"LAION-CLAP embeds \(batch, samples\) mono waves, got shape \(1, 2, 10\)"):
        clap.embed_audio(torch.zeros(1, 2, 10))


def test_the_import_leaves_no_torchvision_placeholder_and_transformers_works():
    code = ("import sys; from timbre.models.laion_clap_embedder import clap_module; clap_module(); "
            "assert 'torchvision' not in sys.modules or sys.modules['torchvision'].__spec__ is not None; "
            "import transformers, diffusers; from diffusers import StableAudioDiTModel; "
            "assert 'laion_clap' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


def test_a_missing_tokenizer_folder_is_named(twin, tmp_path):
    with pytest.raises(ModelError, match=r"roberta: missing RoBERTa tokenizer folder"):
        load_laion_clap(twin / "clap.safetensors", tmp_path / "roberta", LaionClapConfig("HTSAT-tiny"))


def test_a_checkpoint_for_another_architecture_is_named(twin):
    with pytest.raises(ModelError, match=r"clap.safetensors: weights do not match the LAION-CLAP HTSAT-base config "
                                         r"\(missing .*; shape audio_branch.patch_embed.proj.weight \(96, 1, 4, 4\)"):
        load_laion_clap(twin / "clap.safetensors", twin / "roberta")  # the twin is HTSAT-tiny


def test_a_pickled_checkpoint_with_module_prefixes_loads_safely(twin, clap, tmp_path):
    from safetensors.torch import load_file

    state = {f"module.{k}": v for k, v in load_file(str(twin / "clap.safetensors")).items()}
    torch.save({"state_dict": state, "epoch": 15}, tmp_path / "music.pt")
    loaded = load_laion_clap(tmp_path / "music.pt", twin / "roberta", LaionClapConfig("HTSAT-tiny"))
    with torch.no_grad():
        torch.testing.assert_close(loaded.embed_text(["oboe"]), clap.embed_text(["oboe"]))
