"""The MI channel analysis of a codec: rankings in raw channels and in the learned timbre basis."""
from dataclasses import dataclass

import numpy as np
import torch

from timbre.analysis.frames import LabelledFrames
from timbre.analysis.mutual_information import channel_mutual_information, ranking, top_share
from timbre.analysis.timbre_basis import timbre_basis


def structure_last(ranking: np.ndarray, structure_channels: int) -> np.ndarray:
    """The ranking with channels below `structure_channels` moved to its end, each part in its own order."""
    return moved_last(ranking, range(structure_channels))


def moved_last(ranking: np.ndarray, members) -> np.ndarray:
    """The ranking with `members` moved to its end, each part in its own order."""
    ranking = np.asarray(ranking)
    last = np.isin(ranking, np.asarray(list(members), dtype=ranking.dtype))
    return np.concatenate([ranking[~last], ranking[last]])


@dataclass(frozen=True, eq=False)
class ChannelAnalysis:
    """Per-direction MI with instrument and pitch, in raw channels and in the timbre basis, and the rankings."""

    raw_instrument_mi: np.ndarray  # (C,) nats
    raw_pitch_mi: np.ndarray  # (C,)
    raw_ranking: np.ndarray  # (C,) channels by decreasing instrument MI: the paper's ranking
    basis: np.ndarray  # (C, C) orthogonal, column j = direction j
    basis_instrument_mi: np.ndarray  # (C,)
    basis_pitch_mi: np.ndarray  # (C,)
    basis_ranking: np.ndarray  # (C,) directions by decreasing instrument MI minus pitch MI
    frames: int  # frames analysed
    samples: int  # samples the MI is estimated over: one per note when the frames name their notes

    def bundle_tensors(self, held_channels: int = 0) -> dict[str, torch.Tensor]:
        """The rankings and basis as a ModelBundle stores them. The first `held_channels` channels (structure by
        construction that the bundle's DiT always saw known: ModelBundle.held_channels) are moved to the end of the
        raw ranking, in MI order, so that MI-inpaint renoises them only when k reaches beyond every other channel."""
        return {"channel_ranking": torch.from_numpy(structure_last(self.raw_ranking, held_channels)),
                "channel_basis": torch.from_numpy(self.basis).float(),
                "basis_ranking": torch.from_numpy(self.basis_ranking.copy())}

    def record(self) -> dict:
        """The summary with every per-direction MI, as JSON-ready values."""
        return {**self.summary(), **{name: getattr(self, name).tolist() for name in (
            "raw_instrument_mi", "raw_pitch_mi", "basis_instrument_mi", "basis_pitch_mi")}}

    def summary(self) -> dict[str, float]:
        """Shares of total MI in the top half of each ranking (the paper's clarity figure), per label."""
        return {"frames": self.frames, "mi_samples": self.samples,
                "raw_top_half_instrument_mi_share": top_share(self.raw_instrument_mi),
                "raw_top_half_pitch_mi_share_same_channels": top_share(self.raw_pitch_mi, order=self.raw_ranking),
                "basis_top_half_instrument_mi_share": top_share(self.basis_instrument_mi, order=self.basis_ranking),
                "basis_top_half_pitch_mi_share": top_share(self.basis_pitch_mi, order=self.basis_ranking),
                "raw_total_instrument_mi": float(self.raw_instrument_mi.sum()),
                "raw_total_pitch_mi": float(self.raw_pitch_mi.sum())}


def analyse_channels(data: LabelledFrames, k: int = 3, pitch_weight: float = 1.0,
                     pinned: tuple[int, ...] = ()) -> ChannelAnalysis:
    """MI-guided inpainting 4.3.1's ranking on raw channels, and the same MI in the timbre basis, whose directions
    are ranked by instrument MI minus pitch MI so that pitch-bearing directions stay with the structure. The basis
    is fitted on frames; MI is estimated over one sample per note (its frames' mean) when the frames name their
    notes (LabelledFrames.note_means says why). Raw channels in `pinned` stay whole basis directions, ranked last:
    MI-inpaint renoises them only when k reaches beyond every other direction."""
    samples = data.note_means()
    c = data.frames.shape[1]
    raw_inst = channel_mutual_information(samples.frames, samples.instruments, k)
    raw_pitch = channel_mutual_information(samples.frames, samples.pitches, k)
    basis, _ = timbre_basis(data.frames, data.instruments, data.pitches, pitch_weight, pinned)
    rotated = samples.frames @ basis
    basis_inst = channel_mutual_information(rotated, samples.instruments, k)
    basis_pitch = channel_mutual_information(rotated, samples.pitches, k)
    return ChannelAnalysis(raw_inst, raw_pitch, ranking(raw_inst), basis, basis_inst, basis_pitch,
                           moved_last(ranking(basis_inst - basis_pitch), range(c - len(pinned), c)),
                           len(data.frames), len(samples.frames))
