"""Residual diagnostics of a fitted segmented regression (autocorrelation, dispersion)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.diagnostic import acorr_breusch_godfrey, acorr_ljungbox
from statsmodels.tsa.stattools import acf

from study.checks import check_alpha, check_count
from study.errors import StudyInputError
from study.its.families import COUNT_FAMILIES
from study.its.models import ITSFit


@dataclass(frozen=True)
class ResidualDiagnostics:
    """Ljung-Box and Breusch-Godfrey tests, residual ACF and Pearson dispersion of one fit."""

    tests: pd.DataFrame
    acf: pd.DataFrame
    dispersion: float
    residual: str


def residual_diagnostics(
    fit: ITSFit, *, lags: Sequence[int] = (4, 8, 13, 26), acf_lags: int = 26, alpha: float = 0.05
) -> ResidualDiagnostics:
    """Autocorrelation checks on the fit's residuals (Pearson for count families, raw for OLS).

    Ljung-Box Q (statsmodels `acorr_ljungbox`, no df adjustment); Breusch-Godfrey LM
    (statsmodels `acorr_breusch_godfrey` on the OLS regression of the residuals on the design,
    which for the OLS family is the textbook test); ACF with +/- z_{1-alpha/2}/sqrt(n) bounds.
    Residuals of the fitted weeks are taken as consecutive.
    """
    alpha = check_alpha(alpha)
    resid = fit.residuals
    n = resid.size
    use = [check_count(lag, "lags") for lag in lags if 0 < lag < n - fit.design.X.shape[1] - 1]
    if not use:
        raise StudyInputError(f"lags: none of {list(lags)} is usable with {n} residuals")
    lb = acorr_ljungbox(resid, lags=use, return_df=True)
    X = fit.design.X.to_numpy()[fit.design.fit_mask]
    aux = sm.OLS(resid, X).fit()
    rows = []
    for lag in use:
        rows.append(
            {
                "test": "Ljung-Box",
                "lag": lag,
                "statistic": float(lb.loc[lag, "lb_stat"]),
                "df": lag,
                "p_value": float(lb.loc[lag, "lb_pvalue"]),
            }
        )
    for lag in use:
        bg = acorr_breusch_godfrey(aux, nlags=lag, result_object=True)
        rows.append(
            {
                "test": "Breusch-Godfrey",
                "lag": lag,
                "statistic": float(bg.lm),
                "df": lag,
                "p_value": float(bg.lmpval),
            }
        )
    acf_lags = min(check_count(acf_lags, "acf_lags"), n - 1)
    values = acf(resid, nlags=acf_lags, fft=False)
    bound = stats.norm.ppf(1 - alpha / 2) / math.sqrt(n)
    acf_table = pd.DataFrame({"lag": np.arange(1, acf_lags + 1), "acf": values[1:], "bound": bound})
    return ResidualDiagnostics(
        tests=pd.DataFrame(rows),
        acf=acf_table,
        dispersion=fit.dispersion,
        residual="Pearson" if fit.family in COUNT_FAMILIES else "raw",
    )
