"""Periods, input checks and the segmented-regression design matrix of one weekly series.

Model (Wagner et al. 2002, J Clin Pharm Ther 27:299-309; Bernal, Cummins & Gasparrini 2017,
Int J Epidemiol 46:348-355), for week t = 0, 1, ... counted from the first observation:

    g(E[y_t]) = offset_t + b0 + b1 t + sum_k [s_k sin(2 pi k t / 52.18) + c_k cos(...)]
                + sum_p [level_p * 1(t >= t_p) + slope_p * max(t - t_p, 0)]

where t_p is the week containing the start date of period p (its first exposed week), g = log
for the count families and the identity for OLS on rates (`study.its.models`). Each period is
an `intervention` (a 3Cs innovation site) or `context` (Covid-19 waves); its level and slope
terms can be switched off separately.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from study.checks import check_count, check_positive
from study.errors import StudyInputError

FOURIER_PERIOD_WEEKS = 52.18
MIN_SEGMENT_WEEKS = 8
KINDS = ("intervention", "context")
DATE = "week_start"


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


def _check_min_segment(min_segment_weeks: int) -> int:
    m = check_count(min_segment_weeks, "min_segment_weeks")
    if m < 1:
        raise StudyInputError("min_segment_weeks must be at least 1")
    return m


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
