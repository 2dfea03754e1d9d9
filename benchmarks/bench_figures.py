"""What writing the run's figures costs: the CPU time of the recorder's PNG and SVG rendering
in each notebook of the default run.

Each notebook runs as `study run` runs it (papermill, its kernel, the default parameters of
params/default.yaml, a temporary run folder), with two cells added: after the parameters cell,
one that wraps the recorder's `figure_png` and `figure_svg` (`study.run.recorder`) in a timer
of the kernel's CPU time (`time.process_time`); at the end, one that prints the totals. The
figures are the ones the run saves, rendered once each per format, as in a run.

Run: `.venv/bin/python benchmarks/bench_figures.py [--only 06]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import nbformat

from study import config
from study.run.pipeline import discover_notebooks, plan_run, select_notebooks
from study.run.worker import KERNEL, KERNEL_THREADS, skip_iri_grammar

MARK = "FIGURE_TIMES "
TIMERS = """\
import time as _t
from study.run import recorder as _rec
_fig_cpu = {"png": 0.0, "svg": 0.0, "n": 0}
def _timed(kind, fn):
    def wrapper(*args, **kwargs):
        t0 = _t.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            _fig_cpu[kind] += _t.process_time() - t0
            _fig_cpu["n"] += kind == "png"
    return wrapper
_rec.figure_png = _timed("png", _rec.figure_png)
_rec.figure_svg = _timed("svg", _rec.figure_svg)
"""
REPORT = f'import json as _j\nprint("{MARK}" + _j.dumps(_fig_cpu))'


def timed_notebook(source: Path, parameters: dict, folder: Path) -> dict:
    """Execute one notebook with the timer cells; its figure count and PNG/SVG CPU seconds."""
    import papermill as pm

    nb = nbformat.read(source, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(TIMERS))
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    timed = folder / source.name
    nbformat.write(nb, timed)
    out = pm.execute_notebook(
        str(timed),
        str(folder / f"out-{source.name}"),
        parameters=parameters,
        kernel_name=KERNEL,
        cwd=str(config.NOTEBOOKS_DIR),
        progress_bar=False,
    )
    text = "".join(o.get("text", "") for o in out.cells[-1].outputs if o.output_type == "stream")
    return json.loads(text.split(MARK, 1)[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", default=[], help="notebook number or name")
    args = ap.parse_args()
    skip_iri_grammar()
    for name, value in KERNEL_THREADS.items():  # as the run's workers start their kernels
        os.environ.setdefault(name, value)
    plan = plan_run(config.DEFAULT_PARAMS, [], notebooks=discover_notebooks())
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-figures-") as tmp:
        run_dir = Path(tmp) / "run"
        run_dir.mkdir()
        for nb in select_notebooks(plan.notebooks, args.only):
            params = {**plan.parameters[nb.name], "run_dir": str(run_dir)}
            got = timed_notebook(nb.path, params, Path(tmp))
            rows.append((nb.name, got["n"], got["png"], got["svg"]))
            print(f"{nb.name}: {got['n']} figures, PNG {got['png']:.2f} s, SVG {got['svg']:.2f} s",
                  file=sys.stderr)  # fmt: skip
    print(f"Python {sys.version.split()[0]}, {platform.machine()}, {platform.system()}, "
          f"{os.cpu_count()} CPUs; kernel CPU seconds (process_time)\n")  # fmt: skip
    print("| notebook | figures | PNG (s) | SVG (s) | both (s) |\n| --- | --- | --- | --- | --- |")
    for name, n, png, svg in rows:
        print(f"| {name} | {n} | {png:.2f} | {svg:.2f} | {png + svg:.2f} |")
    n, png, svg = (sum(r[k] for r in rows) for k in (1, 2, 3))
    print(f"| **all** | {n} | {png:.2f} | {svg:.2f} | **{png + svg:.2f}** |")


if __name__ == "__main__":
    main()
