"""The Music2Latent codec adapter: batched, against the package's own one-item inference; safe, strict loading."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from timbre.errors import InputError, ModelError
from timbre.models.checkpoint import load_component, save_component
from timbre.models.dit import randomize_
from timbre.models.music2latent_codec import FRAME, TINY, Music2LatentCodec

inference = pytest.importorskip("music2latent.inference")


@pytest.fixture(scope="module")
def codec():
    return randomize_(Music2LatentCodec(TINY), 3)  # no zero-initialised output layers: every path is exercised


def waves(batch, samples, seed=0):
    return torch.randn(batch, samples, generator=torch.Generator().manual_seed(seed)) * 0.2


@torch.no_grad()
def test_shapes_and_rates(codec):
    assert (codec.sample_rate, codec.hop_length, codec.channels) == (44100, 4096, 64)
    z = codec.encode(waves(3, 2 * FRAME + 1))
    assert z.shape == (3, 64, 3)
    assert codec.decode(z).shape == (3, 3 * FRAME)


@torch.no_grad()
def test_batched_encode_matches_the_package_one_item_at_a_time(codec):
    x = waves(3, 2 * FRAME, seed=1)
    ours = codec.encode(x)
    trainer = SimpleNamespace(gen=codec.net)
    for i in range(3):  # the package crops to n*4096 + 1536 samples; ours pads with 1536 zeros: give it those zeros
        item = torch.nn.functional.pad(x[i], (0, 1536)).numpy()
        theirs = inference.encode_audio_inference(item, trainer, 44100 * 60, 1, device="cpu")
        torch.testing.assert_close(ours[i], theirs[0], rtol=1e-4, atol=1e-5)


@torch.no_grad()
def test_batched_decode_matches_the_package_from_the_same_noise(codec):
    z = codec.encode(waves(2, 2 * FRAME, seed=2))
    ours = codec.decode(z)
    assert ours.abs().max() > 1e-3 and not torch.allclose(ours[0], ours[1])
    trainer = SimpleNamespace(gen=codec.net)
    for i in range(2):
        torch.manual_seed(codec.config.decode_seed)  # the package draws its start noise from the global generator
        theirs = inference.decode_latent_inference(z[i: i + 1], trainer, 44100 * 60, 1, device="cpu")
        torch.testing.assert_close(ours[i], theirs[0, : 2 * FRAME], rtol=1e-4, atol=1e-5)


@torch.no_grad()
def test_an_item_decodes_the_same_alone_or_in_a_batch(codec):
    z = codec.encode(waves(3, FRAME, seed=4))
    assert torch.allclose(codec.decode(z)[1], codec.decode(z[1:2])[0], atol=1e-6)


def test_the_tiny_twin_saves_and_loads_as_a_component(codec, tmp_path):
    save_component(codec, tmp_path / "codec.safetensors")
    loaded = load_component(tmp_path / "codec.safetensors")
    assert loaded.config == codec.config
    x = waves(1, FRAME, seed=5)
    with torch.no_grad():
        assert torch.equal(loaded.encode(x), codec.encode(x))


def test_upstream_checkpoints_load_safely_by_their_gen_state_dict(codec, tmp_path):
    path = tmp_path / "music2latent.pt"
    torch.save({"gen_state_dict": codec.net.state_dict(), "step": 800000, "optimizer": {"lr": 1e-4}}, path)
    loaded = Music2LatentCodec.from_checkpoint(path, TINY)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), codec.state_dict().values()))


def test_a_pickled_object_in_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"gen_state_dict": {}, "hook": np.dtype("float32")}, path)  # numpy objects need unpickling
    with pytest.raises(ModelError, match=r"evil.pt: not a checkpoint that loads safely with weights_only=True"):
        Music2LatentCodec.from_checkpoint(path, TINY)


def test_mismatched_weights_name_the_file_and_keys(codec, tmp_path):
    state = {k: v for k, v in codec.net.state_dict().items() if not k.startswith("encoder.conv_out")}
    state["decoder.conv_inp.weight"] = torch.zeros(3, 3, 3)
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "m2l.safetensors"))
    with pytest.raises(ModelError, match=r"m2l.safetensors: weights do not match the music2latent_codec config "
                                         r"\(missing encoder.conv_out.bias, encoder.conv_out.weight; shape "
                                         r"decoder.conv_inp.weight \(3, 3, 3\)"):
        Music2LatentCodec.from_checkpoint(tmp_path / "m2l.safetensors", TINY)


def test_a_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(ModelError, match=r"nothere.pt: missing checkpoint file"):
        Music2LatentCodec.from_checkpoint(tmp_path / "nothere.pt", TINY)


def test_stereo_input_is_refused_with_the_channel_policy(codec):
    with pytest.raises(InputError, match=r"\(batch, samples\) mono waves, got shape \(1, 2, 4096\)"):
        codec.encode(torch.zeros(1, 2, 4096))
