"""`python -m jobs.ship_default TRAINED DEST [COMMAND]`: copy a trained bundle folder into the package as the `default`
bundle, weights in float16 (half the size; the analysis tensors stay float32), with its training records, MI plot and
the command that trained it (`make train-default` unless given)."""
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import torch

from timbre.models.bundle import load_bundle_folder, save_bundle


def ship(trained: Path, dest: Path, command: str = "make train-default") -> None:
    bundle = load_bundle_folder(trained)
    provenance = {**bundle.provenance, "trained_as": bundle.name, "weights_dtype": "float16",
                  "command": command}
    if dest.exists():
        shutil.rmtree(dest)
    save_bundle(replace(bundle, name="default", provenance=provenance), dest, dtype=torch.float16)
    shutil.copytree(trained / "training", dest / "training")
    shutil.copy(trained / "mi.png", dest / "mi.png")


if __name__ == "__main__":
    ship(Path(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:4])
    print(f"shipped {sys.argv[1]} as {sys.argv[2]}")
