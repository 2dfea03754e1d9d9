"""Rate ratios of event counts with exposure (people starting long-term care per week).

Every estimator returns a tidy table from `study.tidy.estimate_table` (quantity, estimate,
ci_low, ci_high, level, method, n, then p_value and note). Ratios are after / before, so a
reduction is 1 - RR with interval (1 - RR_high, 1 - RR_low).

Methods and references
- Rate of one Poisson count: exact (Garwood 1936) interval from gamma quantiles.
- Rate ratio of two Poisson counts: Wald interval from a Poisson GLM on the two counts with a
  log(exposure) offset (statsmodels); equal to exp(log(k1/t1) - log(k0/t0) +/- z sqrt(1/k1 +
  1/k0)). Check: exact conditional interval (Clopper-Pearson on k1 / (k1 + k0), transformed
  by RR = pi / (1 - pi) * t0 / t1; Breslow & Day 1987, sec. 2.2) with the exact binomial test.
- Record-level weekly series: Poisson GLM with a before/after indicator and a log(exposure)
  offset; over-dispersion tested with the Pearson chi-square statistic (X^2 / df, one-sided
  p = P(chi2_df > X^2)). Rule for model="auto": Poisson if p >= dispersion_alpha, otherwise
  quasi-Poisson (scale = X^2 / df; McCullagh & Nelder 1989, sec. 4.5). Negative binomial
  (NB2, dispersion by maximum likelihood; Cameron & Trivedi 2013) on request.
- Published rates only: counts = rate x exposure (exposure an assumption stated by the
  caller); the GLM takes these counts unrounded, so the published point value is reproduced
  exactly; the exact check needs whole counts and rounds them half up (stated in the note).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationWarning,
)

from study.checks import (
    check_alpha,
    check_count,
    check_counts,
    check_nonnegative,
    check_positive,
    check_proportion,
)
from study.errors import StudyInputError
from study.tidy import confidence_level, estimate_table, label_quantity

WALD_GLM = "Wald, Poisson GLM with log-exposure offset"
EXACT_CONDITIONAL = "exact conditional (Clopper-Pearson on k1/(k1+k0))"
GARWOOD = "exact Poisson (Garwood)"
QUASI_POISSON = "Wald, quasi-Poisson GLM (Pearson scale)"
NEG_BINOMIAL = "Wald, negative binomial NB2 (ML dispersion)"
_QUIET = (RuntimeWarning, PerfectSeparationWarning, ConvergenceWarning, HessianInversionWarning)


def garwood_rate_ci(
    count: float, exposure: float, *, alpha: float = 0.05
) -> tuple[float, float, float]:
    """count / exposure with the exact Poisson (Garwood 1936) interval.

    low = G^-1(alpha/2; k) / t, high = G^-1(1 - alpha/2; k + 1) / t with G the unit-scale gamma
    distribution function (chi-square form: chi2(alpha/2; 2k) / 2t). Returns (rate, low, high).
    """
    alpha = check_alpha(alpha)
    k = check_nonnegative(count, "count")
    t = check_positive(exposure, "exposure")
    low = 0.0 if k == 0 else float(stats.gamma.ppf(alpha / 2, k)) / t
    high = float(stats.gamma.ppf(1 - alpha / 2, k + 1)) / t
    return k / t, low, high


def glm_rate_ratio(
    count1: float, exposure1: float, count0: float, exposure0: float, *, alpha: float = 0.05
) -> tuple[float, float, float, float]:
    """Rate ratio (k1/t1) / (k0/t0) by a Poisson GLM on the two counts with log(t) offset.

    Wald interval on the log scale; SE = sqrt(1/k1 + 1/k0). Both counts must be positive.
    Returns (ratio, low, high, Wald p-value).
    """
    alpha = check_alpha(alpha)
    k1 = check_nonnegative(count1, "count1")
    k0 = check_nonnegative(count0, "count0")
    t1 = check_positive(exposure1, "exposure1")
    t0 = check_positive(exposure0, "exposure0")
    for k, nm in ((k1, "count1"), (k0, "count0")):
        if k == 0:
            raise StudyInputError(f"{nm} must be positive for the Wald rate ratio")
    endog = np.array([k0, k1])
    exog = np.array([[1.0, 0.0], [1.0, 1.0]])
    offset = np.log([t0, t1])
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", _QUIET)
        res = sm.GLM(endog, exog, family=sm.families.Poisson(), offset=offset).fit(tol=1e-12)
        ci = res.conf_int(alpha=alpha)
    return (
        float(np.exp(res.params[1])),
        float(np.exp(ci[1, 0])),
        float(np.exp(ci[1, 1])),
        float(res.pvalues[1]),
    )


def exact_rate_ratio_ci(
    count1: int, exposure1: float, count0: int, exposure0: float, *, alpha: float = 0.05
) -> tuple[float, float, float, float]:
    """Rate ratio with the exact conditional interval and the exact binomial test.

    Given K = k1 + k0, k1 ~ Binomial(K, pi) with pi = t1 RR / (t1 RR + t0). Clopper-Pearson
    limits for pi (beta quantiles) map to RR = pi / (1 - pi) * t0 / t1. p-value: two-sided
    exact binomial test of pi = t1 / (t1 + t0) (RR = 1). Returns (ratio, low, high, p).
    """
    alpha = check_alpha(alpha)
    k1 = check_count(count1, "count1")
    k0 = check_count(count0, "count0")
    t1 = check_positive(exposure1, "exposure1")
    t0 = check_positive(exposure0, "exposure0")
    total = k1 + k0
    if total == 0:
        raise StudyInputError("count1 + count0 must be positive for a rate ratio")
    pi_low = 0.0 if k1 == 0 else float(stats.beta.ppf(alpha / 2, k1, k0 + 1))
    pi_high = 1.0 if k0 == 0 else float(stats.beta.ppf(1 - alpha / 2, k1 + 1, k0))

    def to_rr(pi: float) -> float:
        return math.inf if pi >= 1 else pi / (1 - pi) * t0 / t1

    ratio = math.inf if k0 == 0 else (k1 / t1) / (k0 / t0)
    p = float(stats.binomtest(k1, total, t1 / (t1 + t0)).pvalue)
    return ratio, to_rr(pi_low), to_rr(pi_high), p


def _ratio_rows(
    label: str,
    ratio: float,
    low: float,
    high: float,
    p: float,
    method: str,
    n: float,
    level: float,
    note: str,
) -> list[dict]:
    common = {"level": level, "method": method, "n": n, "p_value": p, "note": note}
    return [
        {
            **common,
            "quantity": label_quantity(label, "rate ratio after / before"),
            "estimate": ratio,
            "ci_low": low,
            "ci_high": high,
        },
        {
            **common,
            "quantity": label_quantity(label, "reduction 1 - RR"),
            "estimate": 1 - ratio,
            "ci_low": 1 - high,
            "ci_high": 1 - low,
        },
    ]


def _rate_ratio_table(
    k1: float,
    t1: float,
    k0: float,
    t0: float,
    *,
    alpha: float,
    label: str,
    exposure_unit: str,
    note: str,
) -> pd.DataFrame:
    """Rows: both rates (Garwood), RR and reduction by Wald GLM and by exact conditional."""
    level = confidence_level(alpha)
    k1_whole, k0_whole = math.floor(k1 + 0.5), math.floor(k0 + 0.5)
    rounded = k1_whole != k1 or k0_whole != k0
    rows = []
    for k, t, nm in ((k0, t0, "before"), (k1, t1, "after")):
        r, low, high = garwood_rate_ci(k, t, alpha=alpha)
        rows.append(
            {
                "quantity": label_quantity(label, f"rate {nm} per {exposure_unit.rstrip('s')}"),
                "estimate": r,
                "ci_low": low,
                "ci_high": high,
                "level": level,
                "method": GARWOOD,
                "n": k,
                "p_value": np.nan,
                "note": _join(note, f"{k:g} events in {t:g} {exposure_unit}"),
            }
        )
    n = k1 + k0
    if k1 > 0 and k0 > 0:
        rr, low, high, p = glm_rate_ratio(k1, t1, k0, t0, alpha=alpha)
        rows += _ratio_rows(label, rr, low, high, p, WALD_GLM, n, level, _join(note, "p: Wald"))
    else:
        rows += _ratio_rows(
            label,
            np.nan,
            np.nan,
            np.nan,
            np.nan,
            WALD_GLM,
            n,
            level,
            _join(note, "Wald interval undefined with a zero count"),
        )
    check_note = "p: exact binomial test"
    if rounded:
        check_note += f"; counts rounded to whole events: {k1_whole} vs {k0_whole}"
    if k1_whole + k0_whole > 0:
        rr, low, high, p = exact_rate_ratio_ci(k1_whole, t1, k0_whole, t0, alpha=alpha)
    else:
        rr = low = high = p = np.nan
        check_note = f"exact interval undefined: {k1:g} and {k0:g} events round to 0"
    rows += _ratio_rows(
        label,
        rr,
        low,
        high,
        p,
        EXACT_CONDITIONAL,
        k1_whole + k0_whole,
        level,
        _join(note, check_note),
    )
    return estimate_table(rows)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def poisson_rate_ratio(
    count1: int,
    exposure1: float,
    count0: int,
    exposure0: float,
    *,
    alpha: float = 0.05,
    label: str = "",
    exposure_unit: str = "weeks",
    note: str = "",
) -> pd.DataFrame:
    """Rate ratio of two Poisson counts (after: count1 in exposure1; before: count0 in exposure0).

    Rows: rate before and after (Garwood exact); rate ratio and reduction 1 - RR by the Wald
    interval of a Poisson GLM with log-exposure offset (p: Wald); the same by the exact
    conditional interval (p: exact binomial test).
    """
    alpha = check_alpha(alpha)
    k1 = check_count(count1, "count1")
    k0 = check_count(count0, "count0")
    t1 = check_positive(exposure1, "exposure1")
    t0 = check_positive(exposure0, "exposure0")
    if k1 + k0 == 0:
        raise StudyInputError("count1 + count0 must be positive for a rate ratio")
    return _rate_ratio_table(
        k1, t1, k0, t0, alpha=alpha, label=label, exposure_unit=exposure_unit, note=note
    )


def published_rate_ratio(
    rate_before: float,
    rate_after: float,
    exposure_before: float,
    exposure_after: float,
    *,
    alpha: float = 0.05,
    label: str = "",
    exposure_unit: str = "weeks",
) -> pd.DataFrame:
    """Rate ratio from two published rates (events per exposure unit) and assumed exposures.

    Counts are rate x exposure (the exposure is the caller's stated assumption, e.g. a 13-week
    quarter either side). The Wald GLM uses them unrounded, so its estimate equals
    rate_after / rate_before exactly; the exact check rounds them to whole events.
    """
    alpha = check_alpha(alpha)
    r0 = check_positive(rate_before, "rate_before")
    r1 = check_nonnegative(rate_after, "rate_after")
    t0 = check_positive(exposure_before, "exposure_before")
    t1 = check_positive(exposure_after, "exposure_after")
    note = (
        f"published rates {r0:g} -> {r1:g} per {exposure_unit.rstrip('s')}; assumed exposure "
        f"{t0:g} / {t1:g} {exposure_unit}"
    )
    return _rate_ratio_table(
        r1 * t1,
        t1,
        r0 * t0,
        t0,
        alpha=alpha,
        label=label,
        exposure_unit=exposure_unit,
        note=note,
    )


def published_rate_ratio_sensitivity(
    rate_before: float,
    rate_after: float,
    exposures: Sequence[float],
    *,
    alpha: float = 0.05,
    label: str = "",
    exposure_unit: str = "weeks",
) -> pd.DataFrame:
    """Wald GLM rate ratio and reduction across assumed exposures (the same on both sides).

    One pair of rows (rate ratio, reduction) per exposure, with columns exposure and ci_width.
    """
    if len(exposures) == 0:
        raise StudyInputError("exposures must list at least one exposure")
    parts = []
    for i, t in enumerate(exposures):
        t = check_positive(t, f"exposures[{i}]")
        tab = published_rate_ratio(
            rate_before,
            rate_after,
            t,
            t,
            alpha=alpha,
            exposure_unit=exposure_unit,
            label=label_quantity(label, f"{t:g} {exposure_unit} each side"),
        )
        tab = tab[tab["method"] == WALD_GLM].copy()
        tab.insert(len(tab.columns), "exposure", t)
        parts.append(tab)
    out = pd.concat(parts, ignore_index=True)
    out["ci_width"] = out["ci_high"] - out["ci_low"]
    return out


def published_reduction(
    reduction: float,
    baseline_count: float,
    *,
    alpha: float = 0.05,
    label: str = "",
    period: str = "periods",
) -> pd.DataFrame:
    """Rate ratio and reduction from a published percentage reduction and an assumed baseline.

    The baseline count (before) is unknown and supplied by the caller as a stated assumption;
    the after count is baseline x (1 - reduction), both over one comparison period, so the Wald
    reduction equals the published value exactly.
    """
    alpha = check_alpha(alpha)
    r = check_proportion(reduction, "reduction")
    b = check_positive(baseline_count, "baseline_count")
    note = f"published reduction {r:g}; assumed baseline {b:g} per {period.rstrip('s')}"
    return _rate_ratio_table(
        b * (1 - r), 1.0, b, 1.0, alpha=alpha, label=label, exposure_unit=period, note=note
    )


def published_reduction_sensitivity(
    reduction: float,
    baseline_counts: Sequence[float],
    *,
    alpha: float = 0.05,
    label: str = "",
) -> pd.DataFrame:
    """Wald GLM reduction (and rate ratio) across assumed baseline counts.

    Plus the exact conditional check; columns baseline_count and ci_width.
    """
    if len(baseline_counts) == 0:
        raise StudyInputError("baseline_counts must list at least one count")
    parts = []
    for i, b in enumerate(baseline_counts):
        b = check_positive(b, f"baseline_counts[{i}]")
        tab = published_reduction(
            reduction, b, alpha=alpha, label=label_quantity(label, f"baseline {b:g}")
        )
        tab = tab[~tab["method"].eq(GARWOOD)].copy()
        tab.insert(len(tab.columns), "baseline_count", b)
        parts.append(tab)
    out = pd.concat(parts, ignore_index=True)
    out["ci_width"] = out["ci_high"] - out["ci_low"]
    return out


def pearson_dispersion(result) -> tuple[float, float, int]:
    """Pearson dispersion of a fitted Poisson GLM: (X^2 / df, one-sided p, df).

    p = P(chi2_df > X^2); a small p indicates over-dispersion (Cameron & Trivedi 2013, 5.2).
    """
    df = int(result.df_resid)
    x2 = float(result.pearson_chi2)
    if df <= 0:
        return math.nan, math.nan, df
    return x2 / df, float(stats.chi2.sf(x2, df)), df


def before_after_weeks(
    weekly: pd.DataFrame,
    before_end: str | pd.Timestamp,
    after_end: str | pd.Timestamp,
    weeks: int,
    *,
    date_col: str = "week_start",
    period_col: str = "period",
) -> pd.DataFrame:
    """The `weeks` whole weeks (7 days from `date_col`) ending on or before each end date.

    Rows of the window ending at `before_end` get period "before", those ending at
    `after_end` get "after" (the windows must not overlap); other rows are dropped. Used to
    compare record-level weekly counts with a published weekly average at a month end.
    """
    n = check_count(weeks, "weeks")
    if n == 0:
        raise StudyInputError("weeks must be at least 1")
    if not isinstance(weekly, pd.DataFrame) or date_col not in weekly.columns:
        raise StudyInputError(f"weekly has no column {date_col!r}")
    starts = pd.to_datetime(weekly[date_col])
    parts, seen = [], set()
    for label, end in (("before", before_end), ("after", after_end)):
        last = pd.Timestamp(end)
        chosen = sorted(starts[starts + pd.Timedelta(days=6) <= last].unique())[-n:]
        if len(chosen) < n:
            raise StudyInputError(
                f"weekly has only {len(chosen)} whole weeks up to {label}_end {last.date()}, "
                f"need weeks = {n}"
            )
        if seen & set(chosen):
            raise StudyInputError("before_end and after_end windows overlap; choose fewer weeks")
        seen |= set(chosen)
        parts.append(weekly[starts.isin(chosen)].assign(**{period_col: label}))
    return pd.concat(parts, ignore_index=True)


def weekly_rate_ratio(
    weekly: pd.DataFrame,
    *,
    count_col: str = "count",
    period_col: str = "period",
    before: str = "before",
    after: str = "after",
    exposure_col: str | None = None,
    alpha: float = 0.05,
    model: str = "auto",
    dispersion_alpha: float = 0.05,
    label: str = "",
) -> pd.DataFrame:
    """Rate ratio after / before from a record-level weekly series of counts.

    Poisson GLM: log E[count_w] = b0 + b1 [w after] + log(exposure_w) (exposure 1 per row
    unless exposure_col). Rows: dispersion (Pearson X^2/df, p from the chi-square test), then
    rate ratio and reduction from the chosen model. model="auto": Poisson if the dispersion
    p >= dispersion_alpha, else quasi-Poisson; or "poisson", "quasi-poisson",
    "negative-binomial" (NB2, ML dispersion). Rows outside both periods are ignored.
    """
    alpha = check_alpha(alpha)
    dispersion_alpha = check_alpha(dispersion_alpha, "dispersion_alpha")
    models = ("auto", "poisson", "quasi-poisson", "negative-binomial")
    if model not in models:
        raise StudyInputError(f"model must be one of {models}, got {model!r}")
    if not isinstance(weekly, pd.DataFrame):
        raise StudyInputError("weekly must be a DataFrame")
    for col in (count_col, period_col, *([exposure_col] if exposure_col else [])):
        if col not in weekly.columns:
            raise StudyInputError(f"weekly has no column {col!r}")
    data = weekly[weekly[period_col].isin([before, after])]
    for nm, lvl in (("before", before), ("after", after)):
        if not (data[period_col] == lvl).any():
            raise StudyInputError(f"weekly[{period_col!r}] has no rows for {nm} = {lvl!r}")
    y = check_counts(data[count_col].tolist(), f"weekly[{count_col!r}]").astype(float)
    if exposure_col:
        t = np.array([check_positive(v, f"weekly[{exposure_col!r}]") for v in data[exposure_col]])
    else:
        t = np.ones(len(y))
    x = (data[period_col] == after).to_numpy(dtype=float)
    k1, k0 = float(y[x == 1].sum()), float(y[x == 0].sum())
    for k, nm in ((k1, "after"), (k0, "before")):
        if k == 0:
            raise StudyInputError(f"weekly[{count_col!r}] sums to 0 in the {nm} period")
    exog = np.column_stack([np.ones_like(x), x])
    offset = np.log(t)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", _QUIET)
        pois = sm.GLM(y, exog, family=sm.families.Poisson(), offset=offset).fit(tol=1e-12)
    phi, p_disp, df = pearson_dispersion(pois)
    chosen = model
    if model == "auto":
        chosen = (
            "quasi-poisson"
            if (not math.isnan(p_disp) and p_disp < dispersion_alpha)
            else ("poisson")
        )
    rule = (
        f"rule: quasi-Poisson if dispersion p < {dispersion_alpha:g}, else Poisson"
        if model == "auto"
        else f"model chosen by caller: {model}"
    )
    level = confidence_level(alpha)
    n = int(y.sum())
    rows = [
        {
            "quantity": label_quantity(label, "dispersion (Pearson X2 / df)"),
            "estimate": phi,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "level": level,
            "method": "Pearson chi-square dispersion test",
            "n": len(y),
            "p_value": p_disp,
            "note": f"df = {df}; {rule}",
        }
    ]
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", _QUIET)
        if chosen == "poisson":
            res, method = pois, WALD_GLM
        elif chosen == "quasi-poisson":
            res = sm.GLM(y, exog, family=sm.families.Poisson(), offset=offset).fit(
                scale="X2", tol=1e-12
            )
            method = QUASI_POISSON
        else:
            res = sm.NegativeBinomial(y, exog, loglike_method="nb2", offset=offset).fit(
                disp=0, maxiter=200
            )
            method = NEG_BINOMIAL
        b, se = float(np.asarray(res.params)[1]), float(np.asarray(res.bse)[1])
        p = float(np.asarray(res.pvalues)[1])
    z = stats.norm.isf(alpha / 2)
    note = f"{k1:g} events in {t[x == 1].sum():g} vs {k0:g} in {t[x == 0].sum():g}; {rule}"
    rows += _ratio_rows(
        label,
        math.exp(b),
        math.exp(b - z * se),
        math.exp(b + z * se),
        p,
        method,
        n,
        level,
        note,
    )
    return estimate_table(rows)
