"""Benchmark: study.panel and study.synthetic_control on a simulated 150 councils x 8 years.

Target: the full synthetic-control placebo-in-space run (every donor as pseudo-treated) in a
few seconds at most on 2 cores, unpenalised (ADH 2010, NNLS) and penalised (Abadie & L'Hour
2021, active-set QP; lambda 0.01 needs the most active-set steps, lambda 10 the fewest), the
hold-out choice of lambda over the default grid, and notebook 06's cases: placebos with each
unit's lambda chosen by hold-out (`penalty="holdout"`: 11 fits per unit) and conformal
intervals (`synthetic_control_conformal`). Run from the project root:

    .venv/bin/python benchmarks/bench_panel.py

Prints one Markdown table row per case (min and median wall time of `--repeats` runs after a
warm-up). A script, not a timed test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np
import pandas as pd
from timing import min_and_median

from study import panel
from study import synthetic_control as sc
from study.data.synthetic import simulated_council_panel

TARGET_SECONDS = 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    cases = []
    for n_units, n_years, n_pre in ((150, 8, 4), (150, 20, 12)):
        data = simulated_council_panel(n_units, n_years, n_pre, effect=5.0, seed=2019)
        kw = {"treated": "E00000000", "treatment_start": data["year"].iloc[n_pre]}
        size = f"{n_units} x {n_years} ({n_units - 1} donors, {n_pre} pre-periods)"
        cases += [
            (f"`synthetic_control`, {size}", lambda d=data, k=kw: sc.synthetic_control(d, **k)),
            (
                f"`synthetic_control_placebo`, {size}",
                lambda d=data, k=kw: sc.synthetic_control_placebo(d, **k),
            ),
            *(
                (
                    f"`synthetic_control_placebo`, penalty = {lam:g}, {size}",
                    lambda d=data, k=kw, lam=lam: sc.synthetic_control_placebo(d, **k, penalty=lam),
                )
                for lam in (0.01, 1.0, 10.0)
            ),
            (
                f"`choose_penalty` ({len(sc.DEFAULT_PENALTY_GRID)} values), {size}",
                lambda d=data, k=kw: sc.choose_penalty(d, **k),
            ),
            (
                f"`synthetic_control_placebo`, penalty = 'holdout', {size}",
                lambda d=data, k=kw: sc.synthetic_control_placebo(d, **k, penalty="holdout"),
            ),
            (
                f"`synthetic_control_conformal`, penalty = 0.01, {size}",
                lambda d=data, k=kw: sc.synthetic_control_conformal(d, **k, penalty=0.01),
            ),
            (
                f"`event_study_did` (OLS + {n_units - 1} placebos), {size}",
                lambda d=data, k=kw: panel.event_study_did(d, **k),
            ),
        ]
    print(
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}"
    )
    print("| case | min (s) | median (s) |")
    print("| --- | --- | --- |")
    for name, fn in cases:
        best, median = min_and_median(fn, args.repeats)
        print(f"| {name} | {best:.3f} | {median:.3f} |")
    print(f"Target for the 150 x 8 placebo runs (penalised or not): < {TARGET_SECONDS:.0f} s.")


if __name__ == "__main__":
    main()
