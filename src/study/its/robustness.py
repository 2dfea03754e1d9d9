"""Robustness checks of a segmented regression: placebo interruptions and the sensitivity of
the estimates to the seasonality and the model family."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from study.checks import check_count
from study.errors import StudyInputError
from study.its.counterfactual import counterfactual_effect
from study.its.design import (
    DATE,
    MIN_SEGMENT_WEEKS,
    PeriodsLike,
    PeriodSpec,
    _check_min_segment,
    build_design,
)
from study.its.families import CONTINUOUS_FAMILIES, FAMILIES
from study.its.models import _check_family, fit_its
from study.tidy import estimate_table, label_quantity


class PlaceboPrePeriodTooShort(StudyInputError):
    """The pre-period leaves no placebo date with `min_segment_weeks` observations each side."""


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
    freq: Any = "weekly",
    seasonal_period: float | None = None,
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
        freq=freq,
        seasonal_period=seasonal_period,
        outcome="continuous" if family in CONTINUOUS_FAMILIES else "count",
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
        raise PlaceboPrePeriodTooShort(
            f"target: the pre-period of '{target}' has {n0 - last_break} {full.unit}s; placebo "
            f"dates need at least {2 * min_segment_weeks}"
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
            freq=full.freq,
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
    freq: Any = "weekly",
    seasonal_period: float | None = None,
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
                freq=freq,
                seasonal_period=seasonal_period,
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
