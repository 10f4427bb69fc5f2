"""The static HTML report of an evaluation (no server needed): the summary table, the CLAP-DPD trade-off plot,
per-item rows with audio players and spectrograms of source and edit, and the bundle's MI channel curve. Its files
go under `report/` at the evaluation's output, through the same store as everything else."""
import html
import io

import numpy as np
import pandas as pd
import soundfile as sf

from cluster.storage import StorageError, split_uri
from jobs.report_plots import spectrogram_png, tradeoff_png
from timbre.audio import decode_audio
from timbre.errors import AudioError

REPORT = "report"
ITEM_METRICS = ("clap", "correct", "dpd_cents", "within_50_cents", "voiced_kept", "onset_f1", "chroma")
STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1300px}table{border-collapse:collapse;
font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f3f3f3}
td.text{text-align:left}img.spec{width:240px;height:105px;display:block}audio{width:240px}"""


def _summary_html(summary: pd.DataFrame) -> str:
    metrics = [m for m in dict.fromkeys(summary["metric"]) if not m.startswith("items_")]
    head = "".join(f"<th>{html.escape(m)}</th>" for m in ["method", "setting", *metrics, "items ok"])
    body = []
    for (method, setting), group in summary.groupby(["method", "setting"], sort=False):
        cells = group.set_index("metric")
        row = [f'<td class="text">{html.escape(str(method))}</td>', f'<td class="text">{html.escape(str(setting))}</td>']
        for m in metrics:
            value, low, high = (cells.loc[m, c] for c in ("value", "ci_low", "ci_high"))
            interval = f"<br><small>[{low:.3g}, {high:.3g}]</small>" if np.isfinite(low) and np.isfinite(high) else ""
            row.append(f"<td>{value:.3g}{interval}</td>" if np.isfinite(value) else "<td>–</td>")
        row.append(f"<td>{int(cells.loc['items_ok', 'value'])}</td>" if "items_ok" in cells.index else "<td></td>")
        body.append(f"<tr>{''.join(row)}</tr>")
    return f'<table id="summary"><tr>{head}</tr>{"".join(body)}</table>'


def pick_items(rows: pd.DataFrame, count: int) -> pd.DataFrame:
    """Up to `count` evaluated items, taken in turn from each method and setting so every one is heard."""
    ok = rows[rows["status"] == "ok"]
    groups = [g for _, g in ok.groupby(["method", "setting"], sort=False)]
    picked, depth = [], 0
    while len(picked) < count and any(depth < len(g) for g in groups):
        picked += [g.iloc[depth] for g in groups if depth < len(g)][: count - len(picked)]
        depth += 1
    return pd.DataFrame(picked)


def _listening_copy(uri: str) -> tuple[bytes, np.ndarray, int]:
    """A 16-bit FLAC of a recording for the player (the report's copy; the evaluated file is untouched), its mono
    wave and rate."""
    store, key = split_uri(uri)
    audio = decode_audio(store.get(key), uri)
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(audio.samples, -1, 1), audio.sample_rate, format="FLAC", subtype="PCM_16")
    return buffer.getvalue(), audio.samples.mean(axis=1), audio.sample_rate


def _item_rows(rows: pd.DataFrame, store, count: int) -> str:
    lines = []
    for n, item in enumerate(pick_items(rows, count).itertuples(index=False)):
        cells = []
        for side, uri in (("source", item.source), ("output", item.output)):
            try:
                flac, wave, rate = _listening_copy(uri)
            except (StorageError, AudioError) as e:
                cells.append(f'<td class="text">{html.escape(str(e))}</td>')
                continue
            store.put(f"{REPORT}/audio/{n}-{side}.flac", flac, create_only=False)
            store.put(f"{REPORT}/spectrograms/{n}-{side}.png", spectrogram_png(wave, rate), create_only=False)
            cells.append(f'<td><img class="spec" src="spectrograms/{n}-{side}.png" alt="{side} spectrogram">'
                         f'<audio controls preload="metadata" src="audio/{n}-{side}.flac"></audio></td>')
        values = "".join(f"<td>{getattr(item, m):.3g}</td>" if np.isfinite(getattr(item, m)) else "<td>–</td>"
                         for m in ITEM_METRICS)
        lines.append(f'<tr class="item"><td class="text">{html.escape(str(item.method))}<br>'
                     f'{html.escape(str(item.setting))}<br><small>{html.escape(str(item.target))}</small></td>'
                     f'{"".join(cells)}{values}</tr>')
    head = "".join(f"<th>{h}</th>" for h in ["edit", "source", "output", *ITEM_METRICS])
    return f'<table id="items"><tr>{head}</tr>{"".join(lines)}</table>'


def write_report(store, rows: pd.DataFrame, summary: pd.DataFrame, title: str, sections: tuple = (),
                 mi_png: bytes | None = None, items: int = 24) -> str:
    """Write the report's files; returns the key of index.html. `sections` are (heading, trusted HTML) pairs."""
    store.put(f"{REPORT}/tradeoff.png", tradeoff_png(summary), create_only=False)
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>{len(rows)} items: " + ", ".join(f"{v} {html.escape(k)}" for k, v in rows["status"].value_counts().items())
             + ". Means with percentile-bootstrap 95% intervals; FAD and KAD notes are in summary.parquet.</p>",
             "<h2>Summary</h2>", _summary_html(summary)]
    for heading, body in sections:
        parts += [f"<h2>{html.escape(heading)}</h2>", body]
    parts += ["<h2>Timbre against structure</h2>", '<img id="tradeoff" src="tradeoff.png" alt="CLAP against DPD">']
    if mi_png:
        store.put(f"{REPORT}/mi.png", mi_png, create_only=False)
        parts += ["<h2>MI channel curve</h2>", '<img id="mi" src="mi.png" alt="cumulative MI against top-k">']
    parts += ["<h2>Items</h2><p>Players hold 16-bit FLAC listening copies.</p>", _item_rows(rows, store, items)]
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")
    key = f"{REPORT}/index.html"
    store.put(key, page.encode(), create_only=False)
    return key
