import json

import numpy as np
import pytest
import soundfile as sf
import torch

from jobs.cli import main
from timbre.models.bundle import load_bundle


@pytest.fixture(scope="module")
def smoke_bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    assert main(["train", "all", "--out", str(out), "--scale", "smoke"]) == 0
    return out


def test_train_all_writes_a_loadable_bundle_with_every_record(smoke_bundle):
    bundle = load_bundle(smoke_bundle)
    assert bundle.channel_spaces == ("basis", "raw")
    assert bundle.audio_classifier is not None and bundle.latent_classifier is not None
    basis = bundle.channel_basis.double()
    assert torch.allclose(basis.T @ basis, torch.eye(basis.shape[0], dtype=torch.float64), atol=1e-5)
    for stage in ("codec", "conditioner", "classifiers", "denoiser", "mi"):
        record = json.loads((smoke_bundle / "training" / f"{stage}.json").read_text())
        assert record["seconds"] >= 0
    assert (smoke_bundle / "mi.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    classifiers = json.loads((smoke_bundle / "training" / "classifiers.json").read_text())
    assert set(classifiers["held_out_stem_accuracy"]) == {"audio_teacher", "latent_distilled", "latent_direct"}
    assert bundle.provenance["corpus_seed"] == 0


def test_a_second_run_skips_what_is_done(smoke_bundle, capsys):
    before = (smoke_bundle / "codec.safetensors").read_bytes()
    assert main(["train", "codec", "--out", str(smoke_bundle), "--scale", "smoke"]) == 0
    assert "codec: already in" in capsys.readouterr().out
    assert (smoke_bundle / "codec.safetensors").read_bytes() == before


@pytest.mark.parametrize("space", ["basis", "raw"])
def test_the_trained_bundle_edits_in_either_space(smoke_bundle, tmp_path, capsys, space):
    src = tmp_path / "in.wav"
    sf.write(src, 0.3 * np.sin(2 * np.pi * 330 * np.arange(8000) / 16000), 16000)
    out = tmp_path / "out.wav"
    assert main(["edit", str(src), "--method", "mi-inpaint", "--to", "violin", "-o", str(out), "--steps", "3",
                 "--model", str(smoke_bundle), "--space", space]) == 0
    assert sf.info(out).frames == 8000
    assert ("basis directions" if space == "basis" else "timbre channels") in capsys.readouterr().out


def test_space_only_applies_to_mi_inpaint(smoke_bundle, tmp_path, capsys):
    src = tmp_path / "in.wav"
    sf.write(src, np.zeros(1600), 16000)
    assert main(["edit", str(src), "--method", "pni", "--to", "violin", "-o", str(tmp_path / "o.wav"),
                 "--model", str(smoke_bundle), "--space", "raw"]) == 2
    assert "--space does not apply to --method pni" in capsys.readouterr().err
