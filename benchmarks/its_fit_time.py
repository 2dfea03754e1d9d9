"""How long one ITS fit takes (`study.its.fit_its`) per family, and one counterfactual.

Series: 187 Harrow-like weeks (2017-09-04 to 2021-03-29) with the notebook's five periods
(innovation sites 1-2, reviews site 3, Covid waves 1-2), one harmonic pair. Each case is timed
`--repeats` times after one warm-up (time.perf_counter); min and median reported.

Run: `.venv/bin/python benchmarks/its_fit_time.py`; prints the table and rewrites the ITS
timing block of benchmarks/README.md (`--no-readme` to skip).
"""

from __future__ import annotations

import argparse
import platform
import re
from pathlib import Path

import numpy as np
from timing import min_and_median

from study import its

PERIODS = {
    "innovation_site_1": {"start": "2019-06-03"},
    "innovation_site_2": {"start": "2019-10-07"},
    "covid_wave_1": {"start": "2020-03-23", "kind": "context"},
    "reviews_site_3": {"start": "2020-08-03"},
    "covid_wave_2": {"start": "2020-11-05", "kind": "context"},
}
WINDOWS = {
    "pre_covid_innovation": ["2019-06-03", "2020-03-22"],
    "fy_2019_20": ["2019-04-01", "2020-03-31"],
    "fy_2020_21": ["2020-04-01", "2021-03-31"],
}
README = Path(__file__).with_name("README.md")
BEGIN, END = "<!-- its-fit-time:begin -->", "<!-- its-fit-time:end -->"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    data = its.simulate_its_counts(
        187,
        first_week="2017-09-04",
        baseline_per_week=7.0,
        periods=PERIODS,
        level_log={"innovation_site_1": -0.2, "covid_wave_1": 0.2},
        ar1_rho=0.3,
        ar1_sd=0.1,
        seed=1,
    )
    rows = []
    for family in its.FAMILIES:
        lo, med = min_and_median(
            lambda f=family: its.fit_its(data, PERIODS, family=f), args.repeats
        )
        rows.append((f"`fit_its`, {family}", lo, med))
    fit = its.fit_its(data, PERIODS, family="quasi_poisson")
    lo, med = min_and_median(
        lambda: its.counterfactual_effect(fit, WINDOWS, n_draws=2000, seed=1), args.repeats
    )
    rows.append(("`counterfactual_effect`, 2,000 draws, 3 windows", lo, med))
    lo, med = min_and_median(lambda: its.placebo_tests(data, PERIODS), max(3, args.repeats // 4))
    rows.append(("`placebo_tests`, quasi_poisson, 10 placebo dates", lo, med))
    lines = [
        f"187 weeks, 5 periods (10 period terms), 1 harmonic; {args.repeats} repeats after a "
        f"warm-up ({platform.system()} {platform.machine()}, Python "
        f"{platform.python_version()}, numpy {np.__version__}).",
        "",
        "| case | min (ms) | median (ms) |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {name} | {1000 * lo:.1f} | {1000 * med:.1f} |" for name, lo, med in rows]
    block = "\n".join(lines)
    print(block)
    if args.no_readme:
        return
    section = (
        f"{BEGIN}\n## ITS fit time (`its_fit_time.py`)\n\n"
        f"Run: `.venv/bin/python benchmarks/its_fit_time.py`.\n\n{block}\n{END}"
    )
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    if BEGIN in text and END in text:
        text = re.sub(
            re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S
        )
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section + "\n"
    README.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
