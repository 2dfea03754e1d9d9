"""Re-execute the committed notebooks in place with their default parameters (`make notebooks`).

The committed outputs are what nbval compares against, so they must be the default run. Each
notebook's `parameters` cell is first written from the parameter declaration
(`study.run.parameters`, the same source as params/default.yaml), then the notebook is run.
Uses nbclient without timing metadata so that re-running gives an identical file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from study.run.parameters import write_parameters_cell

ROOT = Path(__file__).resolve().parents[1]


def refresh(path: Path) -> None:
    write_parameters_cell(path)
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        for key in ("papermill", "execution"):
            cell.metadata.pop(key, None)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=600,
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    nbformat.write(nb, path)


if __name__ == "__main__":
    targets = [Path(a) for a in sys.argv[1:]] or sorted(
        (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")
    )
    for target in targets:
        print(f"executing {target.name}", flush=True)
        refresh(target)
