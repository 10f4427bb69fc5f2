"""Dynamic Pitch Distance (MI-guided inpainting §4.5.1): DTW between the PESTO pitch contours of two signals.

Definition pinned here: the contours keep only voiced frames (PESTO confidence > 0.5), in cents re 440 Hz; DTW
(steps (1,0), (0,1), (1,1), unit weights) finds the alignment of least total |cents difference|; DPD is that total
divided by the alignment's length (its number of aligned pairs), the mean absolute pitch difference per aligned pair, in cents. The pitch-class
variant (used in earlier timbre-transfer work, e.g. Comanducci et al. 2023) measures each difference modulo the
octave, min(|d| mod 1200, 1200 - |d| mod 1200), so an octave error costs nothing. Beside them: the share of aligned
pairs within 50 cents, and the share of the source's voiced frames still voiced in the output (frame by frame),
because a distance over voiced frames alone hides an edit that silences half the notes."""
from dataclasses import dataclass

import numpy as np

from timbre.metrics.pitch import Contour

OCTAVE = 1200.0


def absolute_cents(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a_i - b_j| for every pair: (n,) x (m,) -> (n, m)."""
    return np.abs(a[:, None] - b[None, :])


def pitch_class_cents(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The pitch-class distance of every pair: the difference folded into [0, 600] cents."""
    d = np.abs(a[:, None] - b[None, :]) % OCTAVE
    return np.minimum(d, OCTAVE - d)


def dtw_path_costs(cost: np.ndarray) -> np.ndarray:
    """The cost of each step of the least-cost monotone alignment of an (n, m) cost matrix from (0, 0) to
    (n-1, m-1), steps (1,1), (1,0), (0,1) with unit weights; ties go to the diagonal. The table is filled one
    anti-diagonal at a time (each cell needs only the two diagonals before it), so the Python loop runs n + m
    times rather than n * m."""
    n, m = cost.shape
    if n == 0 or m == 0:
        raise ValueError("DTW needs two non-empty sequences")
    total = np.full((n + 1, m + 1), np.inf)  # padded by a row and a column of inf, so the borders need no masks
    total[0, 0] = 0.0
    for k in range(0, n + m - 1):
        i = np.arange(max(0, k - m + 1), min(n, k + 1))
        j = k - i
        total[i + 1, j + 1] = cost[i, j] + np.minimum(np.minimum(total[i, j], total[i, j + 1]), total[i + 1, j])
    i, j, steps = n, m, []
    while (i, j) != (1, 1):
        steps.append(cost[i - 1, j - 1])
        moves = ((i - 1, j - 1), (i - 1, j), (i, j - 1))
        i, j = min(moves, key=lambda p: (total[p], p != (i - 1, j - 1)))
    steps.append(cost[0, 0])
    return np.array(steps[::-1])


@dataclass(frozen=True)
class PitchDistance:
    """DPD of one item. NaN distances, with a reason, where either contour has no voiced frame."""

    cents: float  # DTW mean |cents| per aligned pair
    pitch_class_cents: float  # the same, modulo the octave
    within_50_cents: float  # share of aligned pairs within 50 cents
    voiced_kept: float  # share of the source's voiced frames voiced in the output
    source_voiced_frames: int
    reason: str | None = None  # why the distances are NaN


def contour_cents(contour: Contour, item: int = 0) -> np.ndarray:
    """Cents re 440 Hz of the voiced frames of one item of a contour."""
    voiced = contour.voiced[item].cpu().numpy()
    return OCTAVE * np.log2(contour.hz[item].cpu().numpy()[voiced].astype(np.float64) / 440.0)


def dynamic_pitch_distance(source: Contour, output: Contour, item: int = 0) -> PitchDistance:
    """DPD and its companions between one item of the source's and the output's contours."""
    a, b = contour_cents(source, item), contour_cents(output, item)
    source_voiced = source.voiced[item]
    frames = min(source_voiced.shape[-1], output.voiced[item].shape[-1])
    kept = int((source_voiced[:frames] & output.voiced[item][:frames]).sum())
    voiced_kept = kept / len(a) if len(a) else float("nan")
    if len(a) == 0 or len(b) == 0:
        reason = "source has no voiced frames" if len(a) == 0 else "output has no voiced frames"
        return PitchDistance(float("nan"), float("nan"), float("nan"), voiced_kept, len(a), reason)
    steps = dtw_path_costs(absolute_cents(a, b))
    pitch_class = dtw_path_costs(pitch_class_cents(a, b))
    return PitchDistance(float(steps.mean()), float(pitch_class.mean()), float((steps <= 50).mean()), voiced_kept,
                         len(a))
