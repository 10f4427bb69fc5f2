"""The evaluation job: shards that merge to the one-shot FAD/KAD, per-item reasons for bad input, Ray and S3, resume."""
import io
import math

import numpy as np
import pandas as pd
import pytest
import torch

from cluster.evaluation_plan import EvalConfig, EvaluationConflict, claim_evaluation, plan_shards, read_pairs, reference_jobs
from cluster.evaluation_summary import read_rows, read_statistics, summarise
from cluster.evaluator import Evaluator, stored_shards
from cluster.storage import LocalStore
from timbre.audio import Audio, encode_audio
from timbre.corpus.dataset import SAMPLE_RATE, stem_example
from timbre.metrics.embedding_frames import embedding_frames
from timbre.metrics.fad import GaussianStats, fad
from timbre.metrics.kad import kad
from timbre.models.bundle import bundle_fingerprint, debug_bundle

SECONDS = 2.0


def _wav(samples: np.ndarray, rate: int = SAMPLE_RATE, subtype: str = "FLOAT") -> bytes:
    return encode_audio(Audio(np.ascontiguousarray(samples.reshape(len(samples), -1), dtype=np.float32), rate, "WAV",
                              subtype))


def _melodies(count: int) -> list[np.ndarray]:
    stems = (stem_example(0, "test", i) for i in range(40))
    return [s.audio[: int(SECONDS * SAMPLE_RATE)] for s in stems if s.voices == 1][:count]


def _write_pairs(store, melodies, references) -> pd.DataFrame:
    """identity edits (output = source) and noisy ones, each with a reference recording (other melodies)."""
    rows = []
    rng = np.random.default_rng(0)
    for i, wave in enumerate(melodies):
        store.put(f"src/{i}.wav", _wav(wave))
        store.put(f"noisy/{i}.wav", _wav(wave + 0.05 * rng.standard_normal(len(wave))))
        store.put(f"ref/{i}.wav", _wav(references[i]))
        rows.append({"source": f"src/{i}.wav", "output": f"src/{i}.wav", "target": "violin", "method": "identity",
                     "setting": "", "reference": f"ref/{i}.wav"})
        rows.append({"source": f"src/{i}.wav", "output": f"noisy/{i}.wav", "target": "violin", "method": "noisy",
                     "setting": "0.05", "reference": f"ref/{i}.wav"})
    return pd.DataFrame(rows)


def _run_plainly(config, store):
    """The job's work without Ray: plan, evaluate every shard in this process, merge."""
    pairs = read_pairs(config.pairs)
    references, used = reference_jobs(pairs)
    shards = plan_shards(pairs, references, config)
    evaluator = Evaluator("debug", config)
    for shard in shards:
        evaluator.evaluate(shard, store)
    stored = set(stored_shards(store))
    rows = read_rows(store, shards, stored)
    return rows, summarise(rows, read_statistics(store, shards, stored), used, config), shards


def _value(summary, method, metric):
    return summary.loc[(summary["method"] == method) & (summary["metric"] == metric), "value"].item()


def test_shards_merge_to_the_one_shot_fad_and_kad_and_an_identity_edit_scores_perfectly(tmp_path):
    store = LocalStore(tmp_path)
    melodies, references = _melodies(10)[:5], _melodies(10)[5:]
    _write_pairs(store, melodies, references).to_csv(tmp_path / "pairs.csv", index=False)
    config = EvalConfig(str(tmp_path / "pairs.csv"), str(tmp_path / "out"), bundle_fingerprint(debug_bundle()),
                        shard_size=3, kad_frames_per_shard=10_000)
    rows, summary, shards = _run_plainly(config, LocalStore(tmp_path / "out"))
    assert len(shards) == 7  # 10 pairs and 5 references for each of the two groups, in shards of 3
    assert (rows["status"] == "ok").all() and len(rows) == 10
    identity = rows[rows["method"] == "identity"]
    assert identity["dpd_cents"].max() < 1e-3 and identity["onset_f1"].min() == 1.0  # PESTO in a batch: low bits
    assert identity["chroma"].min() == pytest.approx(1.0) and identity["voiced_kept"].min() == 1.0

    conditioner = debug_bundle().conditioner
    frames = {name: np.concatenate([embedding_frames(conditioner, torch.from_numpy(w.astype(np.float32)), SAMPLE_RATE)
                                    for w in waves]) for name, waves in (
        ("identity", melodies), ("reference", references))}
    one_shot = fad(GaussianStats.of(frames["reference"]), GaussianStats.of(frames["identity"]))
    assert _value(summary, "identity", "fad") == pytest.approx(one_shot, rel=1e-8)
    assert _value(summary, "identity", "kad") == pytest.approx(kad(frames["reference"], frames["identity"]), rel=1e-8)
    assert _value(summary, "noisy", "fad") > _value(summary, "identity", "fad")
    ci = summary[(summary["method"] == "noisy") & (summary["metric"] == "dpd_cents")].iloc[0]
    assert ci["ci_low"] <= ci["value"] <= ci["ci_high"] and ci["n"] == 5


def test_bad_pairs_are_recorded_per_item_with_their_cause_and_never_stop_the_job(tmp_path):
    store = LocalStore(tmp_path)
    wave = _melodies(1)[0]
    nan = wave.copy()
    nan[100] = np.nan
    t = np.arange(int(1.5 * 44100)) / 44100
    store.put("src.wav", _wav(wave))
    store.put("silent.wav", _wav(np.zeros_like(wave)))
    store.put("nan.wav", _wav(nan))
    store.put("broken.wav", b"RIFF\x00\x00\x00\x00WAVEjunk")
    store.put("six.wav", _wav(np.repeat((0.3 * np.sin(2 * np.pi * 330 * t))[:, None], 6, 1), 44100, "PCM_16"))
    cases = {  # output -> (status, words in the reason)
        "silent.wav": ("ok", "output is silent"),
        "nan.wav": ("failed", "NaN"),
        "broken.wav": ("failed", "broken.wav: not a readable audio file"),
        "gone.wav": ("failed", "gone.wav: no such file"),
        "": ("failed", "pair lacks its output"),
        "six.wav": ("ok", ""),
    }
    pd.DataFrame([{"source": "src.wav", "output": o, "target": "violin", "item_id": f"item{i}"}
                  for i, o in enumerate(cases)]).to_csv(tmp_path / "pairs.csv", index=False)
    config = EvalConfig(str(tmp_path / "pairs.csv"), str(tmp_path / "out"), bundle_fingerprint(debug_bundle()))
    rows, summary, _ = _run_plainly(config, LocalStore(tmp_path / "out"))
    for i, (output, (status, words)) in enumerate(cases.items()):
        row = rows[rows["item_id"] == f"item{i}"].iloc[0]
        assert row["status"] == status and words in row["reason"], (output, row["status"], row["reason"])
    silent = rows[rows["item_id"] == "item0"].iloc[0]
    assert silent["voiced_kept"] == 0.0 and math.isnan(silent["dpd_cents"])  # silenced notes count, not hide
    assert rows.loc[rows["item_id"] == "item3", "retryable"].item()  # a missing object may yet appear
    assert _value(summary, "edit", "items_failed") == 4 and _value(summary, "edit", "items_ok") == 2


def test_pair_tables_are_checked_up_front(tmp_path):
    pd.DataFrame({"source": ["a.wav"], "target": ["violin"]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match=r"bad.csv: a pairs table needs columns .* missing output"):
        read_pairs(str(tmp_path / "bad.csv"))
    pd.DataFrame({"source": ["a.wav", "b.wav"], "output": ["c.wav", "d.wav"], "target": ["violin"] * 2,
                  "item_id": ["x", "x"]}).to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(ValueError, match="item_id repeated: x"):
        read_pairs(str(tmp_path / "dup.csv"))
    with pytest.raises(ValueError, match="neither a pairs table"):
        read_pairs(str(tmp_path))
    config = EvalConfig("p.csv", str(tmp_path / "out"), "m")
    assert claim_evaluation(LocalStore(tmp_path / "out"), config) is True
    assert claim_evaluation(LocalStore(tmp_path / "out"), config) is False
    with pytest.raises(EvaluationConflict, match="another shard_size"):
        claim_evaluation(LocalStore(tmp_path / "out"), EvalConfig("p.csv", str(tmp_path / "out"), "m", shard_size=5))


@pytest.mark.slow
def test_a_transfer_run_is_evaluated_on_ray_from_s3_and_a_rerun_resumes(tmp_path, bucket):
    import ray

    from cluster.driver import RunOptions, run_transfer
    from cluster.evaluation_driver import run_evaluation
    from cluster.plan import Edit, JobConfig
    from cluster.storage import open_store
    from timbre.edits import EditSpec, SamplerConfig

    source = open_store(f"s3://{bucket}/stems")
    for i, wave in enumerate(_melodies(3)):
        source.put(f"{i}.wav", _wav(wave))
    source.put("broken.wav", b"not audio")
    spec = EditSpec.build("mi-inpaint", SamplerConfig(steps=2), k=0.5, clamp=0.5)
    job = JobConfig(f"s3://{bucket}/stems", f"s3://{bucket}/edited", bundle_fingerprint(debug_bundle()),
                    (Edit("violin", "violin", spec),))
    ray.shutdown()
    options = RunOptions(batch=4, io_slots=1, object_store_mb=200, progress=False)
    run_transfer(job, "debug", options, log=lambda _: None)
    config = EvalConfig(f"s3://{bucket}/edited", f"s3://{bucket}/evaluation", job.model_id, shard_size=2)
    first = run_evaluation(config, "debug", options, log=lambda _: None)
    assert first.counts == {"ok": 3, "skipped": 1} and first.shards_done_before == 0
    out = open_store(config.output)
    metrics = pd.read_parquet(io.BytesIO(out.get("metrics.parquet")))
    assert set(metrics["method"]) == {"mi-inpaint"} and set(metrics["setting"]) == {"violin"}
    skipped = metrics[metrics["status"] == "skipped"].iloc[0]
    assert skipped["reason"].startswith("transfer failed:") and "broken.wav" in skipped["reason"]
    summary = pd.read_parquet(io.BytesIO(out.get("summary.parquet")))
    assert "sources" in summary.loc[summary["metric"] == "fad", "note"].item()  # text targets, no references given
    again = run_evaluation(config, "debug", options, log=lambda _: None)
    assert again.shards_done_before == again.shards
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(out.get("metrics.parquet"))), metrics)
    ray.shutdown()
