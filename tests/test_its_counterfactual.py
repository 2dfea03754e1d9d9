"""Known-answer, reproducibility and bad-input tests for study.its.counterfactual."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from its_series import HARROW, one_line

from study import its
from study.errors import StudyInputError


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
    # the same coefficient draws; only the window's weeks are predicted (BLAS rounding aside)
    np.testing.assert_allclose(av.draws, win.draws, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(av.estimate, a.weekly["avoided"].to_numpy()[win_mask(a)], rtol=1e-12)
    assert list(av.week_start) == list(win.week_start)
    assert av.week_start[0] == pd.Timestamp("2019-06-03")
    s1 = its.simulate_its_counts(60, ar1_rho=0.5, ar1_sd=0.2, nb_alpha=0.1, seed=3)
    s2 = its.simulate_its_counts(60, ar1_rho=0.5, ar1_sd=0.2, nb_alpha=0.1, seed=3)
    assert s1["count"].to_numpy().tobytes() == s2["count"].to_numpy().tobytes()


def win_mask(cf) -> np.ndarray:
    w = cf.weekly["week_start"]
    return ((w >= "2019-06-03") & (w <= "2020-03-22")).to_numpy()


def test_predict_on_some_weeks_is_predict_on_all_weeks_then_selected(harrow_like):
    fit = its.fit_its(harrow_like, HARROW, family="quasi_poisson")
    beta = np.random.default_rng(2).multivariate_normal(fit.params, fit.cov, size=5000)
    rows = np.array([0, 40, 41, 100, len(harrow_like) - 1])
    for interventions in (True, False):
        whole = fit.predict(beta, interventions=interventions)
        np.testing.assert_allclose(
            fit.predict(beta, interventions=interventions, weeks=rows), whole[:, rows], rtol=1e-13
        )
        mask = np.zeros(len(harrow_like), dtype=bool)
        mask[rows] = True
        assert fit.predict(interventions=interventions, weeks=mask).shape == (5,)


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


def test_quantile_mc_se_matches_the_spread_over_independent_seeds():
    # the MC SE of a 2.5% quantile of 2000 normal draws, against its SD over 400 seeds
    from study.its import quantile_mc_se

    rng = np.random.default_rng(7)
    draws = rng.standard_normal((400, 2000))
    spread = np.percentile(draws, 2.5, axis=1).std(ddof=1)
    stated = np.mean([quantile_mc_se(d, 0.025) for d in draws[:50]])
    assert stated == pytest.approx(spread, rel=0.2)
    # theory: sqrt(p(1-p)/m) / phi(z_p) = 0.0666 for p = 0.025, m = 2000
    assert spread == pytest.approx(math.sqrt(0.025 * 0.975 / 2000) / 0.05844, rel=0.15)
