"""A bundle's edit defaults: filled in where a request leaves a setting out, refused by name when malformed."""
import json
from dataclasses import replace

import pytest
import torch

from timbre.edits.defaults import checked_edit_defaults, edit_from_settings, setting_names, with_edit_defaults
from timbre.errors import ConfigError, ModelError
from timbre.models.bundle import MANIFEST, debug_bundle, load_bundle_folder, save_bundle

TUNED = {"mi-inpaint": {"space": "raw", "k": 0.75, "clamp": 1.0, "cfg": 2.0}}


def test_a_given_setting_wins_a_left_out_one_takes_the_bundles_and_other_methods_keep_the_engines():
    spec, space = edit_from_settings("mi-inpaint", with_edit_defaults("mi-inpaint", {"k": 0.25, "steps": 8}, TUNED))
    assert (spec.params.k, spec.params.clamp, spec.sampler.cfg, spec.sampler.steps, space) == (0.25, 1.0, 2.0, 8, "raw")
    spec, space = edit_from_settings("pni", with_edit_defaults("pni", {}, TUNED))
    assert spec == edit_from_settings("pni", {})[0] and spec.sampler.cfg == 1.25 and space is None
    assert with_edit_defaults("mi-inpaint", {"cfg": 4.0}, {}) == {"cfg": 4.0}


def test_settings_split_into_the_methods_parameters_the_sampler_and_the_space():
    spec, space = edit_from_settings("mi-inpaint", {"k": 0.5, "clamp": 0.25, "cfg_rescale": 0.7, "space": "basis"})
    assert (spec.method, spec.params.k, spec.params.clamp, spec.sampler.cfg_rescale, space) == (
        "mi-inpaint", 0.5, 0.25, 0.7, "basis")
    assert "space" in setting_names("mi-inpaint") and "space" not in setting_names("pni")
    assert {"k", "clamp", "cfg", "steps", "hold_level"} <= set(setting_names("mi-inpaint"))
    with pytest.raises(ConfigError, match="space must be one of basis, raw, got 'mel'"):
        edit_from_settings("mi-inpaint", {"space": "mel"})
    with pytest.raises(ConfigError, match="method 'pni' does not take k"):
        edit_from_settings("pni", {"k": 0.5})


@pytest.mark.parametrize("defaults,message", [
    ([], "edit defaults must map method names to settings, got list"),
    ({"inpaint": {}}, "edit defaults name an unknown method 'inpaint'"),
    ({"pni": 0.5}, "edit defaults for pni must map settings to values, got float"),
    ({"pni": {"k": 0.5, "space": "raw"}}, "edit defaults for pni: pni does not take k, space"),
    ({"mi-inpaint": {"cfg": -1.0}}, "edit defaults for mi-inpaint: cfg must be a finite number >= 0, got -1.0"),
    ({"mi-inpaint": {"space": "mel"}}, "edit defaults for mi-inpaint: space must be one of basis, raw"),
])
def test_malformed_defaults_are_refused_naming_the_method_and_the_setting(defaults, message):
    with pytest.raises(ConfigError, match=message):
        checked_edit_defaults(defaults)


def test_a_bundle_keeps_its_defaults_through_a_folder_and_a_bad_manifest_is_named(tmp_path):
    save_bundle(replace(debug_bundle(), edit_defaults=TUNED), tmp_path / "tuned")
    assert load_bundle_folder(tmp_path / "tuned").edit_defaults == TUNED
    save_bundle(debug_bundle(), tmp_path / "plain")
    assert "edit_defaults" not in json.loads((tmp_path / "plain" / MANIFEST).read_text())
    assert load_bundle_folder(tmp_path / "plain").edit_defaults == {}
    manifest = json.loads((tmp_path / "tuned" / MANIFEST).read_text())
    manifest["edit_defaults"]["mi-inpaint"]["clamp"] = 2.0
    (tmp_path / "tuned" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=rf"{tmp_path / 'tuned' / MANIFEST}: edit defaults for mi-inpaint: .*clamp"):
        load_bundle_folder(tmp_path / "tuned")


def test_a_request_naming_no_space_gets_the_bundles_default_space():
    both = replace(debug_bundle(), channel_basis=torch.eye(16), basis_ranking=torch.arange(16))
    assert both.channel_spaces == ("basis", "raw") and both.default_space == "basis"
    assert both.edit_model().channel_basis is not None
    tuned = replace(both, edit_defaults=TUNED)
    assert tuned.default_space == "raw" and tuned.edit_model().channel_basis is None
    assert tuned.edit_model("basis").channel_basis is not None  # a named space still wins
    assert replace(debug_bundle(), channel_ranking=None).default_space is None
