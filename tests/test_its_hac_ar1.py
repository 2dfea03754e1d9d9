"""Family poisson_hac_ar1 (`study.its.hac_ar1`): known answers from direct statsmodels fits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm

from study import its
from study.errors import StudyInputError

PERIODS = {"innovation": "2019-06-03"}


def _series(seed: int = 3, rho: float = 0.6):
    return its.simulate_its_counts(
        156,
        first_week="2017-09-04",
        baseline_per_week=7.0,
        trend_log_per_week=-0.0015,
        periods=PERIODS,
        level_log={"innovation": math.log(0.8)},
        season_amplitude_log=0.1,
        ar1_rho=rho,
        ar1_sd=0.25,
        seed=seed,
    )


def test_lag_rule():
    assert [its.hac_ar1_lags(n) for n in (1, 60, 156, 400)] == [1, 7, 12, 20]


def test_hac_covariance_matches_statsmodels_glm_hac():
    data = _series()
    fit = its.fit_its(data, PERIODS, family="poisson_hac_ar1")
    X = fit.design.X.to_numpy()
    y = data["count"].to_numpy(dtype=float)
    h = its.poisson_hac_ar1(y, X, None, 0.05)
    ref = sm.GLM(y, X, family=sm.families.Poisson()).fit(
        cov_type="HAC", cov_kwds={"maxlags": 12, "use_correction": False}
    )
    np.testing.assert_allclose(h.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(h.cov_hac, ref.cov_params(), rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(fit.params.to_numpy(), ref.params, rtol=1e-10)
    # table limits: beta +/- critical value x HAC SE (critical values to the REML optimum's ~1e-7)
    se = np.sqrt(np.diag(ref.cov_params()))
    coef = fit.table[fit.table["quantity"].str.startswith("coef ")]
    np.testing.assert_allclose(coef["ci_low"], ref.params - h.critical * se, atol=1e-7)
    np.testing.assert_allclose(coef["ci_high"], ref.params + h.critical * se, atol=1e-7)
    # draws covariance = HAC x (largest intervention-term critical value / z)^2
    focus = [list(fit.params.index).index(c) for c in fit.design.intervention_terms]
    factor = (h.critical[focus].max() / 1.959963984540054) ** 2
    # (the REML optimum behind the critical values agrees between the two calls to ~1e-7)
    np.testing.assert_allclose(fit.cov.to_numpy(), ref.cov_params() * factor, rtol=1e-6)
    assert "lag 12 = floor(sqrt(n)), n = 156" in fit.method


def test_simulated_t_statistics_match_statsmodels_wls_hac():
    """Each simulated t is the HAC t of a WLS fit of e/mu on X with weights mu."""
    data = _series(seed=5)
    fit = its.fit_its(data, PERIODS, family="poisson_hac_ar1")
    X = fit.design.X.to_numpy()
    mu = np.asarray(fit.result.mu)
    rng = np.random.default_rng(1)
    errors = rng.standard_normal((8, len(mu))) * np.sqrt(mu) * 1.3
    got = its.hac_t_statistics(X, mu, errors, 9)
    for k, e in enumerate(errors):
        ref = sm.WLS(e / mu, X, weights=mu).fit(
            cov_type="HAC", cov_kwds={"maxlags": 9, "use_correction": False}
        )
        np.testing.assert_allclose(got[k], ref.tvalues, rtol=1e-8)


def test_critical_values_exceed_normal_and_reproduce():
    data = _series(seed=7)
    a = its.fit_its(data, PERIODS, family="poisson_hac_ar1")
    b = its.fit_its(data, PERIODS, family="poisson_hac_ar1")
    pd_a, pd_b = a.table.drop(columns="method"), b.table.drop(columns="method")
    assert pd_a.equals(pd_b)
    y = data["count"].to_numpy(dtype=float)
    h = its.poisson_hac_ar1(y, a.design.X.to_numpy(), None, 0.05)
    assert np.all(h.critical > 1.96) and np.all(h.critical < 10)
    assert np.all((h.pvalues > 0) & (h.pvalues <= 1))
    # a 90% interval uses the 90% quantile of the same simulated |t|
    h90 = its.poisson_hac_ar1(y, a.design.X.to_numpy(), None, 0.10)
    assert np.all(h90.critical < h.critical)


def test_refuses_bad_lag_and_controlled_its():
    data = _series()
    with pytest.raises(StudyInputError, match="lag"):
        its.fit_its(data, PERIODS, family="poisson_hac_ar1", hac_lags=156)
    both = [data.assign(group="treated"), data.assign(group="comparison")]
    import pandas as pd

    panel = pd.concat(both, ignore_index=True)
    with pytest.raises(StudyInputError, match="poisson_hac_ar1"):
        its.fit_controlled_its(
            panel, PERIODS, treated="treated", comparison="comparison", family="poisson_hac_ar1"
        )
