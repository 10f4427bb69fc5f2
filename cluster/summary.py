"""The run's summary beside its manifest (`summary.json`): what was asked, what happened to every item, how fast."""
import json

import pandas as pd

from cluster.plan import JobConfig

SUMMARY = "summary.json"


def summary_document(config: JobConfig, manifest: pd.DataFrame, run: dict) -> dict:
    """Counts by status, by edit and by error class, audio seconds edited, and the run's own facts (`run`)."""
    ok = manifest[manifest["status"] == "ok"]
    failed = manifest[manifest["status"] == "failed"]
    return {
        "job": {"source": config.source, "output": config.output, "model": config.model_id,
                "edits": [e.name for e in config.edits], "seeds": list(config.seeds)},
        **run,
        "statuses": {k: int(v) for k, v in manifest["status"].value_counts().items()},
        "by_edit": {edit: {k: int(v) for k, v in group["status"].value_counts().items()}
                    for edit, group in manifest.groupby("edit")},
        "failures_by_error": {k: int(v) for k, v in failed["error_class"].value_counts().items()},
        "retryable_failures": int(failed["retryable"].astype(bool).sum()),
        "audio_seconds_edited": float(ok["seconds_audio"].fillna(0).sum()),
        "clipped_outputs": int((ok["clipped_samples"].fillna(0) > 0).sum()),
    }


def write_summary(store, document: dict) -> str:
    store.put(SUMMARY, (json.dumps(document, indent=2) + "\n").encode(), create_only=False)
    return SUMMARY
