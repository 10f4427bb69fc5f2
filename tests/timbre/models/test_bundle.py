import json
from dataclasses import asdict, replace

import pytest
import torch
from safetensors.torch import load_file, save_file

from timbre.errors import ModelError
from timbre.models.bundle import debug_bundle, load_bundle, save_bundle
from timbre.models.checkpoint import COMPONENT_FORMAT, load_component, save_component
from timbre.models.debug import debug_dit


@pytest.fixture
def saved(tmp_path):
    bundle = replace(debug_bundle(seed=4), provenance={"corpus_seed": 4})
    save_bundle(bundle, tmp_path / "b")
    return bundle, tmp_path / "b"


def test_a_saved_bundle_loads_back_identically(saved):
    bundle, folder = saved
    loaded = load_bundle(folder)
    g = torch.Generator().manual_seed(0)
    x, sigma, cond = torch.randn(2, 16, 9, generator=g), torch.tensor([0.5, 20.0]), torch.randn(2, 64, generator=g)
    wave = torch.randn(2, 4000, generator=g)
    assert torch.equal(loaded.denoiser(x, sigma, cond), bundle.denoiser(x, sigma, cond))
    assert torch.equal(loaded.codec.encode(wave), bundle.codec.encode(wave))
    assert torch.equal(loaded.codec.decode(x), bundle.codec.decode(x))
    assert torch.equal(loaded.conditioner.embed_text(["bright violin"]), bundle.conditioner.embed_text(["bright violin"]))
    assert torch.equal(loaded.conditioner.embed_audio(wave), bundle.conditioner.embed_audio(wave))
    assert torch.equal(loaded.latent_classifier(x), bundle.latent_classifier(x))
    assert torch.equal(loaded.channel_ranking, bundle.channel_ranking) and loaded.channel_basis is None
    assert (loaded.name, loaded.instruments, loaded.provenance) == (bundle.name, bundle.instruments, {"corpus_seed": 4})


def test_the_config_travels_inside_each_component_file(tmp_path):
    net = debug_dit(seed=1)
    save_component(net, tmp_path / "net.safetensors")
    assert load_component(tmp_path / "net.safetensors").config == net.config


def test_unknown_name_or_path(tmp_path):
    with pytest.raises(ModelError, match=r"no model bundle .nosuch.: neither a built-in name \(debug, default\)"):
        load_bundle("nosuch")


def test_missing_manifest_is_named(saved):
    _, folder = saved
    (folder / "bundle.json").unlink()
    with pytest.raises(ModelError, match=r"b/bundle.json: missing bundle manifest"):
        load_bundle(folder)


@pytest.mark.parametrize("text, message", [("{not json", "not valid JSON"), ('{"format": "other"}', "not a timbre bundle"),
                                           ('{"format": "timbre-bundle", "version": 99}', "bundle version 99")])
def test_bad_manifests_are_named(saved, text, message):
    _, folder = saved
    (folder / "bundle.json").write_text(text)
    with pytest.raises(ModelError, match=message):
        load_bundle(folder)


def test_missing_component_is_named(saved):
    _, folder = saved
    (folder / "codec.safetensors").unlink()
    with pytest.raises(ModelError, match=r"codec.safetensors: missing component file"):
        load_bundle(folder)


def test_corrupt_component_is_named(saved):
    _, folder = saved
    path = folder / "denoiser.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ModelError, match=r"denoiser.safetensors: not a readable safetensors file"):
        load_bundle(folder)


def test_weights_that_do_not_match_their_config_are_named(saved):
    _, folder = saved
    path = folder / "denoiser.safetensors"
    state = load_file(str(path))
    wider = replace(debug_dit().config, width=48, heads=2)
    save_file(state, str(path), metadata={"format": COMPONENT_FORMAT, "kind": "dit", "config": json.dumps(asdict(wider))})
    with pytest.raises(ModelError, match=r"denoiser.safetensors: weights do not match the dit config "
                                         r"\(shape noise_mlp.0.weight \(32, 16\) != \(48, 16\), .* and 28 more\)$"):
        load_bundle(folder)


def test_missing_keys_are_named(saved):
    _, folder = saved
    path = folder / "latent_classifier.safetensors"
    metadata = {"format": COMPONENT_FORMAT, "kind": "pooled_classifier", "config": json.dumps({"channels": 16, "classes": 8})}
    save_file({"head.weight": torch.zeros(8, 32)}, str(path), metadata=metadata)
    with pytest.raises(ModelError, match=r"latent_classifier.safetensors: .*missing head.bias"):
        load_bundle(folder)


def test_unknown_component_kind_is_named(saved):
    _, folder = saved
    save_file({"w": torch.zeros(1)}, str(folder / "codec.safetensors"), metadata={"format": COMPONENT_FORMAT, "kind": "vae"})
    with pytest.raises(ModelError, match=r"codec.safetensors: unknown component kind 'vae'"):
        load_bundle(folder)


def test_edit_cli_runs_on_a_bundle_folder(saved, tmp_path, capsys):
    import numpy as np
    import soundfile as sf

    from jobs.cli import main
    _, folder = saved
    sf.write(tmp_path / "in.wav", 0.1 * np.sin(np.arange(8000) / 10.0), 16000)
    args = ["edit", str(tmp_path / "in.wav"), "--method", "pni", "--to", "flute", "--steps", "3"]
    assert main(args + ["-o", str(tmp_path / "a.wav"), "--model", str(folder)]) == 0
    assert "model debug-4" in capsys.readouterr().out


def test_half_precision_bundle_loads_as_float32_with_rounded_weights(tmp_path):
    bundle = debug_bundle(seed=2)
    save_bundle(bundle, tmp_path / "half", dtype=torch.float16)
    loaded = load_bundle(tmp_path / "half")
    for (name, ours), theirs in zip(bundle.denoiser.net.state_dict().items(), loaded.denoiser.net.state_dict().values()):
        assert theirs.dtype == torch.float32, name
        assert torch.equal(theirs, ours.half().float()), name
    assert load_file(str(tmp_path / "half" / "denoiser.safetensors"))["out.weight"].dtype == torch.float16


def test_bundle_channel_spaces_and_edit_model(tmp_path):
    q, _ = torch.linalg.qr(torch.randn(16, 16, generator=torch.Generator().manual_seed(0)))
    bundle = replace(debug_bundle(), channel_basis=q, basis_ranking=torch.arange(16).flip(0))
    save_bundle(bundle, tmp_path / "b")
    loaded = load_bundle(tmp_path / "b")
    assert loaded.channel_spaces == ("basis", "raw")
    assert torch.equal(loaded.edit_model().channel_basis, q) and torch.equal(loaded.edit_model().channel_ranking,
                                                                              bundle.basis_ranking)
    raw = loaded.edit_model("raw")
    assert raw.channel_basis is None and torch.equal(raw.channel_ranking, bundle.channel_ranking)
    assert debug_bundle().channel_spaces == ("raw",)
    with pytest.raises(ModelError, match="has no timbre basis"):
        debug_bundle().edit_model("basis")
    with pytest.raises(ModelError, match="'raw' or 'basis'"):
        loaded.edit_model("mel")
