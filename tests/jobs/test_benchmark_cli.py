"""`timbre benchmark` end to end on the tiny twin: both tables, the search line, the report; a changed re-run is refused."""
import pandas as pd
import pytest

from jobs.cli import main


@pytest.mark.slow
def test_benchmark_writes_both_tables_and_the_report_and_refuses_other_settings_in_the_same_folder(tmp_path, capsys):
    import ray

    ray.shutdown()
    args = ["benchmark", "--out", str(tmp_path), "--model", "debug", "--items", "2", "--seconds", "1", "--steps", "2",
            "--no-progress"]
    assert main(args) == 0
    mi = pd.read_parquet(tmp_path / "mi_inpainting_table.parquet")
    assert mi["method"].tolist() == ["pni", "ddim-pni", "ddim-inversion"] + ["mi-inpaint"] * 6
    assert mi["setting"].str.startswith(("1:", "2:", "3:", "4:", "5:", "6:")).sum() == 6 and (mi["items"] == 2).all()
    diff_tone = pd.read_parquet(tmp_path / "diff_tone_table.parquet")
    assert diff_tone["method"].tolist() == ["diff-tone", "diff-random", "diff-midpoint"]
    text = (tmp_path / "benchmark.md").read_text()
    assert "| DPD (¢) ↓ |" in text and "**Search**: best CLAP with DPD ≤ 50¢" in text and "`timbre benchmark --out" in text
    assert "--level-window 1.0" in text
    page = (tmp_path / "evaluation" / "report" / "index.html").read_text()
    assert "MI-guided inpainting table" in page and "Diff-TONE table" in page and page.count('<tr class="item">') == 24
    assert main(args[:5] + ["--items", "3"] + args[7:]) == 2
    assert "holds a benchmark made with another items" in capsys.readouterr().err
    ray.shutdown()
