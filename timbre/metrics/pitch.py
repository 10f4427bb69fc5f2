"""Pitch contours with PESTO and frame-wise agreement of two contours (pitch kept through an edit).

PESTO's voicing confidence is a small network on the CQT's linear energy, so it reads loudness as well as
periodicity: a clean tone is voiced at -20 dBFS and not at -40. Every clip is therefore tracked at a listening level,
its reference's sample peak brought to LISTENING_PEAK_DBFS (MI-guided inpainting §4.5.4 loudness-normalises its
outputs too): a contour does not depend on the gain a stem was rendered at, while an output compared with its source
takes the source's gain, so an output much quieter than its source still loses its voicing."""
from dataclasses import dataclass

import torch
from torch import Tensor

STEP_MS = 10.0  # contour hop
VOICED = 0.5  # PESTO confidence above which a frame counts as voiced
LISTENING_PEAK_DBFS = -1.0  # each clip is tracked with its reference's sample peak here


@dataclass(frozen=True)
class Contour:
    """Pitch in Hz and PESTO's confidence per 10 ms frame, (B, frames) each."""

    hz: Tensor
    confidence: Tensor

    @property
    def voiced(self) -> Tensor:
        return self.confidence > VOICED

    def __getitem__(self, item: int) -> "Contour":
        """Item `item` alone, as a (1, frames) contour."""
        return Contour(self.hz[item: item + 1], self.confidence[item: item + 1])


def listening_gain(reference: Tensor) -> Tensor:
    """(B, S) -> (B, 1): the gain that brings each clip's sample peak to LISTENING_PEAK_DBFS (1 for a silent clip)."""
    peak = reference.detach().abs().amax(-1, keepdim=True).double()
    wanted = 10 ** (LISTENING_PEAK_DBFS / 20)
    return torch.where(peak > 0, wanted / peak.clamp_min(1e-30), torch.ones_like(peak))


def pitch_contour(wave: Tensor, sample_rate: int, reference: Tensor | None = None) -> Contour:
    """PESTO (Riou et al. 2023) on (B, S) mono waves, each scaled by `listening_gain` of its reference: the wave
    itself by default, or the source (B, S') an output is to be compared with. Its weights ship in its wheel,
    nothing is fetched."""
    import pesto  # imported here: it pulls torchaudio, which only the pitch metric needs

    gain = listening_gain(wave if reference is None else reference)
    if gain.shape[0] != wave.shape[0]:
        raise ValueError(f"reference has {gain.shape[0]} clips for {wave.shape[0]} waves")
    _, hz, confidence, _ = pesto.predict(wave.float() * gain.to(wave.device, torch.float32), sample_rate,
                                         step_size=STEP_MS)
    return Contour(hz.reshape(wave.shape[0], -1), confidence.reshape(wave.shape[0], -1))


def cents(a_hz: Tensor, b_hz: Tensor) -> Tensor:
    return 1200 * torch.log2(a_hz.clamp_min(1e-6) / b_hz.clamp_min(1e-6))


def pitch_agreement(source: Contour, output: Contour, reference: Contour | None = None) -> dict[str, float]:
    """Frame-aligned agreement: median |cents| and share within 50 cents on frames voiced in both; share of the
    source's voiced frames still voiced (a median over shared frames alone hides silenced notes). With a reference
    (the target instrument really playing the source's notes), also the share still voiced among the source's
    voiced frames that the reference keeps voiced: a decaying instrument rightly lets a held note fall unvoiced."""
    both = source.voiced & output.voiced
    error = cents(output.hz, source.hz).abs()[both]
    source_voiced = int(source.voiced.sum())
    result = {
        "median_cents": float(error.median()) if error.numel() else float("nan"),
        "within_50_cents": float((error <= 50).float().mean()) if error.numel() else float("nan"),
        "voiced_kept": float(both.sum()) / source_voiced if source_voiced else float("nan"),
        "voiced_frames": source_voiced,
    }
    if reference is not None:
        expected = source.voiced & reference.voiced
        result["voiced_kept_where_reference_voiced"] = (float((expected & output.voiced).sum()) / int(expected.sum())
                                                        if expected.any() else float("nan"))
    return result
