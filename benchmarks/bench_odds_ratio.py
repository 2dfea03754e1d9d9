"""How long the odds ratio row of `study.proportions.compare_proportions` takes: the
conditional MLE and exact interval (alpha 0.05) of `study.proportions.conditional_odds_ratio`
against scipy's `scipy.stats.contingency.odds_ratio(table, kind="conditional")` (the former
route), and whether the two give the same numbers.

Cases: one moderate table (120/1000 against 95/1000), and the six tables of notebook 06's
`harrow_comparisons` (Harrow's long-term sequel counts against London and England without
Harrow, SALT 2021-22, three age bands; up to 1.98 million requests). CPU seconds, min and
median of `--repeats` calls after a warm-up.

Run: `.venv/bin/python benchmarks/bench_odds_ratio.py` (OMP_NUM_THREADS=1 recommended).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats
from timing import min_and_median

from study.proportions import conditional_odds_ratio

ONE = [[[120, 880], [95, 905]]]
HARROW = [
    [[250, 3595], [5460, 73500]],
    [[600, 4775], [14105, 106800]],
    [[850, 8370], [19565, 180300]],
    [[250, 3595], [35140, 572520]],
    [[600, 4775], [126605, 1235065]],
    [[850, 8370], [161745, 1807585]],
]


def _scipy(tables):
    out = []
    for t in tables:
        res = stats.contingency.odds_ratio(np.asarray(t), kind="conditional")
        ci = res.confidence_interval(confidence_level=0.95)
        out.append((float(res.statistic), float(ci.low), float(ci.high)))
    return out


def _new(tables):
    return [conditional_odds_ratio(t, alpha=0.05) for t in tables]


def _cpu(fn, repeats: int) -> tuple[float, float]:
    return min_and_median(fn, repeats, clock=time.process_time)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(f"{'case':<26}{'scipy min/median s':>22}{'new min/median s':>20}  identical")
    for name, tables in (("one table", ONE), ("harrow_comparisons (6)", HARROW)):
        s = _cpu(lambda t=tables: _scipy(t), args.repeats)
        n = _cpu(lambda t=tables: _new(t), args.repeats)
        same = _scipy(tables) == _new(tables)
        print(f"{name:<26}{s[0]:>11.4f}/{s[1]:<10.4f}{n[0]:>9.4f}/{n[1]:<10.4f} {same}")


if __name__ == "__main__":
    main()
