"""Bootstrap confidence intervals of a metric's mean over items (Efron & Tibshirani 1993), by scipy.stats."""
import numpy as np
from scipy.stats import bootstrap

RESAMPLES = 2000  # bootstrap resamples
LEVEL = 0.95  # confidence level


def mean_with_ci(values, seed: int = 0, resamples: int = RESAMPLES, level: float = LEVEL) -> tuple[float, float, float, int]:
    """(mean, low, high, n) of the finite values: the percentile bootstrap interval of the mean, seeded so a
    summary is reproducible. NaN bounds for fewer than 2 values; a degenerate interval for constant values."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return float("nan"), float("nan"), float("nan"), 0
    mean = float(x.mean())
    if len(x) < 2:
        return mean, float("nan"), float("nan"), 1
    if np.all(x == x[0]):
        return mean, mean, mean, len(x)
    result = bootstrap((x,), np.mean, n_resamples=resamples, confidence_level=level, method="percentile",
                       rng=np.random.default_rng(seed), vectorized=True)
    return mean, float(result.confidence_interval.low), float(result.confidence_interval.high), len(x)
