"""Monte Carlo error of the cost-avoidance intervals (notebook 04), measured against reported.

For each costing of notebook 04's default run (every reading of Harrow's published rates, a
whole financial year at the new rate, Birmingham's default, and the ITS route on the synthetic
weekly series, and the its_trend reading, whose counterfactual continues that series' ITS
pre-period trend) the Monte Carlo is repeated with `--reps` seeds at `--draws` draws. Per
interval limit we record the SD of the limit across seeds (the actual Monte Carlo error), the
mean of the SE each run reports (`study.costs.mc_percentile_interval`, which uses
`study.its.quantile_mc_se`, the order-statistic method), their ratio, and the SD as a share
of the point estimate's size (the floor: under 1%). The point estimates are computed, not
simulated, and have no Monte Carlo error.

Run: `.venv/bin/python benchmarks/cost_mc_error.py [--reps 20] [--draws 50000] [--no-its]`;
prints the table and rewrites the cost Monte Carlo block of benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import platform
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from study import config, costs
from study.analyses import cost_avoidance as ca
from study.analyses.cost_readings import its_trend_reading
from study.avoided_starts import ITS_SLOPE, Reading, flat_path, harrow_readings_of
from study.data import national, published, records
from study.run.parameters import BY_NAME

README = Path(__file__).with_name("README.md")
BEGIN, END = "<!-- cost-mc:begin -->", "<!-- cost-mc:end -->"


def default(name: str, notebook: str = "04"):
    return BY_NAME[name].default_in(notebook)


def costings(n_draws: int, seed: int, with_its: bool):
    """Notebook 04's costings at the defaults, as {name: CostAvoidance} (seeded)."""
    figures = published.load_figures()
    units = ca.unit_costs(
        national.cost_figures(default("harrow_geography_code")),
        site="Harrow",
        residential_measure=default("residential_cost_measure"),
        community_measure=default("community_cost_measure"),
        cost_cv=default("unit_cost_cv"),
    )
    exposure = (default("harrow_exposure_weeks_before"), default("harrow_exposure_weeks_after"))
    rate, dates, rates = ca.harrow_rate_inputs(figures, exposure)
    fy = default("harrow_fy_start")
    periods = default("periods")
    readings = harrow_readings_of(
        rate,
        dates,
        fy_start=fy,
        effect_start=periods["innovation_site_1"]["start"],
        full_effect=default("harrow_full_effect"),
    )
    readings["whole_fy"] = Reading("whole_fy", "", flat_path(fy, "after"), flat_path(fy))
    draws = dict(unit_cost=units.cost, first_week=fy, n_draws=n_draws, seed=seed)
    out = {f"Harrow {n}": costs.path_cost_avoidance(r, rates, **draws) for n, r in readings.items()}
    bham = ca.birmingham_reduction(
        figures,
        ca.unit_costs(
            national.cost_figures(default("birmingham_geography_code")),
            site="Birmingham",
            residential_measure=default("residential_cost_measure"),
            community_measure=default("community_cost_measure"),
            cost_cv=default("unit_cost_cv"),
        ),
        baseline_long_term=default("bham_baseline_long_term"),
        baseline_sensitivity=[default("bham_baseline_long_term")],
        window_start=default("birmingham_window_start"),
        window_weeks=default("birmingham_window_weeks"),
        n_draws=n_draws,
        alpha=0.05,
        seed=seed,
    )
    out["Birmingham default"] = bham.table  # a table: handled below
    if with_its:
        weekly = records.read_records(config.resolve_path(default("weekly_path")), "weekly")
        route = ca.harrow_its(
            weekly,
            units,
            weekly_path=default("weekly_path"),
            periods=periods,
            last_week=default("last_week"),
            fy_start=fy,
            family=default("family"),
            harmonics=default("harmonics"),
            transition_weeks=default("transition_weeks"),
            n_draws=n_draws,
            alpha=0.05,
            seed=seed,
        )
        out["Harrow ITS (synthetic)"] = route.costings["part_year"]
        trend = route.pre_trend
        reading = its_trend_reading(
            rate, dates, effect_start=periods["innovation_site_1"]["start"], trend=trend
        )
        out["Harrow its_trend (synthetic)"] = costs.path_cost_avoidance(
            reading, rates, given={ITS_SLOPE: (trend.log_slope, trend.draws)}, **draws
        )
    return out


def limits(result) -> dict[str, tuple[float, float, float, float, float]]:
    """{limit: (estimate, limit, reported SE)} of the £ interval of one costing."""
    if isinstance(result, pd.DataFrame):
        row = result[result["quantity"].str.endswith("part-year: cost avoided (GBP)")].iloc[0]
        low, high, point = row["ci_low"], row["ci_high"], row["estimate"]
        se_low, se_high = row["mc_se_low"], row["mc_se_high"]
    else:
        low, high = result.interval
        se_low, se_high = result.interval_mc_se
        point = result.point_gbp
    width = high - low
    return {"lower": (point, low, se_low, width), "upper": (point, high, se_high, width)}


def run(reps: int, n_draws: int, with_its: bool) -> pd.DataFrame:
    rows: dict[tuple[str, str], list] = {}
    for seed in range(reps):
        for name, res in costings(n_draws, 1000 + seed, with_its).items():
            for limit, value in limits(res).items():
                rows.setdefault((name, limit), []).append(value)
    out = []
    for (name, limit), values in rows.items():
        v = np.array(values)
        sd = v[:, 1].std(ddof=1)
        out.append(
            {
                "costing": name,
                "limit": limit,
                "estimate £k": v[0, 0] / 1000,
                "mean limit £k": v[:, 1].mean() / 1000,
                "SD across seeds £k": sd / 1000,
                "reported SE £k": v[:, 2].mean() / 1000,
                "SE / SD": v[:, 2].mean() / sd,
                "SD / size of estimate": sd / abs(v[0, 0]),
                "SD / interval width": sd / v[:, 3].mean(),
            }
        )
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--draws", type=int, default=default("n_draws"))
    ap.add_argument("--no-its", action="store_true")
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    table = run(args.reps, args.draws, not args.no_its)
    elapsed = time.perf_counter() - t0
    shown = table.copy()
    shown["under 1%"] = np.where(shown["SD / size of estimate"] < 0.01, "yes", "no")
    for c in ("estimate £k", "mean limit £k", "SD across seeds £k", "reported SE £k"):
        shown[c] = shown[c].map(lambda v: f"{v:,.1f}")
    shown["SE / SD"] = shown["SE / SD"].map(lambda v: f"{v:.2f}")
    for c in ("SD / size of estimate", "SD / interval width"):
        shown[c] = shown[c].map(lambda v: f"{v:.2%}")
    text = "\n".join(
        "| " + " | ".join(map(str, r)) + " |"
        for r in [list(shown.columns), ["---"] * shown.shape[1], *shown.to_numpy().tolist()]
    )
    print(text)
    print(f"{elapsed:.0f} s")
    if args.no_readme:
        return
    block = (
        f"{BEGIN}\n{args.reps} seeds x {args.draws} draws per costing (`python "
        f"benchmarks/cost_mc_error.py --reps {args.reps} --draws {args.draws}`), "
        f"{elapsed:.0f} s on {platform.machine()} / Python {platform.python_version()}.\n\n"
        f"{text}\n{END}"
    )
    readme = README.read_text()
    if BEGIN in readme:
        readme = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), block, readme, flags=re.S)
    else:
        readme = readme.rstrip("\n") + "\n\n" + block + "\n"
    README.write_text(readme)


if __name__ == "__main__":
    main()
