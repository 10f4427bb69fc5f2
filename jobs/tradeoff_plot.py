"""Trade-off curves: target-instrument accuracy against pitch kept, one curve per method.

`python -m jobs.tradeoff_plot TRADEOFF_JSON PNG` redraws a plot from a recorded sweep."""
import json
import sys
from pathlib import Path

PANELS = (("pitch_median_cents", "median pitch error on frames voiced in both (cents)"),
          ("pitch_within_50_cents", "share of frames within 50 cents of the source"),
          ("pitch_voiced_kept", "share of the source's voiced frames still voiced"),
          ("pitch_voiced_kept_where_reference_voiced", "... among those the target instrument keeps voiced"))
STYLES = {"rendition": {"marker": "*", "markersize": 14, "color": "black", "linestyle": "none"},
          "round-trip": {"marker": "*", "markersize": 14, "color": "grey", "linestyle": "none"},
          "oracle-swap": {"marker": "o", "markerfacecolor": "none", "linestyle": "--"},
          "donor-swap": {"marker": "s", "markerfacecolor": "none", "linestyle": ":"}}  # references, not methods


def plot_tradeoff(rows: list[dict], path: Path) -> None:
    """Accuracy against each pitch measure; a method's settings are joined in order of the pitch measure."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(key, title) for key, title in PANELS if all(key in r for r in rows)]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.5), sharey=True)
    for label in dict.fromkeys(r["label"] for r in rows):
        points = [r for r in rows if r["label"] == label]
        style = STYLES.get(points[0].get("method"), {"marker": "o"})
        for ax, (key, _) in zip(axes, panels):
            ordered = sorted(points, key=lambda p: p[key])
            ax.plot([p[key] for p in ordered], [p["target_accuracy"] for p in ordered], label=label, **style)
    for ax, (key, title) in zip(axes, panels):
        ax.set_xlabel(title)
        ax.grid(alpha=0.3)
    axes[0].set_xscale("symlog", linthresh=10)
    axes[0].set_ylabel("target-instrument accuracy (audio classifier)")
    axes[-1].legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    plot_tradeoff(json.loads(Path(sys.argv[1]).read_text())["rows"], Path(sys.argv[2]))
