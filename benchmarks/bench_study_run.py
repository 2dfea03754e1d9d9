"""Wall time of the whole study (`study run`, default parameters, 2 jobs): per notebook, total.

Runs the pipeline into a temporary folder (nothing is written to reports/) and prints a
Markdown table. Run: `.venv/bin/python benchmarks/bench_study_run.py`.
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from pathlib import Path

from study.config import DEFAULT_PARAMS
from study.run.pipeline import plan_run, preflight, run_study


def main() -> None:
    t0 = time.perf_counter()
    plan = plan_run(DEFAULT_PARAMS)
    preflight(plan)
    t_plan = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        result = run_study(plan, Path(tmp) / "run")
    total = time.perf_counter() - t0
    print(f"Python {sys.version.split()[0]}, {platform.machine()}, {platform.system()}")
    print("| step | seconds |\n| --- | --- |")
    print(f"| plan + preflight (parameters, published data, data files) | {t_plan:.1f} |")
    for name, seconds in result.seconds.items():
        print(f"| {name} (papermill, kernel start, HTML; 2 at a time) | {seconds:.1f} |")
    print(f"| **total** ({result.n_estimates} estimates) | **{total:.1f}** |")


if __name__ == "__main__":
    main()
