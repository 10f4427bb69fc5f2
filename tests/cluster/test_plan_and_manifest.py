import json

import pandas as pd
import pytest

from cluster.catalogue import Stem, list_catalogue
from cluster.manifest import MAX_ATTEMPTS, ManifestWriter, attempts, finished, read_manifest
from cluster.plan import FINGERPRINT, Edit, JobConfig, JobConflict, claim_output, output_key, plan_items
from cluster.storage import LocalStore
from timbre.edits import EditSpec, SamplerConfig


def _config(tmp_path, **changes):
    edits = (Edit("violin", "violin", EditSpec.build("mi-inpaint", SamplerConfig(steps=4))),
             Edit("flute", "flute", EditSpec.build("pni", SamplerConfig(steps=4), noise_fraction=0.2)))
    return JobConfig(**{"source": str(tmp_path / "src"), "output": str(tmp_path / "out"), "model_id": "debug-0-abc",
                        "edits": edits, "seeds": (0, 1), **changes})


def test_the_item_table_is_stems_by_edits_by_seeds_with_stable_ids(tmp_path):
    stems = [Stem(f"/c/a{i}.wav", f"a{i}.wav", 10, "v1") for i in range(3)]
    config = _config(tmp_path)
    items = list(plan_items(stems, config))
    assert len(items) == 3 * 2 * 2 and len({i.item_id for i in items}) == 12
    assert [i.item_id for i in plan_items(stems, config)] == [i.item_id for i in items]
    changed = [Stem(s.uri, s.relative, s.size, "v2") for s in stems]  # a new version of each object is new work
    assert not {i.item_id for i in plan_items(changed, config)} & {i.item_id for i in items}


def test_output_keys_mirror_the_source_path_and_are_keyed_on_content_model_edit_and_seed(tmp_path):
    config = _config(tmp_path)
    item = next(plan_items([Stem("s3://b/cat/x/song.flac", "x/song.flac", 1, "e")], config))
    key = output_key(item, config, "c" * 64)
    assert key.startswith("x/song.violin.") and key.endswith(".wav") and key == output_key(item, config, "c" * 64)
    assert output_key(item, config, "d" * 64) != key
    assert output_key(item, _config(tmp_path, model_id="other"), "c" * 64) != key


def test_fp32_keeps_the_keys_jobs_had_before_precision_was_a_setting_and_bf16_is_another_edit():
    from dataclasses import asdict

    from cluster.plan import text_hash

    spec = EditSpec.build("pni", SamplerConfig(steps=4), noise_fraction=0.2)
    earlier = {"steps": 4, "sigma_min": 0.002, "sigma_max": 80.0, "rho": 7.0, "cfg": 1.25, "inversion_cfg": 1.0,
               "solver": "heun"}  # SamplerConfig's fields before precision
    config = {"name": "flute", "target": "flute", "method": "pni", "params": asdict(spec.params), "sampler": earlier,
              "space": None}
    assert Edit("flute", "flute", spec).key == text_hash(json.dumps(config, sort_keys=True))[:12]
    bf16 = EditSpec.build("pni", SamplerConfig(steps=4, precision="bf16"), noise_fraction=0.2)
    assert Edit("flute", "flute", bf16).config()["sampler"]["precision"] == "bf16"
    assert Edit("flute", "flute", bf16).key != Edit("flute", "flute", spec).key


def test_a_second_job_with_another_configuration_is_refused_and_the_same_one_resumes(tmp_path):
    store = LocalStore(tmp_path / "out")
    assert claim_output(store, _config(tmp_path)) is True
    assert claim_output(store, _config(tmp_path)) is False
    with pytest.raises(JobConflict, match="another model, seeds"):
        claim_output(store, _config(tmp_path, model_id="other", seeds=(5,)))
    assert json.loads(store.get(FINGERPRINT))["model"] == "debug-0-abc"


def test_manifest_parts_keep_the_latest_row_per_item_and_say_what_is_finished(tmp_path):
    store = LocalStore(tmp_path)
    writer = ManifestWriter(store, every=2)
    rows = [{"item_id": "a", "status": "failed", "retryable": True, "finished_at": 1.0},
            {"item_id": "b", "status": "failed", "retryable": False, "finished_at": 2.0},
            {"item_id": "c", "status": "skipped", "retryable": False, "finished_at": 3.0},
            {"item_id": "a", "status": "ok", "retryable": False, "finished_at": 4.0},
            {"item_id": "d", "status": "failed", "retryable": True, "finished_at": 5.0}]
    for row in rows:
        writer.add(row)
    assert writer.parts == 2
    writer.flush()
    manifest = read_manifest(store)
    assert dict(zip(manifest["item_id"], manifest["status"])) == {"a": "ok", "b": "failed", "c": "skipped", "d": "failed"}
    assert finished(manifest) == {"a", "b", "c"}  # d failed for a reason a retry may fix
    with pytest.raises(ValueError, match="status must be one of"):
        ManifestWriter(store, every=1).add({"item_id": "e", "status": "done"})


def test_an_item_failing_for_a_retryable_cause_is_tried_in_at_most_max_attempts_runs(tmp_path):
    store = LocalStore(tmp_path)
    for run in range(1, MAX_ATTEMPTS + 1):
        manifest = read_manifest(store)
        assert ("poison" in finished(manifest)) is False, run
        writer = ManifestWriter(store, attempts(manifest))
        writer.add({"item_id": "poison", "status": "failed", "retryable": True, "finished_at": float(run)})
        writer.flush()
        assert read_manifest(store)["attempts"].tolist() == [run]
    assert finished(read_manifest(store)) == {"poison"}


def test_catalogues_list_folders_without_job_folders_and_tables_of_uris(tmp_path):
    src = LocalStore(tmp_path / "src")
    for key in ("a.wav", "sub/b.flac", "notes.txt", "out/_timbre/job.json", "out/a.violin.0.wav"):
        src.put(key, b"x")
    found = [s.relative for s in list_catalogue(str(tmp_path / "src"), exclude=str(tmp_path / "src" / "out"))]
    assert found == ["a.wav", "notes.txt", "sub/b.flac"]
    pd.DataFrame({"uri": [str(tmp_path / "src" / "a.wav")] * 2}).to_csv(tmp_path / "list.csv", index=False)
    assert [s.uri for s in list_catalogue(str(tmp_path / "list.csv"))] == [str(tmp_path / "src" / "a.wav")]
    pd.DataFrame({"path": ["x"]}).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(Exception, match="needs a 'uri' column"):
        list(list_catalogue(str(tmp_path / "bad.parquet")))


def test_an_editor_asked_to_compile_runs_the_denoiser_compiled_and_transfer_passes_the_flag(tmp_path, monkeypatch):
    import torch

    import cluster.driver as driver
    from cluster.editor import Editor
    from cluster.model_store import load_model
    from jobs.cli import build_parser
    from timbre.models.bundle import bundle_fingerprint

    config = _config(tmp_path, model_id=bundle_fingerprint(load_model("debug")))
    assert isinstance(Editor("debug", config, compile=True).bundle.denoiser.net, torch._dynamo.eval_frame.OptimizedModule)
    assert not isinstance(Editor("debug", config).bundle.denoiser.net, torch._dynamo.eval_frame.OptimizedModule)
    seen = []
    monkeypatch.setattr(driver, "run_transfer", lambda config, model, options: seen.append(options) or 1 / 0)
    args = build_parser().parse_args(["transfer", str(tmp_path), "--to", "violin", "--method", "pni", "--out",
                                      str(tmp_path / "out"), "--model", "debug", "--compile"])
    with pytest.raises(ZeroDivisionError):
        args.run(args)
    assert seen[0].compile is True


def test_mi_inpaint_keeps_its_keys_without_structure_guidance_and_a_structure_cfg_is_another_edit():
    from cluster.plan import text_hash

    sampler = SamplerConfig(steps=4)
    spec = EditSpec.build("mi-inpaint", sampler, k=0.5, clamp=0.5)
    earlier = {"name": "flute", "target": "flute", "method": "mi-inpaint", "params": {"k": 0.5, "clamp": 0.5},
               "sampler": {"steps": 4, "sigma_min": 0.002, "sigma_max": 80.0, "rho": 7.0, "cfg": 1.25,
                           "inversion_cfg": 1.0, "solver": "heun"}, "space": None}  # MIInpaintParams before it
    assert Edit("flute", "flute", spec).key == text_hash(json.dumps(earlier, sort_keys=True))[:12]
    guided = EditSpec.build("mi-inpaint", sampler, k=0.5, clamp=0.5, structure_cfg=1.0)
    assert Edit("flute", "flute", guided).config()["params"]["structure_cfg"] == 1.0
    assert Edit("flute", "flute", guided).key != Edit("flute", "flute", spec).key
    rescaled = EditSpec.build("mi-inpaint", SamplerConfig(steps=4, cfg_rescale=0.7), k=0.5, clamp=0.5)
    assert Edit("flute", "flute", rescaled).config()["sampler"]["cfg_rescale"] == 0.7
    assert Edit("flute", "flute", rescaled).key != Edit("flute", "flute", spec).key
    held = EditSpec.build("mi-inpaint", SamplerConfig(steps=4, hold_level=True), k=0.5, clamp=0.5)
    assert Edit("flute", "flute", held).config()["sampler"]["hold_level"] is True
    assert Edit("flute", "flute", held).key != Edit("flute", "flute", spec).key
