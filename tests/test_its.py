"""Known-answer, reproducibility and bad-input tests for study.its (segmented regression)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from statsmodels.stats.diagnostic import acorr_breusch_godfrey

from study import its
from study.errors import StudyInputError
from study.tidy import ESTIMATE_COLUMNS

P = its.FOURIER_PERIOD_WEEKS

HARROW = {
    "innovation_site_1": {"start": "2019-06-03"},
    "innovation_site_2": {"start": "2019-10-07", "slope": False},
    "covid_wave_1": {"start": "2020-03-23", "kind": "context"},
    "covid_wave_2": {"start": "2020-11-05", "kind": "context", "slope": False},
}


def weekly(counts, first="2019-01-07", **extra) -> pd.DataFrame:
    weeks = pd.date_range(first, periods=len(counts), freq="7D")
    return pd.DataFrame({"week_start": weeks, "count": counts, **extra})


@pytest.fixture(scope="module")
def harrow_like() -> pd.DataFrame:
    """187 weeks from Sep 2017 with a 3Cs level drop, a Covid jump and AR(1) noise."""
    return its.simulate_its_counts(
        187,
        first_week="2017-09-04",
        baseline_per_week=8.0,
        trend_log_per_week=-0.001,
        periods=HARROW,
        level_log={"innovation_site_1": -0.2, "covid_wave_1": 0.25},
        season_amplitude_log=0.1,
        ar1_rho=0.3,
        ar1_sd=0.1,
        seed=11,
    )


# ------------------------------------------------------------------------------ design matrix


def test_design_matrix_by_hand():
    data = weekly([3, 4, 5, 4, 2, 3, 2, 1, 2, 2])
    design = its.build_design(
        data, {"site": "2019-02-04"}, harmonics=1, min_segment_weeks=4
    )  # week index 4
    t = np.arange(10.0)
    expected = pd.DataFrame(
        {
            "intercept": [1.0] * 10,
            "trend": [0.0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            "sin1": np.sin(2 * np.pi * t / 52.18),
            "cos1": np.cos(2 * np.pi * t / 52.18),
            "level_site": [0.0, 0, 0, 0, 1, 1, 1, 1, 1, 1],
            "slope_site": [0.0, 0, 0, 0, 0, 1, 2, 3, 4, 5],
        }
    )
    pd.testing.assert_frame_equal(design.X, expected)
    assert design.X.loc[1, "sin1"] == pytest.approx(0.1201, abs=1e-4)  # sin(2 pi / 52.18)
    assert design.offset is None
    assert design.intervention_terms == ("level_site", "slope_site")
    assert design.context_terms == ()
    assert design.fit_mask.all()
    assert design.start_index == {"site": 4}


def test_design_mid_week_start_switches_and_transition():
    data = weekly([3] * 24, population=[1000.0] * 24)
    periods = [
        its.PeriodSpec("a", "2019-02-07", slope=False),  # a Thursday -> the week of 2019-02-04
        its.PeriodSpec("covid", "2019-04-01", kind="context", level=False),
    ]
    design = its.build_design(
        data, periods, exposure="population", transition_weeks=2, min_segment_weeks=4
    )
    assert list(design.X.columns) == ["intercept", "trend", "level_a", "slope_covid"]
    assert design.start_index == {"a": 4, "covid": 12}
    assert design.X["level_a"].tolist() == [0.0] * 4 + [1.0] * 20
    assert design.X["slope_covid"].tolist() == [0.0] * 12 + [float(k) for k in range(12)]
    assert np.flatnonzero(~design.fit_mask).tolist() == [4, 5, 12, 13]
    assert np.allclose(design.offset, math.log(1000.0))
    assert design.context_terms == ("slope_covid",)


def test_newey_west_rule():
    assert [its.newey_west_lags(n) for n in (50, 100, 156, 187, 500)] == [3, 4, 4, 4, 5]


# ------------------------------------------------------------------------------ estimation


def test_known_level_and_slope_recovered_within_ci():
    periods = {"site": "2019-06-03", "covid": {"start": "2020-03-23", "kind": "context"}}
    truth = {"level_site": -0.3, "slope_site": -0.004, "level_covid": 0.25, "slope_covid": 0.003}
    data = its.simulate_its_counts(
        200,
        first_week="2017-09-04",
        baseline_per_week=40.0,
        trend_log_per_week=0.001,
        periods=periods,
        level_log={"site": truth["level_site"], "covid": truth["level_covid"]},
        slope_log={"site": truth["slope_site"], "covid": truth["slope_covid"]},
        seed=5,
    )
    fit = its.fit_its(data, periods, family="poisson", harmonics=0)
    coefs = fit.table.set_index("term").loc[lambda d: d["scale"] == "log"]
    for term, value in truth.items():
        assert coefs.loc[term, "ci_low"] < value < coefs.loc[term, "ci_high"], term
    rr = fit.table[fit.table["quantity"] == "rate ratio level_site"].iloc[0]
    assert rr["estimate"] == pytest.approx(math.exp(coefs.loc["level_site", "estimate"]))
    assert rr["ci_low"] == pytest.approx(math.exp(coefs.loc["level_site", "ci_low"]))
    assert list(fit.table.columns[:7]) == ESTIMATE_COLUMNS
    assert set(fit.table["level"]) == {0.95}
    assert set(fit.table["n"]) == {200}


def test_poisson_equals_statsmodels_formula_glm(harrow_like):
    data = harrow_like.assign(population=np.linspace(240_000, 252_000, len(harrow_like)))
    fit = its.fit_its(data, HARROW, family="poisson", harmonics=2, exposure="population")
    frame = pd.concat([fit.design.X.drop(columns="intercept"), data[["count"]]], axis=1)
    formula = "count ~ " + " + ".join(frame.columns.drop("count"))
    ref = smf.glm(
        formula, frame, family=sm.families.Poisson(), offset=np.log(data["population"])
    ).fit()
    ours = fit.params.rename({"intercept": "Intercept"})
    assert np.allclose(ours.to_numpy(), ref.params[ours.index].to_numpy(), rtol=0, atol=1e-8)
    assert np.allclose(np.sqrt(np.diag(fit.cov)), ref.bse[ours.index].to_numpy(), rtol=0, atol=1e-8)
    ci = ref.conf_int(0.05).loc["level_innovation_site_1"]
    row = fit.table.set_index("quantity").loc["coef level_innovation_site_1"]
    assert row["ci_low"] == pytest.approx(ci[0], abs=1e-8)
    assert row["ci_high"] == pytest.approx(ci[1], abs=1e-8)
    assert row["p_value"] == pytest.approx(ref.pvalues["level_innovation_site_1"], abs=1e-8)


def test_quasi_poisson_se_is_poisson_se_times_sqrt_pearson_dispersion(harrow_like):
    pois = its.fit_its(harrow_like, HARROW, family="poisson")
    quasi = its.fit_its(harrow_like, HARROW, family="quasi_poisson")
    y = harrow_like["count"].to_numpy()
    mu = pois.fitted
    n, p = pois.design.X.shape
    phi = np.sum((y - mu) ** 2 / mu) / (n - p)  # Pearson chi2 / df by hand
    assert quasi.dispersion == pytest.approx(phi, rel=1e-9)
    se_p, se_q = np.sqrt(np.diag(pois.cov)), np.sqrt(np.diag(quasi.cov))
    assert np.allclose(se_q, se_p * math.sqrt(phi), rtol=1e-7)
    assert np.allclose(quasi.params, pois.params, atol=1e-10)
    z = 1.959963984540054
    row = quasi.table.set_index("term").loc["level_innovation_site_1"].iloc[0]
    j = list(quasi.params.index).index("level_innovation_site_1")
    assert row["ci_high"] - row["ci_low"] == pytest.approx(2 * z * se_q[j], rel=1e-9)


def _bartlett_hac(scores: np.ndarray, bread: np.ndarray, lags: int) -> np.ndarray:
    """(bread) S (bread), S = sum_l w_l (G_l + G_l'), w_l = 1 - l/(L+1), by hand."""
    n, k = scores.shape
    s = scores.T @ scores
    for lag in range(1, lags + 1):
        g = scores[lag:].T @ scores[:-lag]
        s += (1 - lag / (lags + 1)) * (g + g.T)
    return bread @ s @ bread * n / (n - k)


def test_ols_hac_se_by_hand(harrow_like):
    fit = its.fit_its(harrow_like, HARROW, family="ols_hac", harmonics=1)
    X = fit.design.X.to_numpy()
    y = harrow_like["count"].to_numpy(dtype=float)
    n, k = X.shape
    lags = math.floor(4 * (n / 100) ** (2 / 9))
    assert fit.hac_lags == lags == 4
    bread = np.linalg.inv(X.T @ X)
    beta = bread @ X.T @ y
    cov = _bartlett_hac(X * (y - X @ beta)[:, None], bread, lags)
    assert np.allclose(fit.params, beta, atol=1e-9)
    assert np.allclose(fit.cov.to_numpy(), cov, rtol=1e-9, atol=1e-14)
    ref = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": 4, "use_correction": True})
    assert np.allclose(np.sqrt(np.diag(fit.cov)), ref.bse, rtol=1e-10)
    from scipy import stats

    t = stats.t.ppf(0.975, n - k)
    j = list(fit.params.index).index("level_innovation_site_1")
    row = fit.table.set_index("quantity").loc["coef level_innovation_site_1"]
    assert row["ci_high"] - row["ci_low"] == pytest.approx(2 * t * math.sqrt(cov[j, j]))
    assert "lag 4 = floor(4(n/100)^(2/9))" in fit.method


def test_poisson_hac_se_by_hand(harrow_like):
    fit = its.fit_its(harrow_like, HARROW, family="poisson_hac", harmonics=1)
    X = fit.design.X.to_numpy()
    y = harrow_like["count"].to_numpy(dtype=float)
    mu = fit.fitted
    bread = np.linalg.inv(X.T @ (X * mu[:, None]))
    cov = _bartlett_hac(X * (y - mu)[:, None], bread, 4)
    assert np.allclose(fit.cov.to_numpy(), cov, rtol=1e-6, atol=1e-14)


def test_negative_binomial_alpha_matches_discrete_ml():
    data = its.simulate_its_counts(
        150, periods={"site": "2019-01-07"}, level_log={"site": -0.2}, nb_alpha=0.15, seed=3
    )
    fit = its.fit_its(data, {"site": "2019-01-07"}, family="negative_binomial", harmonics=0)
    X = fit.design.X.to_numpy()
    start = np.append(fit.params.to_numpy(), 0.1)
    ml = sm.NegativeBinomial(data["count"].to_numpy(), X, loglike_method="nb2").fit(
        start_params=start, method="bfgs", maxiter=500, disp=0
    )
    assert fit.nb_alpha == pytest.approx(ml.params[-1], rel=1e-3)
    assert np.allclose(fit.params, ml.params[:-1], atol=1e-4)
    # GLM uses the expected information, the discrete model the observed one: close, not equal
    assert np.allclose(np.sqrt(np.diag(fit.cov)), ml.bse[:-1], rtol=0.05)
    assert "profile likelihood" in fit.method


def test_transition_weeks_are_left_out_of_the_fit(harrow_like):
    fit = its.fit_its(harrow_like, HARROW, family="poisson", transition_weeks=4)
    assert fit.n == len(harrow_like) - 16
    assert fit.fitted.shape == (len(harrow_like),)
    keep = fit.design.fit_mask
    frame = pd.concat([fit.design.X, harrow_like[["count"]]], axis=1)[keep]
    ref = sm.GLM(frame["count"], frame.drop(columns="count"), family=sm.families.Poisson()).fit()
    assert np.allclose(fit.params, ref.params, atol=1e-8)


def test_residual_diagnostics(harrow_like):
    fit = its.fit_its(harrow_like, HARROW, family="ols_hac")
    diag = its.residual_diagnostics(fit, lags=(4, 8), acf_lags=10)
    r = fit.residuals
    n = r.size
    rho = diag.acf["acf"].to_numpy()
    q4 = n * (n + 2) * sum(rho[k - 1] ** 2 / (n - k) for k in range(1, 5))  # Ljung-Box by hand
    tests = diag.tests.set_index(["test", "lag"])
    assert tests.loc[("Ljung-Box", 4), "statistic"] == pytest.approx(q4, rel=1e-10)
    bg = acorr_breusch_godfrey(fit.result, nlags=8, result_object=True)
    assert tests.loc[("Breusch-Godfrey", 8), "statistic"] == pytest.approx(bg.lm, rel=1e-8)
    assert diag.acf["bound"].iloc[0] == pytest.approx(1.959963984540054 / math.sqrt(n))
    assert diag.residual == "raw"
    pois = its.residual_diagnostics(its.fit_its(harrow_like, HARROW, family="poisson"))
    assert pois.residual == "Pearson"
    assert pois.dispersion > 0


# ------------------------------------------------------------------------------ counterfactuals


def test_counterfactual_keeps_covid_terms():
    """Only Covid changes the series: the 3Cs effect must be ~0 while Covid stays in both arms.

    Counts are the rounded true means (no sampling noise), so the fit is essentially exact.
    """
    periods = {"site": "2019-06-03", "covid": {"start": "2020-03-23", "kind": "context"}}
    data = its.simulate_its_counts(
        180,
        first_week="2017-09-04",
        baseline_per_week=2000.0,
        periods=periods,
        level_log={"covid": 0.5},
        slope_log={"covid": 0.004},
        seed=2,
    )
    data["count"] = np.round(data["mean"]).astype(int)
    fit = its.fit_its(data, periods, family="poisson", harmonics=0)
    windows = {
        "covid_year": ["2020-03-23", "2021-02-22"],
        "pre_covid": ["2019-06-03", "2020-03-22"],
    }
    cf = its.counterfactual_effect(fit, windows, n_draws=400, seed=1)
    tab = cf.table.set_index("quantity")
    for w in windows:
        rel = tab.loc[f"relative change {w}"]
        assert abs(rel["estimate"]) < 0.001
        assert rel["ci_low"] < 0 < rel["ci_high"]
    # the counterfactual carries the Covid jump (it is not the pre-Covid extrapolation)
    weekly = cf.weekly.set_index("week_start")
    assert weekly.loc["2020-06-01", "counterfactual"] > 1.4 * weekly.loc["2020-02-24", "fitted"]
    # counterfactual = exp(X beta) with only the intervention columns zeroed
    X0 = fit.design.X.copy()
    X0[["level_site", "slope_site"]] = 0.0
    assert np.allclose(weekly["counterfactual"], np.exp(X0.to_numpy() @ fit.params.to_numpy()))


def test_counterfactual_window_totals_by_hand(harrow_like):
    fit = its.fit_its(harrow_like, HARROW, family="quasi_poisson", label="harrow")
    windows = {"fy_2019_20": ("2019-04-01", "2020-03-31")}
    cf = its.counterfactual_effect(fit, windows, n_draws=300, seed=4)
    in_w = (cf.weekly["week_start"] >= "2019-04-01") & (cf.weekly["week_start"] <= "2020-03-31")
    assert in_w.sum() == 53
    f, c = cf.weekly.loc[in_w, "fitted"].sum(), cf.weekly.loc[in_w, "counterfactual"].sum()
    tab = cf.table.set_index("quantity")
    assert tab.loc["harrow: avoided fy_2019_20", "estimate"] == pytest.approx(c - f)
    assert tab.loc["harrow: relative change fy_2019_20", "estimate"] == pytest.approx(f / c - 1)
    total = cf.draws[:, in_w.to_numpy()].sum(axis=1)
    lo, hi = np.percentile(total, [2.5, 97.5])
    assert tab.loc["harrow: avoided fy_2019_20", "ci_low"] == pytest.approx(lo)
    assert tab.loc["harrow: avoided fy_2019_20", "ci_high"] == pytest.approx(hi)
    assert (tab["n"] == 53).all()
    # weeks before the first intervention have no effect in any draw
    before = (cf.weekly["week_start"] < "2019-06-03").to_numpy()
    assert np.allclose(cf.draws[:, before], 0.0)


def test_draws_are_seeded_and_byte_reproducible(harrow_like):
    fit = its.fit_its(harrow_like, HARROW, family="negative_binomial")
    windows = {"w": ["2019-06-03", "2020-03-22"]}
    a = its.counterfactual_effect(fit, windows, n_draws=200, seed=7)
    b = its.counterfactual_effect(fit, windows, n_draws=200, seed=7)
    c = its.counterfactual_effect(fit, windows, n_draws=200, seed=8)
    assert a.draws.tobytes() == b.draws.tobytes()
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.draws.tobytes() != c.draws.tobytes()
    av = its.avoided_starts_draws(fit, "2019-06-03", "2020-03-22", n_draws=200, seed=7)
    win = a.window_draws("2019-06-03", "2020-03-22")
    assert av.draws.shape == (200, 42) == win.draws.shape
    assert av.draws.tobytes() == win.draws.tobytes()
    assert list(av.week_start) == list(win.week_start)
    assert av.week_start[0] == pd.Timestamp("2019-06-03")
    s1 = its.simulate_its_counts(60, ar1_rho=0.5, ar1_sd=0.2, nb_alpha=0.1, seed=3)
    s2 = its.simulate_its_counts(60, ar1_rho=0.5, ar1_sd=0.2, nb_alpha=0.1, seed=3)
    assert s1["count"].to_numpy().tobytes() == s2["count"].to_numpy().tobytes()


def test_ols_counterfactual_in_counts():
    data = its.simulate_its_counts(
        120, baseline_per_week=30, periods={"s": "2018-10-01"}, level_log={"s": -0.3}, seed=1
    )
    data["population"] = 1000.0 + np.arange(120)
    fit = its.fit_its(data, {"s": "2018-10-01"}, family="ols_hac", exposure="population")
    cf = its.counterfactual_effect(fit, {"after": ["2018-10-01", "2019-12-16"]}, n_draws=100)
    factor = data["population"].to_numpy() / data["population"].mean()
    X = fit.design.X.to_numpy()
    beta = fit.params.to_numpy()
    assert np.allclose(cf.weekly["fitted"], X @ beta * factor)
    cols = [fit.design.X.columns.get_loc(c) for c in ("level_s", "slope_s")]
    effect = (X[:, cols] @ beta[cols]) * factor
    assert np.allclose(cf.weekly["avoided"], -effect)


def test_plot_helpers_return_figures(harrow_like):
    fit = its.fit_its(harrow_like, HARROW)
    cf = its.counterfactual_effect(fit, {"w": ["2019-06-03", "2020-03-22"]}, n_draws=50)
    fig = its.plot_counterfactual(fit, cf, title="x")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert isinstance(its.plot_residual_acf(its.residual_diagnostics(fit)), Figure)


# ------------------------------------------------------------------------------ controlled ITS


def test_controlled_its_equals_difference_of_separate_fits():
    periods = {"site": "2019-01-07", "covid": {"start": "2019-09-02", "kind": "context"}}
    t = its.simulate_its_counts(
        130, baseline_per_week=30, periods=periods, level_log={"site": -0.3}, seed=1
    )
    c = its.simulate_its_counts(130, baseline_per_week=50, periods=periods, seed=2)
    long = pd.concat([t.assign(group="harrow"), c.assign(group="comparison")])
    joint = its.fit_controlled_its(
        long, periods, treated="harrow", comparison="comparison", family="poisson", harmonics=0
    )
    ft = its.fit_its(t, periods, family="poisson", harmonics=0)
    fc = its.fit_its(c, periods, family="poisson", harmonics=0)
    diff = joint.differences.set_index("quantity")
    for term in ("level_site", "slope_site", "level_covid", "slope_covid"):
        what, period = term.split("_", 1)
        expected = ft.params[term] - fc.params[term]
        assert diff.loc[f"difference in {what} {period}", "estimate"] == pytest.approx(
            expected, abs=1e-7
        )
        var = ft.cov.loc[term, term] + fc.cov.loc[term, term]  # independent groups
        row = diff.loc[f"difference in {what} {period}"]
        assert row["ci_high"] - row["ci_low"] == pytest.approx(
            2 * 1.959963984540054 * math.sqrt(var), rel=1e-5
        )
    rr = diff.loc["ratio of level rate ratios site"]
    assert rr["ci_low"] < math.exp(-0.3) < rr["ci_high"]
    assert joint.n == 260


@pytest.mark.parametrize("family", its.FAMILIES)
def test_controlled_its_runs_for_every_family(family, harrow_like):
    comp = its.simulate_its_counts(187, first_week="2017-09-04", baseline_per_week=20, seed=4)
    long = pd.concat([harrow_like.assign(site="harrow"), comp.assign(site="london")])
    fit = its.fit_controlled_its(
        long, HARROW, treated="harrow", comparison="london", group_col="site", family=family
    )
    d = fit.differences
    assert (d["ci_low"] < d["estimate"]).all() and (d["estimate"] < d["ci_high"]).all()
    if family in ("poisson_hac", "ols_hac"):
        assert "Driscoll-Kraay" in fit.method


# ------------------------------------------------------------------------------ robustness


def test_placebo_dates_and_null_effects(harrow_like):
    table = its.placebo_tests(harrow_like, HARROW, family="quasi_poisson", step_weeks=8)
    # series starts 2017-09-04, target 2019-06-03 = week 91: placebos at weeks 8, 16, ..., 80
    dates = pd.date_range("2017-09-04", periods=91, freq="7D")[8:84:8]
    assert list(table["placebo_start"].unique()) == [f"{d:%Y-%m-%d}" for d in dates]
    assert (table["n"] == 91).all()
    level = table[table["scale"] == "log"]
    assert (level["p_value"] > 0.01).all()
    assert table["weeks_before_target"].min() >= 8


def test_placebo_for_a_later_target_keeps_earlier_periods(harrow_like):
    table = its.placebo_tests(harrow_like, HARROW, target="innovation_site_2", step_weeks=2)
    # site 1 at week 91, site 2 at week 109: weeks 99 and 101 leave >= 8 weeks on both sides
    assert list(table["placebo_start"].unique()) == ["2019-07-29", "2019-08-12"]
    assert (table["n"] == 109).all()


def test_sensitivity_table_shape(harrow_like):
    fams = ("poisson", "negative_binomial", "ols_hac")
    table = its.sensitivity_table(
        harrow_like,
        HARROW,
        max_harmonics=1,
        families=fams,
        windows={"w": ["2019-06-03", "2020-03-22"]},
        n_draws=100,
    )
    per_fit = table.groupby(["family", "harmonics"]).size()
    assert len(per_fit) == 6
    # 2 intervention level terms (+2 rate ratios for count families) + 1 avoided row
    assert per_fit[("poisson", 0)] == 5 and per_fit[("ols_hac", 1)] == 3
    assert list(table.columns[:9]) == [*ESTIMATE_COLUMNS, "family", "harmonics"]
    assert table["quantity"].is_unique
    assert table["quantity"].iloc[0] == "coef level_innovation_site_1 [poisson, 0 harmonics]"


# ------------------------------------------------------------------------------ bad input


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


BAD_PERIODS = [
    ({"site": "2015-01-05"}, "periods['site'].start 2015-01-05 is outside the series"),
    ({"site": "2031-01-06"}, "outside the series"),
    ({"b": "2019-10-07", "a": "2019-06-03"}, "periods['a'].start 2019-06-03 is not after 'b'"),
    ({"site": "2019-01-28"}, "has 3 weeks in the fit, need at least 8"),
    ({"site": "not a date"}, "periods['site'].start: not a date"),
    ({"site": {"start": "2019-06-03", "kind": "covid"}}, "periods['site'].kind must be one of"),
    ({"site": {"start": "2019-06-03", "colour": 1}}, "periods['site']: unknown key(s)"),
    ({"site": {"kind": "context"}}, "periods['site']: missing 'start'"),
    ({"site": {"start": "2019-06-03", "level": False, "slope": False}}, "both switched off"),
    ({"bad name": "2019-06-03"}, "must be an identifier"),
]


@pytest.mark.parametrize(("periods", "match"), BAD_PERIODS)
def test_bad_periods(periods, match):
    data = weekly([5] * 60, first="2019-01-07")
    with pytest.raises(StudyInputError) as exc:
        its.fit_its(data, periods)
    assert match in one_line(exc)


def test_same_week_periods_leave_an_empty_segment():
    data = weekly([5] * 60)
    periods = {"a": "2019-06-03", "covid": {"start": "2019-06-05", "kind": "context"}}
    with pytest.raises(StudyInputError, match="has 0 weeks in the fit"):
        its.fit_its(data, periods)


def test_transition_window_can_empty_a_segment():
    data = weekly([5] * 60)
    with pytest.raises(StudyInputError, match="after 'a'.*has 6 weeks"):
        its.fit_its(data, {"a": "2019-12-23"}, transition_weeks=4)


def test_missing_week_is_named():
    data = weekly([5] * 30).drop(index=[12, 13])
    with pytest.raises(StudyInputError) as exc:
        its.fit_its(data, {"a": "2019-03-04"})
    assert one_line(exc) == "data: missing week 2019-04-01 (weekly series)"


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=38))
def test_first_missing_week_is_named_wherever_it_is(gap):
    data = weekly([5] * 40).drop(index=[gap])
    missing = pd.Timestamp("2019-01-07") + pd.Timedelta(weeks=gap)
    with pytest.raises(StudyInputError, match=f"missing week {missing:%Y-%m-%d}"):
        its.check_weekly_series(data)


@pytest.mark.parametrize(
    ("mutate", "kwargs", "match"),
    [
        (lambda d: d.assign(count=[5] * 20 + [-1] + [5] * 19), {}, "count in week 2019-05-27"),
        (lambda d: d.assign(count=[5.5] + [5] * 39), {}, "count in week 2019-01-07"),
        (lambda d: d.assign(count=["x"] + [5] * 39), {}, "count in week 2019-01-07"),
        (lambda d: d.assign(pop=[0.0] + [9.0] * 39), {"exposure": "pop"}, "pop (exposure) in"),
        (lambda d: d.assign(pop=[9.0] * 39 + [-2.0]), {"exposure": "pop"}, "week 2019-10-07"),
        (lambda d: d, {"exposure": "pop"}, "data: missing column 'pop'"),
        (lambda d: d.drop(columns="count"), {}, "data: missing column 'count'"),
        (lambda d: pd.concat([d, d.iloc[[3]]]), {}, "week 2019-01-28 appears more than once"),
        (
            lambda d: d.assign(week_start=d["week_start"] + pd.to_timedelta([0] * 39 + [1], "D")),
            {},
            "week 2019-10-08 is not 7 days after 2019-09-30",
        ),
        (lambda d: d.assign(week_start="soon"), {}, "'week_start' holds values that are not"),
        (lambda d: d, {"family": "gaussian"}, "family must be one of"),
        (lambda d: d, {"harmonics": -1}, "harmonics must be"),
        (lambda d: d, {"harmonics": 27}, "harmonics must be at most 26"),
        (lambda d: d, {"alpha": 1.5}, "alpha must be"),
        (lambda d: d, {"transition_weeks": 1.5}, "transition_weeks must be"),
        (lambda d: d, {"hac_lags": -2, "family": "ols_hac"}, "hac_lags must be"),
        (lambda d: d.iloc[:0], {}, "data: the series has no rows"),
    ],
)
def test_bad_series_and_arguments(mutate, kwargs, match):
    data = mutate(weekly([5] * 40))
    with pytest.raises(StudyInputError) as exc:
        its.fit_its(data, {"a": "2019-05-06"}, **kwargs)
    assert match in one_line(exc)


def test_bad_counterfactual_arguments(harrow_like):
    fit = its.fit_its(harrow_like, HARROW, family="poisson")
    cases = [
        ({"w": ["2022-04-01", "2023-03-31"]}, {}, "windows['w']: no week of the series starts"),
        ({"w": ["2020-04-01", "2019-03-31"]}, {}, "end 2019-03-31 is before start"),
        ({"w": ["2020-04-01"]}, {}, "windows['w'] must be [start, end]"),
        ({"w": ["x", "2020-01-01"]}, {}, "windows['w'] start: not a date"),
        ({"w": ["2019-06-03", "2020-03-22"]}, {"n_draws": 1}, "n_draws must be at least 2"),
        ({"w": ["2019-06-03", "2020-03-22"]}, {"seed": -1}, "seed must be"),
    ]
    for windows, kwargs, match in cases:
        with pytest.raises(StudyInputError) as exc:
            its.counterfactual_effect(fit, windows, **kwargs)
        assert match in one_line(exc), match
    with pytest.raises(StudyInputError, match="windows must be a mapping"):
        its.counterfactual_effect(fit, [("2019-06-03", "2020-03-22")])


def test_bad_controlled_and_placebo_arguments(harrow_like):
    long = pd.concat([harrow_like.assign(group="harrow"), harrow_like.assign(group="other")])
    with pytest.raises(StudyInputError, match="comparison: group 'london' not found"):
        its.fit_controlled_its(long, HARROW, treated="harrow", comparison="london")
    with pytest.raises(StudyInputError, match="missing column 'site'"):
        its.fit_controlled_its(long, HARROW, treated="harrow", comparison="other", group_col="site")
    short = pd.concat([harrow_like.assign(group="harrow"), harrow_like.iloc[1:].assign(group="o")])
    with pytest.raises(StudyInputError, match="week 2017-09-04 is in group 'harrow' but not in"):
        its.fit_controlled_its(short, HARROW, treated="harrow", comparison="o")
    late = {"site": "2017-11-06", "covid": {"start": "2020-03-23", "kind": "context"}}
    with pytest.raises(StudyInputError, match="target: the pre-period of 'site' has 9 weeks"):
        its.placebo_tests(harrow_like, late)
    with pytest.raises(StudyInputError, match="target: no period named 'x'"):
        its.placebo_tests(harrow_like, HARROW, target="x")
    with pytest.raises(StudyInputError, match="family must be one of"):
        its.sensitivity_table(harrow_like, HARROW, families=["ols"])


def test_iso_strings_and_unsorted_rows_are_accepted(harrow_like):
    shuffled = harrow_like.sample(frac=1.0, random_state=0)
    as_text = shuffled.assign(week_start=shuffled["week_start"].dt.strftime("%Y-%m-%d"))
    a = its.fit_its(as_text, HARROW, family="poisson")
    b = its.fit_its(harrow_like, HARROW, family="poisson")
    assert np.allclose(a.params, b.params, atol=1e-12)


def test_effect_summary_sentence_is_computed(harrow_like):
    fit = its.fit_its(harrow_like, HARROW, family="poisson")
    cf = its.counterfactual_effect(fit, {"w": ["2019-06-03", "2020-03-22"]}, n_draws=200)
    text = its.effect_summary(cf, "w")
    row = cf.table.set_index("measure").loc["avoided"]
    assert f"{row['estimate']:.1f} avoided" in text
    assert "42 weeks 2019-06-03..2020-03-16" in text
    assert "\n" not in text
    with pytest.raises(StudyInputError, match="window: 'x' is not one of"):
        its.effect_summary(cf, "x")


def test_plot_controlled_its_lines_and_counterfactual(harrow_like):
    comp = its.simulate_its_counts(187, first_week="2017-09-04", baseline_per_week=20, seed=4)
    long = pd.concat([harrow_like.assign(site="harrow"), comp.assign(site="london")])
    cfit = its.fit_controlled_its(
        long, HARROW, treated="harrow", comparison="london", group_col="site"
    )
    assert cfit.treated_intervention_terms == (
        "treated_level_innovation_site_1",
        "treated_slope_innovation_site_1",
        "treated_level_innovation_site_2",
    )
    fig = its.plot_controlled_its(cfit, synthetic=True)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert "synthetic" in ax.get_title() and "harrow vs london" in ax.get_title()
    lines = {ln.get_label(): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}
    assert sorted(lines) == [
        "harrow counterfactual (follows london)",
        "harrow fitted",
        "london fitted",
    ]
    assert sorted(c.get_label() for c in ax.collections if c.get_label()[0] != "_") == [
        "harrow observed",
        "london observed",
    ]
    fitted = np.asarray(lines["harrow fitted"].get_ydata(), dtype=float)
    cf = np.asarray(lines["harrow counterfactual (follows london)"].get_ydata(), dtype=float)
    assert len(fitted) == len(cf) == 187
    first = 91  # innovation_site_1 starts 2019-06-03, week 91 from 2017-09-04
    np.testing.assert_allclose(cf[:first], fitted[:first], rtol=1e-12)
    assert not np.allclose(cf[first:], fitted[first:])
    # known answer: the counterfactual is exp(X beta) with the treated intervention terms zeroed
    X = cfit.X[cfit.frame["group"] == "harrow"].copy()
    X[list(cfit.treated_intervention_terms)] = 0.0
    np.testing.assert_allclose(cf, np.exp(X.to_numpy() @ cfit.params.to_numpy()), rtol=1e-10)
    np.testing.assert_allclose(
        np.asarray(lines["london fitted"].get_ydata(), dtype=float),
        np.asarray(cfit.result.fittedvalues)[:187],
        rtol=1e-10,
    )
    title = its.plot_controlled_its(cfit, title="t").axes[0].get_title()
    assert title == "t"


def test_data_up_to_cuts_weeks_periods_and_windows():
    weeks = pd.date_range("2019-01-07", periods=80, freq="7D")
    weekly = pd.DataFrame({"week_start": weeks, "count": np.arange(80)})
    periods = {
        "a": {"start": "2019-06-03", "kind": "intervention"},
        "covid": {"start": "2020-03-23", "kind": "context"},
    }
    windows = {"early": ["2019-06-03", "2020-03-31"], "late": ["2020-04-01", "2020-12-31"]}
    cut = its.data_up_to(weekly, periods, windows, "2020-03-16")
    assert cut.weekly["week_start"].max() == pd.Timestamp("2020-03-16")
    assert len(cut.weekly) == int((weeks <= "2020-03-16").sum())
    assert list(cut.periods) == ["a"] and cut.periods["a"] == periods["a"]
    assert cut.windows == {"early": ["2019-06-03", "2020-03-16"]}
    assert cut.dropped == (
        "period covid (starts 2020-03-23)",
        "window late (starts 2020-04-01)",
    )
    whole = its.data_up_to(weekly, periods, windows, "")
    assert whole.weekly is weekly and whole.dropped == () and list(whole.periods) == ["a", "covid"]
    with pytest.raises(StudyInputError, match="no week of the series starts by then"):
        its.data_up_to(weekly, periods, windows, "2018-01-01")
    with pytest.raises(StudyInputError, match="last_week"):
        its.data_up_to(weekly, periods, windows, "not a date")
