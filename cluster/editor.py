"""The model side of a transfer: one Editor holds one bundle (one per GPU, or CPU editors sized to the cores) and
edits batches of prepared stems, many clips per forward pass."""
import os
import time
from collections import defaultdict

import numpy as np
import torch

from cluster.catalogue import AUDIO_SUFFIXES
from cluster.plan import JobConfig
from cluster.storage import split_uri
from timbre.audio import Audio, decode_audio
from timbre.batch_edit import Clip, edit_clips
from timbre.level import LEVEL_GAIN_FACTS
from cluster.model_store import load_model
from timbre.models.bundle import bundle_fingerprint
from timbre.transfer import audio_condition, source_condition, text_condition

Result = tuple[np.ndarray | None, dict]  # the edited wave (None when the clip failed) and its facts


class Editor:
    """Loads the bundle once; `edit` takes a batch's item facts and their waves and returns the edited waves."""

    def __init__(self, model: str, config: JobConfig, threads: int | None = None, compile: bool = False):
        if threads:
            torch.set_num_threads(threads)
        bundle = load_model(model)
        found = bundle_fingerprint(bundle)
        if found != config.model_id:
            raise ValueError(f"model {model} is {found}, but the job was planned for {config.model_id}")
        # In an actor given num_gpus=1, Ray sets CUDA_VISIBLE_DEVICES to its own GPU, which torch sees as cuda:0.
        self.bundle = bundle.to("cuda" if torch.cuda.is_available() else "cpu")
        if compile:
            self.bundle = self.bundle.compiled(dynamic=True)  # clip lengths and batch sizes vary between calls
        self.config = config
        self.targets = {}

    def sample_rate(self) -> int:
        return self.bundle.sample_rate

    def placement(self) -> str:
        """Where this editor runs: its device, and the GPUs it may see (Ray sets CUDA_VISIBLE_DEVICES per actor)."""
        return f"{self.bundle.device} (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')})"

    def _target(self, edit) -> torch.Tensor:
        """The target condition of an edit: a reference recording when it names one, else a prompt; cached."""
        if edit.name not in self.targets:
            target = edit.target
            if target.lower().endswith(AUDIO_SUFFIXES):
                store, key = split_uri(target)
                self.targets[edit.name] = audio_condition(self.bundle, decode_audio(store.get(key), target), target)
            else:
                self.targets[edit.name] = text_condition(self.bundle, target)
        return self.targets[edit.name]

    def _edit_group(self, edit_index: int, seed: int, ids: list[str], waves: list[np.ndarray]) -> list[Result]:
        """Clips of one edit and seed in shared forward passes."""
        edit = self.config.edits[edit_index]
        target = self._target(edit)
        rate = self.bundle.sample_rate
        clips = [Clip(i, w, target, source_condition(self.bundle, Audio(np.ascontiguousarray(w.T), rate)))
                 for i, w in zip(ids, waves)]
        return [(edited.astype(np.float32), {"windows": info["windows"],
                                             **{key: info[key] for key in LEVEL_GAIN_FACTS if key in info}})
                for edited, info in edit_clips(self.bundle, clips, edit.spec, seed, edit.space, self.config.windows)]

    def _edit_isolating(self, edit_index: int, seed: int, ids: list[str], waves: list[np.ndarray]) -> list[Result]:
        """The group together; if that raises, each clip alone, so a poison clip fails alone with its error and the
        others still finish (alone or together gives the same result: noise is per clip and window)."""
        try:
            return self._edit_group(edit_index, seed, ids, waves)
        except Exception as e:
            if len(ids) == 1:
                return [_failure(e)]
        return [self._edit_isolating(edit_index, seed, [i], [w])[0] for i, w in zip(ids, waves)]

    def edit(self, facts: list[tuple[str, int, int]], *waves: np.ndarray) -> tuple[list[Result], float]:
        """facts: (noise id, edit index, seed) per clip (Prepared.noise_id: the clip's noise comes from it and the
        seed); waves: (channels, samples) at the model's rate per clip.
        Clips of one edit and seed share calls; returns (edited wave or None, facts) in order and the seconds spent."""
        start = time.perf_counter()
        groups = defaultdict(list)
        for n, (_, edit, seed) in enumerate(facts):
            groups[(edit, seed)].append(n)
        out: list[Result | None] = [None] * len(facts)
        for (edit, seed), members in groups.items():
            results = self._edit_isolating(edit, seed, [facts[n][0] for n in members], [waves[n] for n in members])
            for n, result in zip(members, results):
                out[n] = result
        return out, time.perf_counter() - start


def _failure(error: Exception) -> Result:
    return None, {"error_class": type(error).__name__, "error": f"the model failed on this stem: {error}"}
