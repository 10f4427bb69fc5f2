"""The model side of a transfer: one Editor holds one bundle (one per GPU, or CPU editors sized to the cores) and
edits batches of prepared stems, many clips per forward pass."""
import time
from collections import defaultdict

import numpy as np
import torch

from cluster.catalogue import AUDIO_SUFFIXES
from cluster.plan import JobConfig
from cluster.storage import split_uri
from timbre.audio import Audio, decode_audio
from timbre.batch_edit import Clip, edit_clips
from timbre.models.bundle import bundle_fingerprint, load_bundle
from timbre.transfer import audio_condition, text_condition


class Editor:
    """Loads the bundle once; `edit` takes a batch's item facts and their waves and returns the edited waves."""

    def __init__(self, model: str, config: JobConfig, threads: int | None = None):
        if threads:
            torch.set_num_threads(threads)
        self.bundle = load_bundle(model)
        found = bundle_fingerprint(self.bundle)
        if found != config.model_id:
            raise ValueError(f"model {model} is {found}, but the job was planned for {config.model_id}")
        self.config = config
        self.targets = {}

    def sample_rate(self) -> int:
        return self.bundle.sample_rate

    def _target(self, edit) -> torch.Tensor:
        """The target condition of an edit: a reference recording when it names one, else a prompt; cached."""
        if edit.name not in self.targets:
            target = edit.target
            if target.lower().endswith(AUDIO_SUFFIXES):
                store, key = split_uri(target)
                self.targets[edit.name] = audio_condition(self.bundle, decode_audio(store.get(key), target))
            else:
                self.targets[edit.name] = text_condition(self.bundle, target)
        return self.targets[edit.name]

    def edit(self, facts: list[tuple[str, int, int]], *waves: np.ndarray) -> tuple[list[tuple[np.ndarray, dict]], float]:
        """facts: (item id, edit index, seed) per clip; waves: (channels, samples) at the model's rate per clip.
        Clips of one edit and seed share calls; returns (edited waves, facts) in order and the seconds spent."""
        start = time.perf_counter()
        groups = defaultdict(list)
        for n, (_, edit, seed) in enumerate(facts):
            groups[(edit, seed)].append(n)
        out: list[tuple[np.ndarray, dict] | None] = [None] * len(facts)
        for (e, seed), members in groups.items():
            edit = self.config.edits[e]
            target = self._target(edit)
            clips = [Clip(facts[n][0], waves[n], target,
                          audio_condition(self.bundle, Audio(np.ascontiguousarray(waves[n].T), self.bundle.sample_rate)))
                     for n in members]
            for n, (edited, info) in zip(members, edit_clips(self.bundle, clips, edit.spec, seed, edit.space,
                                                             self.config.windows)):
                out[n] = (edited.astype(np.float32), {"windows": info["windows"]})
        return out, time.perf_counter() - start
