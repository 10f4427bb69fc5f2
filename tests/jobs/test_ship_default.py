import json

import torch
from safetensors.torch import load_file

from jobs.ship_default import EDIT_DEFAULTS, ship
from timbre.models.bundle import debug_bundle, load_bundle, save_bundle


def _trained(folder):
    save_bundle(debug_bundle(), folder)
    (folder / "training").mkdir()
    (folder / "training" / "codec.json").write_text("{}")
    (folder / "mi.png").write_bytes(b"png")
    return folder


def test_shipping_writes_float16_weights_and_the_edit_defaults_and_leaves_unchanged_files_byte_for_byte(tmp_path):
    trained, dest = _trained(tmp_path / "trained"), tmp_path / "default"
    ship(trained, dest)
    shipped = load_bundle(str(dest))
    assert shipped.name == "default" and shipped.edit_defaults == EDIT_DEFAULTS
    assert shipped.provenance["trained_as"] == "debug-0" and (dest / "training" / "codec.json").exists()
    weights = load_file(dest / "denoiser.safetensors")
    assert {t.dtype for t in weights.values()} == {torch.float16}
    first = {p.name: p.read_bytes() for p in dest.glob("*.safetensors")}
    for _ in range(3):  # safetensors orders its metadata by a hash map: a plain rewrite would differ now and then
        ship(trained, dest)
        assert {p.name: p.read_bytes() for p in dest.glob("*.safetensors")} == first
    changed = debug_bundle(seed=1)  # other weights: their files are written anew
    save_bundle(changed, trained)
    ship(trained, dest)
    assert (dest / "denoiser.safetensors").read_bytes() != first["denoiser.safetensors"]
    assert json.loads((dest / "bundle.json").read_text())["name"] == "default"
