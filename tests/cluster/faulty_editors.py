"""Editors that misbehave on purpose, for the fault tests (importable by Ray workers: not a test module)."""
import os
import signal
from pathlib import Path

import numpy as np

from cluster.editor import Editor

POISON_PEAK = 0.9  # a stem this loud makes the model raise


class KillingPoisonEditor(Editor):
    """Kills its own process in the middle of the job's first batch (once per job, whichever editor gets it), and
    raises on any group holding a stem louder than POISON_PEAK."""

    def edit(self, facts, *waves):
        marker = Path(self.config.output).parent / "editor-killed"
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return super().edit(facts, *waves)
        os.kill(os.getpid(), signal.SIGKILL)

    def _edit_group(self, edit_index, seed, ids, waves):
        if any(float(np.abs(w).max()) > POISON_PEAK for w in waves):
            raise RuntimeError("a poison stem")
        return super()._edit_group(edit_index, seed, ids, waves)
