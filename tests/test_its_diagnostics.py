"""Known-answer tests for study.its.diagnostics (Ljung-Box, Breusch-Godfrey, ACF)."""

from __future__ import annotations

import math

import pytest
from its_series import HARROW
from statsmodels.stats.diagnostic import acorr_breusch_godfrey

from study import its


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
