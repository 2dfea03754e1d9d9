"""Standard errors of a Poisson segmented regression that allow for autocorrelated extra-Poisson
variation: the parameter-driven model of Zeger (1988, Biometrika 75:621-629).

Model: y_t | e_t ~ Poisson(mu_t e_t), E[e_t] = 1, e a stationary latent process with variance
s2 and AR(1) autocorrelation rho^|t - u|, so that

    Var(y_t) = mu_t + s2 mu_t^2,    Cov(y_t, y_u) = s2 mu_t mu_u rho^|t - u|.

The coefficients are those of the Poisson GLM (the independence estimating equation, consistent
whatever the correlation); their covariance is the sandwich
(X'MX)^-1 X' V X (X'MX)^-1 with M = diag(mu) and V the covariance above. (s2, rho) are
estimated by restricted maximum likelihood (REML; Patterson & Thompson 1971) of the Gaussian
working model z = X b + u, Cov(u) = M^-1 + s2 R(rho), on the IRLS working response
z = eta-hat + (y - mu-hat) / mu-hat. REML rather than Zeger's residual moments because the
moments of regression residuals are biased towards zero in short series (at 156 weeks and rho
0.6 the moment estimate averaged 0.43; REML 0.52; `benchmarks/its_coverage.py`). Gaps (excluded
transition weeks) keep their true time distance in R; with several groups (controlled ITS)
the latent processes of different groups are independent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize

_LOG_S2_BOUNDS = (math.log(1e-8), math.log(10.0))
_ATANH_RHO_BOUNDS = (-3.0, 3.0)  # |rho| <= 0.995


@dataclass(frozen=True)
class LatentAR1:
    """REML estimates of the latent process and the sandwich covariance of the coefficients."""

    s2: float
    rho: float
    cov: np.ndarray


def _distance(time: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lag = np.abs(time[:, None] - time[None, :]).astype(float)
    same = groups[:, None] == groups[None, :]
    return lag, same


def _markov_steps(time: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Time step to the previous row of the same series (inf at each series' first row)."""
    step = np.full(len(time), np.inf)
    step[1:] = np.where(groups[1:] == groups[:-1], np.diff(time).astype(float), np.inf)
    return step


def latent_ar1_covariance(
    y: np.ndarray,
    X: np.ndarray,
    mu: np.ndarray,
    time: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> LatentAR1:
    """REML (s2, rho) of the latent AR(1) process and the sandwich covariance (module docs).

    `mu` are the Poisson GLM fitted means of the rows of X; `time` the integer time of each row
    (default 0..n-1, increasing within a series); `groups` labels independent series (default
    one series). The restricted likelihood is evaluated in O(n) through the tridiagonal
    precision of the AR(1) process (Woodbury identity, banded Cholesky).
    """
    n, p = X.shape
    time = np.arange(n) if time is None else np.asarray(time)
    groups = np.zeros(n, dtype=int) if groups is None else np.asarray(groups)
    step = _markov_steps(time, groups)
    z_resid = (y - mu) / mu
    w = np.asarray(mu, dtype=float)  # working weights: Var(z) = 1/mu + s2 R
    zx = np.column_stack([z_resid, X])

    def neg_reml(theta: np.ndarray) -> float:
        s2, rho = math.exp(theta[0]), math.tanh(theta[1])
        phi = np.where(np.isfinite(step), np.sign(rho) ** step * np.abs(rho) ** step, 0.0)
        d = 1.0 - phi**2  # innovation variances (1 at each series' start)
        # precision Q = L' D^-1 L, L unit lower bidiagonal with -phi below the diagonal
        main = 1.0 / d
        main[:-1] += phi[1:] ** 2 / d[1:]
        off = -phi[1:] / d[1:]
        ab = np.zeros((2, n))
        ab[0] = w + main / s2
        ab[1, :-1] = off / s2
        try:
            c = linalg.cholesky_banded(ab, lower=True, check_finite=False)
        except linalg.LinAlgError:
            return 1e300
        wzx = w[:, None] * zx
        vinv = wzx - w[:, None] * linalg.cho_solve_banded((c, True), wzx, check_finite=False)
        logdet_v = (
            -float(np.sum(np.log(w)))
            + n * math.log(s2)
            + float(np.sum(np.log(d)))
            + 2.0 * float(np.sum(np.log(c[0])))
        )
        vx, vz = vinv[:, 1:], vinv[:, 0]
        xvx = X.T @ vx
        sign, logdet_xvx = np.linalg.slogdet(xvx)
        if sign <= 0:
            return 1e300
        quad = float(z_resid @ vz - (X.T @ vz) @ np.linalg.solve(xvx, X.T @ vz))
        return 0.5 * (logdet_v + logdet_xvx + quad)

    best = None
    for start in ((math.log(0.05), math.atanh(0.3)), (math.log(0.01), 0.0)):
        res = optimize.minimize(
            neg_reml,
            np.array(start),
            method="L-BFGS-B",
            bounds=[_LOG_S2_BOUNDS, _ATANH_RHO_BOUNDS],
        )
        if best is None or res.fun < best.fun:
            best = res
    s2, rho = math.exp(best.x[0]), math.tanh(best.x[1])
    lag, same = _distance(time, groups)
    vy = s2 * np.outer(mu, mu) * np.where(same, np.sign(rho) ** lag * np.abs(rho) ** lag, 0.0)
    vy[np.diag_indices(n)] += mu
    bread = np.linalg.inv(X.T @ (mu[:, None] * X))
    cov = bread @ (X.T @ vy @ X) @ bread
    return LatentAR1(s2=s2, rho=rho, cov=(cov + cov.T) / 2)
