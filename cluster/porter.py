"""The CPU side of a transfer in long-lived processes: a Porter downloads, checks, decodes and resamples stems
for the editors, and resamples, encodes and uploads their edits. As actors they start once, instead of Ray
starting (and importing torch in) a fresh worker for bursts of short tasks."""
from dataclasses import replace

import numpy as np

from cluster.plan import Item, JobConfig
from cluster.work import Limits, Prepared, finish, prepare


class Porter:
    """Stateless: any porter can take any item, and a restarted one simply carries on."""

    def prepare(self, item: Item, config: JobConfig, output_store, rate: int, limits: Limits):
        """prepare() with the waves as a separate return value, so the driver only ever holds the small part."""
        result = prepare(item, config, output_store, rate, limits)
        if isinstance(result, dict):
            return result, None
        return replace(result, waves=np.zeros((0, 0), np.float32)), result.waves

    def finish(self, metas: list[Prepared], edited, config: JobConfig, output_store, rate: int) -> list[dict]:
        """Write back one editor call's stems; `edited` is the call's (results, seconds)."""
        outputs, seconds = edited
        per_item = seconds / max(1, len(metas))
        return [finish(m, wave, info, config, output_store, rate, per_item) for m, (wave, info) in zip(metas, outputs)]
