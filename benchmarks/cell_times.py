"""Where a run's time goes, cell by cell: papermill's duration of every code cell in a run
folder's executed notebooks (`<run>/notebooks/*.ipynb`, metadata `papermill.duration`).

With `study run --jobs 1` one kernel runs at a time, so a cell's wall time is close to its
CPU time; with 2 jobs two kernels share the cores and the durations include waiting.

Run: `.venv/bin/python benchmarks/cell_times.py reports/<run> [--top 6]`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def cell_times(notebook: Path) -> list[tuple[float, int, str]]:
    """(seconds, cell index, first line of the source) of every code cell of an executed
    notebook, in cell order (0 seconds where papermill recorded none)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    rows = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        first = next((line for line in source.splitlines() if line.strip()), "")
        seconds = cell.get("metadata", {}).get("papermill", {}).get("duration") or 0.0
        rows.append((float(seconds), i, first))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a run folder (reports/<run>)")
    ap.add_argument("--top", type=int, default=6, help="slowest cells shown per notebook")
    args = ap.parse_args()
    notebooks = sorted((args.run / "notebooks").glob("*.ipynb"))
    if not notebooks:
        raise SystemExit(f"error: no executed notebooks in {args.run / 'notebooks'}")
    print("| notebook | cells (s) | slowest cells (s) |\n| --- | --- | --- |")
    for path in notebooks:
        rows = cell_times(path)
        slow = sorted(rows, reverse=True)[: args.top]
        shown = "; ".join(f"[{i}] {s:.2f} `{text[:60]}`" for s, i, text in slow)
        print(f"| {path.stem} | {sum(r[0] for r in rows):.2f} | {shown} |")


if __name__ == "__main__":
    main()
