"""The cumulative-MI vs top-k plot of a channel analysis (a PNG beside the bundle)."""
from pathlib import Path

import numpy as np

from timbre.analysis.channels import ChannelAnalysis
from timbre.analysis.mutual_information import cumulative_share


def _cumulative(mi: np.ndarray, order: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], cumulative_share(mi, order)])


def analyse_and_record(codec, corpus_seed: int, notes: int, record_path: Path, plot_path: Path) -> ChannelAnalysis:
    """Run the channel analysis on validation notes; write its JSON record and its plot."""
    import json
    import time

    from timbre.analysis.channels import analyse_channels
    from timbre.analysis.frames import note_frames

    start = time.perf_counter()
    analysis = analyse_channels(note_frames(codec, corpus_seed, notes))
    record = {"seconds": round(time.perf_counter() - start, 1), "notes": notes, **analysis.record()}
    record_path.parent.mkdir(parents=True, exist_ok=True)
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    plot_channel_analysis(analysis, plot_path)
    return analysis


def plot_channel_analysis(analysis: ChannelAnalysis, path: Path) -> None:
    """Share of total instrument and pitch MI held by the top-k directions of each ranking, against k / C."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = len(analysis.raw_ranking)
    k = np.arange(c + 1) / c
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, title, inst, pitch, order in (
            (axes[0], "raw channels (ranked by instrument MI)", analysis.raw_instrument_mi, analysis.raw_pitch_mi,
             analysis.raw_ranking),
            (axes[1], "timbre basis (ranked by instrument - pitch MI)", analysis.basis_instrument_mi,
             analysis.basis_pitch_mi, analysis.basis_ranking)):
        ax.plot(k, _cumulative(inst, order), label="instrument MI")
        ax.plot(k, _cumulative(pitch, order), label="pitch MI")
        ax.plot(k, k, color="grey", linestyle=":", label="uniform")
        ax.axvline(0.5, color="grey", linewidth=0.5)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("top-k fraction of directions")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of total MI")
    axes[0].legend(loc="lower right")
    fig.suptitle(f"Cumulative MI vs top-k ({analysis.frames} latent frames)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
