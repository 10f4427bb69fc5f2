"""The papers' tables from an evaluation summary, the (k, clamp) search, and their Markdown."""
import math

import pandas as pd

MI_TABLE = ("fad", "dpd_cents", "clap", "onset_f1", "correct", "within_50_cents", "voiced_kept")
DIFF_TONE_TABLE = ("chroma", "kad", "correct")
HEADERS = {"fad": "FAD ↓", "kad": "KAD ↓", "dpd_cents": "DPD (¢) ↓", "clap": "CLAP ↑", "onset_f1": "onset F1 ↑",
           "correct": "accuracy ↑", "within_50_cents": "≤50¢ ↑", "voiced_kept": "voiced kept ↑", "chroma": "chroma ↑"}
MI_METHODS = ("pni", "ddim-pni", "ddim-inversion", "mi-inpaint")
DIFF_TONE_METHODS = ("diff-tone", "diff-random", "diff-midpoint")


def table(summary: pd.DataFrame, methods: tuple[str, ...], metrics: tuple[str, ...]) -> pd.DataFrame:
    """Rows (method, setting) in the order of `methods`, then of first appearance; columns value, low, high per metric."""
    rows = []
    for method in methods:
        part = summary[summary["method"] == method]
        for setting in dict.fromkeys(part["setting"]):
            cells = part[part["setting"] == setting].set_index("metric")
            row = {"method": method, "setting": setting}
            for metric in metrics:
                value, low, high = (cells.loc[metric, c] if metric in cells.index else math.nan
                                    for c in ("value", "ci_low", "ci_high"))
                row.update({metric: value, f"{metric}_low": low, f"{metric}_high": high})
            row["items"] = cells.loc["items_ok", "value"] if "items_ok" in cells.index else 0
            rows.append(row)
    return pd.DataFrame(rows)


def pick_setting(mi_table: pd.DataFrame, dpd_bound: float) -> pd.Series | None:
    """The MI-inpaint setting with the best CLAP among those whose DPD is within the bound (MI-guided inpainting
    §4.4: best timbre similarity with minimal pitch drift); None when none is."""
    candidates = mi_table[(mi_table["method"] == "mi-inpaint") & (mi_table["dpd_cents"] <= dpd_bound)]
    return None if candidates.empty else candidates.loc[candidates["clap"].idxmax()]


def _cell(row, metric: str) -> str:
    value, low, high = row[metric], row.get(f"{metric}_low", math.nan), row.get(f"{metric}_high", math.nan)
    if value != value:
        return "–"
    digits = 1 if metric in ("dpd_cents", "kad") else 3
    interval = f" [{low:.{digits}f}, {high:.{digits}f}]" if low == low and high == high and high > low else ""
    return f"{value:.{digits}f}{interval}"


def markdown(frame: pd.DataFrame, metrics: tuple[str, ...]) -> str:
    header = "| method | setting | " + " | ".join(HEADERS[m] for m in metrics) + " | items |"
    lines = [header, "|" + " --- |" * (len(metrics) + 3)]
    for _, row in frame.iterrows():
        lines.append(f"| {row['method']} | {row['setting'] or '–'} | " + " | ".join(_cell(row, m) for m in metrics)
                     + f" | {int(row['items'])} |")
    return "\n".join(lines)


def markdown_html(text: str) -> str:
    """A Markdown pipe table (as `markdown` writes it) as an HTML table, its cells escaped."""
    import html

    lines = [line.strip().strip("|").split(" | ") for line in text.splitlines() if line.startswith("|")]
    head, body = lines[0], [row for row in lines[2:]]
    cells = lambda row, tag: "".join(f"<{tag}>{html.escape(c.strip())}</{tag}>" for c in row)
    return "<table>" + f"<tr>{cells(head, 'th')}</tr>" + "".join(f"<tr>{cells(r, 'td')}</tr>" for r in body) + "</table>"
