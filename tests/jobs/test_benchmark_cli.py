"""`timbre benchmark` end to end on the tiny twin: both tables, the search line, the report; a changed re-run is refused."""
import pandas as pd
import pytest

from jobs.benchmark import table_cfgs
from jobs.cli import main


def test_each_table_takes_the_given_cfg_else_the_bundles_tuned_cfg_for_its_method_else_two():
    tuned = {"mi-inpaint": {"space": "raw", "k": 0.75, "cfg": 1.5}, "diff-tone": {"k": 0.75, "cfg": 3.0}}
    assert table_cfgs(None, tuned) == {"mi": 1.5, "diff-tone": 3.0}
    assert table_cfgs(4.0, tuned) == {"mi": 4.0, "diff-tone": 4.0}
    assert table_cfgs(None, {"mi-inpaint": {"k": 0.5}}) == {"mi": 2.0, "diff-tone": 2.0}
    assert table_cfgs(None, {}) == {"mi": 2.0, "diff-tone": 2.0}


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
    assert "--level-window 1.0" in text and "--cfg" not in text  # the debug twin names no tuned guidance: 2 for both
    assert "(held-out melodies, cfg 2;" in text and "(the bundle's generations, cfg 2;" in text
    page = (tmp_path / "evaluation" / "report" / "index.html").read_text()
    assert "MI-guided inpainting table" in page and "Diff-TONE table" in page and page.count('<tr class="item">') == 24
    assert main(args[:5] + ["--items", "3"] + args[7:]) == 2
    assert "holds a benchmark made with another items" in capsys.readouterr().err
    assert main(args + ["--cfg", "3"]) == 2
    assert "holds a benchmark made with another cfg" in capsys.readouterr().err
    ray.shutdown()
