"""How long notebook 07's ITS power simulation takes for one site and one length grid.

Case: Harrow's default model of notebook 03 (synthetic weekly series, quasi-Poisson, one
harmonic pair) -> `study.power.its_power_model` (52 weeks before go-live), then for the default
grid of weeks after go-live (26, 39, 52, 78, 104, 156) `study.power.its_power` at five effects
(none, 10%, 20%, the published 23.6%, 30%) and `study.power.its_mde` at 80% power, 1,000
simulated series per length and effect: 6 x (5 + 1 + 5) x 1,000 = 66,000 quasi-Poisson fits
(vectorised IRLS, `study.power.fit_poisson_batch`). Timed `--repeats` times after a warm-up.

Run: `.venv/bin/python benchmarks/bench_power.py`; prints the table and rewrites the power
block of benchmarks/README.md (`--no-readme` to skip).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
from pathlib import Path

import numpy as np
from timing import min_and_median

from study import config, its, power
from study.data.records import read_records
from study.run.parameters import PERIODS, WINDOWS

README = Path(__file__).with_name("README.md")
BEGIN, END = "<!-- power:begin -->", "<!-- power:end -->"
WEEKS_AFTER = (26, 39, 52, 78, 104, 156)
REDUCTIONS = (0.0, 0.1, 0.2, 1 - 5.5 / 7.2, 0.3)
N_SIMS = 1000


def one_site_grid(model: power.ITSPowerModel) -> None:
    power.its_power(model, WEEKS_AFTER, REDUCTIONS, n_sims=N_SIMS, seed=1)
    for j, weeks in enumerate(WEEKS_AFTER):
        power.its_mde(model, weeks, power=0.8, n_sims=N_SIMS, seed=100 + j)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    weekly = read_records(
        config.resolve_path("data/synthetic/harrow_weekly_synthetic.csv"), "weekly"
    )
    cut = its.data_up_to(weekly, PERIODS, WINDOWS, "")
    series = cut.weekly[
        (cut.weekly["site"] == "harrow") & (cut.weekly["series"] == "new_long_term_starts")
    ]
    fit = its.fit_its(series, cut.periods)
    model = power.its_power_model(fit, weeks_before=52)
    fits = len(WEEKS_AFTER) * (len(REDUCTIONS) + 1 + len(power.LOCAL_GRID)) * N_SIMS
    low, median = min_and_median(lambda: one_site_grid(model), args.repeats)
    rows = [
        (
            "Harrow, 6 lengths x (5 effects + MDE), 1,000 series each "
            f"({fits:,} quasi-Poisson fits)",
            low,
            median,
        )
    ]
    table = ["| case | min (s) | median (s) | target |", "| --- | --- | --- | --- |"]
    table += [
        f"| {c} | {a:.2f} | {b:.2f} | < 10 s ({'met' if b < 10 else 'NOT met'}) |"
        for c, a, b in rows
    ]
    print("\n".join(table))
    if args.no_readme:
        return
    block = "\n".join(
        [
            BEGIN,
            "## Evaluation design: ITS power simulation (`bench_power.py`)",
            "",
            "Requirement (the evaluation-design issue): the simulation for one site and one "
            "length grid under 10 s on 2 cores. Run: `.venv/bin/python benchmarks/bench_power.py` "
            f"({args.repeats} timed repeats after one warm-up; see the script's docstring for the "
            "case).",
            "",
            f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}, numpy {np.__version__}:",
            "",
            *table,
            END,
        ]
    )
    text = README.read_text(encoding="utf-8")
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    README.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
