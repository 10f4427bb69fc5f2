import json
from dataclasses import replace

import pytest

from jobs.cli import main
from tests.timbre.models.test_harmonic_codec import TINY  # 6 structure channels (stride 2) and 8 timbre channels
from timbre.denoisers import EDMPrecond
from timbre.errors import ModelError
from timbre.models.bundle import MANIFEST, debug_bundle, load_bundle, save_bundle
from timbre.models.debug import debug_dit
from timbre.models.harmonic_codec import HarmonicCodec


def _harmonic_bundle(always_known):
    codec = HarmonicCodec(TINY)
    return replace(debug_bundle(), codec=codec, denoiser=EDMPrecond(debug_dit(0, codec.channels, 64)),
                   latent_classifier=None, channel_ranking=None, always_known=always_known)


@pytest.mark.parametrize("always_known, held", [(None, {0, 1, 2, 3, 4, 5}), (4, {0, 1, 2, 3})])
def test_analyse_mi_keeps_last_only_the_channels_the_denoiser_always_saw_known(tmp_path, always_known, held):
    """A DiT trained with the periodicity (channels 4 and 5) known only as often as the timbre channels gets a
    ranking in which they keep their MI rank; one trained with every structure channel known keeps all six last."""
    folder = tmp_path / "b"
    save_bundle(_harmonic_bundle(always_known), folder)
    assert json.loads((folder / MANIFEST).read_text()).get("always_known") == always_known
    assert main(["analyse", "mi", "--model", str(folder), "--notes", "20", "--out", str(tmp_path / "mi")]) == 0
    bundle = load_bundle(folder)
    assert (bundle.always_known, bundle.held_channels) == (always_known, len(held))
    ranking = bundle.channel_ranking.tolist()
    assert sorted(ranking) == list(range(14)) and set(ranking[-len(held):]) == held
    mi = json.loads((tmp_path / "mi" / "mi.json").read_text())["raw_instrument_mi"]
    free = [c for c in ranking if c not in held]
    assert [mi[c] for c in free] == sorted((mi[c] for c in free), reverse=True)  # the rest in the paper's MI order


@pytest.mark.parametrize("value", [7, -1, "4", 2.5, True])
def test_a_manifest_always_known_outside_the_codecs_structure_channels_is_named(tmp_path, value):
    folder = tmp_path / "b"
    save_bundle(_harmonic_bundle(4), folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps({**manifest, "always_known": value}))
    with pytest.raises(ModelError, match=rf"{MANIFEST}: always_known must be a whole number from 0 to the "
                                         r"codec's 6 structure channels"):
        load_bundle(folder)
