"""The transfer job end to end on a local Ray cluster, and its handling of a catalogue of bad inputs."""
import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from cluster.catalogue import list_catalogue
from cluster.plan import Edit, JobConfig, plan_items
from cluster.storage import LocalStore
from cluster.work import Limits, Prepared, prepare
from timbre.audio import Audio, encode_audio
from timbre.batch_edit import WindowConfig
from timbre.edits import EditSpec, SamplerConfig
from timbre.models.bundle import bundle_fingerprint, debug_bundle


def _wav(samples, rate, subtype="PCM_16"):
    return encode_audio(Audio(samples, rate, "WAV", subtype))


def _tone(seconds, rate, channels, seed=0):
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).standard_normal((len(t), channels)) * 0.01
    return (0.3 * np.sin(2 * np.pi * 220 * t)[:, None] + noise).astype(np.float32)


def bad_catalogue(store: LocalStore) -> dict[str, tuple[str, str]]:
    """Writes the catalogue; returns key -> (expected status, words the reason must contain)."""
    nan = _tone(0.5, 16000, 1)
    nan[100] = np.nan
    whole = _wav(_tone(0.5, 16000, 1), 16000)
    cases = {
        "zero.wav": (b"", "failed", "empty file"),
        "truncated.wav": (whole[: len(whole) // 2], "failed", "truncated WAV"),
        "text.wav": (b"this is a text file, not audio\n" * 20, "failed", "not a readable audio file"),
        "nan.wav": (_wav(nan, 16000, "FLOAT"), "failed", "NaN"),
        "mono.wav": (_wav(_tone(0.7, 16000, 1), 16000), "ok", ""),
        "six.wav": (_wav(_tone(0.4, 16000, 6), 16000), "ok", ""),
        "low.wav": (_wav(_tone(0.6, 8000, 2), 8000), "ok", ""),
        "high.wav": (_wav(_tone(0.5, 96000, 2), 96000, "PCM_24"), "ok", ""),
        "silence.wav": (_wav(np.zeros((8000, 2), np.float32), 16000), "skipped", "silent"),
        "long.wav": (_wav(_tone(180, 16000, 1), 16000), "ok", ""),
        "readme.txt": (b"notes", "skipped", "not an audio file name"),
    }
    for key, (data, _, _) in cases.items():
        store.put(key, data)
    return {key: (status, words) for key, (_, status, words) in cases.items()}


def job(tmp_path, windows=WindowConfig(seconds=4.0, overlap_seconds=0.5, max_batch=8)) -> JobConfig:
    spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=2), k=0.5, clamp=0.5)
    return JobConfig(str(tmp_path / "src"), str(tmp_path / "out"), bundle_fingerprint(debug_bundle()),
                     (Edit("violin", "violin", spec),), (0,), "wav", windows)


def test_every_bad_input_is_classified_before_the_model_with_the_file_and_cause(tmp_path):
    expected = bad_catalogue(LocalStore(tmp_path / "src"))
    config = job(tmp_path)
    out = LocalStore(tmp_path / "out")
    for item in plan_items(list_catalogue(config.source), config):
        result = prepare(item, config, out, 16000, Limits(max_seconds=600))
        name = item.stem.relative
        status, words = expected[name]
        if isinstance(result, Prepared):
            assert status == "ok", name
            assert result.waves.shape[0] == {"mono.wav": 1, "six.wav": 6}.get(name, result.waves.shape[0])
        else:
            assert (result["status"], name) == (status, name) and words in result["reason"] and name in result["reason"]
    too_long = next(i for i in plan_items(list_catalogue(config.source), config) if i.stem.relative == "long.wav")
    assert "over the 60 s limit" in prepare(too_long, config, out, 16000, Limits(max_seconds=60))["reason"]


@pytest.mark.slow
def test_the_job_edits_a_catalogue_on_local_ray_with_an_editor_per_gpu_and_a_rerun_redoes_nothing(tmp_path):
    import ray

    from cluster.driver import RunOptions, run_transfer

    expected = bad_catalogue(LocalStore(tmp_path / "src"))
    config = job(tmp_path)
    ray.shutdown()
    options = RunOptions(local_gpus=2, batch=4, max_in_flight=8, io_slots=2, object_store_mb=200, progress=False)
    summary = run_transfer(config, "debug", options, log=lambda _: None)
    # two fake GPUs: two editors, each pinned to its own (torch finds no CUDA here, so the bundle stays on the CPU)
    assert sorted(summary.editors) == ["cpu (CUDA_VISIBLE_DEVICES=0)", "cpu (CUDA_VISIBLE_DEVICES=1)"]
    manifest = pd.read_parquet(tmp_path / "out" / "manifest.parquet")
    names = manifest["source_uri"].map(lambda u: u.rsplit("/", 1)[-1])
    assert dict(zip(names, manifest["status"])) == {k: v[0] for k, v in expected.items()}
    assert summary.counts == {"ok": 5, "failed": 4, "skipped": 2} and summary.already_done == 0
    for row in manifest[manifest["status"] == "ok"].itertuples():
        source = sf.info(str(tmp_path / "src" / row.source_uri.rsplit("/", 1)[-1]))
        edited = sf.info(str(tmp_path / "out" / row.output_key))
        assert (edited.samplerate, edited.channels, edited.frames, edited.subtype) == (
            source.samplerate, source.channels, source.frames, source.subtype)
    assert manifest.loc[names == "long.wav", "windows"].item() == 52  # 180 s in 4 s windows overlapping by 0.5 s
    ok = manifest[manifest["status"] == "ok"]  # the gains that made each edit's level course its source's
    assert (ok["level_gain_db_min"] <= ok["level_gain_db_median"]).all()
    assert (ok["level_gain_db_median"] <= ok["level_gain_db_max"]).all() and (ok["level_gain_db_max"] <= 24).all()
    assert manifest.loc[manifest["status"] != "ok", "level_gain_db_median"].isna().all()
    document = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert document["statuses"] == summary.counts and document["by_edit"] == {"violin": summary.counts}
    assert document["failures_by_error"] == {"AudioError": 4} and document["retryable_failures"] == 0
    assert document["audio_seconds_edited"] == pytest.approx(0.7 + 0.4 + 0.6 + 0.5 + 180)
    written = sorted(p.name for p in (tmp_path / "out").iterdir() if p.suffix == ".wav")
    again = run_transfer(config, "debug", options, log=lambda _: None)
    assert again.already_done == 11 and again.counts == summary.counts
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.suffix == ".wav") == written
    ray.shutdown()


def test_flac_output_keeps_rate_channels_length_and_bit_depth_of_a_wav_source(tmp_path):
    from dataclasses import replace

    from cluster.work import finish

    t = np.arange(26460) / 44100
    tone = np.stack([0.3 * np.sin(2 * np.pi * 220 * t), 0.2 * np.sin(2 * np.pi * 330 * t)], 1).astype(np.float32)
    LocalStore(tmp_path / "src").put("take.wav", _wav(tone, 44100, "PCM_24"))
    config = replace(job(tmp_path), format="flac")
    out = LocalStore(tmp_path / "out")
    item = next(iter(plan_items(list_catalogue(config.source), config)))
    prepared = prepare(item, config, out, 16000)
    row = finish(prepared, prepared.waves, {"windows": 1}, config, out, 16000, 0.0)  # the identity edit
    assert row["status"] == "ok" and row["output_key"].endswith(".violin." + row["output_key"].split(".")[-2] + ".flac")
    info = sf.info(str(tmp_path / "out" / row["output_key"]))
    assert (info.format, info.subtype, info.samplerate, info.channels, info.frames) == ("FLAC", "PCM_24", 44100, 2, 26460)
    edited, _ = sf.read(str(tmp_path / "out" / row["output_key"]))
    source, _ = sf.read(str(tmp_path / "src" / "take.wav"))
    assert np.abs(edited - source)[2000:-2000].max() < 0.01  # down to 16 kHz and back: the tones survive, unscaled


def test_an_edit_follows_the_stems_content_not_where_it_is_listed_and_matches_timbre_edit(tmp_path):
    """The same bytes listed at two paths get the same content key and the same audio, which is what `timbre edit`
    makes of that file: the noise comes from the content and the seed, so an output key always holds one edit."""
    import ray

    from cluster.driver import RunOptions, run_transfer
    from jobs.cli import main

    data = _wav(_tone(0.7, 16000, 1, seed=3), 16000)
    store = LocalStore(tmp_path / "src")
    for key in ("album-a/take.wav", "album-b/old/take.wav"):
        store.put(key, data)
    config = job(tmp_path)
    ray.shutdown()
    run_transfer(config, "debug", RunOptions(local_gpus=1, batch=1, io_slots=1, object_store_mb=200, progress=False),
                 log=lambda _: None)
    ray.shutdown()
    manifest = pd.read_parquet(tmp_path / "out" / "manifest.parquet").set_index("source_uri")
    keys = [manifest.loc[store.uri + "/" + key, "output_key"] for key in ("album-a/take.wav", "album-b/old/take.wav")]
    assert keys[0].split(".")[-2] == keys[1].split(".")[-2]  # the content key
    first, second = (sf.read(str(tmp_path / "out" / key))[0] for key in keys)
    np.testing.assert_array_equal(first, second)
    (tmp_path / "take.wav").write_bytes(data)
    assert main(["edit", str(tmp_path / "take.wav"), "--method", "mi-inpaint", "--to", "violin", "--model", "debug",
                 "--steps", "2", "--k", "0.5", "--clamp", "0.5", "--cfg", "1.25", "-o", str(tmp_path / "alone.wav")]) == 0
    alone, _ = sf.read(str(tmp_path / "alone.wav"))
    np.testing.assert_allclose(first, alone, atol=2 / 2**15)  # 16-bit files: the same edit to a step or two
