"""An edit's level course brought back to its source's: a re-orchestrated stem keeps its place in the mix.

Guidance sharpens the harmonic peaks a latent diffusion model generates in a log-magnitude latent space, and the
edit's level then moves by tens of dB from the source's (docs/models.md, "The edits' level"). The gain follows the
ratio of the two clips' power, smoothed over a window of phrase length, so the target instrument's note envelopes
(faster than the window) stay its own while the stem's dynamics and level follow the source."""
import numpy as np

HOP_SECONDS = 0.01  # the level course's frame
SILENT_DB = -100.0  # power floor (dB re full scale) of both courses: silence in the source stays silence
ACTIVE_DB = -60.0  # source frames above this count in the reported gains
LEVEL_GAIN_FACTS = ("level_gain_db_median", "level_gain_db_min", "level_gain_db_max")  # what match_level reports


def frame_hop(sample_rate: int) -> int:
    """Samples per level-course frame."""
    return max(1, int(round(HOP_SECONDS * sample_rate)))


def level_course_db(waves: np.ndarray, sample_rate: int, window_seconds: float) -> np.ndarray:
    """(channels, samples) -> (channels, frames) power in dB re full scale of each 10 ms frame, averaged over a Hann
    window of `window_seconds` around it."""
    hop = frame_hop(sample_rate)
    frames = -(-waves.shape[1] // hop)
    padded = np.zeros((waves.shape[0], frames * hop), np.float64)
    padded[:, : waves.shape[1]] = waves
    power = (padded.reshape(waves.shape[0], frames, hop) ** 2).mean(-1)
    width = max(1, int(round(window_seconds / HOP_SECONDS)) | 1)  # odd, so the window is centred
    window = np.hanning(width + 2)[1:-1]
    window /= window.sum()
    smooth = np.stack([np.convolve(row, window, mode="same") for row in power])
    return 10 * np.log10(np.maximum(smooth, 10 ** (SILENT_DB / 10)))


def match_level(edited: np.ndarray, source: np.ndarray, sample_rate: int, window_seconds: float,
                max_boost_db: float) -> tuple[np.ndarray, dict[str, float]]:
    """The edit (channels, samples) with each channel's level course (`level_course_db`) made its source channel's,
    the gain never above +max_boost_db (a near-silent edit is not raised into noise), and the gains it took in dB
    over the source's active frames (median, least and most)."""
    if edited.shape != source.shape:
        raise ValueError(f"edited {edited.shape} and source {source.shape} must have one shape")
    wanted = level_course_db(source, sample_rate, window_seconds)
    gain_db = np.minimum(wanted - level_course_db(edited, sample_rate, window_seconds), max_boost_db)
    hop = frame_hop(sample_rate)
    centres = (np.arange(gain_db.shape[1]) + 0.5) * hop
    samples = np.arange(edited.shape[1])
    gain = np.stack([10 ** (np.interp(samples, centres, row) / 20) for row in gain_db])
    active = gain_db[wanted > ACTIVE_DB]
    facts = {} if active.size == 0 else dict(zip(LEVEL_GAIN_FACTS, map(float, (np.median(active), active.min(),
                                                                               active.max()))))
    return (edited * gain).astype(edited.dtype), facts
