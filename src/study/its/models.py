"""Fitting a segmented-regression design: the families, HAC covariance and `ITSFit`.

Families (`FAMILIES`):
- ``poisson``: Poisson GLM, log link, model-based (Fisher information) Wald z intervals.
- ``quasi_poisson``: Poisson GLM with scale = Pearson chi2 / (n - p) (McCullagh & Nelder 1989,
  s. 4.5): standard errors multiplied by sqrt(scale); Wald z intervals.
- ``negative_binomial``: NB2 GLM (var = mu + alpha mu^2), alpha by maximum profile likelihood
  (bounded Brent search over log alpha in [log 1e-8, log 10]), coefficients and Wald z intervals
  from the GLM at alpha-hat (beta and alpha are orthogonal in NB2, so this is the ML covariance
  asymptotically).
- ``poisson_hac``: Poisson GLM (quasi-likelihood) with Newey-West HAC standard errors.
- ``quasi_poisson_ar1``: Poisson GLM coefficients with the sandwich covariance of a latent
  AR(1) process (Zeger 1988; `study.its.autocorrelation`: Var y = mu + s2 mu^2, corr rho^lag,
  s2 and rho by REML), Student t intervals with n - p df: the family whose intervals keep
  their coverage under autocorrelation (`benchmarks/README.md`).
- ``poisson_hac_ar1``: Poisson GLM coefficients, Newey-West HAC covariance (Bartlett, lag
  floor(sqrt(n)), no small-sample factor), critical values simulated from the fitted latent
  AR(1) model (2,000 linearised series; `study.its.hac_ar1`); its coverage under AR(1)
  noise is measured in `benchmarks/README.md`.
- ``ols_hac``: OLS on rates per observation (outcome x mean exposure / exposure, i.e. the
  outcome per week / month at the average exposure; the plain outcome without exposure) with
  Newey-West HAC standard errors. The outcome may be continuous (e.g. packs per capita).
HAC: Bartlett kernel, lag L = floor(4 (n/100)^(2/9)) (Newey & West 1994 plug-in rule, the
statsmodels `cov_hac` default), small-sample factor n/(n - p), Student t reference with n - p df.
Weeks excluded as transition weeks are dropped and the remaining residuals treated as
consecutive (an approximation for the HAC kernel).

`_fit_core`, `_coef_rows` and `_term_kinds` are shared with the controlled ITS
(`study.its.controlled`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize, stats

from study.checks import check_alpha, check_count
from study.errors import StudyInputError
from study.its.autocorrelation import latent_ar1_covariance
from study.its.design import DATE, KINDS, MIN_SEGMENT_WEEKS, ITSDesign, PeriodsLike, build_design
from study.its.families import CONTINUOUS_FAMILIES, COUNT_FAMILIES, FAMILIES
from study.its.hac_ar1 import poisson_hac_ar1
from study.tidy import confidence_level, estimate_table, label_quantity

_NB_LOG_ALPHA_BOUNDS = (math.log(1e-8), math.log(10.0))


def newey_west_lags(n: int) -> int:
    """Newey & West (1994) plug-in lag for the Bartlett kernel: floor(4 (n/100)^(2/9))."""
    return int(math.floor(4 * (n / 100) ** (2 / 9)))


def _check_family(family: str) -> str:
    if family not in FAMILIES:
        raise StudyInputError(f"family must be one of {FAMILIES}, got {family!r}")
    return family


def _check_hac_lags(hac_lags: int | None) -> int | None:
    return None if hac_lags is None else check_count(hac_lags, "hac_lags")


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Core:
    params: np.ndarray
    cov: np.ndarray
    ci: np.ndarray
    pvalues: np.ndarray
    method: str
    n: int
    df_resid: float
    nb_alpha: float | None
    hac_lags: int | None
    resid: np.ndarray
    result: Any


def _hac_text(lags: int, n: int, given: bool) -> str:
    rule = "given" if given else f"floor(4(n/100)^(2/9)), n = {n}"
    return f"Newey-West HAC SE (Bartlett, lag {lags} = {rule}; n/(n-p) correction), t CI"


NB_ALPHA_SHOWN_MIN = 1e-4  # smaller NB2 alphas are reported as "< 1e-4" (Poisson limit)


def _nb_profile_alpha(y, X, offset) -> float:
    """NB2 dispersion alpha by maximum profile likelihood (bounded Brent on log alpha)."""
    start = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit().params

    def negll(log_alpha: float) -> float:
        fam = sm.families.NegativeBinomial(alpha=math.exp(log_alpha))
        return -sm.GLM(y, X, family=fam, offset=offset).fit(start_params=start).llf

    res = optimize.minimize_scalar(
        negll, bounds=_NB_LOG_ALPHA_BOUNDS, method="bounded", options={"xatol": 1e-5}
    )
    return float(math.exp(res.x))


def _fit_core(
    y: np.ndarray,
    X: np.ndarray,
    offset: np.ndarray | None,
    rate_factor: np.ndarray,
    family: str,
    alpha: float,
    hac_lags: int | None,
    hac_time: np.ndarray | None = None,
    unit: str = "week",
    positions: np.ndarray | None = None,
    focus: Sequence[int] = (),
) -> _Core:
    """Fit one family to (y, X) rows already restricted to the fit; see the module docstring."""
    n, p = X.shape
    n_time = n if hac_time is None else len(np.unique(hac_time))
    lags = newey_west_lags(n_time) if hac_lags is None else hac_lags
    if hac_time is None:
        hac = {"cov_type": "HAC", "cov_kwds": {"maxlags": lags, "use_correction": True}}
        hac_name = _hac_text(lags, n_time, hac_lags is not None)
    else:
        hac = {
            "cov_type": "hac-groupsum",
            "cov_kwds": {
                "time": hac_time,
                "maxlags": lags,
                "use_correction": "hac",
                "df_correction": False,
            },
        }
        hac_name = "Driscoll-Kraay " + _hac_text(lags, n_time, hac_lags is not None)
    nb_alpha = None
    used_lags = None
    if family == "poisson_hac_ar1":
        if hac_time is not None:
            raise StudyInputError(
                "family 'poisson_hac_ar1' fits one series; the controlled ITS needs another family"
            )
        time = np.arange(n) if positions is None else np.asarray(positions)
        h = poisson_hac_ar1(y, X, offset, alpha, time=time, lags=hac_lags, focus=focus)
        c = ", ".join(f"{v:.2f}" for v in (h.critical.min(), h.critical.max()))
        method = (
            f"Poisson GLM, log link, Newey-West HAC SE (Bartlett, lag {h.lags} = "
            + ("given" if hac_lags is not None else f"floor(sqrt(n)), n = {n}")
            + "; no small-sample factor), critical values simulated from the fitted latent "
            f"AR(1) model (s2 = {h.s2:.3g}, rho = {h.rho:.2f} by REML; {h.n_sim} linearised "
            f"series; |t| quantiles {c} instead of 1.96)"
        )
        return _Core(
            params=h.params,
            cov=h.cov,
            ci=h.ci,
            pvalues=h.pvalues,
            method=method,
            n=n,
            df_resid=float(n - p),
            nb_alpha=None,
            hac_lags=h.lags,
            resid=np.asarray(h.result.resid_pearson),
            result=h.result,
        )
    if family in ("poisson", "quasi_poisson", "poisson_hac", "quasi_poisson_ar1"):
        model = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset)
        if family == "quasi_poisson_ar1":
            res = model.fit()
            if hac_time is None:
                time = np.arange(n) if positions is None else np.asarray(positions)
                groups = None
            else:
                time = np.asarray(hac_time)
                groups = np.concatenate([[0], np.cumsum(np.diff(time) <= 0)])
            lat = latent_ar1_covariance(y, X, np.asarray(res.mu), time, groups)
            params = np.asarray(res.params, dtype=float)
            se = np.sqrt(np.diag(lat.cov))
            q = stats.t.ppf(1 - alpha / 2, n - p)
            ci = np.column_stack([params - q * se, params + q * se])
            pvalues = 2 * stats.t.sf(np.abs(params / se), n - p)
            method = (
                "Poisson GLM, log link, SE from a latent AR(1) process (Zeger 1988: var = mu + "
                f"s2 mu^2, lag-k correlation rho^k; s2 = {lat.s2:.3g}, rho = {lat.rho:.2f} by REML "
                f"on the working response), sandwich covariance, t CI with n - p = {n - p} df"
            )
            return _Core(
                params=params,
                cov=lat.cov,
                ci=ci,
                pvalues=pvalues,
                method=method,
                n=n,
                df_resid=float(n - p),
                nb_alpha=None,
                hac_lags=None,
                resid=np.asarray(res.resid_pearson),
                result=res,
            )
        if family == "poisson":
            res = model.fit()
            method = "Poisson GLM, log link, Wald z CI"
        elif family == "quasi_poisson":
            res = model.fit(scale="X2")
            method = (
                f"Quasi-Poisson GLM, log link, scale = Pearson X2/df = {res.scale:.3f}, Wald z CI"
            )
        else:
            res = model.fit(use_t=True, **hac)
            used_lags = lags
            method = f"Poisson GLM, log link, {hac_name}"
        resid = np.asarray(res.resid_pearson)
    elif family == "negative_binomial":
        nb_alpha = _nb_profile_alpha(y, X, offset)
        fam = sm.families.NegativeBinomial(alpha=nb_alpha)
        res = sm.GLM(y, X, family=fam, offset=offset).fit()
        # a profile maximum on the flat Poisson boundary is not reproducible digit for digit
        shown = f"{nb_alpha:.3g}" if nb_alpha >= NB_ALPHA_SHOWN_MIN else f"< {NB_ALPHA_SHOWN_MIN:g}"
        method = (
            f"Negative binomial NB2 GLM, log link, alpha = {shown} by maximum profile "
            "likelihood, Wald z CI"
        )
        resid = np.asarray(res.resid_pearson)
    else:
        rate = y / rate_factor
        res = sm.OLS(rate, X).fit(use_t=True, **hac)
        used_lags = lags
        what = "weekly rates" if unit == "week" else f"rates per {unit}"
        method = f"OLS on {what}, {hac_name}"
        resid = np.asarray(res.resid)
    ci = np.asarray(res.conf_int(alpha))
    return _Core(
        params=np.asarray(res.params, dtype=float),
        cov=np.asarray(res.cov_params(), dtype=float),
        ci=ci,
        pvalues=np.asarray(res.pvalues, dtype=float),
        method=method,
        n=n,
        df_resid=float(n - p),
        nb_alpha=nb_alpha,
        hac_lags=used_lags,
        resid=resid,
        result=res,
    )


def _coef_rows(
    names: Sequence[str],
    core: _Core,
    *,
    alpha: float,
    family: str,
    kinds: Mapping[str, str],
    label: str,
    ratio_terms: Iterable[str] = (),
    unit: str = "week",
) -> list[dict]:
    scale = "log" if family in COUNT_FAMILIES else f"count per {unit}"
    rows = []
    for i, term in enumerate(names):
        rows.append(
            {
                "quantity": label_quantity(label, f"coef {term}"),
                "estimate": float(core.params[i]),
                "ci_low": float(core.ci[i, 0]),
                "ci_high": float(core.ci[i, 1]),
                "level": confidence_level(alpha),
                "method": core.method,
                "n": core.n,
                "p_value": float(core.pvalues[i]),
                "term": term,
                "kind": kinds.get(term, "baseline"),
                "scale": scale,
            }
        )
    if family in COUNT_FAMILIES:
        for term in ratio_terms:
            i = list(names).index(term)
            rows.append(
                {
                    "quantity": label_quantity(label, f"rate ratio {term}"),
                    "estimate": math.exp(core.params[i]),
                    "ci_low": math.exp(core.ci[i, 0]),
                    "ci_high": math.exp(core.ci[i, 1]),
                    "level": confidence_level(alpha),
                    "method": core.method + " (exponentiated)",
                    "n": core.n,
                    "p_value": float(core.pvalues[i]),
                    "term": term,
                    "kind": kinds.get(term, "baseline"),
                    "scale": "ratio",
                }
            )
    return rows


def _term_kinds(design: ITSDesign, prefix: str = "") -> dict[str, str]:
    out = {}
    for kind in KINDS:
        for term in design.terms_of(kind):
            out[prefix + term] = kind
    return out


def _pearson_dispersion(y: np.ndarray, mu: np.ndarray, df_resid: float) -> float:
    """Pearson chi2 / df against the Poisson variance, sum (y - mu)^2 / mu / (n - p)."""
    ok = mu > 0
    return float(np.sum((y[ok] - mu[ok]) ** 2 / mu[ok]) / df_resid) if df_resid > 0 else math.nan


@dataclass(frozen=True)
class ITSFit:
    """A fitted segmented regression: coefficients, covariance, tidy table and fitted counts.

    `table` is a tidy estimate table (`coef <term>` rows on the link scale, plus
    `rate ratio level_<period>` rows for count families). `fitted` holds the expected count of
    every week (including excluded transition weeks); `dispersion` is Pearson chi2/df against
    the Poisson variance.
    """

    design: ITSDesign
    family: str
    alpha: float
    params: pd.Series
    cov: pd.DataFrame
    table: pd.DataFrame
    method: str
    n: int
    dispersion: float
    nb_alpha: float | None
    hac_lags: int | None
    fitted: np.ndarray
    residuals: np.ndarray
    label: str = ""
    result: Any = field(default=None, repr=False, compare=False)

    @property
    def rate_factor(self) -> np.ndarray:
        """Exposure / mean exposure (1 without exposure): turns OLS rates into counts."""
        return _rate_factor(self.design)

    def predict(
        self,
        params: np.ndarray | None = None,
        *,
        interventions: bool = True,
        weeks: np.ndarray | None = None,
    ) -> np.ndarray:
        """Expected weekly counts for every week; rows per parameter draw if `params` is 2-D.

        With `interventions=False` the intervention terms are set to zero (context kept).
        `weeks` (a boolean mask or integer positions) restricts the result to those weeks.
        """
        beta = self.params.to_numpy() if params is None else np.asarray(params, dtype=float)
        keep = slice(None) if weeks is None else np.asarray(weeks)
        X = self.design.X.to_numpy()[keep].copy()
        if not interventions:
            idx = [self.design.X.columns.get_loc(c) for c in self.design.intervention_terms]
            X[:, idx] = 0.0
        eta = beta @ X.T
        if self.family in COUNT_FAMILIES:
            off = 0.0 if self.design.offset is None else np.asarray(self.design.offset)[keep]
            return np.exp(eta + off)
        return eta * self.rate_factor[keep]


def _rate_factor(design: ITSDesign) -> np.ndarray:
    if design.exposure:
        e = design.frame["exposure"].to_numpy()
        return e / e.mean()
    return np.ones(len(design.frame))


def _check_whole_counts(design: ITSDesign, family: str) -> None:
    y = design.frame["count"].to_numpy(dtype=float)
    bad = np.flatnonzero((y < 0) | (y != np.floor(y)))
    if bad.size:
        i = int(bad[0])
        d = design.frame[DATE].iloc[i]
        raise StudyInputError(
            f"count in {design.unit} {d:%Y-%m-%d} must be a non-negative whole number for family "
            f"{family!r}, got {y[i]:g} (continuous outcomes: family 'ols_hac')"
        )


def fit_design(
    design: ITSDesign,
    *,
    family: str = "quasi_poisson",
    alpha: float = 0.05,
    hac_lags: int | None = None,
    label: str = "",
) -> ITSFit:
    """Fit a built design with one family (see the module docstring for each method)."""
    family = _check_family(family)
    alpha = check_alpha(alpha)
    hac_lags = _check_hac_lags(hac_lags)
    m = design.fit_mask
    y = design.frame["count"].to_numpy(dtype=float)
    if family in COUNT_FAMILIES:
        _check_whole_counts(design, family)
    X = design.X.to_numpy()
    off = None if design.offset is None else design.offset[m]
    core = _fit_core(
        y[m],
        X[m],
        off,
        _rate_factor(design)[m],
        family,
        alpha,
        hac_lags,
        unit=design.unit,
        positions=np.flatnonzero(m),
        focus=[list(design.X.columns).index(c) for c in design.intervention_terms],
    )
    names = list(design.X.columns)
    kinds = _term_kinds(design)
    ratio_terms = [c for c in names if c.startswith("level_")]
    table = estimate_table(
        _coef_rows(
            names,
            core,
            alpha=alpha,
            family=family,
            kinds=kinds,
            label=label,
            ratio_terms=ratio_terms,
            unit=design.unit,
        )
    )
    fit = ITSFit(
        design=design,
        family=family,
        alpha=alpha,
        params=pd.Series(core.params, index=names),
        cov=pd.DataFrame(core.cov, index=names, columns=names),
        table=table,
        method=core.method,
        n=core.n,
        dispersion=math.nan,
        nb_alpha=core.nb_alpha,
        hac_lags=core.hac_lags,
        fitted=np.empty(0),
        residuals=core.resid,
        label=label,
        result=core.result,
    )
    fitted = fit.predict()
    dispersion = _pearson_dispersion(y[m], fitted[m], core.df_resid)
    return replace(fit, fitted=fitted, dispersion=dispersion)


def fit_its(
    data: pd.DataFrame,
    periods: PeriodsLike,
    *,
    family: str = "quasi_poisson",
    harmonics: int = 1,
    exposure: str | None = None,
    count_col: str = "count",
    transition_weeks: int = 0,
    alpha: float = 0.05,
    min_segment_weeks: int = MIN_SEGMENT_WEEKS,
    hac_lags: int | None = None,
    label: str = "",
    freq: Any = "weekly",
    seasonal_period: float | None = None,
    date_col: str = DATE,
) -> ITSFit:
    """Segmented regression of a regular series (weekly by default) with several interruptions.

    `data` has columns `date_col` (first day of each observation), `count_col` and optionally
    `exposure` (offset log exposure; for `ols_hac` the rate denominator). `freq` is the step
    ('weekly', 'monthly', 'quarterly', 'annual', 'daily' or a pandas offset alias) and
    `seasonal_period` the Fourier period in observations (default from `freq`). `family` is one
    of FAMILIES (count families need whole counts; `ols_hac` takes any finite outcome);
    `transition_weeks` observations from each period start are left out of the fit (still
    predicted). Returns an ITSFit whose `table` is a tidy estimate table.
    """
    _check_family(family)
    design = build_design(
        data,
        periods,
        harmonics=harmonics,
        exposure=exposure,
        count_col=count_col,
        transition_weeks=transition_weeks,
        min_segment_weeks=min_segment_weeks,
        freq=freq,
        seasonal_period=seasonal_period,
        date_col=date_col,
        outcome="continuous" if family in CONTINUOUS_FAMILIES else "count",
    )
    return fit_design(design, family=family, alpha=alpha, hac_lags=hac_lags, label=label)
