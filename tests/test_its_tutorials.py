"""Published ITS tutorials reproduced through the public API (`study.its.fit_its`).

- Lopez Bernal, Cummins & Gasparrini (2017), Int J Epidemiol 46:348-355: acute coronary events
  in Sicily, smoking ban from January 2005; Poisson step + trend with the log standardised
  population offset, and quasi-Poisson with two 12-month Fourier harmonics.
- Linden (2015), Stata Journal 15(2):480-500: California Proposition 99 (1989), per-capita
  cigarette packs 1970-2000, single-group segmented regression with Newey-West errors, lag 1.

Each reference is an independent statsmodels formula fit written here (data read from
`../shared/external/its/`, see SOURCES.md there); estimates and limits agree to 1e-4.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from study import config, its
from study.errors import StudyInputError

ITS_DIR = config.EXTERNAL_DIR / "its"
pytestmark = pytest.mark.skipif(
    not (ITS_DIR / "sicily.csv").exists(), reason="shared ITS tutorial data not present"
)
TOL = 1e-4


@pytest.fixture(scope="module")
def sicily() -> pd.DataFrame:
    df = pd.read_csv(ITS_DIR / "sicily.csv")
    df["date"] = pd.to_datetime({"year": df["year"], "month": df["month"], "day": 1})
    return df


@pytest.fixture(scope="module")
def prop99() -> pd.DataFrame:
    wide = pd.read_csv(ITS_DIR / "california_prop99.csv")
    return pd.DataFrame(
        {
            "year": wide["Year"],
            "date": pd.to_datetime(wide["Year"].astype(str) + "-01-01"),
            "cigsales": wide["California"],
        }
    )


def _row(fit, quantity):
    t = fit.table
    return t[t["quantity"] == quantity].iloc[0]


def _check(fit, quantity, ref_est, ref_lo, ref_hi):
    row = _row(fit, quantity)
    assert row["estimate"] == pytest.approx(ref_est, abs=TOL)
    assert row["ci_low"] == pytest.approx(ref_lo, abs=TOL)
    assert row["ci_high"] == pytest.approx(ref_hi, abs=TOL)


BAN = {"smoking_ban": {"start": "2005-01-01", "slope": False}}


def test_sicily_poisson_step_and_trend_with_population_offset(sicily):
    fit = its.fit_its(
        sicily,
        BAN,
        family="poisson",
        harmonics=0,
        exposure="stdpop",
        count_col="aces",
        date_col="date",
        freq="monthly",
    )
    # the paper's R model: glm(aces ~ offset(log(stdpop)) + smokban + time, family = poisson)
    ref = smf.glm(
        "aces ~ smokban + time",
        data=sicily,
        family=sm.families.Poisson(),
        offset=np.log(sicily["stdpop"]),
    ).fit()
    ci = ref.conf_int(0.05)
    b, lo, hi = ref.params["smokban"], ci.loc["smokban", 0], ci.loc["smokban", 1]
    _check(fit, "rate ratio level_smoking_ban", math.exp(b), math.exp(lo), math.exp(hi))
    _check(fit, "coef level_smoking_ban", b, lo, hi)
    _check(fit, "coef trend", ref.params["time"], ci.loc["time", 0], ci.loc["time", 1])
    # the paper's time runs 1..59, ours 0..58: the intercepts differ by one trend step
    intercept = ref.params["Intercept"] + ref.params["time"]
    assert _row(fit, "coef intercept")["estimate"] == pytest.approx(intercept, abs=TOL)


def test_sicily_quasi_poisson_with_two_12_month_harmonics(sicily):
    fit = its.fit_its(
        sicily,
        BAN,
        family="quasi_poisson",
        harmonics=2,
        exposure="stdpop",
        count_col="aces",
        date_col="date",
        freq="monthly",
    )
    assert fit.design.freq.seasonal_period == 12
    # the paper's R model: glm(aces ~ offset(log(stdpop)) + smokban + time +
    #   harmonic(month, 2, 12), family = quasipoisson); tsModel::harmonic uses the month number,
    # a phase shift of our sin/cos(2 pi k t / 12) that leaves the ban and trend terms unchanged
    df = sicily.copy()
    for k in (1, 2):
        df[f"s{k}"] = np.sin(2 * np.pi * k * df["month"] / 12)
        df[f"c{k}"] = np.cos(2 * np.pi * k * df["month"] / 12)
    ref = smf.glm(
        "aces ~ smokban + time + s1 + c1 + s2 + c2",
        data=df,
        family=sm.families.Poisson(),
        offset=np.log(df["stdpop"]),
    ).fit(scale="X2")
    ci = ref.conf_int(0.05)
    b, lo, hi = ref.params["smokban"], ci.loc["smokban", 0], ci.loc["smokban", 1]
    _check(fit, "rate ratio level_smoking_ban", math.exp(b), math.exp(lo), math.exp(hi))
    _check(fit, "coef trend", ref.params["time"], ci.loc["time", 0], ci.loc["time", 1])
    assert fit.method.startswith("Quasi-Poisson GLM")
    assert f"{ref.scale:.3f}" in fit.method


def test_sicily_weekly_relabelling_is_refused(sicily):
    with pytest.raises(StudyInputError, match="week 2002-02-01 is not 7 days after 2002-01-01"):
        its.fit_its(sicily, BAN, count_col="aces", date_col="date")
    with pytest.raises(StudyInputError, match="missing month 2002-03-01 [(]monthly series[)]"):
        its.fit_its(sicily.drop(index=2), BAN, count_col="aces", date_col="date", freq="monthly")


def test_continuous_outcome_refused_by_count_families(prop99):
    msg = "cigsales in year 1972-01-01 must be a non-negative whole number"
    with pytest.raises(StudyInputError, match=msg):
        its.fit_its(
            prop99,
            {"prop99": "1989-01-01"},
            family="poisson",
            harmonics=0,
            count_col="cigsales",
            date_col="date",
            freq="annual",
            min_segment_weeks=2,
        )


def test_prop99_segmented_regression_newey_west_lag_1(prop99):
    fit = its.fit_its(
        prop99,
        {"prop99": "1989-01-01"},
        family="ols_hac",
        harmonics=0,
        count_col="cigsales",
        date_col="date",
        freq="annual",
        hac_lags=1,
        min_segment_weeks=2,
    )
    # Linden (2015): itsa cigsale, single trperiod(1989) lag(1): newey y _t _x1989 _x_t1989
    df = prop99.assign(
        t=prop99["year"] - 1970,
        x=(prop99["year"] >= 1989).astype(float),
        xt=np.maximum(prop99["year"] - 1989, 0).astype(float),
    )
    ref = smf.ols("cigsales ~ t + x + xt", data=df).fit(
        cov_type="HAC", cov_kwds={"maxlags": 1, "use_correction": True}, use_t=True
    )
    ci = ref.conf_int(0.05)
    for ours, theirs in (
        ("intercept", "Intercept"),
        ("trend", "t"),
        ("level_prop99", "x"),
        ("slope_prop99", "xt"),
    ):
        _check(fit, f"coef {ours}", ref.params[theirs], ci.loc[theirs, 0], ci.loc[theirs, 1])
        assert _row(fit, f"coef {ours}")["p_value"] == pytest.approx(ref.pvalues[theirs], abs=TOL)
    assert "lag 1 = given" in fit.method
    assert "rates per year" in fit.method
    # Linden's published point estimates (Stata itsa output, rounded there to 3 decimals)
    assert ref.params["t"] == pytest.approx(-1.779, abs=5e-4)
    assert ref.params["x"] == pytest.approx(-20.058, abs=5e-4)
    assert ref.params["xt"] == pytest.approx(-1.495, abs=5e-4)
