"""Controlled ITS: a joint segmented regression of a treated and a comparison series."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from study.checks import check_alpha
from study.errors import StudyInputError
from study.its.design import MIN_SEGMENT_WEEKS, ITSDesign, PeriodsLike, build_design
from study.its.families import CONTINUOUS_FAMILIES, COUNT_FAMILIES
from study.its.models import (
    _check_family,
    _check_hac_lags,
    _coef_rows,
    _fit_core,
    _term_kinds,
)
from study.tidy import confidence_level, estimate_table, label_quantity


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
    freq: Any = "weekly",
    seasonal_period: float | None = None,
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
            freq=freq,
            seasonal_period=seasonal_period,
            outcome="continuous" if family in CONTINUOUS_FAMILIES else "count",
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
        unit=base.unit,
    )
    core = replace(core, method="Controlled ITS, " + core.method)
    names = list(X.columns)
    kinds = _term_kinds(base)
    kinds.update({f"treated_{k}": v for k, v in _term_kinds(base).items()})
    table = estimate_table(
        _coef_rows(
            names, core, alpha=alpha, family=family, kinds=kinds, label=label, unit=base.unit
        )
    )
    diff_rows = []
    scale = "log" if family in COUNT_FAMILIES else f"count per {base.unit}"
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
