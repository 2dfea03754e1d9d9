"""Coverage and width of the conformal synthetic-control intervals by simulation (a script).

Each replicate is a panel of J donors and one treated unit from a two-factor model:
y_it = 50 + l_i1 f_t1 + l_i2 f_t2 + e_it, factors random walks (N(0, 1) steps), loadings
U(0.5, 1.5) (the treated unit's inside the donors' range, so a synthetic control can fit it),
e_it ~ N(0, 1) independent; the treated unit gets a constant effect `EFFECT` in every post
period. `study.synthetic_control.synthetic_control_conformal` (penalty 0, S_1 statistic) gives
per-period intervals (CWZ 2021 Algorithm 1) and the constant-effect interval for the average
(iid permutations: every set of post positions). We record whether each interval covers the
true effect and its width. Scenarios:

- ``long``: J = 20, T0 = 19 pre-periods, T* = 3 post, alpha = 0.1 (per-period p floor 1/20);
- ``oflog``: J = 20, T0 = 3, T* = 4, alpha = 0.05: the design of notebook 06's Harrow panel
  (per-period intervals are then the whole line: their smallest attainable p is 1/4).

Monte Carlo error of a coverage c over n intervals: sqrt(c (1 - c) / n).
Run: `.venv/bin/python benchmarks/conformal_coverage.py [--reps 200] [--workers 2]`; prints the
table and rewrites the conformal block of benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import platform
import re
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from study.synthetic_control import synthetic_control_conformal

EFFECT = 2.0
SCENARIOS = {"long": (20, 19, 3, 0.1), "oflog": (20, 3, 4, 0.05)}
README = Path(__file__).with_name("README.md")
BEGIN, END = "<!-- conformal:begin -->", "<!-- conformal:end -->"


def panel(J: int, T0: int, T1: int, seed: int) -> tuple[pd.DataFrame, str]:
    rng = np.random.default_rng(seed)
    T = T0 + T1
    f = rng.normal(size=(T, 2)).cumsum(axis=0)
    load = rng.uniform(0.5, 1.5, size=(J + 1, 2))
    Y = 50 + load @ f.T + rng.normal(size=(J + 1, T))
    Y[0, T0:] += EFFECT
    years = [str(2000 + t) for t in range(T)]
    rows = [
        {"geography_code": f"u{i:02d}", "year": years[t], "value": Y[i, t]}
        for i in range(J + 1)
        for t in range(T)
    ]
    return pd.DataFrame(rows), years[T0]


def replicate(args: tuple[str, int]) -> list[dict]:
    name, seed = args
    J, T0, T1, alpha = SCENARIOS[name]
    data, start = panel(J, T0, T1, seed)
    res = synthetic_control_conformal(data, treated="u00", treatment_start=start, alpha=alpha)
    table = res.table
    out = []
    for r in table.itertuples(index=False):
        out.append(
            {
                "scenario": name,
                "target": "average" if r.time == "average" else "per period",
                "covers": r.ci_low <= EFFECT <= r.ci_high,
                "width": r.ci_high - r.ci_low,
                "rejects_zero": r.p_value <= alpha,
            }
        )
    return out


def summarise(rows: list[dict], reps: int) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    g = df.groupby(["scenario", "target"], sort=False)
    out = g.agg(
        intervals=("covers", "size"),
        coverage=("covers", "mean"),
        median_width=("width", "median"),
        unbounded=("width", lambda w: float(np.isinf(w).mean())),
        power_vs_zero=("rejects_zero", "mean"),
    ).reset_index()
    out["mc_error"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["intervals"])
    return out


def markdown(summary: pd.DataFrame, reps: int, seconds: float) -> str:
    lines = [
        BEGIN,
        "## Conformal synthetic-control intervals (`conformal_coverage.py`)",
        "",
        f"{reps} replicates per scenario, constant true effect {EFFECT:g}, two-factor panels "
        "with N(0, 1) noise (see the script's docstring); penalty 0, S_1 statistic, iid "
        "permutations for the average (constant-effect null). Coverage is the share of "
        "intervals containing the true effect (Monte Carlo error sqrt(c(1-c)/n) over the n "
        "intervals; per-period rows pool the post periods of each replicate, which share a "
        "panel, so their true error is somewhat larger); power = share rejecting 'no effect' "
        "at alpha.",
        "",
        "| scenario | J, T0, T*, level | target | intervals | coverage | MC error | "
        "median width | share unbounded | power vs 0 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in summary.itertuples(index=False):
        J, T0, T1, alpha = SCENARIOS[r.scenario]
        lines.append(
            f"| {r.scenario} | {J}, {T0}, {T1}, {1 - alpha:.0%} | {r.target} | {r.intervals} | "
            f"{r.coverage:.3f} | {r.mc_error:.3f} | {r.median_width:.2f} | {r.unbounded:.2f} | "
            f"{r.power_vs_zero:.2f} |"
        )
    lines += [
        "",
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}; "
        f"{seconds:.0f} s.",
        END,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    jobs = [
        (name, 1000 * i + seed) for i, name in enumerate(SCENARIOS) for seed in range(args.reps)
    ]
    t = time.time()
    with ProcessPoolExecutor(args.workers) as pool:
        rows = [row for out in pool.map(replicate, jobs, chunksize=4) for row in out]
    summary = summarise(rows, args.reps)
    print(summary.to_string(index=False))
    block = markdown(summary, args.reps, time.time() - t)
    text = README.read_text(encoding="utf-8")
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    README.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
