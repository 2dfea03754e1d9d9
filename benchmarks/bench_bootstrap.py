"""Benchmark: 10,000-resample bootstrap (percentile + BCa) of 1,000 reviews' weekly cost changes.

Target: < 1 s. Run from the project root:

    .venv/bin/python benchmarks/bench_bootstrap.py

Prints one Markdown table row per case (min and median wall time of `--repeats` runs) for the
"Bootstrap" section of benchmarks/README.md. A script, not a timed test: timings depend on
the machine.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np
from timing import min_and_median

from study.bootstrap import bootstrap_ci, difference_in_means
from study.reviews import review_cost_change_bootstrap

TARGET_SECONDS = 1.0


def _reviews(n: int, rng: np.random.Generator):
    """Synthetic weekly cost changes: mostly no change, some increases and decreases (£)."""
    change = np.zeros(n)
    kind = rng.choice(3, size=n, p=[0.6, 0.25, 0.15])
    change[kind == 1] = rng.gamma(1.2, 60.0, (kind == 1).sum())
    change[kind == 2] = -rng.gamma(1.2, 40.0, (kind == 2).sum())
    return change


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--n-resamples", type=int, default=10_000)
    args = parser.parse_args()
    rng = np.random.default_rng(2020)
    x = _reviews(1000, rng)
    y = _reviews(1000, rng) + 15.0

    import pandas as pd

    records = pd.DataFrame(
        {
            "team": ["innovation_site_3"] * 500 + ["old_locality_team"] * 500,
            "covid_positive": pd.array([True, False] * 500, dtype="boolean"),
            "weekly_cost_before_gbp": 300.0,
            "weekly_cost_after_gbp": 300.0 + x,
            "status": "completed",
        }
    )
    b = args.n_resamples
    cases = [
        (
            f"mean of 1,000 reviews, {b:,} resamples, percentile + BCa",
            lambda: bootstrap_ci([x], n_resamples=b, seed=1),
        ),
        (
            f"difference of means, 1,000 + 1,000 reviews, {b:,} resamples, percentile + BCa",
            lambda: bootstrap_ci([x, y], difference_in_means, n_resamples=b, seed=1),
        ),
        (
            "review_cost_change_bootstrap, 1,000 reviews "
            f"(3 strata x (2 teams + difference + saving)), {b:,} resamples each",
            lambda: review_cost_change_bootstrap(records, n_resamples=b, seed=1),
        ),
    ]
    print(
        f"# {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )
    print("| case | min (s) | median (s) | target |")
    print("| --- | --- | --- | --- |")
    for name, fn in cases:
        lo, med = min_and_median(fn, args.repeats)
        target = f"< {TARGET_SECONDS:g} s" if name.startswith("mean of 1,000") else ""
        ok = "" if not target else (" (met)" if med < TARGET_SECONDS else " (NOT met)")
        print(f"| {name} | {lo:.3f} | {med:.3f} | {target}{ok} |")


if __name__ == "__main__":
    main()
