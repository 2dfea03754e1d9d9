"""Family ``poisson_hac_ar1``: Poisson GLM, Newey-West HAC standard errors, and critical values
simulated from the fitted latent AR(1) model (a linearised parametric bootstrap of the HAC t
statistic).

Why: under autocorrelated extra-Poisson noise every plug-in interval measured in
``benchmarks/README.md`` under-covers in 60-156-point series, because the long-run variance
estimated from one short series is both biased and noisy. Fixed-b asymptotics (Kiefer &
Vogelsang 2005, Econometric Theory 21:1130-1164) repair HAC t tests by replacing the normal
reference with the distribution of the HAC t statistic itself; here that distribution is
simulated for the fitted design under the fitted correlation rather than taken from an
asymptotic table (with trend and step regressors the fixed-b limit depends on the design,
Bunzel & Vogelsang 2005).

Method, for rows already restricted to the fit (n rows, p coefficients):
1. beta, mu from the Poisson GLM (the independence estimating equation; consistent whatever
   the correlation).
2. Covariance A^-1 Omega A^-1, A = X' diag(mu) X, Omega the Bartlett long-run covariance of the
   scores x_t (y_t - mu_t) with weights 1 - j/(L + 1), j <= L, lag L = floor(sqrt(n))
   (`hac_ar1_lags`; statsmodels' ``cov_type="HAC"`` without small-sample correction).
3. The latent AR(1) model of Zeger (1988) by REML (`study.its.autocorrelation`): Cov(y) =
   V = diag(mu) + s2 mu mu' rho^|t - u|.
4. `n_sim` error vectors e ~ N(0, V) (seed `HAC_AR1_SEED`: the reference is part of the fit and
   reproducible); for each, the linearised estimator deviation d = A^-1 X' e, its residuals
   e - diag(mu) X d and the HAC t statistic of every coefficient with the same lag
   (`hac_t_statistics`). Critical value c_j = the 1 - alpha quantile of |t_j|; interval
   beta_j +/- c_j se_j; p-value = (1 + #{|t*_j| >= |t_j|}) / (n_sim + 1).
5. For counterfactual draws (`study.its.counterfactual`), the covariance is the HAC covariance
   times (c / z)^2, c the largest critical value among the intervention terms and z the normal
   quantile, so normal coefficient draws give intervals on the simulated reference's scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm
from scipy import stats

from study.errors import StudyInputError
from study.its.autocorrelation import latent_ar1_covariance

HAC_AR1_SIMULATIONS = 2000
HAC_AR1_SEED = 15_2026


def hac_ar1_lags(n: int) -> int:
    """Bartlett lag of ``poisson_hac_ar1``: floor(sqrt(n))."""
    return max(1, int(math.floor(math.sqrt(n))))


def bartlett_meat(scores: np.ndarray, lags: int) -> np.ndarray:
    """Sum over |j| <= L of (1 - |j|/(L + 1)) sum_t s_t s_(t-j)' for `scores` (..., n, p)."""
    st = np.swapaxes(scores, -1, -2)  # batched matrix products (einsum here was 15x slower)
    omega = st @ scores
    for j in range(1, lags + 1):
        g = st[..., :, j:] @ scores[..., :-j, :]
        omega = omega + (1 - j / (lags + 1)) * (g + np.swapaxes(g, -1, -2))
    return omega


def hac_t_statistics(X: np.ndarray, mu: np.ndarray, errors: np.ndarray, lags: int) -> np.ndarray:
    """HAC t statistics (n_sim, p) of the linearised Poisson estimator for each error row.

    For error vector e: d = (X' diag(mu) X)^-1 X' e, residual r = e - mu * (X d), scores
    x_t r_t, Bartlett HAC covariance with `lags`; returns d / se(d).
    """
    errors = np.atleast_2d(np.asarray(errors, dtype=float))
    ainv = np.linalg.inv(X.T @ (mu[:, None] * X))
    dev = errors @ X @ ainv
    resid = errors - (dev @ X.T) * mu[None, :]
    cov = ainv @ bartlett_meat(resid[:, :, None] * X[None], lags) @ ainv
    return dev / np.sqrt(np.einsum("rii->ri", cov))


@dataclass(frozen=True)
class HACAR1Fit:
    """Poisson GLM with HAC covariance and AR(1)-simulated critical values (module docs)."""

    params: np.ndarray
    cov_hac: np.ndarray
    cov: np.ndarray
    critical: np.ndarray
    ci: np.ndarray
    pvalues: np.ndarray
    lags: int
    s2: float
    rho: float
    n_sim: int
    result: object


def poisson_hac_ar1(
    y: np.ndarray,
    X: np.ndarray,
    offset: np.ndarray | None,
    alpha: float,
    *,
    time: np.ndarray | None = None,
    lags: int | None = None,
    focus: Sequence[int] = (),
    n_sim: int = HAC_AR1_SIMULATIONS,
    seed: int = HAC_AR1_SEED,
) -> HACAR1Fit:
    """Fit ``poisson_hac_ar1`` (module docstring). `time` = integer time of each row (gaps
    keep their distance in the latent correlation); `focus` = columns whose largest critical
    value scales the covariance used for draws (all columns when empty)."""
    n, p = X.shape
    lags = hac_ar1_lags(n) if lags is None else int(lags)
    if not 1 <= lags < n:
        raise StudyInputError(f"poisson_hac_ar1: the HAC lag must be 1 to n - 1, got {lags}")
    time = np.arange(n) if time is None else np.asarray(time)
    res = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit()
    beta = np.asarray(res.params, dtype=float)
    mu = np.asarray(res.mu, dtype=float)
    ainv = np.linalg.inv(X.T @ (mu[:, None] * X))
    cov_hac = ainv @ bartlett_meat(X * (y - mu)[:, None], lags) @ ainv
    cov_hac = (cov_hac + cov_hac.T) / 2
    se = np.sqrt(np.diag(cov_hac))
    lat = latent_ar1_covariance(y, X, mu, time)
    lag = np.abs(time[:, None] - time[None, :]).astype(float)
    vy = lat.s2 * np.outer(mu, mu) * np.sign(lat.rho) ** lag * np.abs(lat.rho) ** lag
    vy[np.diag_indices(n)] += mu
    rng = np.random.default_rng(seed)
    errors = rng.standard_normal((n_sim, n)) @ np.linalg.cholesky(vy).T
    t_abs = np.abs(hac_t_statistics(X, mu, errors, lags))
    critical = np.quantile(t_abs, 1 - alpha, axis=0)
    ci = np.column_stack([beta - critical * se, beta + critical * se])
    t_obs = np.abs(beta / se)
    pvalues = (1 + np.sum(t_abs >= t_obs[None, :], axis=0)) / (n_sim + 1)
    idx = list(focus) or list(range(p))
    scale = float((np.max(critical[idx]) / stats.norm.ppf(1 - alpha / 2)) ** 2)
    return HACAR1Fit(
        params=beta,
        cov_hac=cov_hac,
        cov=cov_hac * scale,
        critical=critical,
        ci=ci,
        pvalues=pvalues,
        lags=lags,
        s2=lat.s2,
        rho=lat.rho,
        n_sim=n_sim,
        result=res,
    )
