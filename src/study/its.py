"""Interrupted time series (segmented regression) of weekly counts, with Covid-19 as context.

Model (Wagner et al. 2002, J Clin Pharm Ther 27:299-309; Bernal, Cummins & Gasparrini 2017,
Int J Epidemiol 46:348-355), for week t = 0, 1, ... counted from the first observation:

    g(E[y_t]) = offset_t + b0 + b1 t + sum_k [s_k sin(2 pi k t / 52.18) + c_k cos(...)]
                + sum_p [level_p * 1(t >= t_p) + slope_p * max(t - t_p, 0)]

where t_p is the week containing the start date of period p (its first exposed week), g = log
for the count families and the identity for OLS on rates. Each period is an `intervention`
(a 3Cs innovation site) or `context` (Covid-19 waves); its level and slope terms can be switched
off separately. Counterfactuals set the *intervention* terms to zero and keep the context terms,
so the effect of 3Cs is never confounded with the effect of the pandemic by construction of the
counterfactual (it still relies on the model separating them).

Families (`FAMILIES`):
- ``poisson``: Poisson GLM, log link, model-based (Fisher information) Wald z intervals.
- ``quasi_poisson``: Poisson GLM with scale = Pearson chi2 / (n - p) (McCullagh & Nelder 1989,
  s. 4.5): standard errors multiplied by sqrt(scale); Wald z intervals.
- ``negative_binomial``: NB2 GLM (var = mu + alpha mu^2), alpha by maximum profile likelihood
  (bounded Brent search over log alpha in [log 1e-8, log 10]), coefficients and Wald z intervals
  from the GLM at alpha-hat (beta and alpha are orthogonal in NB2, so this is the ML covariance
  asymptotically).
- ``poisson_hac``: Poisson GLM (quasi-likelihood) with Newey-West HAC standard errors.
- ``ols_hac``: OLS on weekly rates (count x mean exposure / exposure, i.e. counts per week at
  the average exposure; the plain count without exposure) with Newey-West HAC standard errors.
HAC: Bartlett kernel, lag L = floor(4 (n/100)^(2/9)) (Newey & West 1994 plug-in rule, the
statsmodels `cov_hac` default), small-sample factor n/(n - p), Student t reference with n - p df.
Weeks excluded as transition weeks are dropped and the remaining residuals treated as
consecutive (an approximation for the HAC kernel).

Counterfactual intervals: draws from the multivariate normal approximation to the sampling
distribution of the coefficients (the family's covariance), `np.random.default_rng(seed)`,
percentile intervals (King, Tomz & Wittenberg 2000). They are intervals for the expected counts,
not prediction intervals for future weeks.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize, stats
from statsmodels.stats.diagnostic import acorr_breusch_godfrey, acorr_ljungbox
from statsmodels.tsa.stattools import acf

from study.avoided_starts import AvoidedStarts
from study.checks import check_alpha, check_count, check_positive
from study.errors import StudyInputError
from study.tidy import confidence_level, estimate_table, label_quantity

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FOURIER_PERIOD_WEEKS = 52.18
MIN_SEGMENT_WEEKS = 8
KINDS = ("intervention", "context")
FAMILIES = ("poisson", "quasi_poisson", "negative_binomial", "poisson_hac", "ols_hac")
COUNT_FAMILIES = ("poisson", "quasi_poisson", "negative_binomial", "poisson_hac")
DATE = "week_start"
_NB_LOG_ALPHA_BOUNDS = (math.log(1e-8), math.log(10.0))


# --------------------------------------------------------------------------------------------
# Periods and input checks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodSpec:
    """One interruption: a named period from `start` on, with a level and/or a slope change.

    `kind` is "intervention" (set to zero in the counterfactual) or "context" (kept, e.g.
    Covid-19). `start` is normalised to a date; the first exposed week is the week containing it.
    """

    name: str
    start: pd.Timestamp
    kind: str = "intervention"
    level: bool = True
    slope: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise StudyInputError(
                f"periods: name {self.name!r} must be an identifier (letters, digits, _)"
            )
        try:
            start = pd.Timestamp(self.start)
        except (TypeError, ValueError):
            raise StudyInputError(
                f"periods['{self.name}'].start: not a date: {self.start!r}"
            ) from None
        if pd.isna(start):
            raise StudyInputError(f"periods['{self.name}'].start: not a date: {self.start!r}")
        object.__setattr__(self, "start", start.normalize())
        if self.kind not in KINDS:
            raise StudyInputError(
                f"periods['{self.name}'].kind must be one of {KINDS}, got {self.kind!r}"
            )
        for flag in ("level", "slope"):
            if not isinstance(getattr(self, flag), bool):
                raise StudyInputError(f"periods['{self.name}'].{flag} must be true or false")
        if not (self.level or self.slope):
            raise StudyInputError(f"periods['{self.name}']: level and slope are both switched off")


PeriodsLike = Sequence[PeriodSpec] | Mapping[str, Any]


def make_periods(periods: PeriodsLike) -> tuple[PeriodSpec, ...]:
    """Period specs from PeriodSpec objects or a mapping name -> start | {start, kind, ...}.

    Mapping values are a start date or a dict with keys start, kind, level, slope.

    Same-kind periods must be listed in increasing start order; names must be unique.
    """
    if isinstance(periods, Mapping):
        specs = []
        for name, value in periods.items():
            if isinstance(value, Mapping):
                unknown = set(value) - {"start", "kind", "level", "slope"}
                if unknown:
                    raise StudyInputError(
                        f"periods['{name}']: unknown key(s) {sorted(unknown)}; "
                        "expected start, kind, level, slope"
                    )
                if "start" not in value:
                    raise StudyInputError(f"periods['{name}']: missing 'start'")
                specs.append(PeriodSpec(name=name, **value))
            else:
                specs.append(PeriodSpec(name=name, start=value))
    elif isinstance(periods, Iterable) and not isinstance(periods, str | bytes):
        specs = list(periods)
        for p in specs:
            if not isinstance(p, PeriodSpec):
                raise StudyInputError(f"periods: expected PeriodSpec items, got {p!r}")
    else:
        raise StudyInputError("periods must be a mapping name -> start or a list of PeriodSpec")
    seen: set[str] = set()
    last: dict[str, PeriodSpec] = {}
    for p in specs:
        if p.name in seen:
            raise StudyInputError(f"periods: name '{p.name}' appears more than once")
        seen.add(p.name)
        prev = last.get(p.kind)
        if prev is not None and p.start <= prev.start:
            raise StudyInputError(
                f"periods['{p.name}'].start {p.start:%Y-%m-%d} is not after "
                f"'{prev.name}' ({prev.start:%Y-%m-%d}); {p.kind} periods must be in date order"
            )
        last[p.kind] = p
    return tuple(specs)


def check_weekly_series(
    data: pd.DataFrame,
    *,
    count_col: str = "count",
    exposure: str | None = None,
    what: str = "data",
) -> pd.DataFrame:
    """A gap-free weekly series: columns week_start, count[, exposure], sorted by week.

    Raises StudyInputError naming the column, the first missing week or the offending week.
    """
    if not isinstance(data, pd.DataFrame):
        raise StudyInputError(f"{what} must be a pandas DataFrame, got {type(data).__name__}")
    for col in [DATE, count_col] + ([exposure] if exposure else []):
        if col not in data.columns:
            raise StudyInputError(f"{what}: missing column '{col}'")
    if len(data) == 0:
        raise StudyInputError(f"{what}: the series has no rows")
    try:
        with warnings.catch_warnings():  # pandas' "could not infer format" on non-ISO strings
            warnings.simplefilter("ignore", UserWarning)
            weeks = pd.to_datetime(data[DATE])
    except (TypeError, ValueError):
        raise StudyInputError(f"{what}: column '{DATE}' holds values that are not dates") from None
    if weeks.isna().any():
        row = int(np.flatnonzero(weeks.isna().to_numpy())[0])
        raise StudyInputError(f"{what}: column '{DATE}' is empty in row {row}")
    frame = pd.DataFrame(
        {DATE: weeks.dt.normalize().to_numpy(), "count": data[count_col].to_numpy()},
    )
    if exposure:
        frame["exposure"] = data[exposure].to_numpy()
    frame = frame.sort_values(DATE, kind="stable").reset_index(drop=True)
    dup = frame[DATE].duplicated().to_numpy()
    if dup.any():
        d = frame[DATE].iloc[int(np.flatnonzero(dup)[0])]
        raise StudyInputError(f"{what}: week {d:%Y-%m-%d} appears more than once")
    steps = frame[DATE].diff().dt.days.to_numpy()[1:]
    bad = np.flatnonzero(steps != 7)
    if bad.size:
        i = int(bad[0])
        prev = frame[DATE].iloc[i]
        if steps[i] % 7 == 0:
            missing = prev + pd.Timedelta(days=7)
            raise StudyInputError(f"{what}: missing week {missing:%Y-%m-%d} (weekly series)")
        raise StudyInputError(
            f"{what}: week {frame[DATE].iloc[i + 1]:%Y-%m-%d} is not 7 days after "
            f"{prev:%Y-%m-%d} (weekly series expected)"
        )
    dates = frame[DATE].dt.strftime("%Y-%m-%d").to_numpy()
    _check_values(frame["count"].to_numpy(), dates, count_col, positive=False)
    frame["count"] = frame["count"].astype(np.int64)
    if exposure:
        name = f"{exposure} (exposure)"
        _check_values(frame["exposure"].to_numpy(), dates, name, positive=True)
        frame["exposure"] = frame["exposure"].astype(float)
    return frame


def _check_values(values: np.ndarray, dates: np.ndarray, name: str, *, positive: bool) -> None:
    """`check_positive` / `check_count` on the first offending value (vectorised scan first)."""
    check = check_positive if positive else check_count
    what = "a positive number" if positive else "a non-negative whole number"
    if values.dtype.kind in "iuf":
        v = values.astype(float)
        ok = np.isfinite(v) & ((v > 0) if positive else ((v >= 0) & (v == np.floor(v))))
        candidates = np.flatnonzero(~ok)[:1]
    else:
        candidates = range(len(values))
    for i in candidates:
        label = f"{name} in week {dates[i]}"
        try:
            check(values[i], label)
        except StudyInputError:
            raise
        except (TypeError, ValueError):
            raise StudyInputError(f"{label} must be {what}, got {values[i]!r}") from None


def newey_west_lags(n: int) -> int:
    """Newey & West (1994) plug-in lag for the Bartlett kernel: floor(4 (n/100)^(2/9))."""
    return int(math.floor(4 * (n / 100) ** (2 / 9)))


def _check_family(family: str) -> str:
    if family not in FAMILIES:
        raise StudyInputError(f"family must be one of {FAMILIES}, got {family!r}")
    return family


def _check_min_segment(min_segment_weeks: int) -> int:
    m = check_count(min_segment_weeks, "min_segment_weeks")
    if m < 1:
        raise StudyInputError("min_segment_weeks must be at least 1")
    return m


def _check_hac_lags(hac_lags: int | None) -> int | None:
    return None if hac_lags is None else check_count(hac_lags, "hac_lags")


def _as_date(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise StudyInputError(f"{name}: not a date: {value!r}") from None
    if pd.isna(ts):
        raise StudyInputError(f"{name}: not a date: {value!r}")
    return ts.normalize()


# --------------------------------------------------------------------------------------------
# Design matrix
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ITSDesign:
    """Segmented-regression design for one weekly series.

    `X` has columns intercept, trend (weeks since the first observation), sin1, cos1, ...,
    then level_<period> (step) and slope_<period> (weeks since the first exposed week, 0 before)
    in the order the periods were given. `fit_mask` is False for excluded transition weeks.
    """

    frame: pd.DataFrame
    X: pd.DataFrame
    offset: np.ndarray | None
    periods: tuple[PeriodSpec, ...]
    start_index: dict[str, int]
    fit_mask: np.ndarray
    harmonics: int
    exposure: str | None
    transition_weeks: int

    @property
    def week_start(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.frame[DATE])

    def terms_of(self, kind: str) -> tuple[str, ...]:
        """Design columns belonging to periods of `kind` ('intervention' or 'context')."""
        names = {p.name for p in self.periods if p.kind == kind}
        return tuple(
            c
            for c in self.X.columns
            if c.split("_", 1)[0] in ("level", "slope") and c.split("_", 1)[1] in names
        )

    @property
    def intervention_terms(self) -> tuple[str, ...]:
        return self.terms_of("intervention")

    @property
    def context_terms(self) -> tuple[str, ...]:
        return self.terms_of("context")


def build_design(
    data: pd.DataFrame,
    periods: PeriodsLike,
    *,
    harmonics: int = 0,
    exposure: str | None = None,
    count_col: str = "count",
    transition_weeks: int = 0,
    min_segment_weeks: int = MIN_SEGMENT_WEEKS,
) -> ITSDesign:
    """Segmented-regression design matrix with level and slope terms for each period.

    Trend = weeks since the first observation; Fourier pairs sin/cos(2 pi k t / 52.18),
    k = 1..harmonics; offset = log(exposure). Every segment between consecutive period starts
    must keep at least `min_segment_weeks` weeks in the fit (transition weeks do not count).
    """
    frame = check_weekly_series(data, count_col=count_col, exposure=exposure)
    specs = make_periods(periods)
    harmonics = check_count(harmonics, "harmonics")
    if harmonics > 26:
        raise StudyInputError(f"harmonics must be at most 26 (weekly data), got {harmonics}")
    transition_weeks = check_count(transition_weeks, "transition_weeks")
    min_segment_weeks = _check_min_segment(min_segment_weeks)

    n = len(frame)
    t = np.arange(n, dtype=float)
    weeks = frame[DATE]
    first = weeks.iloc[0]
    last_day = weeks.iloc[-1] + pd.Timedelta(days=6)
    cols: dict[str, np.ndarray] = {"intercept": np.ones(n), "trend": t}
    for k in range(1, harmonics + 1):
        angle = 2 * np.pi * k * t / FOURIER_PERIOD_WEEKS
        cols[f"sin{k}"] = np.sin(angle)
        cols[f"cos{k}"] = np.cos(angle)
    start_index: dict[str, int] = {}
    for p in specs:
        if p.start < first or p.start > last_day:
            raise StudyInputError(
                f"periods['{p.name}'].start {p.start:%Y-%m-%d} is outside the series "
                f"({first:%Y-%m-%d} to {last_day:%Y-%m-%d})"
            )
        j = int(np.searchsorted(weeks.to_numpy(), p.start.to_datetime64(), side="right") - 1)
        start_index[p.name] = j
        if p.level:
            cols[f"level_{p.name}"] = (t >= j).astype(float)
        if p.slope:
            cols[f"slope_{p.name}"] = np.maximum(t - j, 0.0)
    fit_mask = np.ones(n, dtype=bool)
    for j in start_index.values():
        fit_mask[j : j + transition_weeks] = False

    breaks = sorted(start_index.items(), key=lambda kv: kv[1])
    edges = [(0, None)] + [(j, name) for name, j in breaks] + [(n, None)]
    for (lo, lo_name), (hi, hi_name) in zip(edges[:-1], edges[1:], strict=True):
        kept = int(fit_mask[lo:hi].sum())
        if kept < min_segment_weeks:
            where = (
                f"before '{hi_name}'"
                if lo_name is None
                else f"after '{lo_name}'"
                if hi_name is None
                else f"between '{lo_name}' and '{hi_name}'"
            )
            raise StudyInputError(
                f"periods: the segment {where} (from week {weeks.iloc[min(lo, n - 1)]:%Y-%m-%d}) "
                f"has {kept} weeks in the fit, need at least {min_segment_weeks}"
            )
    offset = np.log(frame["exposure"].to_numpy()) if exposure else None
    return ITSDesign(
        frame=frame,
        X=pd.DataFrame(cols),
        offset=offset,
        periods=specs,
        start_index=start_index,
        fit_mask=fit_mask,
        harmonics=harmonics,
        exposure=exposure,
        transition_weeks=transition_weeks,
    )


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
    if family in ("poisson", "quasi_poisson", "poisson_hac"):
        model = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset)
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
        method = f"OLS on weekly rates, {hac_name}"
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
) -> list[dict]:
    scale = "log" if family in COUNT_FAMILIES else "count per week"
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
        self, params: np.ndarray | None = None, *, interventions: bool = True
    ) -> np.ndarray:
        """Expected weekly counts for every week; rows per parameter draw if `params` is 2-D.

        With `interventions=False` the intervention terms are set to zero (context kept).
        """
        beta = self.params.to_numpy() if params is None else np.asarray(params, dtype=float)
        X = self.design.X.to_numpy(copy=True)
        if not interventions:
            idx = [self.design.X.columns.get_loc(c) for c in self.design.intervention_terms]
            X[:, idx] = 0.0
        eta = beta @ X.T
        if self.family in COUNT_FAMILIES:
            off = 0.0 if self.design.offset is None else self.design.offset
            return np.exp(eta + off)
        return eta * self.rate_factor


def _rate_factor(design: ITSDesign) -> np.ndarray:
    if design.exposure:
        e = design.frame["exposure"].to_numpy()
        return e / e.mean()
    return np.ones(len(design.frame))


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
    X = design.X.to_numpy()
    off = None if design.offset is None else design.offset[m]
    core = _fit_core(y[m], X[m], off, _rate_factor(design)[m], family, alpha, hac_lags)
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
) -> ITSFit:
    """Segmented regression of a weekly count series with several interruptions.

    `data` has columns week_start, `count_col` and optionally `exposure` (offset log exposure).
    `family` is one of FAMILIES; `transition_weeks` weeks from each period start are left out
    of the fit (still predicted). Returns an ITSFit whose `table` is a tidy estimate table.
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
    )
    return fit_design(design, family=family, alpha=alpha, hac_lags=hac_lags, label=label)


# --------------------------------------------------------------------------------------------
# Residual diagnostics
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Counterfactuals
# --------------------------------------------------------------------------------------------


def _draw_params(fit: ITSFit, n_draws: int, seed: int) -> np.ndarray:
    """Coefficient draws from N(beta-hat, V-hat), `np.random.default_rng(seed)`."""
    n_draws = check_count(n_draws, "n_draws")
    if n_draws < 2:
        raise StudyInputError(f"n_draws must be at least 2, got {n_draws}")
    seed = check_count(seed, "seed")
    rng = np.random.default_rng(seed)
    return rng.multivariate_normal(
        fit.params.to_numpy(), fit.cov.to_numpy(), size=n_draws, method="eigh"
    )


def _simulate(fit: ITSFit, n_draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    beta = _draw_params(fit, n_draws, seed)
    return fit.predict(beta), fit.predict(beta, interventions=False)


@dataclass(frozen=True)
class CounterfactualResult:
    """Fitted and counterfactual weekly series with bands, window totals and the draws.

    `weekly`: week_start, observed, fitted, counterfactual, avoided and their percentile bands;
    `table`: tidy estimates per window; `draws`: weekly avoided counts, shape (n_draws, n_weeks).
    """

    weekly: pd.DataFrame
    table: pd.DataFrame
    draws: np.ndarray
    week_start: pd.DatetimeIndex
    n_draws: int
    seed: int
    method: str

    def window_draws(self, start: Any, end: Any, name: str = "window") -> AvoidedStarts:
        """The weekly avoided-count draws of the weeks whose Monday lies in [start, end]."""
        mask = _window_mask(self.week_start, name, start, end)
        return AvoidedStarts(
            week_start=self.week_start[mask],
            estimate=self.weekly["avoided"].to_numpy()[mask],
            draws=self.draws[:, mask],
            method=self.method,
        )


def _window_mask(weeks: pd.DatetimeIndex, name: str, start: Any, end: Any) -> np.ndarray:
    lo = _as_date(start, f"windows['{name}'] start")
    hi = _as_date(end, f"windows['{name}'] end")
    if hi < lo:
        raise StudyInputError(f"windows['{name}']: end {hi:%Y-%m-%d} is before start {lo:%Y-%m-%d}")
    mask = np.asarray((weeks >= lo) & (weeks <= hi))
    if not mask.any():
        raise StudyInputError(
            f"windows['{name}']: no week of the series starts in {lo:%Y-%m-%d}..{hi:%Y-%m-%d}"
        )
    return mask


def _window_items(windows: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    if not isinstance(windows, Mapping):
        raise StudyInputError("windows must be a mapping name -> [start, end]")
    out = []
    for name, value in windows.items():
        if isinstance(value, Mapping):
            if set(value) != {"start", "end"}:
                raise StudyInputError(f"windows['{name}'] must have keys start and end")
            out.append((name, value["start"], value["end"]))
        elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
            out.append((name, value[0], value[1]))
        else:
            raise StudyInputError(f"windows['{name}'] must be [start, end], got {value!r}")
    return out


@dataclass(frozen=True)
class DataUpTo:
    """A weekly file cut at the last week an evaluation had, with the periods and windows that
    still fall inside it (`dropped` names what was left out, for the notebook to say)."""

    weekly: pd.DataFrame
    periods: dict[str, Any]
    windows: dict[str, list[str]]
    dropped: tuple[str, ...]


def data_up_to(
    weekly: pd.DataFrame, periods: Mapping[str, Any], windows: Mapping[str, Any], last_week: str
) -> DataUpTo:
    """Keep the weeks starting on or before `last_week` ('' keeps everything).

    Periods that start after `last_week` are dropped (the evaluation could not see them);
    windows that start after it are dropped and the others end at `last_week` at the latest.
    This is how a year-1 evaluation is re-run from a later, longer extract.
    """
    if not last_week:
        return DataUpTo(
            weekly, dict(periods), {n: [a, b] for n, a, b in _window_items(windows)}, ()
        )
    end = _as_date(last_week, "last_week")
    kept = weekly[pd.to_datetime(weekly[DATE]) <= end]
    if kept.empty:
        raise StudyInputError(f"last_week {end:%Y-%m-%d}: no week of the series starts by then")
    dropped: list[str] = []
    kept_periods = {}
    for spec in make_periods(periods):
        if spec.start > end:
            dropped.append(f"period {spec.name} (starts {spec.start:%Y-%m-%d})")
        else:
            kept_periods[spec.name] = periods[spec.name]
    kept_windows = {}
    for name, lo, hi in _window_items(windows):
        lo_d, hi_d = (
            _as_date(lo, f"windows['{name}'] start"),
            _as_date(hi, f"windows['{name}'] end"),
        )
        if lo_d > end:
            dropped.append(f"window {name} (starts {lo_d:%Y-%m-%d})")
            continue
        kept_windows[name] = [f"{lo_d:%Y-%m-%d}", f"{min(hi_d, end):%Y-%m-%d}"]
    return DataUpTo(kept, kept_periods, kept_windows, tuple(dropped))


def _cf_method(fit: ITSFit, n_draws: int, alpha: float) -> str:
    return (
        f"{n_draws} draws from the normal sampling distribution of the coefficients "
        f"({fit.family}), {100 * (1 - alpha):g}% percentile interval; context terms kept"
    )


def counterfactual_effect(
    fit: ITSFit,
    windows: Mapping[str, Any],
    *,
    n_draws: int = 2000,
    seed: int = 0,
    alpha: float | None = None,
) -> CounterfactualResult:
    """Effect of the intervention periods with Covid kept in, per week and over named windows.

    Counterfactual = prediction with the intervention terms set to zero, context terms kept.
    Per window (weeks whose Monday lies in [start, end]): fitted and counterfactual totals,
    avoided = counterfactual - fitted (positive = fewer with 3Cs), relative change =
    fitted / counterfactual - 1. Point estimates at beta-hat; percentile intervals from
    `n_draws` coefficient draws (module docstring). `alpha` defaults to the fit's.
    """
    alpha = fit.alpha if alpha is None else check_alpha(alpha)
    items = _window_items(windows)
    fitted_d, cf_d = _simulate(fit, n_draws, seed)
    avoided_d = cf_d - fitted_d
    fitted = fit.predict()
    cf = fit.predict(interventions=False)
    weeks = fit.design.week_start
    q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
    bands = np.percentile(np.stack([fitted_d, cf_d, avoided_d]), q, axis=1)  # (2, 3, n_weeks)
    weekly = pd.DataFrame(
        {
            DATE: weeks,
            "observed": fit.design.frame["count"].to_numpy(),
            "in_fit": fit.design.fit_mask,
            "fitted": fitted,
            "fitted_low": bands[0, 0],
            "fitted_high": bands[1, 0],
            "counterfactual": cf,
            "counterfactual_low": bands[0, 1],
            "counterfactual_high": bands[1, 1],
            "avoided": cf - fitted,
            "avoided_low": bands[0, 2],
            "avoided_high": bands[1, 2],
        }
    )
    method = _cf_method(fit, n_draws, alpha)
    rows = []
    for name, start, end in items:
        mask = _window_mask(weeks, name, start, end)
        nw = int(mask.sum())
        f_tot, c_tot = fitted_d[:, mask].sum(axis=1), cf_d[:, mask].sum(axis=1)
        point_f, point_c = float(fitted[mask].sum()), float(cf[mask].sum())
        observed = int(fit.design.frame["count"].to_numpy()[mask].sum())
        note = (
            f"{nw} weeks {weeks[mask][0]:%Y-%m-%d}..{weeks[mask][-1]:%Y-%m-%d}; observed {observed}"
        )
        for quantity, point, draws in (
            ("fitted", point_f, f_tot),
            ("counterfactual", point_c, c_tot),
            ("avoided", point_c - point_f, c_tot - f_tot),
            ("relative change", point_f / point_c - 1, f_tot / c_tot - 1),
        ):
            lo, hi = np.percentile(draws, q)
            rows.append(
                {
                    "quantity": label_quantity(fit.label, f"{quantity} {name}"),
                    "estimate": point,
                    "ci_low": float(lo),
                    "ci_high": float(hi),
                    "level": confidence_level(alpha),
                    "method": method,
                    "n": nw,
                    "window": name,
                    "measure": quantity,
                    "note": note,
                }
            )
    return CounterfactualResult(
        weekly=weekly,
        table=estimate_table(rows),
        draws=avoided_d,
        week_start=weeks,
        n_draws=n_draws,
        seed=seed,
        method=method,
    )


def avoided_starts_draws(
    fit: ITSFit, start: Any, end: Any, *, n_draws: int = 2000, seed: int = 0
) -> AvoidedStarts:
    """Weekly avoided counts for the weeks whose Monday lies in [start, end], with draws.

    Returns draws of shape (n_draws, n_weeks) (same draws as `counterfactual_effect` with the
    same seed) for the cost module to multiply by unit costs.
    """
    mask = _window_mask(fit.design.week_start, "window", start, end)
    fitted_d, cf_d = _simulate(fit, n_draws, seed)
    point = fit.predict(interventions=False) - fit.predict()
    return AvoidedStarts(
        week_start=fit.design.week_start[mask],
        estimate=point[mask],
        draws=(cf_d - fitted_d)[:, mask],
        method=_cf_method(fit, n_draws, fit.alpha),
    )


def effect_summary(cf: CounterfactualResult, window: str) -> str:
    """One computed sentence on a window's avoided count and relative change (for notebooks)."""
    t = cf.table
    if "window" not in t or window not in set(t["window"]):
        raise StudyInputError(f"window: {window!r} is not one of the counterfactual's windows")
    sel = t[t["window"] == window].set_index("measure")
    av, rel = sel.loc["avoided"], sel.loc["relative change"]
    fit_, cf_ = sel.loc["fitted"], sel.loc["counterfactual"]
    pct = round(100 * av["level"])
    lo, hi = av["ci_low"], av["ci_high"]
    if lo > 0:
        verdict = "the interval is above zero (fewer starts than the counterfactual)"
    elif hi < 0:
        verdict = "the interval is below zero (more starts than the counterfactual)"
    else:
        verdict = "the interval includes zero"
    weeks = av["note"].split(";")[0]
    return (
        f"Over {window} ({weeks}) the model gives {fit_['estimate']:.0f} starts against "
        f"{cf_['estimate']:.0f} expected without the intervention periods (context periods "
        f"kept): {av['estimate']:.1f} avoided ({pct}% interval {lo:.1f} to {hi:.1f}), a relative "
        f"change of {rel['estimate']:+.1%} ({rel['ci_low']:+.1%} to {rel['ci_high']:+.1%}); "
        f"{verdict}."
    )


# --------------------------------------------------------------------------------------------
# Controlled ITS
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ControlledITSFit:
    """Joint segmented regression of a treated and a comparison series.

    Terms: the single-series design (shared seasonality) plus `treated`, `treated_trend` and
    `treated_<level|slope>_<period>` interactions; `differences` holds the difference-in-level
    and difference-in-slope rows (treated minus comparison) of every period. Rows of `X` and
    `frame` are the comparison weeks, then the treated weeks; `design` is the comparison
    group's single-series design (periods and their first exposed weeks).
    """

    X: pd.DataFrame
    frame: pd.DataFrame
    treated: str
    comparison: str
    family: str
    alpha: float
    params: pd.Series
    cov: pd.DataFrame
    table: pd.DataFrame
    differences: pd.DataFrame
    method: str
    n: int
    label: str = ""
    result: Any = field(default=None, repr=False, compare=False)
    design: ITSDesign | None = field(default=None, repr=False, compare=False)

    @property
    def treated_intervention_terms(self) -> tuple[str, ...]:
        """`treated_level_<p>` / `treated_slope_<p>` columns of the intervention periods p."""
        kinds = self.table.set_index("term")["kind"]
        return tuple(
            c
            for c in self.X.columns
            if c.startswith(("treated_level_", "treated_slope_")) and kinds[c] == "intervention"
        )

    def predict(self, *, interventions: bool = True) -> np.ndarray:
        """Expected weekly counts of every row of `frame` at the estimated coefficients.

        With `interventions=False` the treated-specific intervention terms
        (`treated_intervention_terms`) are set to zero: the treated group then follows the
        comparison group's changes at the intervention periods, keeping its own baseline
        (treated, treated_trend) and its own context-period differences.
        """
        X = self.X.to_numpy(copy=True)
        if not interventions:
            idx = [self.X.columns.get_loc(c) for c in self.treated_intervention_terms]
            X[:, idx] = 0.0
        eta = X @ self.params.to_numpy()
        exposure = self.frame["exposure"].to_numpy() if "exposure" in self.frame else None
        if self.family in COUNT_FAMILIES:
            return np.exp(eta if exposure is None else eta + np.log(exposure))
        return eta if exposure is None else eta * exposure / exposure.mean()


def fit_controlled_its(
    data: pd.DataFrame,
    periods: PeriodsLike,
    *,
    treated: str,
    comparison: str,
    group_col: str = "group",
    family: str = "quasi_poisson",
    harmonics: int = 1,
    exposure: str | None = None,
    count_col: str = "count",
    transition_weeks: int = 0,
    alpha: float = 0.05,
    min_segment_weeks: int = MIN_SEGMENT_WEEKS,
    hac_lags: int | None = None,
    label: str = "",
) -> ControlledITSFit:
    """Controlled ITS (comparative segmented regression; Lopez Bernal et al. 2018, BMJ 360:k1232).

    Long data with `group_col`; both groups must cover the same weeks. Difference-in-level of a
    period = coefficient of treated_level_<period> (log rate ratio for count families),
    difference-in-slope = treated_slope_<period>. HAC families use Driscoll-Kraay (scores summed
    over groups per week, then Newey-West).
    """
    family = _check_family(family)
    alpha = check_alpha(alpha)
    hac_lags = _check_hac_lags(hac_lags)
    if not isinstance(data, pd.DataFrame) or group_col not in data.columns:
        raise StudyInputError(f"data: missing column '{group_col}'")
    groups = set(data[group_col].astype(str))
    for arg, g in (("treated", treated), ("comparison", comparison)):
        if g not in groups:
            raise StudyInputError(f"{arg}: group {g!r} not found in column '{group_col}'")
    if treated == comparison:
        raise StudyInputError("comparison must differ from treated")
    designs = {}
    for g in (comparison, treated):
        sub = data[data[group_col].astype(str) == g]
        designs[g] = build_design(
            sub,
            periods,
            harmonics=harmonics,
            exposure=exposure,
            count_col=count_col,
            transition_weeks=transition_weeks,
            min_segment_weeks=min_segment_weeks,
        )
    w_c, w_t = designs[comparison].week_start, designs[treated].week_start
    if not w_c.equals(w_t):
        only = w_t.difference(w_c)
        g_in, g_out = (treated, comparison) if len(only) else (comparison, treated)
        only = only if len(only) else w_c.difference(w_t)
        raise StudyInputError(
            f"data: week {only[0]:%Y-%m-%d} is in group {g_in!r} but not in {g_out!r}"
        )
    base = designs[comparison]
    period_terms = list(base.intervention_terms) + list(base.context_terms)
    blocks = []
    for g, d in ((comparison, designs[comparison]), (treated, designs[treated])):
        block = d.X.copy()
        tr = 1.0 if g == treated else 0.0
        block["treated"] = tr
        block["treated_trend"] = tr * d.X["trend"]
        for term in [c for c in d.X.columns if c in period_terms]:
            block[f"treated_{term}"] = tr * d.X[term]
        blocks.append(block)
    X = pd.concat(blocks, ignore_index=True)
    frame = pd.concat(
        [
            designs[comparison].frame.assign(group=comparison),
            designs[treated].frame.assign(group=treated),
        ],
        ignore_index=True,
    )
    mask = np.concatenate([designs[comparison].fit_mask, designs[treated].fit_mask])
    y = frame["count"].to_numpy(dtype=float)
    offset = None
    if exposure:
        offset = np.log(frame["exposure"].to_numpy())[mask]
        e = frame["exposure"].to_numpy()
        rate_factor = np.concatenate(
            [designs[g].frame["exposure"].to_numpy() / e.mean() for g in (comparison, treated)]
        )
    else:
        rate_factor = np.ones(len(frame))
    time = np.tile(np.arange(len(base.frame)), 2)[mask]
    core = _fit_core(
        y[mask],
        X.to_numpy()[mask],
        offset,
        rate_factor[mask],
        family,
        alpha,
        hac_lags,
        hac_time=time,
    )
    core = replace(core, method="Controlled ITS, " + core.method)
    names = list(X.columns)
    kinds = _term_kinds(base)
    kinds.update({f"treated_{k}": v for k, v in _term_kinds(base).items()})
    table = estimate_table(
        _coef_rows(names, core, alpha=alpha, family=family, kinds=kinds, label=label)
    )
    diff_rows = []
    scale = "log" if family in COUNT_FAMILIES else "count per week"
    for term in period_terms:
        i = names.index(f"treated_{term}")
        what, period = term.split("_", 1)
        est, lo, hi = core.params[i], core.ci[i, 0], core.ci[i, 1]
        common = {
            "level": confidence_level(alpha),
            "n": core.n,
            "p_value": float(core.pvalues[i]),
            "term": f"treated_{term}",
            "kind": kinds[term],
            "period": period,
        }
        diff_rows.append(
            {
                "quantity": label_quantity(label, f"difference in {what} {period}"),
                "estimate": float(est),
                "ci_low": float(lo),
                "ci_high": float(hi),
                "method": core.method,
                "scale": scale,
                **common,
            }
        )
        if family in COUNT_FAMILIES and what == "level":
            diff_rows.append(
                {
                    "quantity": label_quantity(label, f"ratio of level rate ratios {period}"),
                    "estimate": math.exp(est),
                    "ci_low": math.exp(lo),
                    "ci_high": math.exp(hi),
                    "method": core.method + " (exponentiated)",
                    "scale": "ratio",
                    **common,
                }
            )
    return ControlledITSFit(
        X=X,
        frame=frame,
        treated=treated,
        comparison=comparison,
        family=family,
        alpha=alpha,
        params=pd.Series(core.params, index=names),
        cov=pd.DataFrame(core.cov, index=names, columns=names),
        table=table,
        differences=estimate_table(diff_rows),
        method=core.method,
        n=core.n,
        label=label,
        result=core.result,
        design=base,
    )


# --------------------------------------------------------------------------------------------
# Robustness
# --------------------------------------------------------------------------------------------


def placebo_tests(
    data: pd.DataFrame,
    periods: PeriodsLike,
    *,
    target: str | None = None,
    step_weeks: int = 8,
    family: str = "quasi_poisson",
    harmonics: int = 1,
    exposure: str | None = None,
    count_col: str = "count",
    alpha: float = 0.05,
    min_segment_weeks: int = MIN_SEGMENT_WEEKS,
    hac_lags: int | None = None,
    label: str = "",
) -> pd.DataFrame:
    """Placebo interruptions in the pre-period of `target` (default: first intervention).

    Only weeks before the target's first exposed week are used (earlier periods kept); a fake
    period is placed every `step_weeks` weeks, leaving >= `min_segment_weeks` weeks on each side,
    and its level change is estimated. These should be null; one row per placebo date (plus its
    rate ratio for count families).
    """
    _check_family(family)
    step_weeks = check_count(step_weeks, "step_weeks")
    if step_weeks < 1:
        raise StudyInputError("step_weeks must be at least 1")
    min_segment_weeks = _check_min_segment(min_segment_weeks)
    full = build_design(
        data,
        periods,
        exposure=exposure,
        count_col=count_col,
        min_segment_weeks=min_segment_weeks,
    )
    specs = full.periods
    interventions = [p for p in specs if p.kind == "intervention"]
    if target is None:
        if not interventions:
            raise StudyInputError("periods: no intervention period to place placebos before")
        target = interventions[0].name
    if target not in full.start_index:
        raise StudyInputError(f"target: no period named {target!r}")
    target_spec = next(p for p in specs if p.name == target)
    n0 = full.start_index[target]
    kept = [p for p in specs if full.start_index[p.name] < n0]
    last_break = max([full.start_index[p.name] for p in kept], default=0)
    candidates = list(range(last_break + min_segment_weeks, n0 - min_segment_weeks + 1, step_weeks))
    if not candidates:
        raise StudyInputError(
            f"target: the pre-period of '{target}' has {n0 - last_break} weeks; placebo dates "
            f"need at least {2 * min_segment_weeks}"
        )
    pre = full.frame.iloc[:n0].rename(columns={"count": count_col})
    if exposure:
        pre = pre.rename(columns={"exposure": exposure})
    rows = []
    for j in candidates:
        date = full.frame[DATE].iloc[j]
        fake = PeriodSpec("placebo", date, "intervention", True, target_spec.slope)
        fit = fit_its(
            pre,
            [*kept, fake],
            family=family,
            harmonics=harmonics,
            exposure=exposure,
            count_col=count_col,
            alpha=alpha,
            min_segment_weeks=min_segment_weeks,
            hac_lags=hac_lags,
        )
        sel = fit.table[fit.table["term"] == "level_placebo"]
        for rec in sel.to_dict("records"):
            what = "rate ratio" if rec["scale"] == "ratio" else "level change"
            rec["quantity"] = label_quantity(label, f"placebo {what} {date:%Y-%m-%d}")
            rec["placebo_start"] = f"{date:%Y-%m-%d}"
            rec["weeks_before_target"] = n0 - j
            rec["target"] = target
            rows.append(rec)
    return estimate_table(rows)


def sensitivity_table(
    data: pd.DataFrame,
    periods: PeriodsLike,
    *,
    max_harmonics: int = 2,
    families: Sequence[str] = FAMILIES,
    windows: Mapping[str, Any] | None = None,
    n_draws: int = 500,
    seed: int = 0,
    exposure: str | None = None,
    count_col: str = "count",
    transition_weeks: int = 0,
    alpha: float = 0.05,
    min_segment_weeks: int = MIN_SEGMENT_WEEKS,
    hac_lags: int | None = None,
    label: str = "",
) -> pd.DataFrame:
    """Intervention level changes (and window effects) over harmonics 0..max_harmonics x family.

    Level changes are on each family's scale (`scale` column: log / count per week), so the
    comparable quantity across families is the avoided count over `windows` (counterfactual
    with Covid kept, same seed for every fit). Quantities end in "[family, K harmonics]".
    """
    max_harmonics = check_count(max_harmonics, "max_harmonics")
    if isinstance(families, str) or not families:
        raise StudyInputError("families must be a non-empty list of family names")
    for fam in families:
        _check_family(fam)
    rows = []
    for k in range(max_harmonics + 1):
        for fam in families:
            fit = fit_its(
                data,
                periods,
                family=fam,
                harmonics=k,
                exposure=exposure,
                count_col=count_col,
                transition_weeks=transition_weeks,
                alpha=alpha,
                min_segment_weeks=min_segment_weeks,
                hac_lags=hac_lags,
                label=label,
            )
            levels = fit.table[
                (fit.table["kind"] == "intervention") & fit.table["term"].str.startswith("level_")
            ]
            parts = [levels]
            if windows:
                cf = counterfactual_effect(fit, windows, n_draws=n_draws, seed=seed, alpha=alpha)
                t = cf.table
                parts.append(t[t["quantity"].str.contains("avoided ", regex=False)])
            for part in parts:
                for rec in part.to_dict("records"):
                    rec["quantity"] = f"{rec['quantity']} [{fam}, {k} harmonics]"
                    rec["family"] = fam
                    rec["harmonics"] = k
                    rec["dispersion"] = fit.dispersion
                    rows.append(rec)
    out = estimate_table(rows)
    lead = [c for c in out.columns if c not in ("family", "harmonics")]
    return out[lead[:7] + ["family", "harmonics"] + lead[7:]]


# --------------------------------------------------------------------------------------------
# Simulation (for tests and the coverage benchmark)
# --------------------------------------------------------------------------------------------


def simulate_its_counts(
    n_weeks: int,
    *,
    first_week: str = "2017-09-04",
    baseline_per_week: float = 7.0,
    trend_log_per_week: float = 0.0,
    periods: PeriodsLike = (),
    level_log: Mapping[str, float] | None = None,
    slope_log: Mapping[str, float] | None = None,
    season_amplitude_log: float = 0.0,
    ar1_rho: float = 0.0,
    ar1_sd: float = 0.0,
    nb_alpha: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulated weekly counts with known log-scale level/slope changes (seeded).

    mean_t = baseline * exp(trend t + amplitude sin(2 pi t/52.18) + sum level + slope (t - t_p)+);
    count_t ~ Poisson(mean_t * exp(u_t) * g_t), u stationary AR(1) on the log scale with marginal
    sd `ar1_sd`, g_t ~ Gamma(1/nb_alpha, nb_alpha) when nb_alpha > 0. Returns week_start, count,
    mean (the noise-free mean whose log-linear coefficients are the truth).
    """
    n_weeks = check_count(n_weeks, "n_weeks")
    check_positive(baseline_per_week, "baseline_per_week")
    rng = np.random.default_rng(check_count(seed, "seed"))
    weeks = pd.date_range(_as_date(first_week, "first_week"), periods=n_weeks, freq="7D")
    t = np.arange(n_weeks, dtype=float)
    eta = math.log(baseline_per_week) + trend_log_per_week * t
    eta = eta + season_amplitude_log * np.sin(2 * np.pi * t / FOURIER_PERIOD_WEEKS)
    specs = make_periods(periods)
    level_log, slope_log = dict(level_log or {}), dict(slope_log or {})
    for p in specs:
        j = int(np.searchsorted(weeks.to_numpy(), p.start.to_datetime64(), side="right") - 1)
        eta = eta + level_log.get(p.name, 0.0) * (t >= j)
        eta = eta + slope_log.get(p.name, 0.0) * np.maximum(t - j, 0.0)
    mean = np.exp(eta)
    u = np.zeros(n_weeks)
    if ar1_sd > 0:
        e = rng.standard_normal(n_weeks)
        u[0] = ar1_sd * e[0]
        innov = ar1_sd * math.sqrt(1 - ar1_rho**2)
        for i in range(1, n_weeks):
            u[i] = ar1_rho * u[i - 1] + innov * e[i]
    lam = mean * np.exp(u)
    if nb_alpha > 0:
        lam = lam * rng.gamma(1 / nb_alpha, nb_alpha, size=n_weeks)
    return pd.DataFrame({DATE: weeks, "count": rng.poisson(lam), "mean": mean})


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def _period_spans(design: ITSDesign) -> list[tuple[PeriodSpec, pd.Timestamp, pd.Timestamp]]:
    weeks = design.week_start
    order = sorted(design.periods, key=lambda p: design.start_index[p.name])
    end = weeks[-1] + pd.Timedelta(days=7)
    spans = []
    for i, p in enumerate(order):
        lo = weeks[design.start_index[p.name]]
        hi = weeks[design.start_index[order[i + 1].name]] if i + 1 < len(order) else end
        spans.append((p, lo, hi))
    return spans


def _shade_periods(ax, design: ITSDesign, intervention_colour) -> None:
    """Shade each period's segment (intervention: `intervention_colour`, context: grey), mark
    its start and write its name at the top of the axes."""
    for p, lo, hi in _period_spans(design):
        colour = intervention_colour if p.kind == "intervention" else "0.5"
        ax.axvspan(lo.to_datetime64(), hi.to_datetime64(), color=colour, alpha=0.08, lw=0)
        ax.axvline(lo.to_datetime64(), color=colour, lw=0.8, ls=":")
        ax.annotate(
            p.name,
            (lo.to_datetime64(), 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=7,
            color="0.3",
        )


def plot_counterfactual(
    fit: ITSFit, cf: CounterfactualResult, *, title: str = "", ylabel: str = "count per week"
):
    """Observed, fitted and counterfactual (Covid kept) weekly series with percentile bands.

    Segments between period starts are shaded (blue: intervention, grey: context); the y axis
    stops at 1.5 x the larger of the observed maximum and the fitted band, so a widening
    counterfactual band may run off the top. Returns a matplotlib Figure not registered with
    pyplot.
    """
    import seaborn as sns
    from matplotlib.figure import Figure

    pal = sns.color_palette("colorblind")
    w = cf.weekly
    x = w[DATE].to_numpy()
    fig = Figure(figsize=(10, 4.8), layout="constrained")
    ax = fig.subplots()
    _shade_periods(ax, fit.design, pal[0])
    ax.scatter(x, w["observed"], s=8, color="0.35", label="observed", zorder=3)
    ax.fill_between(x, w["fitted_low"], w["fitted_high"], color=pal[0], alpha=0.25, lw=0)
    ax.plot(x, w["fitted"], color=pal[0], lw=1.8, label="fitted")
    ax.fill_between(
        x, w["counterfactual_low"], w["counterfactual_high"], color=pal[1], alpha=0.25, lw=0
    )
    ax.plot(
        x,
        w["counterfactual"],
        color=pal[1],
        lw=1.8,
        ls="--",
        label="counterfactual (no 3Cs, Covid kept)",
    )
    ax.set_ylabel(ylabel)
    ax.set_xlabel("week")
    top = 1.5 * max(float(w["observed"].max()), float(w["fitted_high"].max()), 1.0)
    ax.set_ylim(0, top)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    if title:
        ax.set_title(title)
    sns.despine(ax=ax)
    return fig


def plot_controlled_its(
    cfit: ControlledITSFit,
    *,
    title: str = "",
    synthetic: bool = False,
    ylabel: str = "count per week",
) -> Figure:
    """Controlled ITS: observed and fitted weekly counts of both groups, treated counterfactual.

    The counterfactual (dashed) is `cfit.predict(interventions=False)` on the treated rows: the
    treated-specific intervention terms `treated_level_<p>` and `treated_slope_<p>` of every
    intervention period p are set to zero, so at the intervention periods the treated series
    follows the comparison group's changes (level_<p>, slope_<p> kept); the baseline
    differences (treated, treated_trend) and all context-period terms, treated-specific or not,
    are kept. It equals the treated fitted line before the first intervention. Point
    predictions at the estimates (no bands). Segments between period starts are shaded (blue:
    intervention, grey: context). `synthetic=True` adds "synthetic data" to the title. Returns
    a matplotlib Figure not registered with pyplot.
    """
    import seaborn as sns
    from matplotlib.figure import Figure

    if cfit.design is None:
        raise StudyInputError("cfit: no design stored; refit with fit_controlled_its")
    pal = sns.color_palette("colorblind")
    fitted = cfit.predict()
    counterfactual = cfit.predict(interventions=False)
    group = cfit.frame["group"].to_numpy()
    fig = Figure(figsize=(10, 4.8), layout="constrained")
    ax = fig.subplots()
    _shade_periods(ax, cfit.design, pal[0])
    top = 1.0
    for g, colour in ((cfit.comparison, pal[2]), (cfit.treated, pal[0])):
        sel = group == g
        x = cfit.frame[DATE].to_numpy()[sel]
        observed = cfit.frame["count"].to_numpy()[sel]
        ax.scatter(x, observed, s=8, color=colour, alpha=0.5, label=f"{g} observed", zorder=3)
        ax.plot(x, fitted[sel], color=colour, lw=1.8, label=f"{g} fitted")
        top = max(top, float(observed.max()), float(fitted[sel].max()))
    sel = group == cfit.treated
    ax.plot(
        cfit.frame[DATE].to_numpy()[sel],
        counterfactual[sel],
        color=pal[1],
        lw=1.8,
        ls="--",
        label=f"{cfit.treated} counterfactual (follows {cfit.comparison})",
    )
    ax.set_ylabel(ylabel)
    ax.set_xlabel("week")
    top = max(top, float(counterfactual[sel].max()))
    ax.set_ylim(0, 1.15 * top)
    fig.legend(loc="outside lower center", fontsize=8, frameon=False, ncols=3)
    heading = title or f"Controlled ITS: {cfit.treated} vs {cfit.comparison}"
    ax.set_title(f"{heading} (synthetic data)" if synthetic else heading)
    sns.despine(ax=ax)
    return fig


def plot_residual_acf(diag: ResidualDiagnostics, *, title: str = ""):
    """Residual autocorrelation by lag with the +/- z/sqrt(n) bounds. Returns a Figure."""
    import seaborn as sns
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.2), layout="constrained")
    ax = fig.subplots()
    a = diag.acf
    ax.vlines(a["lag"], 0, a["acf"], color=sns.color_palette("colorblind")[0], lw=2)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.axhline(a["bound"].iloc[0], color="0.5", ls="--", lw=0.8)
    ax.axhline(-a["bound"].iloc[0], color="0.5", ls="--", lw=0.8)
    ax.set_xlabel("lag (weeks)")
    ax.set_ylabel(f"ACF of {diag.residual} residuals")
    if title:
        ax.set_title(title)
    sns.despine(ax=ax)
    return fig


__all__ = [
    "COUNT_FAMILIES",
    "FAMILIES",
    "FOURIER_PERIOD_WEEKS",
    "AvoidedStarts",
    "ControlledITSFit",
    "CounterfactualResult",
    "ITSDesign",
    "ITSFit",
    "PeriodSpec",
    "ResidualDiagnostics",
    "avoided_starts_draws",
    "build_design",
    "check_weekly_series",
    "counterfactual_effect",
    "effect_summary",
    "fit_controlled_its",
    "fit_design",
    "fit_its",
    "make_periods",
    "newey_west_lags",
    "placebo_tests",
    "plot_controlled_its",
    "plot_counterfactual",
    "plot_residual_acf",
    "residual_diagnostics",
    "sensitivity_table",
    "simulate_its_counts",
]
