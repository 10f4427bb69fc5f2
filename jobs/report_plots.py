"""The report's pictures as PNG bytes (matplotlib, Agg): the timbre-structure trade-off and spectrograms."""
import io

import numpy as np
import pandas as pd


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    _pyplot().close(fig)
    return buffer.getvalue()


def tradeoff_png(summary: pd.DataFrame) -> bytes:
    """CLAP similarity against DPD per method and setting, with their 95% intervals: up and left is better."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    wide = summary.set_index(["method", "setting", "metric"])
    for method in dict.fromkeys(summary["method"]):
        points = []
        for setting in dict.fromkeys(summary.loc[summary["method"] == method, "setting"]):
            try:
                dpd, clap = wide.loc[(method, setting, "dpd_cents")], wide.loc[(method, setting, "clap")]
            except KeyError:
                continue
            if np.isfinite(dpd["value"]) and np.isfinite(clap["value"]):
                points.append((dpd, clap, setting))
        if not points:
            continue
        x = [p[0]["value"] for p in points]
        y = [p[1]["value"] for p in points]
        xerr = np.abs(np.array([[p[0]["value"] - p[0]["ci_low"], p[0]["ci_high"] - p[0]["value"]] for p in points]).T)
        yerr = np.abs(np.array([[p[1]["value"] - p[1]["ci_low"], p[1]["ci_high"] - p[1]["value"]] for p in points]).T)
        ax.errorbar(x, y, xerr=np.nan_to_num(xerr), yerr=np.nan_to_num(yerr), marker="o", linestyle="none",
                    capsize=2, label=method)
        for xi, yi, (_, _, setting) in zip(x, y, points):
            if setting:
                ax.annotate(setting.split(":")[0], (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlabel("Dynamic Pitch Distance (cents, lower keeps structure)")
    ax.set_ylabel("CLAP similarity to the target")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def spectrogram_png(wave: np.ndarray, rate: int) -> bytes:
    """A small log-power spectrogram of a mono wave."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(3.2, 1.4))
    if len(wave) >= 512 and np.any(wave):
        with np.errstate(divide="ignore"):  # exact zeros in the spectrum are -inf dB: drawn as the floor
            ax.specgram(wave, NFFT=512, Fs=rate, noverlap=384, cmap="magma", scale="dB")
    ax.set_axis_off()
    fig.subplots_adjust(0, 0, 1, 1)
    return _png(fig)
