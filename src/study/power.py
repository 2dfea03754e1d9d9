"""Power and minimum detectable effects (MDE) of the study's designs, before the data arrive.

Closed forms (two-sided Wald tests at level `alpha`, normal approximation):

- Poisson rate ratio of counts over `weeks_before` and `weeks_after` weeks (notebook 02's
  design): log RR-hat has variance phi (1 / (rate0 T0) + 1 / (rate1 T1)) at the expected counts
  (the variance under the alternative, statsmodels `power_poisson_ratio_2indep` with
  `method_var="alt"`; Zhu 2017), power = Phi(|log RR| / sd - z) + Phi(-|log RR| / sd - z),
  z = z_{1 - alpha/2}.
- Two independent proportions (repeat requests, the C3 share): the z test of p1 - p2 with the
  pooled variance under the null and the unpooled variance under the alternative (statsmodels
  `power_proportions_2indep`; Fleiss, Levin & Paik 2003, s. 4.2).
- MDE: the smallest reduction (or change) whose power reaches `power` (Brent's root of the
  power function, which is monotone in the effect).

By simulation, for the interrupted time series (`its_power_model`, `its_power`, `its_mde`):
weekly counts are drawn from a fitted segmented regression (`study.its.fit_its`): its log-linear
trend at go-live, its Fourier seasonality, its Pearson dispersion and the lag-1 autocorrelation
of its Pearson residuals, as count_t ~ Poisson(mu_t exp(u_t - s^2/2)) with u a stationary
Gaussian AR(1) of variance s^2 and lag-1 correlation r (a Poisson-lognormal process: Pearson
dispersion 1 + mu (e^{s^2} - 1), residual lag-1 correlation mu (e^{r s^2} - 1) / dispersion at
the mean count mu). A level change (relative reduction) starts at go-live. Each simulated series
is re-fitted with the engine's default interval method (quasi-Poisson GLM, log link, scale =
Pearson X2/df, Wald z interval; `fit_poisson_batch`, vectorised IRLS over all series at once):
intercept, trend, the fitted number of harmonic pairs and the level change. A reduction is
detected when the whole (1 - alpha) interval of the level rate ratio lies below 1. Power is the
share of detections (Monte Carlo error: Wilson interval over the simulated series); the MDE is
read off a probit curve fitted to the detections on a local grid of effects (binomial GLM,
probit link; its Monte Carlo interval by the delta method).

Panel (`placebo_rank_first_effect`): the smallest constant post-period shift that the
placebo-in-space test of a synthetic control (`study.synthetic_control.synthetic_control_placebo`)
ranks first: the treated unit's post/pre RMSPE ratio must exceed every placebo's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize, stats

from study.checks import check_alpha, check_count, check_positive, check_proportion
from study.errors import StudyInputError
from study.its import FOURIER_PERIOD_WEEKS, ITSFit, residual_diagnostics
from study.proportions import wilson_interval

MAX_LATENT_RHO = 0.95  # |lag-1 correlation| of the latent AR(1) is capped here


def _z(alpha: float) -> float:
    return float(stats.norm.ppf(1 - check_alpha(alpha) / 2))


def _check_power(power: float) -> float:
    power = check_proportion(power, "power")
    if not 0 < power < 1:
        raise StudyInputError(f"power must be between 0 and 1, got {power}")
    return power


def _first_root(gap, top: float, steps: int = 1000) -> float:
    """Smallest x in (0, top) where gap(x) turns >= 0: a scan of `steps` points, then Brent's
    root in the bracketing step (the Wald power functions fall again near the boundary, where
    the variance under the alternative explodes); nan if gap stays < 0."""
    xs = np.linspace(0, top, steps + 1)[1:-1]
    values = gap(xs)
    above = np.nonzero(values >= 0)[0]
    if above.size == 0:
        return math.nan
    i = int(above[0])
    if i == 0:
        lo = 1e-12
        return float(optimize.brentq(lambda x: float(gap(x)), lo, xs[0], xtol=1e-12))
    return float(optimize.brentq(lambda x: float(gap(x)), xs[i - 1], xs[i], xtol=1e-12))


def _two_sided(effect, sd_null, sd_alt, z):
    effect = np.abs(effect)
    return stats.norm.cdf((effect - z * sd_null) / sd_alt) + stats.norm.cdf(
        (-effect - z * sd_null) / sd_alt
    )


# --------------------------------------------------------------------------------------------
# Poisson rate ratio (closed form and its simulation check)
# --------------------------------------------------------------------------------------------


def rate_ratio_power(
    rate_before: float,
    rate_ratio: float,
    weeks_before: float,
    weeks_after: float,
    *,
    alpha: float = 0.05,
    dispersion: float = 1.0,
) -> float:
    """Power of the two-sided Wald test of log(rate after / rate before) = 0 (module docstring)."""
    rate_before = check_positive(rate_before, "rate_before")
    rate_ratio = check_positive(rate_ratio, "rate_ratio")
    t0 = check_positive(weeks_before, "weeks_before")
    t1 = check_positive(weeks_after, "weeks_after")
    phi = check_positive(dispersion, "dispersion")
    return float(_rate_ratio_power(rate_before, rate_ratio, t0, t1, _z(alpha), phi))


def _rate_ratio_power(rate0, ratio, t0, t1, z, phi):
    sd = np.sqrt(phi * (1 / (rate0 * t0) + 1 / (rate0 * ratio * t1)))
    return _two_sided(np.log(ratio), sd, sd, z)


def rate_ratio_mde(
    rate_before: float,
    weeks_before: float,
    weeks_after: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    dispersion: float = 1.0,
) -> float:
    """Smallest relative reduction 1 - RR detected with `power` (root of `rate_ratio_power`)."""
    power = _check_power(power)
    rate_ratio_power(
        rate_before, 1.0, weeks_before, weeks_after, alpha=alpha, dispersion=dispersion
    )
    z = _z(alpha)

    def gap(reduction):
        return (
            _rate_ratio_power(rate_before, 1 - reduction, weeks_before, weeks_after, z, dispersion)
            - power
        )

    return _first_root(gap, 1.0)


def simulate_rate_ratio_power(
    rate_before: float,
    rate_ratio: float,
    weeks_before: float,
    weeks_after: float,
    *,
    alpha: float = 0.05,
    n_sims: int = 10_000,
    seed: int = 0,
) -> float:
    """Share of `n_sims` Poisson count pairs whose Wald test of log RR rejects (two-sided).

    Counts ~ Poisson(rate T); log RR-hat = log((y1/T1) / (y0/T0)), variance 1/y0 + 1/y1 (a
    zero count never rejects). The simulation check of `rate_ratio_power`."""
    rng = np.random.default_rng(check_count(seed, "seed"))
    n_sims = check_count(n_sims, "n_sims")
    y0 = rng.poisson(rate_before * weeks_before, n_sims).astype(float)
    y1 = rng.poisson(rate_before * rate_ratio * weeks_after, n_sims).astype(float)
    ok = (y0 > 0) & (y1 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.log((y1 / weeks_after) / (y0 / weeks_before)) / np.sqrt(1 / y0 + 1 / y1)
    return float(np.mean(ok & (np.abs(stat) > _z(alpha))))


# --------------------------------------------------------------------------------------------
# Two proportions
# --------------------------------------------------------------------------------------------


def proportions_power(
    p_before: float, p_after: float, n_before: float, n_after: float, *, alpha: float = 0.05
) -> float:
    """Power of the two-sided z test of p_after - p_before = 0 (pooled null variance,
    unpooled alternative variance; statsmodels `power_proportions_2indep`)."""
    p0, p1 = check_proportion(p_before, "p_before"), check_proportion(p_after, "p_after")
    n0, n1 = check_positive(n_before, "n_before"), check_positive(n_after, "n_after")
    if p0 * (1 - p0) + p1 * (1 - p1) == 0:
        return 1.0 if p0 != p1 else 0.0
    return float(_proportions_power(p0, p1, n0, n1, _z(alpha)))


def _proportions_power(p0, p1, n0, n1, z):
    pooled = (p0 * n0 + p1 * n1) / (n0 + n1)
    sd_null = np.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    sd_alt = np.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
    return _two_sided(p1 - p0, sd_null, sd_alt, z)


def proportions_mde(
    p_before: float,
    n_before: float,
    n_after: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    direction: int = -1,
) -> float:
    """Smallest change |p_after - p_before| (a fall if `direction` is -1, a rise if +1) that
    `proportions_power` detects with `power`; nan if no change within [0, 1] does."""
    power = _check_power(power)
    if direction not in (-1, 1):
        raise StudyInputError(f"direction must be -1 (fall) or +1 (rise), got {direction}")
    p0 = check_proportion(p_before, "p_before")
    room = p0 if direction < 0 else 1 - p0
    if room <= 0:
        return math.nan

    proportions_power(p0, p0, n_before, n_after, alpha=alpha)
    z = _z(alpha)

    def gap(change):
        return _proportions_power(p0, p0 + direction * change, n_before, n_after, z) - power

    return _first_root(gap, room)


def proportions_n_needed(
    p_before: float, p_after: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Smallest equal number per period for which `proportions_power` reaches `power`."""
    power = _check_power(power)
    if p_before == p_after:
        raise StudyInputError("p_before and p_after are equal: no sample size detects no change")

    def gap(n: float) -> float:
        return proportions_power(p_before, p_after, n, n, alpha=alpha) - power

    hi = 2.0
    while gap(hi) < 0:
        hi *= 2
    n = math.ceil(optimize.brentq(gap, 1.0, hi, xtol=1e-6))
    while n > 1 and gap(n - 1) >= 0:
        n -= 1
    while gap(n) < 0:
        n += 1
    return n


def simulate_proportions_power(
    p_before: float,
    p_after: float,
    n_before: int,
    n_after: int,
    *,
    alpha: float = 0.05,
    n_sims: int = 10_000,
    seed: int = 0,
) -> float:
    """Share of `n_sims` binomial pairs whose pooled two-sided z test rejects (simulation check)."""
    rng = np.random.default_rng(seed)
    x0 = rng.binomial(n_before, p_before, check_count(n_sims, "n_sims"))
    x1 = rng.binomial(n_after, p_after, n_sims)
    pooled = (x0 + x1) / (n_before + n_after)
    sd = np.sqrt(pooled * (1 - pooled) * (1 / n_before + 1 / n_after))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = (x1 / n_after - x0 / n_before) / sd
    return float(np.mean(np.nan_to_num(np.abs(stat)) > _z(alpha)))


# --------------------------------------------------------------------------------------------
# Vectorised quasi-Poisson fits
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchFit:
    """Poisson GLM fits of many series on one design: coefficients, Wald SEs, Pearson scale."""

    params: np.ndarray  # (B, p)
    se: np.ndarray  # (B, p), quasi-Poisson (scale-multiplied) if fitted with quasi=True
    scale: np.ndarray  # (B,)
    converged: np.ndarray  # (B,) bool


def _moment_table(X: np.ndarray) -> tuple[np.ndarray, list[list[int]]]:
    """The (q + p + 1) x n table [X_j X_k (j <= k); X'; 1'] whose product with weights W (n x
    B, a series per column) gives the q = p (p + 1) / 2 distinct entries of X' diag(w_b) X, X'w_b
    and sum w_b at once; and where[j][k], the table row of entry (j, k) of X' diag(w) X."""
    n, p = X.shape
    pairs = [(j, k) for j in range(p) for k in range(j, p)]
    where = [[0] * p for _ in range(p)]
    for row, (j, k) in enumerate(pairs):
        where[j][k] = where[k][j] = row
    products = [X[:, j] * X[:, k] for j, k in pairs]
    return np.vstack([*products, X.T, np.ones(n)]), where


def _cholesky(gram: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    """Lower Cholesky factors L (L L' = G) of B symmetric positive definite p x p matrices G,
    given and returned entry by entry (gram[j][k] holds G_jk of every matrix, shape (B,));
    NaN where a G is not positive definite."""
    p = len(gram)
    low: list[list[np.ndarray]] = [[] for _ in range(p)]
    with np.errstate(invalid="ignore", divide="ignore"):
        for j in range(p):
            for k in range(j + 1):
                s = gram[j][k] - sum((low[j][m] * low[k][m] for m in range(k)), start=0.0)
                low[j].append(np.sqrt(s) if j == k else s / low[k][k])
    return low


def _cholesky_solve(low: list[list[np.ndarray]], b: np.ndarray) -> np.ndarray:
    """x with L L' x = b for each of B systems (`_cholesky` factors; b and x are p x B)."""
    p = len(low)
    z: list[np.ndarray] = []
    for i in range(p):  # L z = b
        z.append((b[i] - sum((low[i][m] * z[m] for m in range(i)), start=0.0)) / low[i][i])
    x: list[np.ndarray] = [np.empty(0)] * p
    for i in reversed(range(p)):  # L' x = z
        x[i] = (z[i] - sum((low[m][i] * x[m] for m in range(i + 1, p)), start=0.0)) / low[i][i]
    return np.vstack(x)


def _inverse_diagonal(low: list[list[np.ndarray]]) -> np.ndarray:
    """diag(G^-1) = column sums of squares of L^-1 for each of B matrices (p x B)."""
    p = len(low)
    inv = [[np.empty(0)] * p for _ in range(p)]  # inv[i][k] = (L^-1)_ik, i >= k
    for k in range(p):
        inv[k][k] = 1.0 / low[k][k]
        for i in range(k + 1, p):
            inv[i][k] = -sum(low[i][m] * inv[m][k] for m in range(k, i)) / low[i][i]
    return np.vstack([sum(inv[i][k] ** 2 for i in range(k, p)) for k in range(p)])


def fit_poisson_batch(
    y: np.ndarray, X: np.ndarray, *, quasi: bool = True, max_iter: int = 50, tol: float = 1e-10
) -> BatchFit:
    """Poisson GLM, log link, by IRLS on every row of `y` (B x n) at once, design `X` (n x p).

    Same estimates as statsmodels `GLM(y, X, Poisson()).fit(scale="X2")` row by row: start at
    mu = y + 0.5, stop when every row's deviance changes by at most tol (|dev| + 0.1); scale =
    Pearson X2 / (n - p) when `quasi` (else 1), SE = sqrt(scale diag((X'WX)^-1)). With the
    canonical log link, IRLS after its first step is Newton's method, beta += (X'WX)^-1 X'(y -
    mu): each step costs mu = exp(X beta) and one product of mu with `_moment_table` (X'WX, X'mu
    and sum mu), the deviance 2 sum(y log y - y X beta - (y - mu)) comes from sums (y'X beta,
    sum y log y, sum y, sum mu), and the p x p systems are solved by Cholesky, vectorised over
    the series (X of full column rank)."""
    y = np.asarray(y)
    X = np.asarray(X, dtype=float)
    if y.ndim != 2 or X.ndim != 2 or y.shape[1] != X.shape[0]:
        raise StudyInputError(f"y must be B x n and X n x p; got {y.shape} and {X.shape}")
    n, p = X.shape
    if n <= p:
        raise StudyInputError(f"fit_poisson_batch: {n} weeks for {p} coefficients")
    if max_iter < 1:
        raise StudyInputError(f"fit_poisson_batch: max_iter must be at least 1, got {max_iter}")
    yt = np.array(y.T, dtype=float, order="C")  # n x B, a series per column; overwritten below
    table, where = _moment_table(X)
    x_mu = slice(len(table) - p - 1, len(table) - 1)  # rows of X'mu in the moments

    def gram(moments):
        return [[moments[where[j][k]] for k in range(p)] for j in range(p)]

    logs = np.log(yt, out=np.zeros_like(yt), where=yt > 0)
    ylogy = np.einsum("ib,ib->b", yt, logs)
    y_sum = yt.sum(axis=0)
    yX = X.T @ yt
    # first IRLS step from mu = y + 0.5: X'W z with working response z = log mu + (y - mu) / mu
    mu = yt + 0.5
    moments = table @ mu
    np.log(mu, out=logs)
    logs *= mu
    beta = _cholesky_solve(_cholesky(gram(moments)), X.T @ logs + (yX - moments[x_mu]))
    del logs
    dev_old = np.full(yt.shape[1], np.inf)
    for step in range(max_iter):
        np.matmul(X, beta, out=mu)
        np.exp(mu, out=mu)
        moments = table @ mu
        dev = 2 * (ylogy - np.einsum("jb,jb->b", yX, beta) - y_sum + moments[-1])
        converged = np.abs(dev - dev_old) <= tol * (np.abs(dev) + 0.1)
        if converged.all() or step == max_iter - 1:
            break
        dev_old = dev
        beta = beta + _cholesky_solve(_cholesky(gram(moments)), yX - moments[x_mu])
    cov_diag = _inverse_diagonal(_cholesky(gram(moments)))
    if quasi:
        yt -= mu
        yt **= 2
        yt /= mu
        scale = yt.sum(axis=0) / (n - p)
    else:
        scale = np.ones(yt.shape[1])
    return BatchFit(
        params=np.ascontiguousarray(beta.T),
        se=np.ascontiguousarray(np.sqrt(cov_diag * scale).T),
        scale=scale,
        converged=converged,
    )


# --------------------------------------------------------------------------------------------
# ITS: the model simulated from, the simulation, power and MDE
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ITSPowerModel:
    """What the ITS simulation draws from (see the module docstring).

    `log_level` and `trend` are the counterfactual log mean and its weekly slope at go-live;
    `seasonal` the (sin_k, cos_k) coefficients; `go_live_index` the go-live week's index t in
    the fitted series (keeps the calendar phase of the seasonality); `dispersion` and
    `autocorrelation` the targets (Pearson dispersion, lag-1 residual correlation) and
    `latent_sd`, `latent_rho` the AR(1) that produces them (`achieved_autocorrelation` when the
    target is not reachable at that dispersion)."""

    log_level: float
    trend: float
    seasonal: tuple[tuple[float, float], ...]
    go_live_index: int
    weeks_before: int
    dispersion: float
    autocorrelation: float
    latent_sd: float
    latent_rho: float
    achieved_autocorrelation: float
    source: str = ""
    fit_trend: bool = True

    @property
    def baseline_per_week(self) -> float:
        return math.exp(self.log_level)

    def weeks(self, weeks_after: int) -> np.ndarray:
        """Week index relative to go-live (negative before) of a series with `weeks_after`."""
        return np.arange(-self.weeks_before, weeks_after, dtype=float)

    def log_mean(self, weeks_after: int) -> np.ndarray:
        """Counterfactual log mean of every week, go-live at index 0."""
        rel = self.weeks(weeks_after)
        t = rel + self.go_live_index
        out = self.log_level + self.trend * rel
        for k, (s, c) in enumerate(self.seasonal, start=1):
            w = 2 * np.pi * k * t / FOURIER_PERIOD_WEEKS
            out = out + s * np.sin(w) + c * np.cos(w)
        return out

    def design(self, weeks_after: int) -> np.ndarray:
        """The re-fitted model: intercept, trend (if `fit_trend`), harmonic pairs, level change
        at go-live."""
        rel = self.weeks(weeks_after)
        t = rel + self.go_live_index
        cols = [np.ones_like(rel)] + ([rel / 52.0] if self.fit_trend else [])
        for k in range(1, len(self.seasonal) + 1):
            w = 2 * np.pi * k * t / FOURIER_PERIOD_WEEKS
            cols += [np.sin(w), np.cos(w)]
        cols.append((rel >= 0).astype(float))
        return np.column_stack(cols)


def latent_ar1(
    dispersion: float, autocorrelation: float, mean: float
) -> tuple[float, float, float]:
    """(sd, rho, achieved lag-1 residual correlation) of the latent AR(1) giving Pearson
    `dispersion` and residual lag-1 `autocorrelation` at mean count `mean` (module docstring);
    dispersion <= 1 gives no latent noise; rho is capped at +/- MAX_LATENT_RHO."""
    check_positive(mean, "mean")
    if dispersion <= 1:
        return 0.0, 0.0, 0.0
    s2 = math.log(1 + (dispersion - 1) / mean)
    inner = 1 + autocorrelation * dispersion / mean
    rho = math.log(inner) / s2 if inner > 0 else -MAX_LATENT_RHO
    rho = max(-MAX_LATENT_RHO, min(MAX_LATENT_RHO, rho))
    achieved = mean * (math.exp(rho * s2) - 1) / dispersion
    return math.sqrt(s2), rho, achieved


def its_power_model(
    fit: ITSFit,
    *,
    weeks_before: int,
    dispersion: float | None = None,
    autocorrelation: float | None = None,
    baseline_per_week: float | None = None,
    source: str = "",
) -> ITSPowerModel:
    """The simulation model from a fitted segmented regression (`study.its.fit_its`).

    Go-live is the first intervention period; the counterfactual (intervention terms zero,
    context kept, seasonality apart) gives the log level at go-live and its weekly slope;
    dispersion and the lag-1 autocorrelation of the Pearson residuals are the fit's unless
    given. `baseline_per_week` replaces the level (another site with the same shape)."""
    weeks_before = check_count(weeks_before, "weeks_before")
    design = fit.design
    # poisson_hac_ar1 has the Poisson GLM coefficients of poisson / quasi_poisson / poisson_hac
    count_families = ("poisson", "quasi_poisson", "negative_binomial", "poisson_hac")
    if fit.family not in count_families + ("poisson_hac_ar1",):
        raise StudyInputError(f"its_power_model needs a count family, got {fit.family!r}")
    if not design.intervention_terms:
        raise StudyInputError("its_power_model: the fit has no intervention period")
    first = [p for p in design.periods if p.kind == "intervention"][0]
    go_live = int(design.start_index[first.name])
    names = list(design.X.columns)
    beta = fit.params.to_numpy()
    X = design.X.to_numpy(copy=True)
    seasonal_cols = [i for i, c in enumerate(names) if c[:3] in ("sin", "cos")]
    off = [names.index(c) for c in design.intervention_terms] + seasonal_cols
    X[:, off] = 0.0
    eta = X @ beta
    if go_live < 1:
        raise StudyInputError("its_power_model: no week before the first intervention period")
    log_level = float(eta[go_live])
    trend = float(eta[go_live] - eta[go_live - 1])
    k_max = design.harmonics
    seasonal = tuple(
        (float(fit.params[f"sin{k}"]), float(fit.params[f"cos{k}"])) for k in range(1, k_max + 1)
    )
    if baseline_per_week is not None:
        log_level = math.log(check_positive(baseline_per_week, "baseline_per_week"))
    phi = fit.dispersion if dispersion is None else check_positive(dispersion, "dispersion")
    if autocorrelation is None:
        autocorrelation = float(residual_diagnostics(fit).acf["acf"].iloc[0])
    if not -1 < autocorrelation < 1:
        raise StudyInputError(f"autocorrelation must be in (-1, 1), got {autocorrelation}")
    sd, rho, achieved = latent_ar1(phi, autocorrelation, math.exp(log_level))
    return ITSPowerModel(
        log_level=log_level,
        trend=trend,
        seasonal=seasonal,
        go_live_index=go_live,
        weeks_before=weeks_before,
        dispersion=float(phi),
        autocorrelation=float(autocorrelation),
        latent_sd=sd,
        latent_rho=rho,
        achieved_autocorrelation=achieved,
        source=source,
    )


def simulate_series(
    model: ITSPowerModel,
    weeks_after: int,
    reductions: Sequence[float],
    *,
    n_sims: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Counts (len(reductions), n_sims, weeks) from `model`; one latent AR(1) path per series
    shared by every reduction (common random numbers), Poisson draws apart."""
    weeks_after = check_count(weeks_after, "weeks_after")
    red = np.asarray(reductions, dtype=float)
    if np.any((red < 0) | (red >= 1)):
        raise StudyInputError(f"reductions must be in [0, 1), got {list(red)}")
    pre, n = model.weeks_before, model.weeks_before + weeks_after
    u = np.zeros((n, n_sims))  # week-major: each AR(1) step is one contiguous row
    if model.latent_sd > 0:
        e = rng.standard_normal((n_sims, n))
        rho, sd = model.latent_rho, model.latent_sd
        np.multiply(e.T, sd * math.sqrt(1 - rho**2), out=u)  # innovations
        u[0] = sd * e[:, 0]
        carried = np.empty(n_sims)
        for i in range(1, n):  # u_i = rho u_(i-1) + innovation_i, vectorised over the series
            np.multiply(u[i - 1], rho, out=carried)
            u[i] += carried
    log_mu = model.log_mean(weeks_after) + u.T - model.latent_sd**2 / 2
    mean = np.empty((len(red), n_sims, n))
    mean[:, :, :pre] = np.exp(log_mu[:, :pre])  # before go-live: the same for every reduction
    for k, step in enumerate(np.log1p(-red)):
        mean[k, :, pre:] = np.exp(log_mu[:, pre:] + step)
    return rng.poisson(mean)


def _detections(model, weeks_after, reductions, *, alpha, n_sims, rng):
    """(detected a reduction, rejected two-sided) per reduction x series."""
    y = simulate_series(model, weeks_after, reductions, n_sims=n_sims, rng=rng)
    E = y.shape[0]
    fit = fit_poisson_batch(y.reshape(E * n_sims, -1), model.design(weeks_after))
    z = _z(alpha)
    b, se = fit.params[:, -1], fit.se[:, -1]
    below = (b + z * se < 0).reshape(E, n_sims)
    either = (np.abs(b) > z * se).reshape(E, n_sims)
    return below, either, se.reshape(E, n_sims)


def _mc_interval(successes: int, n: int, alpha: float) -> tuple[float, float]:
    low, high = wilson_interval(successes, n, alpha=alpha)
    return float(low), float(high)


def its_power(
    model: ITSPowerModel,
    weeks_after: Sequence[int],
    reductions: Sequence[float],
    *,
    alpha: float = 0.05,
    n_sims: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulated power to detect each relative reduction with each number of weeks after
    go-live; reduction 0 gives the false-positive rate (two-sided rejection rate).

    Columns weeks_after, reduction, power, mc_low, mc_high (Wilson interval of the simulated
    share at level 1 - alpha), n_sims, median_se (of the log level change)."""
    alpha = check_alpha(alpha)
    n_sims = check_count(n_sims, "n_sims")
    rng = np.random.default_rng(seed)
    rows = []
    for weeks in weeks_after:
        below, either, se = _detections(
            model, int(weeks), reductions, alpha=alpha, n_sims=n_sims, rng=rng
        )
        for i, r in enumerate(reductions):
            hits = int(either[i].sum() if r == 0 else below[i].sum())
            low, high = _mc_interval(hits, n_sims, alpha)
            rows.append(
                {
                    "weeks_after": int(weeks),
                    "reduction": float(r),
                    "power": hits / n_sims,
                    "mc_low": low,
                    "mc_high": high,
                    "n_sims": n_sims,
                    "median_se": float(np.median(se[i])),
                }
            )
    return pd.DataFrame(rows)


LOCAL_GRID = (0.6, 0.8, 1.0, 1.2, 1.4)  # multiples of the first guess of the log-scale MDE


def its_mde(
    model: ITSPowerModel,
    weeks_after: int,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    n_sims: int = 1000,
    seed: int = 0,
) -> dict:
    """Simulated minimum detectable reduction with `weeks_after` weeks after go-live.

    A first guess from the median SE at no effect, d = (z_{1-alpha/2} + z_power) SE (log
    scale); detections simulated at the `LOCAL_GRID` multiples of d (common latent paths); a
    probit binomial GLM of detections on the log effect gives the MDE (power = `power`) and its
    Monte Carlo interval (delta method, level 1 - alpha). Returns mde, mc_low, mc_high, n_sims,
    grid (the reductions simulated)."""
    alpha, power = check_alpha(alpha), _check_power(power)
    rng = np.random.default_rng(seed)
    _, _, se0 = _detections(model, weeks_after, [0.0], alpha=alpha, n_sims=n_sims, rng=rng)
    guess = (_z(alpha) + stats.norm.ppf(power)) * float(np.median(se0))
    logs = guess * np.asarray(LOCAL_GRID)
    reductions = np.minimum(-np.expm1(-logs), 0.999)
    below, _, _ = _detections(model, weeks_after, reductions, alpha=alpha, n_sims=n_sims, rng=rng)
    hits = below.sum(axis=1)
    x = -np.log1p(-reductions)
    endog = np.column_stack([hits, n_sims - hits])
    glm = sm.GLM(endog, sm.add_constant(x), family=sm.families.Binomial(sm.families.links.Probit()))
    res = glm.fit()
    a, b = res.params
    q = stats.norm.ppf(power)
    log_mde = (q - a) / b
    grad = np.array([-1 / b, -(q - a) / b**2])
    se = float(math.sqrt(grad @ np.asarray(res.cov_params()) @ grad))
    z = _z(alpha)
    return {
        "mde": float(-math.expm1(-log_mde)),
        "mc_low": float(-math.expm1(-(log_mde - z * se))),
        "mc_high": float(-math.expm1(-(log_mde + z * se))),
        "n_sims": n_sims,
        "grid": tuple(float(r) for r in reductions),
    }


def weeks_needed(curve: pd.DataFrame, *, power: float, x: str = "weeks_after") -> float:
    """Where the power in `curve` (columns `x`, power; increasing x) first reaches `power`,
    linearly interpolated between neighbouring rows; nan if it never does, the first x if it
    already does there."""
    curve = curve.sort_values(x)
    xs, ps = curve[x].to_numpy(dtype=float), curve["power"].to_numpy(dtype=float)
    above = np.nonzero(ps >= power)[0]
    if above.size == 0:
        return math.nan
    i = int(above[0])
    if i == 0:
        return float(xs[0])
    x0, x1, p0, p1 = xs[i - 1], xs[i], ps[i - 1], ps[i]
    return float(x0 + (power - p0) * (x1 - x0) / (p1 - p0))


# --------------------------------------------------------------------------------------------
# Panel: what the placebo-in-space test could rank first
# --------------------------------------------------------------------------------------------


def placebo_rank_first_effect(
    placebos: pd.DataFrame, *, treated_post_gaps: np.ndarray | None = None
) -> dict:
    """Smallest constant post-period shift d that ranks the treated unit first in a
    placebo-in-space test (`SyntheticControlPlacebo.placebos`: unit, pre_rmspe, ratio,
    is_treated).

    Treated ratio = sqrt(mean((g_t + d)^2)) / pre_rmspe must exceed R = the largest finite
    placebo ratio. With `treated_post_gaps` None the treated's own post gaps g are taken as 0
    (the design view: before the data, the treated unit is like a placebo): d = R x pre_rmspe.
    With observed gaps, d is the smallest |d| of the shifts (either sign) solving
    mean((g + d)^2) = (R pre_rmspe)^2 (the further effect the observed path would need).
    Also returns the largest |mean post gap| among the placebos (their spread) and the
    smallest attainable permutation p = 1 / (placebos + 1)."""
    need = {"is_treated", "pre_rmspe", "ratio"}
    if missing := sorted(need - set(placebos.columns)):
        raise StudyInputError(f"placebos: missing column(s) {missing}")
    treated = placebos[placebos["is_treated"]]
    others = placebos[~placebos["is_treated"]]
    if len(treated) != 1 or others.empty:
        raise StudyInputError("placebos: need one treated row and at least one placebo")
    ratios = others["ratio"].to_numpy(dtype=float)
    finite = ratios[np.isfinite(ratios)]
    if finite.size == 0:
        raise StudyInputError("placebos: every placebo ratio is infinite (exact pre-period fits)")
    top = float(finite.max())
    pre = float(treated["pre_rmspe"].iloc[0])
    target = top * pre
    if treated_post_gaps is None:
        shift = target
    else:
        g = np.asarray(treated_post_gaps, dtype=float)
        m, v = g.mean(), g.var()
        disc = target**2 - v
        if m**2 + v > target**2 or disc <= 0:
            shift = 0.0  # the observed path already ranks first
        else:
            root = math.sqrt(disc)
            shift = min(abs(-m + root), abs(-m - root))
    spread = float(np.abs(others["mean_post_gap"]).max()) if "mean_post_gap" in others else math.nan
    return {
        "shift": float(shift),
        "largest_placebo_ratio": top,
        "treated_pre_rmspe": pre,
        "largest_placebo_gap": spread,
        "n_placebos": int(len(others)),
        "min_p_value": 1 / (len(others) + 1),
    }
