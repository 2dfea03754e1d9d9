"""Shares, proportions and their comparison, with confidence intervals.

Every estimator returns a tidy table from `study.tidy.estimate_table` (one row per estimate:
quantity, estimate, ci_low, ci_high, level, method, n, then p_value and note).

Methods and references
- Wilson score interval for one proportion (Wilson 1927), via statsmodels `proportion_confint`.
- Simultaneous intervals for a multinomial split: Goodman (1965) via statsmodels
  `multinomial_proportions_confint`, and Sison & Glaz (1995) by `sison_glaz_intervals`, the
  same computation as statsmodels' vectorised over the categories.
- Difference of two independent proportions: Newcombe's hybrid score interval, method 10 of
  Newcombe (1998, Stat Med 17:873-890), built from the two Wilson intervals.
- Risk ratio: Katz log interval (Katz et al. 1978), var(log RR) = 1/x1 - 1/n1 + 1/x0 - 1/n0
  (0.5 added to every cell when a cell is zero);
  or Koopman's (1984) score interval via statsmodels.
- Tests of equal proportions: Pearson chi-square (1 df, no continuity correction) and Fisher's
  exact test (two-sided), both from scipy; the odds ratio is the conditional MLE with the exact
  (Cornfield) interval, computed as `scipy.stats.contingency.odds_ratio` does
  (`conditional_odds_ratio` replays its BiasedUrn evaluation with numpy; equal to scipy's in
  `tests/test_odds_ratio.py`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special, stats
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    multinomial_proportions_confint,
    proportion_confint,
)

from study.checks import check_alpha, check_count, check_counts, check_proportion
from study.errors import StudyInputError
from study.tidy import confidence_level, estimate_table, label_quantity

WILSON = "Wilson score"
GOODMAN = "Goodman simultaneous"
SISON_GLAZ = "Sison-Glaz simultaneous"
NEWCOMBE = "Newcombe hybrid score (method 10)"
KATZ = "Katz log"
KOOPMAN = "Koopman score"
MULTINOMIAL_METHODS = {"wilson": WILSON, "goodman": GOODMAN, "sison-glaz": SISON_GLAZ}


def wilson_interval(count: int, nobs: int, *, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for count/nobs (Wilson 1927), statsmodels `proportion_confint`."""
    low, high = proportion_confint(count, nobs, alpha=alpha, method="wilson")
    return float(low), float(high)


def _check_pair(count: float, nobs: float, count_name: str, nobs_name: str) -> tuple[int, int]:
    k = check_count(count, count_name)
    n = check_count(nobs, nobs_name)
    if n == 0:
        raise StudyInputError(f"{nobs_name} must be at least 1, got {nobs!r}")
    if k > n:
        raise StudyInputError(f"{count_name} ({k}) must not exceed {nobs_name} ({n})")
    return k, n


def largest_remainder_counts(total: int, weights) -> np.ndarray:
    """Whole counts summing to `total` in proportion to `weights`: largest-remainder (Hamilton)
    rounding, ties to the earlier category."""
    w = np.asarray(weights, dtype=float)
    raw = total * w / w.sum()
    base = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - base), kind="stable")
    base[order[: total - int(base.sum())]] += 1
    return base


def shares_to_counts(
    shares: Mapping[str, float],
    total: int,
    *,
    rounding_unit: float = 0.01,
    name: str = "shares",
) -> pd.DataFrame:
    """Counts implied by published shares of a known total.

    Shares are fractions (0.70, not 70). They were published rounded to `rounding_unit`
    (0.01 = whole percent), so they must sum to 1 within k * rounding_unit / 2 for k
    categories; otherwise StudyInputError names `name`. Counts use largest-remainder
    (Hamilton) rounding of share * total, so they sum to `total`; `count_min`/`count_max`
    give the whole counts consistent with share +/- rounding_unit / 2.
    """
    if not isinstance(shares, Mapping) or len(shares) < 2:
        raise StudyInputError(f"{name} must map at least two categories to shares")
    n = check_count(total, "total")
    if n == 0:
        raise StudyInputError(f"total must be at least 1, got {total!r}")
    if not (isinstance(rounding_unit, int | float) and 0 <= rounding_unit < 1):
        raise StudyInputError(f"rounding_unit must be in [0, 1), got {rounding_unit!r}")
    cats = list(shares)
    vals = np.array([check_proportion(shares[c], f"{name}[{c!r}]") for c in cats])
    tol = len(cats) * rounding_unit / 2 + 1e-9
    if abs(vals.sum() - 1) > tol:
        raise StudyInputError(
            f"{name} must sum to 1 within {tol:.4g} (rounding to {rounding_unit:g}), "
            f"got {vals.sum():.6g}"
        )
    counts = largest_remainder_counts(n, vals)
    half = rounding_unit / 2
    cmin = np.ceil(np.clip(vals - half, 0, 1) * n - 1e-9).astype(np.int64)
    cmax = np.floor(np.clip(vals + half, 0, 1) * n + 1e-9).astype(np.int64)
    return pd.DataFrame(
        {"category": cats, "share": vals, "count": counts, "count_min": cmin, "count_max": cmax}
    )


def multinomial_ci(
    counts: Mapping[str, int] | pd.Series,
    *,
    alpha: float = 0.05,
    methods: Sequence[str] = ("wilson", "goodman", "sison-glaz"),
    label: str = "",
) -> pd.DataFrame:
    """Shares of a multinomial split with per-category and simultaneous intervals.

    "wilson": per-category Wilson score intervals (each covers 1 - alpha on its own);
    "goodman": Goodman (1965) simultaneous intervals (chi-square, Bonferroni over k);
    "sison-glaz": Sison & Glaz (1995) simultaneous intervals (Edgeworth approximation,
    designed for >= 7 categories, so indicative with fewer). One row per category and method.
    """
    alpha = check_alpha(alpha)
    if isinstance(counts, pd.Series):
        counts = counts.to_dict()
    if not isinstance(counts, Mapping) or len(counts) < 2:
        raise StudyInputError("counts must map at least two categories to counts")
    cats = [str(c) for c in counts]
    arr = check_counts(list(counts.values()), "counts")
    n = int(arr.sum())
    if n == 0:
        raise StudyInputError("counts must not all be zero")
    unknown = [m for m in methods if m not in MULTINOMIAL_METHODS]
    if unknown or not methods:
        raise StudyInputError(f"methods must be among {sorted(MULTINOMIAL_METHODS)}, got {unknown}")
    rows = []
    for m in methods:
        shown = m
        if m == "wilson":
            low, high = proportion_confint(arr, n, alpha=alpha, method="wilson")
            ci = np.column_stack([low, high])
            note = "per-category interval"
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                if m == "sison-glaz":
                    ci = sison_glaz_intervals(arr, alpha=alpha)
                else:
                    ci = multinomial_proportions_confint(arr, alpha=alpha, method=m)
            note = "simultaneous over all categories"
            if m == "sison-glaz" and _sison_glaz_degenerate(ci, arr):
                # statsmodels' Sison-Glaz returns [1, 1] at a 100% category (and [0, 1] for
                # every category in some sparse splits): not an interval; Goodman instead
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    ci = multinomial_proportions_confint(arr, alpha=alpha, method="goodman")
                shown = "goodman"
                note += (
                    "; Sison-Glaz is degenerate for this split (a zero-width or [0, 1] limit), "
                    "Goodman limits shown"
                )
            if m == "sison-glaz" and len(cats) < 7:
                note += "; Sison-Glaz is designed for >= 7 categories, indicative here"
            if m == "goodman" and arr.min() < 5:
                note += "; Goodman assumes every count >= 5"
        for cat, k, (low, high) in zip(cats, arr, ci, strict=True):
            rows.append(
                {
                    "quantity": label_quantity(label, f"share {cat}"),
                    "estimate": k / n,
                    "ci_low": float(low),
                    "ci_high": float(high),
                    "level": confidence_level(alpha),
                    "method": MULTINOMIAL_METHODS[shown],
                    "n": n,
                    "category": cat,
                    "count": int(k),
                    "note": note,
                }
            )
    return estimate_table(rows)


def _poisson_cdf(x: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """P(Z <= x), Z ~ Poisson(mu), as `scipy.stats.poisson.cdf` computes it (pdtr of floor x;
    0 below the support)."""
    return np.where(x >= 0, special.pdtr(np.floor(np.maximum(x, 0)), mu), 0.0)


def _poisson_between(low: np.ndarray, high: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """P(low <= Z <= high), Z ~ Poisson(mu)."""
    return _poisson_cdf(high, mu) - _poisson_cdf(low - 1, mu)


def sison_glaz_intervals(counts, *, alpha: float = 0.05) -> np.ndarray:
    """Sison & Glaz (1995) simultaneous intervals (k x 2) for a multinomial split.

    The computation of statsmodels `multinomial_proportions_confint(method="sison-glaz")`
    (0.15; its search for c with nu(c) <= 1 - alpha < nu(c + 1), nu(c) from the truncated
    Poisson moments and the Edgeworth expansion, nu = 1 once c + 1 >= n), with each nu(c)
    computed for all categories at once instead of category by category: the same operations
    on the same values, so the same limits."""
    alpha = check_alpha(alpha)
    counts = np.array(counts, dtype=float)
    if (counts < 0).any():
        raise StudyInputError("counts must be >= 0")
    n = counts.sum()
    proportions = counts / n
    powers = [np.array([p**r for p in counts]) for r in range(1, 5)]  # as scalar p**r
    log_pmf_n = np.log(np.exp(special.xlogy(n, n) - special.gammaln(n + 1) - n))

    def nu(c: float) -> float:
        b, a = np.maximum(counts - c, 0), np.minimum(counts + c, n)
        inside = _poisson_between(b, a, counts)
        mu_r1, mu_r2, mu_r3, mu_r4 = (
            powers[r - 1]
            * (
                1
                - (
                    (
                        _poisson_between(a - r + 1, a, counts)
                        - _poisson_between(b - r, b - 1, counts)
                    )
                    / inside
                )
            )
            for r in range(1, 5)
        )
        mu = mu_r1
        mu2 = mu_r2 + mu - mu**2
        mu3 = mu_r3 + mu_r2 * (3 - 3 * mu) + mu - 3 * mu**2 + 2 * mu**3
        mu4 = (
            mu_r4
            + mu_r3 * (6 - 4 * mu)
            + mu_r2 * (7 - 12 * mu + 6 * mu**2)
            + mu
            - 4 * mu**2
            + 6 * mu**3
            - 3 * mu**4
        )
        g1 = mu3.sum() / mu2.sum() ** 1.5
        g2 = (mu4.sum() - 3 * (mu2**2).sum()) / mu2.sum() ** 2
        x = (n - mu.sum()) / np.sqrt(mu2.sum())
        phi = np.exp(-(x**2) / 2) / np.sqrt(2 * np.pi)
        h3 = x**3 - 3 * x
        h4 = x**4 - 6 * x**2 + 3
        h6 = x**6 - 15 * x**4 + 45 * x**2 - 15
        f = phi * (1 + g1 * h3 / 6 + g2 * h4 / 24 + g1**2 * h6 / 72)
        edgeworth = f / np.sqrt(mu2.sum())
        return np.exp(np.sum(np.log(inside)) + np.log(edgeworth) - log_pmf_n)

    c = 0.0
    nuc = 0.0
    nucp1 = nu(c + 1) if c + 1 < n else 1.0
    while not (nuc <= (1 - alpha) < nucp1):
        if c > n:
            raise StudyInputError(
                "Sison-Glaz: no c solves nu(c) <= 1 - alpha < nu(c + 1) for these counts"
            )
        c += 1
        nuc = nucp1
        nucp1 = nu(c + 1) if c + 1 < n else 1.0
    g = (1 - alpha - nuc) / (nucp1 - nuc)
    ci_lower = np.maximum(proportions - c / n, 0)
    ci_upper = np.minimum(proportions + (c + 2 * g) / n, 1)
    return np.array([ci_lower, ci_upper]).T


def _sison_glaz_degenerate(ci: np.ndarray, counts: np.ndarray) -> bool:
    """True if a Sison-Glaz result is no interval: zero width, or [0, 1] for every category."""
    width = ci[:, 1] - ci[:, 0]
    return bool((width <= 0).any() or (width >= 1).all() or counts.max() == counts.sum())


def newcombe_difference_ci(
    count1: int, nobs1: int, count0: int, nobs0: int, *, alpha: float = 0.05
) -> tuple[float, float, float]:
    """p1 - p0 with Newcombe's hybrid score interval (Newcombe 1998, method 10).

    With Wilson limits (l1, u1) and (l0, u0): low = d - sqrt((p1-l1)^2 + (u0-p0)^2),
    high = d + sqrt((u1-p1)^2 + (p0-l0)^2). Returns (difference, low, high).
    """
    alpha = check_alpha(alpha)
    k1, n1 = _check_pair(count1, nobs1, "count1", "nobs1")
    k0, n0 = _check_pair(count0, nobs0, "count0", "nobs0")
    p1, p0 = k1 / n1, k0 / n0
    l1, u1 = wilson_interval(k1, n1, alpha=alpha)
    l0, u0 = wilson_interval(k0, n0, alpha=alpha)
    d = p1 - p0
    low = d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return d, low, high


def katz_risk_ratio_ci(
    count1: int, nobs1: int, count0: int, nobs0: int, *, alpha: float = 0.05
) -> tuple[float, float, float]:
    """p1 / p0 with the Katz log interval (Katz et al. 1978, Biometrics 34:469-474).

    var(log RR) = 1/x1 - 1/n1 + 1/x0 - 1/n0. When a cell of the 2x2 table is zero (a count of
    0 or of all n), 0.5 is added to every cell (Haldane-Anscombe: x + 0.5 of n + 1) for the
    variance, and for the ratio itself when a count is 0, so that 0% and 100% give a proper
    interval instead of an infinite one or [1, 1] (`katz_continuity_corrected` says whether it
    was applied). Returns
    (ratio, low, high).
    """
    alpha = check_alpha(alpha)
    k1, n1 = _check_pair(count1, nobs1, "count1", "nobs1")
    k0, n0 = _check_pair(count0, nobs0, "count0", "nobs0")
    x1, m1, x0, m0 = float(k1), float(n1), float(k0), float(n0)
    if katz_continuity_corrected(k1, n1, k0, n0):
        x1, m1, x0, m0 = x1 + 0.5, m1 + 1.0, x0 + 0.5, m0 + 1.0
    # the observed ratio when both counts are positive (only the variance is corrected at 100%)
    rr = (k1 / n1) / (k0 / n0) if k1 and k0 else (x1 / m1) / (x0 / m0)
    se = math.sqrt(1 / x1 - 1 / m1 + 1 / x0 - 1 / m0)
    z = stats.norm.isf(alpha / 2)
    return rr, rr * math.exp(-z * se), rr * math.exp(z * se)


def katz_continuity_corrected(count1: int, nobs1: int, count0: int, nobs0: int) -> bool:
    """True when `katz_risk_ratio_ci` adds 0.5 to every cell (a zero cell in the 2x2 table)."""
    return 0 in (count1, count0) or count1 == nobs1 or count0 == nobs0


def compare_proportions(
    count1: int,
    nobs1: int,
    count0: int,
    nobs0: int,
    *,
    alpha: float = 0.05,
    label: str = "",
    names: tuple[str, str] = ("after", "before"),
    ratio_method: str = "katz-log",
    note: str = "",
    odds_ratio: bool = True,
) -> pd.DataFrame:
    """Compare two independent proportions p1 = count1/nobs1 against p0 = count0/nobs0.

    Rows: each proportion (Wilson); difference p1 - p0 (Newcombe method 10, p-value from the
    Pearson chi-square test without continuity correction); risk ratio p1/p0 (Katz log, or
    Koopman score with ratio_method="score"); odds ratio (conditional MLE, exact interval,
    Fisher's exact two-sided p-value), left out with `odds_ratio=False` (its exact interval
    is the costly part).
    """
    alpha = check_alpha(alpha)
    k1, n1 = _check_pair(count1, nobs1, "count1", "nobs1")
    k0, n0 = _check_pair(count0, nobs0, "count0", "nobs0")
    if ratio_method not in ("katz-log", "score"):
        raise StudyInputError(f"ratio_method must be 'katz-log' or 'score', got {ratio_method!r}")
    level = confidence_level(alpha)
    base = {"level": level, "n": n1 + n0}
    rows = []
    for (k, n), nm in zip(((k1, n1), (k0, n0)), names, strict=True):
        low, high = wilson_interval(k, n, alpha=alpha)
        rows.append(
            {
                "quantity": label_quantity(label, f"proportion {nm}"),
                "estimate": k / n,
                "ci_low": low,
                "ci_high": high,
                "level": level,
                "method": WILSON,
                "n": n,
                "p_value": np.nan,
                "note": f"{k}/{n}",
            }
        )
    table = _two_by_two(k1, n1, k0, n0)
    if (table.sum(axis=0) == 0).any():
        chi_p = np.nan
    else:
        chi_p = float(stats.chi2_contingency(table, correction=False).pvalue)
    d, dlow, dhigh = newcombe_difference_ci(k1, n1, k0, n0, alpha=alpha)
    rows.append(
        {
            **base,
            "quantity": label_quantity(label, f"difference {names[0]} - {names[1]}"),
            "estimate": d,
            "ci_low": dlow,
            "ci_high": dhigh,
            "method": NEWCOMBE,
            "p_value": chi_p,
            "note": "p: Pearson chi-square, 1 df, no continuity correction",
        }
    )
    rr_note = "p: Pearson chi-square, 1 df, no continuity correction"
    rmethod = KATZ if ratio_method == "katz-log" else KOOPMAN
    if ratio_method == "katz-log":
        rr, rlow, rhigh = katz_risk_ratio_ci(k1, n1, k0, n0, alpha=alpha)
        if katz_continuity_corrected(k1, n1, k0, n0):
            rmethod = KATZ + ", 0.5 added to every cell (a zero cell)"
    elif k0 == 0:
        rr, rlow, rhigh = math.nan, math.nan, math.nan
        rr_note = "failed: count0 is 0, the risk ratio is undefined; " + rr_note
    else:
        rr = (k1 / n1) / (k0 / n0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rlow, rhigh = confint_proportions_2indep(
                k1, n1, k0, n0, method="score", compare="ratio", alpha=alpha
            )
    rows.append(
        {
            **base,
            "quantity": label_quantity(label, f"risk ratio {names[0]} / {names[1]}"),
            "estimate": rr,
            "ci_low": float(rlow),
            "ci_high": float(rhigh),
            "method": rmethod,
            "p_value": chi_p,
            "note": rr_note,
        }
    )
    if odds_ratio:
        rows.append(_odds_ratio_row(table, alpha=alpha, label=label, names=names, base=base))
    out = estimate_table(rows)
    if note:
        out["note"] = [f"{n}; {note}" if n else note for n in out["note"]]
    return out


def _two_by_two(k1: int, n1: int, k0: int, n0: int) -> np.ndarray:
    """The 2 x 2 table [[events, non-events] after, [events, non-events] before]."""
    return np.array([[k1, n1 - k1], [k0, n0 - k0]])


def _fisher_p(table: np.ndarray) -> float:
    """Two-sided p-value of Fisher's exact test (scipy)."""
    return float(stats.fisher_exact(table).pvalue)


_FAK_LEN = 1024  # BiasedUrn's table of log factorials
_LN_FAC_TABLE = np.cumsum([0.0] + [math.log(float(i)) for i in range(1, _FAK_LEN)]).tolist()
_ACCUR = 1e-12 * 0.1  # scipy builds its urns with accuracy 1e-12; BiasedUrn cuts at 0.1 of it


def _ln_facs(ks) -> np.ndarray:
    """log k! as BiasedUrn's LnFac, elementwise: its table below 1024 (a running sum of logs),
    else its Stirling series to 1/k**3, in the same operations (math.log: the C library's)."""
    ks = np.asarray(ks, dtype=np.int64)
    out = np.empty(len(ks))
    small = ks < _FAK_LEN
    out[small] = np.asarray(_LN_FAC_TABLE)[ks[small]]
    n1 = ks[~small].astype(float)
    r = 1.0 / n1
    logs = np.array([math.log(t) for t in n1.tolist()])
    out[~small] = (
        (n1 + 0.5) * logs - n1 + 0.918938533204672722 + r * (1.0 / 12.0 + r * r * (-1.0 / 360.0))
    )
    return out


def _exp(v: np.ndarray) -> np.ndarray:
    """exp elementwise with the C library's exp (math.exp), as BiasedUrn; 0 below underflow."""
    out = np.zeros(len(v))
    live = np.flatnonzero(v > -746.0)
    out[live] = [math.exp(t) for t in v[live].tolist()]
    return out


def _summed(y: np.ndarray, start: int = 0) -> int:
    """How many terms a BiasedUrn loop adds: up to the first below its cut (from `start`)."""
    cut = np.flatnonzero(y[start:] < _ACCUR)
    return int(cut[0]) + start + 1 if len(cut) else len(y)


class _FisherUrn:
    """Fisher's noncentral hypergeometric law as scipy evaluates it: BiasedUrn's
    CFishersNCHypergeometric (accuracy 1e-12) replayed in the same floating-point operations
    and order, vectorised with numpy, so pmf sums and means equal `nchypergeom_fisher`'s.

    n draws (column 0 sum), m marked items (row 0 sum) of N in all; support xmin..xmax. The
    parts free of the odds (log factorials, log ratios of neighbours) are computed once.
    """

    def __init__(self, n: int, m: int, N: int):
        self.n, self.m, self.N, self.m2 = n, m, N, N - m
        self.xmin, self.xmax = max(0, m + n - N), min(n, m)
        xs = np.arange(self.xmin, self.xmax + 1)
        x2 = n - xs
        self.lf_x, self.lf_x2 = _ln_facs(xs), _ln_facs(x2)
        self.lf_mx, self.lf_m2x2 = _ln_facs(m - xs), _ln_facs(self.m2 - x2)
        self.fresh = ((self.lf_x + self.lf_x2) + self.lf_mx) + self.lf_m2x2
        lf = _ln_facs([m, self.m2, N, n, N - n])
        self.m_fac, self.m2_fac, self.c_fac = lf[0], lf[1], (lf[2] - lf[3]) - lf[4]
        self.mm_fac = self.m_fac + self.m2_fac
        # BiasedUrn updates log factorials step by step unless both m and N - m are tabulated
        self.incremental = not (m < _FAK_LEN and self.m2 < _FAK_LEN)
        xd, x2d = xs.astype(float), x2.astype(float)
        up = xd * (self.m2 - x2) / ((x2d + 1) * (m - xs + 1))  # step x - 1 -> x
        down = x2d * (m - xs) / ((xd + 1) * (self.m2 - x2 + 1))  # step x + 1 -> x
        self.log_up = np.array([math.log(t) if t > 0 else -math.inf for t in up.tolist()])
        self.log_down = np.array([math.log(t) if t > 0 else -math.inf for t in down.tolist()])

    def _chain(self, state: tuple, x0: int, step: int, stop: int) -> np.ndarray:
        """BiasedUrn's sum of log factorials (lng's xFac) at x0, x0 + step, ..., stop, from
        its state (last x, its xFac): one step updates it, a jump recomputes it."""
        i0 = x0 - self.xmin
        idx = np.arange(i0, stop - self.xmin + step, step)
        if not self.incremental:
            return self.fresh[idx]
        last, fac = state
        first = {0: fac, 1: fac + self.log_up[i0], -1: fac + self.log_down[i0]}.get(
            x0 - last, self.fresh[i0]
        )
        inc = (self.log_up if step == 1 else self.log_down)[idx[1:]]
        return np.cumsum(np.concatenate(([first], inc)))

    def _terms(self, state, x0, step, stop, logodds, scale) -> tuple[np.ndarray, np.ndarray]:
        """exp(lng(x)) at x0, x0 + step, ..., stop, and the xFac chain behind them."""
        fac = self._chain(state, x0, step, stop)
        xs = np.arange(x0, stop + step, step, dtype=float)
        return _exp(((self.mm_fac - fac) + xs * logodds) - scale), fac

    def _central(self, xs: np.ndarray) -> np.ndarray:
        """BiasedUrn's probability() at odds 1 (the central hypergeometric pmf) at xs."""
        i = xs - self.xmin
        v = (self.m_fac - self.lf_x[i]) - self.lf_mx[i] + self.m2_fac
        return _exp(((v - self.lf_x2[i]) - self.lf_m2x2[i]) - self.c_fac)

    def mean_approx(self, odds: float) -> float:
        """BiasedUrn's mean(): Cornfield's approximate mean."""
        m, n, N = self.m, self.n, self.N
        if odds == 1.0:
            return float(m) * n / N
        a = (m + n) * odds + (N - m - n)
        b = a * a - 4.0 * odds * (odds - 1.0) * m * n
        b = math.sqrt(b) if b > 0.0 else 0.0
        return (a - b) / (2.0 * (odds - 1.0))

    def setup(self, odds: float) -> tuple:
        """BiasedUrn's first probability() call: 1 / (sum of exp(lng) around the approximate
        mean, each side until a term < 1e-13), the scale, log odds and the lng state after."""
        logodds = math.log(odds)
        x1 = max(int(self.mean_approx(odds)), self.xmin)
        fac1 = self._chain((-99, 0.0), x1, 1, x1)[0]
        scale = self.mm_fac - fac1 + x1 * logodds
        state, terms = (x1, fac1), [np.array([1.0])]
        for step, stop in ((-1, self.xmin), (1, self.xmax)):
            if (stop - x1) * step > 0:
                y, fac = self._terms(state, x1 + step, step, stop, logodds, scale)
                k = _summed(y)
                terms.append(y[:k])
                state = (x1 + step * k, fac[k - 1])
        return 1.0 / np.cumsum(np.concatenate(terms))[-1], scale, logodds, state

    def pmf_upto(self, x: int, odds: float) -> np.ndarray:
        """scipy's pmf at xmin..x, each from a fresh urn (as `nchypergeom_fisher.cdf` sums)."""
        xs = np.arange(self.xmin, x + 1)
        if odds == 1.0:
            return self._central(xs)
        rsum, scale, logodds, state = self.setup(odds)
        facs = self.fresh[xs - self.xmin].copy()
        if self.incremental:  # lng(k) next to the state's last x is a step update
            for k in range(max(state[0] - 1, self.xmin), min(state[0] + 1, x) + 1):
                facs[k - self.xmin] = self._chain(state, k, 1, k)[0]
        return _exp(((self.mm_fac - facs) + xs.astype(float) * logodds) - scale) * rsum

    def mean(self, odds: float) -> float:
        """scipy's `nchypergeom_fisher.mean`: BiasedUrn's moments(), the mean of the pmf
        summed up and then down from the approximate mean until a term < 1e-13."""
        xm = int(self.mean_approx(odds))
        down_xs = np.arange(xm - 1, self.xmin - 1, -1)
        if odds == 1.0:
            up = self._central(np.arange(xm, self.xmax + 1))
            up = up[: _summed(up, 1)]
            down = self._central(down_xs)
        else:
            rsum, scale, logodds, state = self.setup(odds)
            y, fac = self._terms(state, xm, 1, self.xmax, logodds, scale)
            up = y * rsum
            k = _summed(up, 1)
            up, state = up[:k], (xm + k - 1, fac[k - 1])
            down = np.zeros(0)
            if len(down_xs):
                down = self._terms(state, xm - 1, -1, self.xmin, logodds, scale)[0] * rsum
        down = down[: _summed(down)]
        y = np.concatenate((up, down))
        dx = np.concatenate((np.arange(len(up)), -1 - np.arange(len(down)))).astype(float)
        return float(np.cumsum(dx * y)[-1] / np.cumsum(y)[-1] + xm)


def _solve_increasing(func) -> float:
    """Root of an increasing func of nc > 0: bracket from nc = 1 by halving or doubling,
    then Brent's method with xtol 1e-13 (the search of scipy's conditional odds ratio)."""
    nc = 1.0
    value = func(nc)
    if value == 0:
        return nc
    if value > 0:
        nc /= 2.0
        while func(nc) > 0:
            nc /= 2.0
        lo, hi = nc, 2.0 * nc
    else:
        nc *= 2.0
        while func(nc) < 0:
            nc *= 2.0
        lo, hi = nc / 2.0, nc
    return float(optimize.brentq(func, lo, hi, xtol=1e-13))


def conditional_odds_ratio(table, *, alpha: float = 0.05) -> tuple[float, float, float]:
    """Conditional MLE of the odds ratio of a 2 x 2 table with its exact two-sided interval.

    The MLE is the noncentrality nc of Fisher's noncentral hypergeometric law (given the
    margins) whose mean is table[0, 0]; the limits solve P(X >= x; nc) = alpha/2 (lower) and
    P(X <= x; nc) = alpha/2 (upper) (Cornfield). Same searches and conventions as
    `scipy.stats.contingency.odds_ratio(table, kind="conditional")`: nan with (0, inf) for
    an empty row or column, 0 / inf when x is at an end of the support or the sample odds
    ratio is 0 / inf; the law is evaluated over the whole support with numpy.
    """
    t = np.asarray(table, dtype=np.int64)
    if (t.sum(axis=0) == 0).any() or (t.sum(axis=1) == 0).any():
        return math.nan, 0.0, math.inf
    a, b, c, d = (int(v) for v in t.ravel())
    urn = _FisherUrn(a + c, a + b, a + b + c + d)
    if a == urn.xmin:
        mle = 0.0
    elif a == urn.xmax:
        mle = math.inf
    else:
        mle = _solve_increasing(lambda nc: urn.mean(nc) - a)
    tail = 0.5 * (1 - (1 - alpha))  # as scipy's interval at confidence level 1 - alpha

    def cdf(k: int, nc: float) -> float:
        if k < urn.xmin:
            return 0.0
        return 1.0 if k >= urn.xmax else float(np.sum(urn.pmf_upto(k, nc)))

    if c > 0 and b > 0 and a * d == 0:
        low = 0.0
    else:
        low = _solve_increasing(lambda nc: float(np.clip(1.0 - cdf(a - 1, nc), 0, 1)) - tail)
    if (c == 0 or b == 0) and a > 0 and d > 0:
        high = math.inf
    else:
        high = _solve_increasing(lambda nc: -float(np.clip(cdf(a, nc), 0, 1)) + tail)
    return mle, low, high


def _odds_ratio_row(
    table: np.ndarray, *, alpha: float, label: str, names: tuple[str, str], base: dict
) -> dict:
    """The odds ratio row of `compare_proportions`: conditional MLE, exact interval, Fisher."""
    mle, low, high = conditional_odds_ratio(table, alpha=alpha)
    or_note = "p: Fisher's exact test, two-sided"
    or_ok = not np.isnan(mle)
    if not or_ok:
        or_note = "failed: the odds ratio is undefined (no events or no non-events); " + or_note
    return {
        **base,
        "quantity": label_quantity(label, f"odds ratio {names[0]} / {names[1]}"),
        "estimate": mle,
        "ci_low": low if or_ok else math.nan,
        "ci_high": high if or_ok else math.nan,
        "method": "conditional MLE, exact interval",
        "p_value": _fisher_p(table),
        "note": or_note,
    }


def published_share_count(share: float, nobs: int, *, name: str = "share") -> int:
    """Whole count behind a published share of an assumed denominator: round(share * nobs)."""
    p = check_proportion(share, name)
    n = check_count(nobs, f"{name} denominator")
    return int(math.floor(p * n + 0.5))


def compare_published_shares(
    share1: float,
    nobs1: int,
    share0: float,
    nobs0: int,
    *,
    alpha: float = 0.05,
    label: str = "",
    names: tuple[str, str] = ("after", "before"),
    ratio_method: str = "katz-log",
    odds_ratio: bool = True,
) -> pd.DataFrame:
    """`compare_proportions` for two published shares (fractions) of assumed denominators.

    Counts are round(share * nobs) (half up), stated in the note, so the published point values
    are reproduced exactly only when share * nobs is whole.
    """
    k1 = published_share_count(share1, nobs1, name="share1")
    k0 = published_share_count(share0, nobs0, name="share0")
    note = f"counts = round(share x assumed denominator): {k1}/{nobs1} vs {k0}/{nobs0}"
    return compare_proportions(
        k1,
        nobs1,
        k0,
        nobs0,
        alpha=alpha,
        label=label,
        names=names,
        ratio_method=ratio_method,
        note=note,
        odds_ratio=odds_ratio,
    )


def comparison_denominator_sensitivity(
    share1: float,
    share0: float,
    denominators: Sequence[tuple[int, int]],
    *,
    alpha: float = 0.05,
    label: str = "",
) -> pd.DataFrame:
    """Difference and risk ratio of two published shares across assumed denominator pairs.

    For each (nobs1, nobs0): Newcombe method-10 difference and Katz log risk ratio, with the
    interval width and the chi-square and Fisher p-values (columns p_value, p_fisher; the odds
    ratio and its exact interval are not computed).
    """
    alpha = check_alpha(alpha)
    if len(denominators) == 0:
        raise StudyInputError("denominators must list at least one (nobs1, nobs0) pair")
    rows = []
    for i, pair in enumerate(denominators):
        if len(pair) != 2:
            raise StudyInputError(f"denominators[{i}] must be a pair (nobs1, nobs0)")
        n1 = check_count(pair[0], f"denominators[{i}][0]")
        n0 = check_count(pair[1], f"denominators[{i}][1]")
        tab = compare_published_shares(share1, n1, share0, n0, alpha=alpha, odds_ratio=False)
        k1 = published_share_count(share1, n1, name="share1")
        k0 = published_share_count(share0, n0, name="share0")
        p_fisher = _fisher_p(_two_by_two(k1, n1, k0, n0))
        for j, what in ((2, "difference"), (3, "risk ratio")):
            r = tab.iloc[j]
            rows.append(
                {
                    "quantity": label_quantity(label, f"{what} (n = {n1} vs {n0})"),
                    "estimate": r["estimate"],
                    "ci_low": r["ci_low"],
                    "ci_high": r["ci_high"],
                    "level": r["level"],
                    "method": r["method"],
                    "n": n1 + n0,
                    "nobs1": n1,
                    "nobs0": n0,
                    "ci_width": r["ci_high"] - r["ci_low"],
                    "p_value": r["p_value"],
                    "p_fisher": p_fisher,
                    "note": tab["note"].iloc[j],
                }
            )
    return estimate_table(rows)


def smallest_clear_denominator(sensitivity: pd.DataFrame, *, direction: str) -> int | None:
    """Smallest assumed `nobs0` of a `comparison_denominator_sensitivity` table whose Newcombe
    interval of the difference excludes zero on the side `direction` ("increase": ci_low > 0,
    "decrease": ci_high < 0); None if there is none."""
    if direction not in ("increase", "decrease"):
        raise StudyInputError(f"direction must be 'increase' or 'decrease', got {direction!r}")
    diff = sensitivity[sensitivity["method"] == NEWCOMBE]
    clear = diff[diff["ci_low"] > 0] if direction == "increase" else diff[diff["ci_high"] < 0]
    return int(clear["nobs0"].min()) if len(clear) else None
