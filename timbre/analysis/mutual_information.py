"""Mutual information between continuous latent channels and discrete labels (instrument, pitch)."""
import numpy as np
from scipy.special import digamma


def knn_mutual_information(values: np.ndarray, labels: np.ndarray, k: int = 3) -> float:
    """I(X; Y) in nats for continuous 1-D X and discrete Y by Ross's k-nearest-neighbour estimator
    (Ross 2014, PLoS ONE 9(2); the estimator behind scikit-learn's mutual_info_classif), computed exactly in 1-D
    by sorting: a point's k nearest same-label neighbours lie among the k on either side of it in sorted order."""
    x = np.asarray(values, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if x.shape != y.shape:
        raise ValueError(f"values and labels differ in length: {x.shape[0]} != {y.shape[0]}")
    if not np.isfinite(x).all():
        raise ValueError("values contain NaN or infinity")
    classes, counts = np.unique(y, return_counts=True)
    keep = np.isin(y, classes[counts > 1])  # a label seen once has no neighbour: left out, as Ross does
    x, y = x[keep], y[keep]
    if x.size == 0:
        return 0.0
    radius, k_used, class_size = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    for label in np.unique(y):
        index = np.flatnonzero(y == label)
        order = index[np.argsort(x[index], kind="stable")]
        v = x[order]
        kk = min(k, v.size - 1)
        padded = np.concatenate([np.full(kk, np.inf), v, np.full(kk, np.inf)])
        offsets = np.concatenate([np.arange(-kk, 0), np.arange(1, kk + 1)])
        distances = np.abs(padded[kk + np.arange(v.size)[:, None] + offsets] - v[:, None])
        radius[order] = np.sort(distances, axis=1)[:, kk - 1]
        k_used[order], class_size[order] = kk, v.size
    everything = np.sort(x)
    within = np.where(radius > 0,  # points strictly closer than the k-th neighbour, the point itself included
                      np.searchsorted(everything, x + radius, "left") - np.searchsorted(everything, x - radius, "right"),
                      np.searchsorted(everything, x, "right") - np.searchsorted(everything, x, "left"))
    mi = digamma(x.size) + digamma(k_used).mean() - digamma(class_size).mean() - digamma(within).mean()
    return max(0.0, float(mi))


def channel_mutual_information(frames: np.ndarray, labels: np.ndarray, k: int = 3) -> np.ndarray:
    """(C,) MI of each column of (N, C) frames with the N labels (MI-guided inpainting 4.3.1)."""
    frames = np.asarray(frames)
    if frames.ndim != 2 or frames.shape[0] != len(labels):
        raise ValueError(f"frames must be (N, C) with N = {len(labels)} labels, got {frames.shape}")
    return np.array([knn_mutual_information(frames[:, c], labels, k) for c in range(frames.shape[1])])


def ranking(mi: np.ndarray) -> np.ndarray:
    """Channel indices by decreasing MI (ties by index)."""
    return np.argsort(-np.asarray(mi), kind="stable")


def cumulative_share(mi: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """(C,) share of the total MI held by the first 1..C channels of `order` (default: MI's own ranking)."""
    mi = np.asarray(mi, dtype=np.float64)
    ordered = mi[ranking(mi) if order is None else np.asarray(order)]
    total = mi.sum()
    return np.cumsum(ordered) / total if total > 0 else np.linspace(1 / mi.size, 1.0, mi.size)


def top_share(mi: np.ndarray, fraction: float = 0.5, order: np.ndarray | None = None) -> float:
    """Share of the total MI held by the first `fraction` of channels of `order` (default: MI's own ranking; the
    paper reports most of it in the top half)."""
    curve = cumulative_share(mi, order)
    return float(curve[max(1, int(round(fraction * curve.size))) - 1])
