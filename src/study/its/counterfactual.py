"""Counterfactuals of a fitted segmented regression: the effect of the intervention periods with
the context periods (Covid-19) kept.

Counterfactuals set the *intervention* terms to zero and keep the context terms, so the effect
of 3Cs is never confounded with the effect of the pandemic by construction of the
counterfactual (it still relies on the model separating them).

Intervals: draws from the multivariate normal approximation to the sampling distribution of the
coefficients (the family's covariance), `np.random.default_rng(seed)`, percentile intervals
(King, Tomz & Wittenberg 2000). They are intervals for the expected counts, not prediction
intervals for future weeks. Each window row states the Monte Carlo standard error of its two
limits (`mc_se_low`, `mc_se_high`, also in `note`; `quantile_mc_se`); every draw is a fresh
coefficient draw (none is reused).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from study.avoided_starts import AvoidedStarts
from study.checks import check_alpha, check_count
from study.errors import StudyInputError
from study.its.design import DATE
from study.its.models import ITSFit
from study.its.windows import _window_items, _window_mask
from study.tidy import confidence_level, estimate_table, label_quantity


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


def quantile_mc_se(draws: np.ndarray, prob: float) -> float:
    """Monte Carlo SE of the `prob` sample quantile of `draws` (1-D), by the order-statistic
    (binomial) method: half the distance between the quantiles at prob -/+ sqrt(prob(1-prob)/m),
    m draws (the SD of the empirical CDF at the quantile mapped back through the draws;
    e.g. Gelman et al. 2013, BDA3 s. 10.5; Flegal & Jones 2010)."""
    x = np.asarray(draws, dtype=float).ravel()
    m = x.size
    if m < 2:
        raise StudyInputError("quantile_mc_se: need at least 2 draws")
    s = math.sqrt(prob * (1 - prob) / m)
    lo, hi = np.percentile(x, [100 * max(prob - s, 0.0), 100 * min(prob + s, 1.0)])
    return float((hi - lo) / 2)


def _simulate(
    fit: ITSFit, n_draws: int, seed: int, weeks: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    beta = _draw_params(fit, n_draws, seed)
    return fit.predict(beta, weeks=weeks), fit.predict(beta, interventions=False, weeks=weeks)


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
        observed = f"{fit.design.frame['count'].to_numpy()[mask].sum():.12g}"
        span = f"{weeks[mask][0]:%Y-%m-%d}..{weeks[mask][-1]:%Y-%m-%d}"
        note = f"{nw} {fit.design.unit}s {span}; observed {observed}"
        for quantity, point, draws in (
            ("fitted", point_f, f_tot),
            ("counterfactual", point_c, c_tot),
            ("avoided", point_c - point_f, c_tot - f_tot),
            ("relative change", point_f / point_c - 1, f_tot / c_tot - 1),
        ):
            lo, hi = np.percentile(draws, q)
            se_lo = quantile_mc_se(draws, alpha / 2)
            se_hi = quantile_mc_se(draws, 1 - alpha / 2)
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
                    "note": f"{note}; Monte Carlo SE of the limits {se_lo:.3g} and {se_hi:.3g}",
                    "mc_se_low": se_lo,
                    "mc_se_high": se_hi,
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

    Returns draws of shape (n_draws, n_weeks) (the coefficient draws of `counterfactual_effect`
    with the same seed; only the window's weeks are predicted) for the cost module to multiply
    by unit costs.
    """
    mask = _window_mask(fit.design.week_start, "window", start, end)
    fitted_d, cf_d = _simulate(fit, n_draws, seed, weeks=mask)
    point = fit.predict(interventions=False, weeks=mask) - fit.predict(weeks=mask)
    return AvoidedStarts(
        week_start=fit.design.week_start[mask],
        estimate=point,
        draws=cf_d - fitted_d,
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
