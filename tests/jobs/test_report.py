"""The HTML report opens in headless Chromium: the summary table is there, every audio element loads its file."""
import functools
import http.server
import shutil
import threading

import numpy as np
import pandas as pd
import pytest

from cluster.evaluation_plan import EvalConfig, plan_shards, read_pairs, reference_jobs
from cluster.evaluation_summary import read_rows, read_statistics, summarise
from cluster.evaluator import Evaluator, stored_shards
from cluster.storage import LocalStore
from jobs.benchmark_tables import markdown, markdown_html, pick_setting, table
from jobs.report import pick_items, write_report
from timbre.audio import Audio, encode_audio
from timbre.models.bundle import bundle_fingerprint, debug_bundle

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def _evaluated(tmp_path):
    rate, seconds = 16000, 1.5
    t = np.arange(int(rate * seconds)) / rate
    store = LocalStore(tmp_path / "in")
    rows = []
    for i, hz in enumerate((220.0, 330.0)):
        for name, wave in (("src", np.sin(2 * np.pi * hz * t)), ("out", np.sign(np.sin(2 * np.pi * hz * t)))):
            store.put(f"{name}{i}.wav", encode_audio(Audio((0.3 * wave[:, None]).astype(np.float32), rate, "WAV", "FLOAT")))
        rows.append({"source": f"src{i}.wav", "output": f"out{i}.wav", "target": "violin & <b>cello</b>",
                     "method": "square", "setting": "k=<1>"})
    pd.DataFrame(rows).to_csv(tmp_path / "in" / "pairs.csv", index=False)
    config = EvalConfig(str(tmp_path / "in" / "pairs.csv"), str(tmp_path / "out"), bundle_fingerprint(debug_bundle()))
    pairs = read_pairs(config.pairs)
    references, used = reference_jobs(pairs)
    shards = plan_shards(pairs, references, config)
    out = LocalStore(tmp_path / "out")
    evaluator = Evaluator("debug", config)
    for shard in shards:
        evaluator.evaluate(shard, out)
    stored = set(stored_shards(out))
    rows = read_rows(out, shards, stored)
    return out, rows, summarise(rows, read_statistics(out, shards, stored), used, config), seconds


def test_items_are_picked_from_every_method_in_turn():
    rows = pd.DataFrame({"status": ["ok"] * 5 + ["failed"], "method": ["a", "a", "a", "b", "b", "c"],
                         "setting": [""] * 6, "item_id": list("uvwxyz")})
    assert pick_items(rows, 3)["item_id"].tolist() == ["u", "x", "v"]


def test_benchmark_search_picks_the_best_clap_within_the_dpd_bound():
    summary = pd.DataFrame([(m, s, metric, v, np.nan, np.nan, 4, "") for m, s, dpd, clap in (
        ("pni", "", 10.0, 0.9), ("mi-inpaint", "1", 80.0, 0.8), ("mi-inpaint", "2", 40.0, 0.6),
        ("mi-inpaint", "3", 20.0, 0.5)) for metric, v in (("dpd_cents", dpd), ("clap", clap), ("items_ok", 4))],
        columns=["method", "setting", "metric", "value", "ci_low", "ci_high", "n", "note"])
    mi = table(summary, ("pni", "mi-inpaint"), ("dpd_cents", "clap"))
    assert pick_setting(mi, 50.0)["setting"] == "2" and pick_setting(mi, 5.0) is None
    page = markdown_html(markdown(mi, ("dpd_cents", "clap")))
    assert page.count("<tr>") == 5 and "<td>80.0</td>" in page


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="Debian's chromium and chromium-driver are not installed "
                                                           "(make test installs them where apt-get can)")
def test_the_report_opens_in_headless_chromium_with_its_table_plots_and_playable_audio(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    store, rows, summary, seconds = _evaluated(tmp_path)
    key = write_report(store, rows, summary, "Report <test>", (("Extra", "<p id='extra'>x</p>"),), b"", items=4)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "out"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'profile'}", "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/{key}")
        assert driver.title == "Report <test>"
        summary_rows = driver.execute_script("return [...document.querySelectorAll('#summary tr')].map(r => r.innerText)")
        assert len(summary_rows) == 2 and summary_rows[1].startswith("square\tk=<1>")
        assert driver.execute_script("return document.getElementById('extra').innerText") == "x"
        audio = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const players = [...document.querySelectorAll('audio')];
            Promise.all(players.map(a => a.readyState >= 1 ? null : new Promise((ok, fail) => {
                a.addEventListener('loadedmetadata', ok); a.addEventListener('error', () => fail(a.src)); a.load();
            }))).then(() => done(players.map(a => [a.src, a.duration, a.error && a.error.code])),
                      src => done('failed: ' + src));""")
        assert len(audio) == 4 and all(error is None for _, _, error in audio), audio
        assert all(abs(duration - seconds) < 0.01 for _, duration, _ in audio), audio
        images = driver.execute_script(
            "return [...document.images].map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])")
        assert images and all(ok for _, ok in images), images
        assert {src for src, _ in images} >= {"tradeoff.png", "spectrograms/0-source.png", "spectrograms/1-output.png"}
    finally:
        driver.quit()
        server.shutdown()
