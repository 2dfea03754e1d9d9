"""Known-answer tests for study.its.models (families, HAC, NB2 alpha, transition weeks)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from its_series import HARROW

from study import its
from study.tidy import ESTIMATE_COLUMNS


def test_newey_west_rule():
    assert [its.newey_west_lags(n) for n in (50, 100, 156, 187, 500)] == [3, 4, 4, 4, 5]


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


def test_poisson_point_families_share_the_poisson_glm_coefficients(harrow_like):
    """`POISSON_POINT_FAMILIES` differ only in their covariance: the same coefficients, so the
    cost sensitivity fits their point once (`study.costs.its_sensitivity`)."""
    ref = its.fit_its(harrow_like, HARROW, family="poisson").params.to_numpy()
    for family in its.POISSON_POINT_FAMILIES:
        got = its.fit_its(harrow_like, HARROW, family=family).params.to_numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14, err_msg=family)
    assert set(its.POISSON_POINT_FAMILIES) == set(its.COUNT_FAMILIES) - {"negative_binomial"}
