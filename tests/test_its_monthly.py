"""Notebook 03 on a monthly series: months of whole Monday weeks (`study.data.aggregate.
monthly_series`), the committed synthetic monthly file, and `params/monthly-example.yaml`."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
import yaml

from study import config, its
from study.analyses import interrupted_time_series as its_analysis
from study.config import PROJ_ROOT, SYNTHETIC_DIR
from study.data.aggregate import monthly_series
from study.data.records import check_file, read_records
from study.errors import StudyInputError

MONTHLY = SYNTHETIC_DIR / "harrow_monthly_synthetic.csv"
WEEKLY = SYNTHETIC_DIR / "harrow_weekly_synthetic.csv"
PARAMS = PROJ_ROOT / "params" / "monthly-example.yaml"


def _weeks(first: str, n: int, counts=None) -> pd.DataFrame:
    weeks = pd.date_range(first, periods=n, freq="7D")
    return pd.DataFrame(
        {
            "week_start": weeks,
            "site": "harrow",
            "series": "new_long_term_starts",
            "count": range(1, n + 1) if counts is None else counts,
            "population": 100.0,
        }
    )


def test_monthly_series_sums_whole_weeks_by_the_month_of_their_monday():
    # Mondays 2019-04-29 .. 2019-07-29: April has one of its five (partial, dropped), May 4
    # (6, 13, 20, 27), June 4 (3, 10, 17, 24), July 5 (1 .. 29).
    got = monthly_series(_weeks("2019-04-29", 14))
    assert list(got["week_start"].dt.strftime("%Y-%m-%d")) == ["2019-05-06", "2019-06-03",
                                                                "2019-07-01"]  # fmt: skip
    assert list(got["weeks"]) == [4, 4, 5]
    assert list(got["count"]) == [2 + 3 + 4 + 5, 6 + 7 + 8 + 9, 10 + 11 + 12 + 13 + 14]
    assert (got["week_start"].dt.day_of_week == 0).all()
    kept = monthly_series(_weeks("2019-04-29", 14), complete_only=False)
    assert list(kept["weeks"]) == [1, 4, 4, 5] and kept["count"].iloc[0] == 1


def test_monthly_series_refuses_a_gap_and_a_non_monday():
    weekly = _weeks("2019-05-06", 13).drop(index=5)
    with pytest.raises(StudyInputError, match="lacks a week in the month of 2019-06-03"):
        monthly_series(weekly)
    bad = _weeks("2019-05-07", 4)
    with pytest.raises(StudyInputError, match="2019-05-07 is not a Monday"):
        monthly_series(bad)


def test_committed_monthly_file_is_the_aggregate_of_the_weekly_synthetic_file():
    fresh = monthly_series(pd.read_csv(WEEKLY))
    fresh["week_start"] = fresh["week_start"].dt.strftime("%Y-%m-%d")
    committed = pd.read_csv(MONTHLY, dtype={"count": "Int64"})
    pd.testing.assert_frame_equal(committed, fresh.reset_index(drop=True), check_dtype=False)
    meta = json.loads(MONTHLY.with_name("harrow_monthly_synthetic.meta.json").read_text())
    assert meta["synthetic"] is True and meta["kind"] == "weekly"
    assert meta["sha256"] == hashlib.sha256(MONTHLY.read_bytes()).hexdigest()
    assert meta["derived_from_sha256"] == hashlib.sha256(WEEKLY.read_bytes()).hexdigest()
    assert check_file(MONTHLY).valid
    # the monthly totals are the weekly totals of the complete months
    weekly = pd.read_csv(WEEKLY, parse_dates=["week_start"])
    sel = weekly[(weekly["week_start"] < "2021-03-01") & (weekly["site"] == "harrow")]
    assert committed[committed["site"] == "harrow"]["count"].sum() == sel["count"].sum()


def test_first_monday_offset_is_a_month():
    f = its.as_frequency("WOM-1MON", 12)
    assert f.unit == "month" and f.seasonal_period == 12
    assert its.as_frequency("QS").unit == "quarter"


def _setup(**overrides):
    values = yaml.safe_load(PARAMS.read_text())["parameters"]
    weekly = read_records(config.resolve_path(values["weekly_path"]), "weekly")
    kwargs = dict(
        site="harrow",
        series="new_long_term_starts",
        comparison_site="london_comparison",
        periods=values["periods"],
        windows=values["windows"],
        last_week="",
        family="quasi_poisson",
        harmonics=1,
        exposure=values["exposure"],
        transition_weeks=0,
        alpha=0.05,
        data_kind=config.data_kind(values["weekly_path"]),
        source=values["weekly_path"],
        frequency=values["frequency"],
        seasonal_period=values["seasonal_period"],
    )
    kwargs.update(overrides)
    return its_analysis.prepare(weekly, **kwargs), weekly


def test_monthly_example_fits_the_months_with_the_weeks_offset():
    setup, weekly = _setup()
    assert setup.fit.design.unit == "month" and setup.fit.n == 35
    assert setup.data_kind == "synthetic"
    # the same fit written directly in statsmodels (independent of study.its's design)
    import numpy as np
    import statsmodels.api as sm

    d = setup.treated.assign(weeks=lambda f: pd.to_numeric(f["weeks"])).reset_index(drop=True)
    t = np.arange(len(d), dtype=float)
    start = {k: int(np.flatnonzero(d["week_start"] >= v["start"])[0])
             for k, v in setup.periods.items()}  # fmt: skip
    X = pd.DataFrame({"intercept": 1.0, "trend": t, "sin1": np.sin(2 * np.pi * t / 12),
                      "cos1": np.cos(2 * np.pi * t / 12)})  # fmt: skip
    for name, j in start.items():
        X[f"level_{name}"] = (t >= j).astype(float)
        X[f"slope_{name}"] = np.maximum(t - j, 0.0)
    y = d["count"].astype(float).to_numpy()
    ref = sm.GLM(y, X, family=sm.families.Poisson(), offset=np.log(d["weeks"])).fit(scale="X2")
    got = setup.fit.params
    for term in ref.params.index:
        assert got[term] == pytest.approx(ref.params[term], abs=1e-6), term
    assert setup.fit.method.startswith("Quasi-Poisson")


def test_monthly_example_placebo_says_the_pre_period_is_too_short():
    setup, _ = _setup()
    result = its_analysis.placebo(setup, step_weeks=2)
    assert result.table.empty
    assert "14 months; placebo dates need at least 16" in result.text


def test_exposure_column_that_is_not_a_number_is_refused():
    values = yaml.safe_load(PARAMS.read_text())["parameters"]
    weekly = read_records(config.resolve_path(values["weekly_path"]), "weekly")
    weekly.loc[3, "weeks"] = "four"
    with pytest.raises(StudyInputError, match="not a number: 'four'"):
        its_analysis.prepare(weekly, site="harrow", series="new_long_term_starts",
                             comparison_site="", periods=values["periods"],
                             windows=values["windows"], last_week="", family="quasi_poisson",
                             harmonics=1, exposure="weeks", transition_weeks=0, alpha=0.05,
                             data_kind="synthetic", source="x", frequency="WOM-1MON",
                             seasonal_period=12)  # fmt: skip


@pytest.mark.slow  # CI tier (make test-slow): a real study run or a property search
def test_monthly_example_runs_notebook_03_through_the_pipeline(tmp_path):
    from study.run.pipeline import new_run_dir, plan_run, run_study

    plan = plan_run(PARAMS, only=["03"])
    run_dir = new_run_dir(plan, out=tmp_path / "run")
    result = run_study(plan, run_dir)
    assert result.notebooks == ["03_interrupted_time_series"]
    est = pd.read_csv(run_dir / "estimates.csv")
    assert est["quantity"].is_unique
    avoided = est[est["quantity"] == "new_long_term_starts: avoided pre_covid_innovation"]
    assert len(avoided) == 1 and "10 months" in avoided["note"].iloc[0]
