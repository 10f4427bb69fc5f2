"""Trade-off curves: target-instrument accuracy against pitch kept, one curve per method."""
from pathlib import Path


def plot_tradeoff(rows: list[dict], path: Path) -> None:
    """Left: accuracy vs median pitch error (cents); right: accuracy vs share of frames within 50 cents."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    labels = list(dict.fromkeys(r["label"] for r in rows))
    for label in labels:
        points = [r for r in rows if r["label"] == label]
        for ax, key in ((axes[0], "pitch_median_cents"), (axes[1], "pitch_within_50_cents")):
            ax.plot([p[key] for p in points], [p["target_accuracy"] for p in points], marker="o", label=label)
    axes[0].set_xlabel("median pitch error on frames voiced in both (cents)")
    axes[0].set_xscale("symlog", linthresh=10)
    axes[1].set_xlabel("share of frames within 50 cents of the source")
    axes[0].set_ylabel("target-instrument accuracy (audio classifier)")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
