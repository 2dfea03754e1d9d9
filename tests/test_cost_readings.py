"""Readings of the published Harrow path that use the ITS: the pre-period trend reading, the ITS
route's rate checks, `harrow_reading: its`, and the Monte Carlo SE of every cost limit."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from study import avoided_starts, costs, its
from study.analyses import cost_avoidance as ca
from study.analyses import cost_readings as readings
from study.avoided_starts import ITS_SLOPE, RatePath
from study.errors import StudyInputError
from study.run.parameters import validate_params

FY = costs.weekly_dates("2019-04-01", 52)  # Mondays 1 Apr 2019 (day 0) ... day 357
DAYS = 7.0 * np.arange(52)
WEEKS = 52.0 - np.arange(52)  # part-year weeks counted
# published path 7.2 (3 Jun = day 63) -> 6.1 (30 Sep = day 182) -> 5.5 (31 Mar 2020 = day 365)
PATH = np.where(
    DAYS <= 182, 7.2 - 1.1 * np.clip((DAYS - 63) / 119, 0, None), 6.1 - 0.6 * (DAYS - 182) / 183
)
RATE = {"pre": 8.3, "before": 7.2, "midyear": 6.1, "after": 5.5}
DATES = {"pre": "2018-09-30", "before": "2019-03-31", "midyear": "2019-09-30"}
DATES["after"] = "2020-03-31"
KNOWN = {k: (v, None) for k, v in RATE.items()}
PERIODS = {
    "innovation_site_1": {"start": "2019-06-03", "kind": "intervention"},
    "innovation_site_2": {"start": "2019-09-09", "kind": "intervention", "slope": False},
}


def trend(log_slope: float, draws=None) -> readings.PreTrend:
    return readings.PreTrend(
        log_slope, np.full(1000, log_slope) if draws is None else draws, "2019-06-03", 60, "test"
    )


# ----------------------------------------------------------------------------- the slope path


def test_slope_rate_path_by_hand():
    g = math.log(0.9) / 52  # 10% fewer a year
    path = RatePath((("2019-03-31", "before"),), "slope", slope="g")
    got = path.weekly(FY, {"before": np.array([7.2]), "g": np.array([g])})[0]
    # 31 Mar 2019 is day -1 of the financial year: the rate x 0.9 ** (weeks since then / 52)
    np.testing.assert_allclose(got, 7.2 * 0.9 ** ((DAYS + 1) / 7 / 52))
    with pytest.raises(StudyInputError, match="one anchor and a slope name"):
        RatePath((("2019-03-31", "before"),), "slope")
    with pytest.raises(StudyInputError, match="one anchor and a slope name"):
        RatePath((("2019-03-31", "before"),), "step", slope="g")


def test_its_trend_reading_avoided_starts_and_person_weeks_by_hand():
    """Counterfactual 7.2 x exp(g x weeks since 31 Mar 2019), observed the published path."""
    g = math.log(0.95) / 52
    reading = readings.its_trend_reading(RATE, DATES, effect_start="2019-06-03", trend=trend(g))
    given = {ITS_SLOPE: (g, np.full(1000, g))}
    av = costs.avoided_starts_from_path(reading, KNOWN, FY, n_draws=1000, given=given)
    by_hand = 7.2 * np.exp(g * (DAYS + 1) / 7) - PATH
    np.testing.assert_allclose(av.estimate, by_hand, atol=1e-12)
    assert costs.person_weeks(av)[0] == pytest.approx(by_hand @ WEEKS)
    assert av.estimate.sum() == pytest.approx(by_hand.sum())
    assert "-5.0% a year" in reading.label  # exp(log 0.95) - 1, computed from the slope


def test_its_trend_interval_carries_the_slope_draws_each_once():
    g = math.log(0.95) / 52
    slopes = np.random.default_rng(1).normal(g, 0.002, 2000)
    reading = readings.its_trend_reading(RATE, DATES, effect_start="2019-06-03", trend=trend(g))
    av = costs.avoided_starts_from_path(
        reading, KNOWN, FY, n_draws=2000, given={ITS_SLOPE: (g, slopes)}
    )
    # rates known: draw i is the counterfactual at slope draw i minus the published path
    expected = 7.2 * np.exp(slopes[:, None] * (DAYS[None, :] + 1) / 7) - PATH[None, :]
    np.testing.assert_allclose(av.draws, expected, atol=1e-12)
    with pytest.raises(StudyInputError, match="the Monte Carlo uses 1000"):
        costs.avoided_starts_from_path(
            reading, KNOWN, FY, n_draws=1000, given={ITS_SLOPE: (g, slopes)}
        )


# ----------------------------------------------------------------------------- the ITS pieces


@pytest.fixture(scope="module")
def pre_series() -> tuple[pd.DataFrame, dict]:
    """120 weekly Poisson counts: log rate 2 - 0.004 t, a context period at week 40 that bends
    the slope by -0.006, go-live at week 90 (a level drop)."""
    rng = np.random.default_rng(7)
    t = np.arange(120)
    weeks = pd.date_range("2017-04-03", periods=120, freq="7D")
    log_mu = 2.0 - 0.004 * t - 0.006 * np.maximum(t - 40, 0) - 0.3 * (t >= 90)
    data = pd.DataFrame({"week_start": weeks, "count": rng.poisson(np.exp(log_mu))})
    periods = {
        "restructure": {"start": f"{weeks[40]:%Y-%m-%d}", "kind": "context"},
        "go_live": {"start": f"{weeks[90]:%Y-%m-%d}", "kind": "intervention"},
    }
    return data, periods


def test_its_pre_trend_is_the_pre_period_slope_of_a_direct_glm(pre_series):
    data, periods = pre_series
    pt = readings.its_pre_trend(
        data, periods, go_live=periods["go_live"]["start"], family="poisson", harmonics=0,
        n_draws=20_000, seed=3,
    )  # fmt: skip
    pre = data.iloc[:90]
    t = np.arange(90.0)
    X = pd.DataFrame(
        {"const": 1.0, "trend": t, "level": (t >= 40) * 1.0, "slope": np.maximum(t - 40, 0.0)}
    )
    ref = sm.GLM(pre["count"].to_numpy(), X, family=sm.families.Poisson()).fit()
    a = np.array([0.0, 1.0, 0.0, 1.0])  # the slope of the last pre-period segment
    assert pt.log_slope == pytest.approx(float(ref.params @ a), abs=1e-6)
    assert pt.draws.mean() == pytest.approx(
        pt.log_slope, abs=3 * math.sqrt(a @ ref.cov_params() @ a / 2e4)
    )
    assert pt.draws.std() == pytest.approx(math.sqrt(a @ ref.cov_params().to_numpy() @ a), rel=0.03)
    assert pt.n_weeks == 90 and "restructure" in pt.method
    assert pt.yearly_change() == pytest.approx(math.expm1(pt.log_slope * 52))


def test_its_rate_checks_against_a_fit(pre_series):
    data, periods = pre_series
    fit = its.fit_its(data, periods, family="poisson", harmonics=0)
    weeks = fit.design.week_start
    mu = fit.predict()
    day = lambda j: f"{weeks[j] + pd.Timedelta(days=1):%Y-%m-%d}"  # noqa: E731  (eve in week j)
    dates = {"midyear": day(100), "after": day(119)}
    rate = {"before": float(mu[89]), "midyear": float(mu[100]) * 3, "after": float(mu[119])}
    got = readings.its_rate_checks(
        fit, rate, dates, effect_start=day(89), n_draws=2000, alpha=0.05, seed=1
    )
    assert got == {"rate_before": True, "rate_midyear": False, "rate_after": True}
    outside = readings.its_rate_checks(
        fit, rate, {**dates, "after": "2030-01-01"}, effect_start=day(89), n_draws=1000,
        alpha=0.05,
    )  # fmt: skip
    assert outside["rate_after"] is None


# ----------------------------------------------------------------------------- harrow_reading


@pytest.fixture(scope="module")
def its_route(step_weekly):
    return ca.harrow_its(
        step_weekly,
        fixed_units(500.0),
        weekly_path="data/synthetic/harrow_weekly_synthetic.csv",
        periods=PERIODS,
        last_week="",
        fy_start="2019-04-01",
        family="quasi_poisson",
        harmonics=0,
        transition_weeks=0,
        n_draws=1000,
        alpha=0.05,
        seed=3,
    )


def fixed_units(weekly_gbp: float) -> ca.UnitCosts:
    units = pd.DataFrame(
        {"measure": ["community_weekly_during", "res_nursing_total_2021_22"], "value": [3e2, 1e3]}
    )
    return ca.UnitCosts(
        table=pd.DataFrame(),
        cost=costs.UnitCost(weekly_gbp, 0.0, "fixed"),
        units=units,
        cost_cv=0.2,
        cost_source="unit costs: test",
    )


ARGS = dict(periods=PERIODS, fy_start="2019-04-01", full_effect=None, exposure_weeks=(52.0, 13.0))
DRAWS = dict(n_draws=1000, alpha=0.05, seed=3)


def test_harrow_reading_its_costs_the_its_route(figures, its_route):
    res = ca.harrow_rates(
        figures, fixed_units(500.0), reading="its", its_route=its_route, **ARGS, **DRAWS
    )
    part, its_part = res.costings["part_year"], its_route.costings["part_year"]
    assert part.point_gbp == its_part.point_gbp
    np.testing.assert_array_equal(part.draws_gbp, its_part.draws_gbp)
    row = res.table.set_index("quantity").loc["Harrow 2019-20 part-year: cost avoided (GBP)"]
    assert row["data_kind"] == "synthetic" and row["estimate"] == pytest.approx(part.point_gbp)
    whole = res.table.set_index("quantity").loc[
        "Harrow, a whole financial year at the new rate: cost avoided (GBP)"
    ]
    assert whole["data_kind"] == "published"
    assert res.tables["sensitivity"].query("change_vs_base_gbp == 0").shape[0] >= 1
    assert "reading its: ITS route" in res.text
    with pytest.raises(StudyInputError, match="needs the ITS section"):
        ca.harrow_rates(figures, fixed_units(500.0), reading="its", **ARGS, **DRAWS)


def test_harrow_readings_with_its_default_and_the_its_trend_reading(figures, its_route):
    res = ca.harrow_readings(
        figures, fixed_units(500.0), its_route, **ARGS, reading="its",
        full_year_tolerance_gbp=5e4, **DRAWS,
    )  # fmt: skip
    view = res.view.set_index("reading")
    assert "its (default)" in view.index and "its_trend" in view.index
    checks = ["7.2 until 3 Jun 2019", "6.1 by 30 Sep 2019", "5.5 by 31 Mar 2020"]
    # real checks against the fit; the simulated series ends on 23 Mar 2020, before 31 Mar
    assert list(view.loc["its (default)", checks]) == ["yes", "yes", "n/a"]
    assert "n/a: the rate's date is outside the weekly series" in view.loc["its (default)"].iloc[0]
    assert list(view.loc["its_trend", checks]) == ["yes", "yes", "yes"]  # the published path
    assert res.text.startswith("Default reading `its` (ITS route")
    t = res.table.set_index("quantity")
    trend_row = t.loc["Harrow 2019-20 part-year, reading its_trend: cost avoided (GBP)"]
    assert trend_row["data_kind"] == "synthetic"
    assert trend_row["ci_low"] <= trend_row["estimate"] <= trend_row["ci_high"]
    # the its_trend point by hand from the ITS route's pre-period slope
    g = its_route.pre_trend.log_slope
    by_hand = (7.2 * np.exp(g * (DAYS + 1) / 7) - PATH) @ WEEKS * 500
    assert trend_row["estimate"] == pytest.approx(by_hand)
    assert not res.table["quantity"].duplicated().any()
    default = ca.harrow_readings(
        figures, fixed_units(500.0), its_route, **ARGS, reading="its_trend",
        full_year_tolerance_gbp=5e4, **DRAWS,
    )  # fmt: skip
    marked = default.table[default.table["note"].str.startswith(ca.DEFAULT_NOTE)]
    assert set(marked["quantity"].str.split(":").str[0]) == {
        "Harrow 2019-20 part-year, reading its_trend"
    }  # the quantity (and so the key) does not change with harrow_reading
    assert set(default.table["quantity"]) == set(res.table["quantity"])


@pytest.mark.parametrize("reading", ["its", "its_trend"])
def test_harrow_reading_parameter_accepts_the_its_readings(reading):
    validate_params({"parameters": {"harrow_reading": reading}}, "x.yaml")
    with pytest.raises(StudyInputError, match="harrow_reading"):
        validate_params({"parameters": {"harrow_reading": "its_route"}}, "x.yaml")


# ----------------------------------------------------------------------------- Monte Carlo SE


def test_every_cost_limit_reports_the_its_order_statistic_se():
    av = costs.avoided_starts_from_rates(
        7.2, 5.5, FY, exposure_weeks_before=52, exposure_weeks_after=13, n_draws=4000, seed=1
    )
    res = costs.cost_avoidance(av, costs.UnitCost(450.0, 90.0), n_draws=4000)
    table = res.table()
    pairs = zip(table["mc_se_low"], table["mc_se_high"], strict=True)
    draws = [res.draws_gbp, res.starts_draws, res.person_weeks_draws]
    for (lo, hi), d in zip(pairs, draws, strict=True):
        assert lo == its.quantile_mc_se(d, 0.025) and hi == its.quantile_mc_se(d, 0.975)
    assert costs.mc_percentile_interval is not None and not hasattr(costs, "_quantile_mc_se")
    assert avoided_starts.ALL_READINGS[-2:] == ("its_trend", "its")
