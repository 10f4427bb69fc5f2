"""Fréchet Audio Distance (Kilgour et al. 2019) from statistics that merge exactly across shards."""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class GaussianStats:
    """Sufficient statistics of a set of embedding frames: count, sum and sum of outer products (float64).
    Shards add up to exactly the statistics of their union, in any order."""

    n: int
    total: np.ndarray  # (d,)
    outer: np.ndarray  # (d, d)

    @classmethod
    def empty(cls, dim: int) -> "GaussianStats":
        return cls(0, np.zeros(dim), np.zeros((dim, dim)))

    @classmethod
    def of(cls, frames: np.ndarray) -> "GaussianStats":
        """Statistics of (n, d) embedding frames; every frame counts (FAD fits all frames, not one per clip)."""
        x = np.asarray(frames, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"embedding frames must be (n, d), got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("embedding frames hold NaN or infinite values")
        return cls(len(x), x.sum(0), x.T @ x)

    def __add__(self, other: "GaussianStats") -> "GaussianStats":
        if self.total.shape != other.total.shape:
            raise ValueError(f"cannot merge statistics of dimension {len(self.total)} and {len(other.total)}")
        return GaussianStats(self.n + other.n, self.total + other.total, self.outer + other.outer)

    @property
    def mean(self) -> np.ndarray:
        return self.total / self.n

    @property
    def covariance(self) -> np.ndarray:
        """Unbiased sample covariance (n - 1), as numpy.cov and the reference implementations use."""
        if self.n < 2:
            raise ValueError(f"a covariance needs at least 2 frames, got {self.n}")
        centred = self.outer - np.outer(self.total, self.total) / self.n
        return (centred + centred.T) / (2 * (self.n - 1))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by its eigendecomposition (negative rounding
    noise in the eigenvalues clipped to 0)."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray, cov_b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2)) (Dowson & Landau 1982). The trace of (C_a C_b)^(1/2)
    is taken as that of (C_a^(1/2) C_b C_a^(1/2))^(1/2), a symmetric PSD matrix with the same eigenvalues, so no
    general (complex) matrix square root is needed."""
    root_a = _psd_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    trace_root = float(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum())
    diff = mean_a - mean_b
    return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def fad(reference: GaussianStats, evaluated: GaussianStats) -> float:
    """FAD between two sets of embedding frames given by their statistics."""
    return frechet_distance(reference.mean, reference.covariance, evaluated.mean, evaluated.covariance)
