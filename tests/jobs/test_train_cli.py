import json
import math

import numpy as np
import pytest
import soundfile as sf
import torch

from jobs.cli import main
from jobs.training_stages import (PERIODICITY_FREE, SCALES, SHIPPED_SCALE, TIMBRE_SCALED, denoiser_weights,
                                  sized_name)
from timbre.analysis.generation import generate_instrument, structure_mask
from timbre.edits import SamplerConfig
from timbre.errors import ModelError
from timbre.models.bundle import debug_bundle, load_bundle


@pytest.fixture(scope="module")
def smoke_bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    assert main(["train", "all", "--out", str(out), "--scale", "smoke"]) == 0
    return out


@pytest.fixture(scope="module")
def smoke_shipped(tmp_path_factory):
    """The shipped scale's smoke twin, trained once for the tests that read it."""
    out = tmp_path_factory.mktemp("shipped")
    assert main(["train", "all", "--out", str(out), "--scale", sized_name("smoke", SHIPPED_SCALE)]) == 0
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
    records = {stage: json.loads((smoke_bundle / "training" / f"{stage}.json").read_text())
               for stage in ("codec", "conditioner", "denoiser")}
    assert (records["codec"]["evaluation"]["stems"], records["conditioner"]["evaluation"]["stems"]) == (
        SCALES["smoke"].codec_eval_stems, SCALES["smoke"].eval_stems) == (1, 2)  # the codec's round trip has its own
    assert records["denoiser"]["generation"]["sampler"]["steps"] == 16  # the check samples as edits do
    assert (smoke_bundle / "mi.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    classifiers = json.loads((smoke_bundle / "training" / "classifiers.json").read_text())
    assert set(classifiers["held_out_stem_accuracy"]) == {"audio_teacher", "latent_distilled", "latent_direct"}
    assert bundle.provenance["corpus_seed"] == 0
    assert bundle.name == "smoke-c0-s0"  # named after its scale, corpus and seed


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


def test_analyse_mi_rewrites_the_ranking_and_basis(smoke_bundle, tmp_path):
    out = tmp_path / "mi"
    assert main(["analyse", "mi", "--model", str(smoke_bundle), "--notes", "20", "--out", str(out)]) == 0
    record = json.loads((out / "mi.json").read_text())
    bundle = load_bundle(smoke_bundle)
    assert sorted(bundle.channel_ranking.tolist()) == list(range(bundle.codec.channels))
    assert len(record["raw_instrument_mi"]) == bundle.codec.channels
    assert 0.5 <= record["raw_top_half_instrument_mi_share"] <= 1.0  # a top half holds at least half
    assert (out / "mi.png").is_file()


def test_analyse_tradeoff_writes_a_row_per_setting(smoke_bundle, tmp_path):
    out = tmp_path / "t"
    assert main(["analyse", "tradeoff", "--model", str(smoke_bundle), "--out", str(out), "--items", "2",
                 "--seconds", "0.5", "--steps", "2",
                 "--methods", "pni,ddim-inversion,rendition,round-trip,oracle-swap,donor-swap"]) == 0
    record = json.loads((out / "tradeoff.json").read_text())
    rows = record["rows"]
    assert record["level_window"] == 1.0  # scored at the source's level course, as the product writes edits
    swaps = [f"{kind} {space}" for kind in ("oracle-swap", "donor-swap") for space in ("raw", "basis") for _ in range(3)]
    assert [r["label"] for r in rows] == ["rendition", "codec round trip", *swaps, *["pni"] * 5, "ddim-inversion"]
    assert all(0 <= r["target_accuracy"] <= 1 and r["items"] == 2 for r in rows)
    kept = rows[0]["pitch_voiced_kept_where_reference_voiced"]  # the rendition is the reference itself
    assert kept == 1.0 or math.isnan(kept)
    assert (out / "tradeoff.png").is_file()
    assert main(["analyse", "tradeoff", "--model", str(smoke_bundle), "--methods", "magic"]) == 2


def test_analyse_diff_tone_and_noise_probe_write_their_records(smoke_bundle, tmp_path):
    out = tmp_path / "dt"
    assert main(["analyse", "diff-tone", "--model", str(smoke_bundle), "--items", "3", "--seconds", "0.5",
                 "--steps", "4", "--out", str(out), "--fixed-steps", "1,3", "--shuffled", "--estimate",
                 "unconditional", "--k", "0.5"]) == 0
    record = json.loads((out / "diff-tone.json").read_text())
    assert record["estimate"] == "unconditional" and record["k"] == 0.5
    assert set(record["methods"]) == {"diff-tone", "diff-midpoint", "diff-random", "diff-step-1", "diff-step-3",
                                      "diff-shuffled"}
    assert set(record["diff_tone_against"]) == set(record["methods"]) - {"diff-tone"}
    assert record["diff_tone_against"]["diff-midpoint"]["target_accuracy"] == record["diff_tone_against_midpoint"][
        "target_accuracy"]
    assert main(["analyse", "diff-tone", "--model", str(smoke_bundle), "--steps", "4", "--fixed-steps", "x"]) == 2
    assert main(["analyse", "diff-tone", "--model", str(smoke_bundle), "--steps", "4", "--k", "1.5"]) == 2
    assert all(0 <= m["target_accuracy"] + m["source_kept"] <= 1 for m in record["methods"].values())
    assert 0 <= record["swap_found"] <= 1 and record["items"] == 3
    paired = record["diff_tone_against_midpoint"]
    assert paired["chroma_similarity"]["items"] <= 3 and paired["target_accuracy"]["items"] == 3
    probe_out = tmp_path / "np"
    assert main(["analyse", "noise-probe", "--model", str(smoke_bundle), "--stems", "4", "--probe-steps", "5",
                 "--space", "raw", "--out", str(probe_out)]) == 0
    probe = json.loads((probe_out / "noise-probe-raw.json").read_text())
    assert probe["space"] == "raw" and len(probe["accuracy"]) == 10 and probe["k"] == 0.5  # its own default


def test_analyse_generation_reports_per_instrument_accuracy_and_what_each_is_heard_as(smoke_bundle, capsys):
    assert main(["analyse", "generation", "--model", str(smoke_bundle), "--items", "10", "--seconds", "0.5",
                 "--steps", "2"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert len(record["per_instrument"]) == 10 and record["items"] == 10
    assert record["accuracy"] == pytest.approx(sum(record["per_instrument"].values()) / 10)
    for name, heard in record["heard_as"].items():  # each row of the confusion counts that instrument's generations
        assert sum(heard.values()) == 1 and all(n > 0 for n in heard.values())
        assert heard.get(name, 0) == record["per_instrument"][name]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_analyse_generation_on_cuda_starts_from_the_cpu_noise_and_tracks_the_cpu_latents(smoke_bundle, capsys):
    args = ["analyse", "generation", "--model", str(smoke_bundle), "--items", "10", "--seconds", "0.5", "--steps", "4"]
    assert main([*args, "--device", "cuda"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["device"] == "cuda" and record["items"] == 10 and 0 <= record["accuracy"] <= 1
    sampler = SamplerConfig(steps=4, cfg=2.0)
    cpu = generate_instrument(load_bundle(smoke_bundle), "violin", 3, 8, sampler, seed=0)
    cuda = generate_instrument(load_bundle(smoke_bundle).to("cuda"), "violin", 3, 8, sampler, seed=0)
    assert cuda.device.type == "cuda"
    assert ((cuda.cpu() - cpu).norm() / cpu.norm()).item() < 1e-3


def _edits_a_tone_in_raw_channels(bundle_folder, tmp_path):
    src = tmp_path / "in.wav"
    sf.write(src, 0.3 * np.sin(2 * np.pi * 330 * np.arange(8000) / 16000), 16000)
    assert main(["edit", str(src), "--method", "mi-inpaint", "--to", "violin", "-o", str(tmp_path / "o.wav"),
                 "--steps", "3", "--model", str(bundle_folder), "--space", "raw"]) == 0
    assert sf.info(tmp_path / "o.wav").frames == 8000


def test_the_split_scale_trains_a_split_codec_into_a_bundle_that_edits(tmp_path, capsys):
    out = tmp_path / "split"
    assert main(["train", "all", "--out", str(out), "--scale", "smoke-split"]) == 0
    bundle = load_bundle(out)
    assert bundle.codec.kind == "split_codec" and bundle.codec.channels == 8
    codec_record = json.loads((out / "training" / "codec.json").read_text())
    assert codec_record["model"]["structure_channels"] == 6
    evaluation = codec_record["evaluation"]
    assert evaluation["swap_items"] == SCALES["smoke-split"].codec_eval_stems == 1  # the codec's own stem count
    assert evaluation["source_distance_to_rendition"] > 0
    assert 0 <= evaluation["swap_pitch_within_50_cents"] <= 1 or math.isnan(evaluation["swap_pitch_within_50_cents"])
    _edits_a_tone_in_raw_channels(out, tmp_path)


@pytest.mark.parametrize("scale", ["smoke-harmonic", "smoke-harmonic-register"])
def test_the_harmonic_scale_trains_a_harmonic_codec_into_a_bundle_that_edits_and_keeps_pitch(tmp_path, scale):
    out = tmp_path / "harmonic"
    assert main(["train", "all", "--out", str(out), "--scale", scale]) == 0
    bundle = load_bundle(out)
    assert bundle.codec.kind == "harmonic_codec" and bundle.codec.channels == 12
    knots = bundle.codec.config.register_knots
    assert knots == (8 if scale.endswith("register") else 0) and hasattr(bundle.codec, "register_mean") == bool(knots)
    assert sorted(bundle.channel_ranking[-6:].tolist()) == list(range(6))  # structure channels are renoised last
    evaluation = json.loads((out / "training" / "codec.json").read_text())["evaluation"]
    assert evaluation["pitch_within_50_cents"] > 0.9  # the tiny twin's pitch comes from its tracker, not training
    _edits_a_tone_in_raw_channels(out, tmp_path)


def test_the_shipped_scale_records_that_its_dit_always_saw_only_pitch_and_onset_known_and_ranks_the_periodicity(
        smoke_shipped):
    assert SHIPPED_SCALE == f"{TIMBRE_SCALED}-longer-dit" and TIMBRE_SCALED == f"{PERIODICITY_FREE}-timbre-scaled"
    assert PERIODICITY_FREE.endswith("-periodicity-free")
    out = smoke_shipped
    config = json.loads((out / "training" / "denoiser.json").read_text())["config"]
    assert config["always_known"] == 4
    timbre_scaled = SCALES[sized_name("smoke", TIMBRE_SCALED)]
    assert config["steps"] == math.ceil(1.2 * timbre_scaled.denoiser_training.steps)  # the DiT trained a fifth longer
    bundle = load_bundle(out)
    assert (bundle.always_known, bundle.held_channels, bundle.codec.structure_channels) == (4, 4, 6)
    ranking = bundle.channel_ranking.tolist()
    assert set(ranking[-4:]) == {0, 1, 2, 3}  # pitch and onset last; the periodicity (4, 5) keeps its MI rank
    mi = json.loads((out / "training" / "mi.json").read_text())["raw_instrument_mi"]
    assert [ranking.index(c) for c in (4, 5)] == [sum(mi[o] > mi[c] for o in range(4, 12)) for c in (4, 5)]


def test_the_timbre_scaled_scale_halves_the_timbre_and_weights_its_loss_in_the_plain_units(smoke_shipped, tmp_path):
    plain, quiet = tmp_path / "plain", smoke_shipped
    scale = sized_name("smoke", SHIPPED_SCALE)
    assert main(["train", "all", "--out", str(plain), "--scale", sized_name("smoke", PERIODICITY_FREE)]) == 0
    plain_codec, quiet_codec = load_bundle(plain).codec, load_bundle(quiet).codec
    assert (quiet_codec.config.timbre_latent_std, quiet_codec.timbre_latent_scale) == (0.25, 0.5)
    structure = quiet_codec.structure_channels
    t = torch.arange(16000) / 16000
    wave = 0.1 * sum(torch.sin(2 * math.pi * k * 330 * t) / k for k in range(1, 8))[None]
    plain_z, quiet_z = plain_codec.encode(wave), quiet_codec.encode(wave)
    assert torch.equal(quiet_z[:, :structure], plain_z[:, :structure])
    assert torch.allclose(quiet_z[:, structure:], plain_z[:, structure:] / 2, atol=1e-6)
    plain_w, quiet_w = (torch.tensor(json.loads((out / "training" / "denoiser.json").read_text())["channel_weights"])
                        for out in (plain, quiet))
    assert torch.equal(quiet_w[:structure], plain_w[:structure])
    assert float(plain_w[structure:].max()) > 1.0  # the timbre channels are weighted by the decoder
    assert torch.allclose(quiet_w[structure:], 4 * plain_w[structure:], rtol=1e-3, atol=2e-3)  # records: 3 places
    config = SCALES[scale].denoiser_training
    z = torch.randn(4, plain_codec.channels, 64, generator=torch.Generator().manual_seed(0)) * 0.5
    quiet_z = torch.cat([z[:, :structure], z[:, structure:] / 2], 1)
    plain_w, quiet_w = denoiser_weights(plain_codec, z, config), denoiser_weights(quiet_codec, quiet_z, config)
    assert torch.equal(quiet_w[:structure], plain_w[:structure])
    assert torch.allclose(quiet_w[structure:], 4 * plain_w[structure:], rtol=1e-5)  # an error costs what it did


@pytest.mark.parametrize("scale,p_mean,known_share,steps", [("smoke-harmonic-known", -1.2, 0.5, 3),
                                                             ("smoke-harmonic-known-high-noise-long", 0.0, 0.75, 6),
                                                             ("smoke-harmonic-known-high-noise-longer", 0.0, 0.75, 12)])
def test_the_known_channel_scale_trains_an_inpainting_dit_that_generates_structure_first(tmp_path, scale, p_mean,
                                                                                        known_share, steps):
    out = tmp_path / "known"
    assert main(["train", "all", "--out", str(out), "--scale", scale]) == 0
    record = json.loads((out / "training" / "denoiser.json").read_text())
    assert (record["config"]["p_mean"], record["config"]["known_share"], record["steps"]) == (p_mean, known_share, steps)
    bundle = load_bundle(out)
    keep = structure_mask(bundle)
    assert keep is not None and int(keep.sum()) == bundle.codec.structure_channels == 6
    sampler = SamplerConfig(steps=3, cfg=2.0)
    plain = generate_instrument(bundle, "violin", 2, 8, sampler, seed=0)
    refilled = generate_instrument(bundle, "violin", 2, 8, sampler, seed=0, structure_first=True)
    assert torch.equal(refilled[:, keep], plain[:, keep])  # the same structure, its timbre sampled again
    assert not torch.allclose(refilled[:, ~keep], plain[:, ~keep])
    with pytest.raises(ModelError, match="cannot generate structure first"):
        generate_instrument(debug_bundle(), "violin", 1, 8, sampler, seed=0, structure_first=True)


def test_the_decoder_weighted_scale_records_weights_from_its_codec_and_trains_a_bundle(smoke_bundle, tmp_path):
    import shutil

    from timbre.training.decoder_weights import channel_weights, decoder_sensitivity
    out = tmp_path / "weighted"
    shutil.copytree(smoke_bundle, out)
    assert main(["train", "denoiser", "--out", str(out), "--scale", "smoke-decoder-weighted", "--force"]) == 0
    record = json.loads((out / "training" / "denoiser.json").read_text())
    assert record["config"]["decoder_weighting"] == 0.5 and record["device"] == "cpu"
    codec = load_bundle(smoke_bundle).codec
    expected = channel_weights(decoder_sensitivity(codec, torch.randn(4, codec.channels, 16) * 0.5), 0.5)
    weights = torch.tensor(record["channel_weights"])
    assert weights.shape == (codec.channels,) and float(weights.min()) == 1.0
    assert int(weights.argmax()) == int(expected.argmax())  # the same channel leads, measured on other latents
    assert load_bundle(out).denoiser is not None


def test_the_timbre_weighted_harmonic_scale_leaves_the_structure_channels_unweighted(tmp_path):
    out = tmp_path / "timbre_weighted"
    assert main(["train", "all", "--out", str(out), "--scale", "smoke-harmonic-known-timbre-weighted"]) == 0
    record = json.loads((out / "training" / "denoiser.json").read_text())
    assert record["config"]["decoder_weighting"] == 0.5 and record["config"]["weight_structure"] is False
    structure = load_bundle(out).codec.structure_channels
    weights = torch.tensor(record["channel_weights"])
    assert torch.equal(weights[:structure], torch.ones(structure))
    assert float(weights[structure:].max()) > 1.0  # the timbre channels are still weighted by the decoder


def test_the_structure_weighted_scale_gives_the_structure_channels_its_weight(tmp_path):
    out = tmp_path / "structure_weighted"
    scale = "smoke-harmonic-known-high-noise-timbre-weighted-ceiling-deep-stiff-structure-weighted"
    assert main(["train", "all", "--out", str(out), "--scale", scale]) == 0
    record = json.loads((out / "training" / "denoiser.json").read_text())
    assert record["config"]["structure_weight"] == 30.0
    structure = load_bundle(out).codec.structure_channels
    weights = torch.tensor(record["channel_weights"])
    assert torch.equal(weights[:structure], torch.full((structure,), 30.0))
    assert float(weights[structure:].min()) == 1.0 and float(weights[structure:].max()) > 1.0


def test_the_spectral_scale_trains_through_its_own_codec_and_leaves_it_untouched(smoke_bundle, tmp_path):
    import shutil
    out = tmp_path / "spectral"
    shutil.copytree(smoke_bundle, out)
    codec_before = (out / "codec.safetensors").read_bytes()
    assert main(["train", "denoiser", "--out", str(out), "--scale", "smoke-spectral", "--force"]) == 0
    record = json.loads((out / "training" / "denoiser.json").read_text())
    assert record["config"]["spectral_weight"] == 5.0 and record["config"]["decoder_weighting"] == 0.5
    assert (out / "codec.safetensors").read_bytes() == codec_before
    assert load_bundle(out).denoiser is not None


def _changed(variant: dict, base: dict) -> dict:
    """{(part, key): value} for each setting of a scale (as asdict gives it) that differs from the base scale's, and
    {(key,): value} for each of its own numbers (the pool's size, say) that does."""
    return {**{(part, key): value[key] for part, value in variant.items() if isinstance(value, dict)
               for key in value if value[key] != base[part][key]},
            **{(part,): value for part, value in variant.items()
               if not isinstance(value, dict) and value != base[part]}}


@pytest.mark.parametrize("size", ["full", "smoke"])
def test_each_high_noise_timbre_weighted_variant_changes_one_setting_ceiling_deep_two_and_stiff_one_more(size):
    from dataclasses import asdict

    from jobs.training_stages import SCALES, high_noise_timbre_weighted_variants
    base = asdict(SCALES[f"{size}-harmonic-known-high-noise-timbre-weighted"])
    changed = {name.rsplit("-weighted-", 1)[1]: _changed(asdict(scale), base)
               for name, scale in high_noise_timbre_weighted_variants(size).items()}
    assert changed == {"0.75": {("denoiser_training", "decoder_weighting"): 0.75},
                       "text-only": {("denoiser_training", "audio_condition_share"): 0.0},
                       "deep": {("dit", "depth"): 2 * base["dit"]["depth"]},
                       "ceiling": {("codec", "harmonic_ceiling_hz"): 7200.0}}
    assert base["denoiser_training"]["weight_structure"] is False and base["denoiser_training"]["p_mean"] == 0.0
    both = asdict(SCALES[f"{size}-harmonic-known-high-noise-timbre-weighted-ceiling-deep"])
    assert set(_changed(both, base)) == {("codec", "harmonic_ceiling_hz"), ("dit", "depth")}
    stiff = asdict(SCALES[f"{size}-harmonic-known-high-noise-timbre-weighted-ceiling-deep-stiff"])
    assert _changed(stiff, both) == {("codec", "stretch_max"): 1e-3}
    weighted = asdict(SCALES[f"{size}-harmonic-known-high-noise-timbre-weighted-ceiling-deep-stiff-structure-weighted"])
    assert _changed(weighted, stiff) == {("denoiser_training", "structure_weight"): 30.0}
    scaled = asdict(SCALES[f"{size}-harmonic-known-high-noise-timbre-weighted-ceiling-deep-stiff-pitch-scaled"])
    assert _changed(scaled, stiff) == {("codec", "pitch_latent_std"): 2.0}
    held = asdict(SCALES[f"{size}-harmonic-known-high-noise-timbre-weighted-ceiling-deep-stiff-pitch-scaled-4-onset-held"])
    assert _changed(held, stiff) == {("codec", "pitch_latent_std"): 4.0, ("codec", "onset_hold_s"): 0.05}
    patched = asdict(SCALES[f"{size}-harmonic-known-high-noise-timbre-weighted-ceiling-deep-stiff-pitch-scaled"
                            "-patch-2"])
    assert _changed(patched, scaled) == {("dit", "patch"): 2}
    stems = asdict(SCALES[f"{size}-harmonic-known-high-noise-timbre-weighted-ceiling-deep-stiff-pitch-scaled-stems"])
    assert _changed(stems, scaled) == {("denoiser_training", "stem_share"): 1.0}
    half = asdict(SCALES[f"{size}-harmonic-known-high-noise-timbre-weighted-ceiling-deep-stiff-pitch-scaled-stems-0.5"])
    assert _changed(half, scaled) == {("denoiser_training", "stem_share"): 0.5}
    more = asdict(SCALES[f"{size}-harmonic-known-high-noise-timbre-weighted-ceiling-deep-stiff-pitch-scaled-stems-900"])
    assert _changed(more, stems) == {("stems",): 3 * stems["stems"]}
    fast = asdict(SCALES[f"{size}-harmonic-known-high-noise-timbre-weighted-ceiling-deep-stiff-pitch-scaled-stems-900"
                         "-one-product"])
    assert _changed(fast, more) == {("denoiser_training", "one_product_gradients"): True}
    free = asdict(SCALES[f"{size}-harmonic-known-high-noise-timbre-weighted-ceiling-deep-stiff-pitch-scaled-stems-900"
                         "-one-product-periodicity-free"])
    assert _changed(free, fast) == {("denoiser_training", "always_known"): 4}
    quiet = asdict(SCALES[f"{size}-harmonic-known-high-noise-timbre-weighted-ceiling-deep-stiff-pitch-scaled-stems-900"
                          "-one-product-periodicity-free-timbre-scaled"])
    assert _changed(quiet, free) == {("codec", "timbre_latent_std"): 0.25}
    longer = asdict(SCALES[f"{size}-harmonic-known-high-noise-timbre-weighted-ceiling-deep-stiff-pitch-scaled-stems-900"
                           "-one-product-periodicity-free-timbre-scaled-longer-dit"])
    steps = quiet["denoiser_training"]["steps"]
    assert _changed(longer, quiet) == {("denoiser_training", "steps"): math.ceil(1.2 * steps)}
    quieter = asdict(SCALES[f"{size}-harmonic-known-high-noise-timbre-weighted-ceiling-deep-stiff-pitch-scaled-stems-900"
                            "-one-product-periodicity-free-timbre-scaled-longer-dit-timbre-0.2"])
    assert _changed(quieter, longer) == {("codec", "timbre_latent_std"): 0.2}


@pytest.mark.parametrize("share", [1.0, None])
def test_a_stem_share_draws_the_denoisers_crops_from_the_pools_stems(smoke_bundle, share, monkeypatch):
    from jobs import training_stages as stages
    seen = []
    real = stages.train_denoiser
    monkeypatch.setattr(stages, "train_denoiser", lambda *a, **k: seen.append(k["row_weights"]) or real(*a, **k))
    scale = stages.denoiser_variant(stages.SCALES["smoke"], stem_share=share)
    ctx = stages.Context(smoke_bundle, scale, 0, 0, log=lambda _: None)
    stages.fit_denoiser(ctx, ctx.component("codec"), ctx.component("conditioner"), scale.denoiser_training)
    if share is None:
        assert seen == [None]  # every row alike, as before
        return
    stems = ctx.pool.lengths == ctx.pool.lengths.max()  # the 10 s rows
    assert int(stems.sum()) == scale.stems
    assert seen[0][stems].sum().item() == pytest.approx(1.0) and seen[0][~stems].sum().item() == 0.0


def test_a_pool_rendered_by_worker_processes_is_the_one_process_pool(tmp_path, monkeypatch):
    from jobs import training_stages as stages
    lines = []
    one = stages.Context(tmp_path, SCALES["smoke"], 3, 0, log=lambda _: None).pool
    stages.Context(tmp_path, SCALES["smoke"], 3, 0, log=lines.append, workers=2).pool
    assert "(1 process)" in lines.pop()  # 26 items: not worth starting a process
    monkeypatch.setattr(stages, "POOL_ITEMS_PER_WORKER", 8)
    two = stages.Context(tmp_path, SCALES["smoke"], 3, 0, log=lines.append, workers=2).pool
    assert torch.equal(one.audio, two.audio) and torch.equal(one.lengths, two.lengths)
    assert torch.equal(one.instruments, two.instruments)
    assert one.audio.shape[0] == SCALES["smoke"].stems + SCALES["smoke"].notes and bool(one.audio.abs().sum() > 0)
    assert "(2 processes)" in lines[0]
    with pytest.raises(SystemExit, match="--workers must be at least 1, got 0"):
        main(["train", "codec", "--out", str(tmp_path), "--scale", "smoke", "--workers", "0"])
