"""No checkpoint is unpickled: every torch.load in the code passes weights_only=True."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_torch_load_without_weights_only():
    offenders = []
    for path in list(ROOT.glob("timbre/**/*.py")) + list(ROOT.glob("cluster/**/*.py")) + list(ROOT.glob("jobs/**/*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"torch\.load\(", line) and "weights_only=True" not in line:
                offenders.append(f"{path.relative_to(ROOT)}:{n}")
    assert offenders == []
