"""Periods, input checks and the segmented-regression design matrix of one regular series.

Model (Wagner et al. 2002, J Clin Pharm Ther 27:299-309; Bernal, Cummins & Gasparrini 2017,
Int J Epidemiol 46:348-355), for observation t = 0, 1, ... counted from the first one:

    g(E[y_t]) = offset_t + b0 + b1 t + sum_k [s_k sin(2 pi k t / P) + c_k cos(...)]
                + sum_p [level_p * 1(t >= t_p) + slope_p * max(t - t_p, 0)]

where t_p is the observation (week, month, ...) containing the start date of period p (its
first exposed observation), P the seasonal period in observations (`freq`: weekly 52.18,
monthly 12, quarterly 4, annual 1, daily 365.25, any other pandas offset 365.25 days / its
step; or given), g = log for the count families and the identity for OLS on rates
(`study.its.models`). Each period is
an `intervention` (a 3Cs innovation site) or `context` (Covid-19 waves); its level and slope
terms can be switched off separately.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from study.checks import check_count, check_positive
from study.errors import StudyInputError

FOURIER_PERIOD_WEEKS = 52.18
MIN_SEGMENT_WEEKS = 8
KINDS = ("intervention", "context")
DATE = "week_start"  # the date column of the checked frame (the first day of each observation)
OUTCOMES = ("count", "continuous")
FREQUENCIES = {  # name -> (step, seasonal period in observations, unit)
    "weekly": (pd.DateOffset(days=7), FOURIER_PERIOD_WEEKS, "week"),
    "monthly": (pd.DateOffset(months=1), 12.0, "month"),
    "quarterly": (pd.DateOffset(months=3), 4.0, "quarter"),
    "annual": (pd.DateOffset(years=1), 1.0, "year"),
    "daily": (pd.DateOffset(days=1), 365.25, "day"),
}


@dataclass(frozen=True)
class Frequency:
    """A regular step between observations: its name, pandas offset, seasonal period (in
    observations per year) and the unit used in messages and labels."""

    name: str
    step: pd.DateOffset
    seasonal_period: float
    unit: str

    def grid(self, first: pd.Timestamp, n: int) -> pd.DatetimeIndex:
        """The n regular dates from `first` (first + i steps, not accumulated)."""
        return pd.DatetimeIndex([first + self.step * i if i else first for i in range(n)])


_UNIT_DAYS = (
    ("day", 1.0, 1.0),
    ("week", 7.0, 7.0),
    ("month", 28.0, 31.0),
    ("quarter", 89.0, 92.0),
    ("year", 365.0, 366.0),
)


def _unit_of_step(days: float, freq: Any) -> str:
    """The unit of a pandas offset whose mean step is `days` long (e.g. 'WOM-1MON', the first
    Monday of each month, is a month), else '<alias> step'."""
    for unit, low, high in _UNIT_DAYS:
        if low - 1e-9 <= days <= high + 1e-9:
            return unit
    return f"{freq} step"


def as_frequency(freq: Any = "weekly", seasonal_period: float | None = None) -> Frequency:
    """`freq`: a Frequency, a name in FREQUENCIES or a pandas offset alias ('MS', '4W', 'QS',
    ...); `seasonal_period` overrides the default (observations per seasonal cycle)."""
    if isinstance(freq, Frequency):
        out = freq
    elif isinstance(freq, str) and freq.strip().lower() in FREQUENCIES:
        name = freq.strip().lower()
        step, period, unit = FREQUENCIES[name]
        out = Frequency(name, step, period, unit)
    else:
        try:
            step = pd.tseries.frequencies.to_offset(freq)
        except (TypeError, ValueError):
            raise StudyInputError(
                f"freq must be one of {sorted(FREQUENCIES)} or a pandas offset alias, got {freq!r}"
            ) from None
        days = (
            np.diff(pd.date_range("2001-01-01", periods=41, freq=step).to_numpy())
            .astype("timedelta64[s]")
            .astype(float)
            .mean()
            / 86400
        )
        out = Frequency(str(freq), step, 365.25 / days, _unit_of_step(days, freq))
    if seasonal_period is not None:
        period = check_positive(seasonal_period, "seasonal_period")
        out = Frequency(out.name, out.step, float(period), out.unit)
    return out


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


def check_series(
    data: pd.DataFrame,
    *,
    count_col: str = "count",
    exposure: str | None = None,
    what: str = "data",
    freq: Any = "weekly",
    date_col: str = DATE,
    outcome: str = "count",
) -> pd.DataFrame:
    """A gap-free regular series: columns week_start (the dates of `date_col`), count[, exposure].

    `freq` (see `as_frequency`) is the step between consecutive dates; `outcome` "count" needs
    non-negative whole numbers, "continuous" any finite number. Sorted by date. Raises
    StudyInputError naming the column, the first missing date or the offending date.
    """
    f = as_frequency(freq)
    if outcome not in OUTCOMES:
        raise StudyInputError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    if not isinstance(data, pd.DataFrame):
        raise StudyInputError(f"{what} must be a pandas DataFrame, got {type(data).__name__}")
    for col in [date_col, count_col] + ([exposure] if exposure else []):
        if col not in data.columns:
            raise StudyInputError(f"{what}: missing column '{col}'")
    if len(data) == 0:
        raise StudyInputError(f"{what}: the series has no rows")
    try:
        with warnings.catch_warnings():  # pandas' "could not infer format" on non-ISO strings
            warnings.simplefilter("ignore", UserWarning)
            dates = pd.to_datetime(data[date_col])
    except (TypeError, ValueError):
        raise StudyInputError(
            f"{what}: column '{date_col}' holds values that are not dates"
        ) from None
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise StudyInputError(f"{what}: column '{date_col}' is empty in row {row}")
    frame = pd.DataFrame(
        {DATE: dates.dt.normalize().to_numpy(), "count": data[count_col].to_numpy()},
    )
    if exposure:
        frame["exposure"] = data[exposure].to_numpy()
    frame = frame.sort_values(DATE, kind="stable").reset_index(drop=True)
    dup = frame[DATE].duplicated().to_numpy()
    if dup.any():
        d = frame[DATE].iloc[int(np.flatnonzero(dup)[0])]
        raise StudyInputError(f"{what}: {f.unit} {d:%Y-%m-%d} appears more than once")
    _check_regular(pd.DatetimeIndex(frame[DATE]), f, what)
    stamps = frame[DATE].dt.strftime("%Y-%m-%d").to_numpy()
    if outcome == "count":
        _check_values(frame["count"].to_numpy(), stamps, count_col, positive=False, unit=f.unit)
        frame["count"] = frame["count"].astype(np.int64)
    else:
        _check_finite(frame["count"].to_numpy(), stamps, count_col, f.unit)
        frame["count"] = frame["count"].astype(float)
    if exposure:
        name = f"{exposure} (exposure)"
        _check_values(frame["exposure"].to_numpy(), stamps, name, positive=True, unit=f.unit)
        frame["exposure"] = frame["exposure"].astype(float)
    return frame


def check_weekly_series(
    data: pd.DataFrame,
    *,
    count_col: str = "count",
    exposure: str | None = None,
    what: str = "data",
) -> pd.DataFrame:
    """A gap-free weekly count series (`check_series` with freq 'weekly')."""
    return check_series(data, count_col=count_col, exposure=exposure, what=what)


def _check_regular(dates: pd.DatetimeIndex, f: Frequency, what: str) -> None:
    """Every date one step after the previous; a gap is reported as its first missing date."""
    if f.name == "weekly":  # vectorised, and the historical messages
        steps = np.diff(dates.to_numpy()).astype("timedelta64[D]").astype(int)
        bad = np.flatnonzero(steps != 7)
        if bad.size:
            i = int(bad[0])
            prev = dates[i]
            if steps[i] % 7 == 0:
                missing = prev + pd.Timedelta(days=7)
                raise StudyInputError(f"{what}: missing week {missing:%Y-%m-%d} (weekly series)")
            raise StudyInputError(
                f"{what}: week {dates[i + 1]:%Y-%m-%d} is not 7 days after "
                f"{prev:%Y-%m-%d} (weekly series expected)"
            )
        return
    grid = f.grid(dates[0], len(dates))
    bad = np.flatnonzero(dates != grid)
    if not bad.size:
        return
    i = int(bad[0])
    prev, expected, got = dates[i - 1], grid[i], dates[i]
    later = f.grid(dates[0], min(i + 1 + 10_000, 2 * len(dates) + 10))
    if got > expected and got in later:
        raise StudyInputError(f"{what}: missing {f.unit} {expected:%Y-%m-%d} ({f.name} series)")
    raise StudyInputError(
        f"{what}: {f.unit} {got:%Y-%m-%d} is not one {f.unit} after {prev:%Y-%m-%d} "
        f"({f.name} series expected, next date {expected:%Y-%m-%d})"
    )


def _check_finite(values: np.ndarray, dates: np.ndarray, name: str, unit: str) -> None:
    try:
        v = values.astype(float)
    except (TypeError, ValueError):
        v = np.array([_to_float(x) for x in values])
    bad = np.flatnonzero(~np.isfinite(v))
    if bad.size:
        i = int(bad[0])
        raise StudyInputError(
            f"{name} in {unit} {dates[i]} must be a finite number, got {values[i]!r}"
        )


def _to_float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _check_values(
    values: np.ndarray, dates: np.ndarray, name: str, *, positive: bool, unit: str = "week"
) -> None:
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
        label = f"{name} in {unit} {dates[i]}"
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
    """Segmented-regression design for one regular series (weekly unless `freq` says otherwise).

    `X` has columns intercept, trend (observations since the first), sin1, cos1, ..., then
    level_<period> (step) and slope_<period> (observations since the first exposed one, 0
    before) in the order the periods were given. `fit_mask` is False for excluded transition
    observations. `week_start` holds the first day of every observation whatever the frequency.
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
    freq: Frequency = field(default_factory=as_frequency)
    outcome: str = "count"

    @property
    def unit(self) -> str:
        """The observation unit ('week', 'month', ...)."""
        return self.freq.unit

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
    freq: Any = "weekly",
    seasonal_period: float | None = None,
    date_col: str = DATE,
    outcome: str = "count",
) -> ITSDesign:
    """Segmented-regression design matrix with level and slope terms for each period.

    Trend = observations since the first; Fourier pairs sin/cos(2 pi k t / P), k = 1..harmonics,
    P = `seasonal_period` (default from `freq`, see `as_frequency`); offset = log(exposure).
    `transition_weeks` and `min_segment_weeks` count observations at the series' frequency.
    Every segment between consecutive period starts must keep at least `min_segment_weeks`
    observations in the fit (transition observations do not count).
    """
    f = as_frequency(freq, seasonal_period)
    frame = check_series(
        data, count_col=count_col, exposure=exposure, freq=f, date_col=date_col, outcome=outcome
    )
    specs = make_periods(periods)
    harmonics = check_count(harmonics, "harmonics")
    max_h = int(math.floor(f.seasonal_period / 2))
    if harmonics > max_h:
        what = "weekly data" if f.name == "weekly" else f"seasonal period {f.seasonal_period:g}"
        raise StudyInputError(f"harmonics must be at most {max_h} ({what}), got {harmonics}")
    transition_weeks = check_count(transition_weeks, "transition_weeks")
    min_segment_weeks = _check_min_segment(min_segment_weeks)

    n = len(frame)
    t = np.arange(n, dtype=float)
    weeks = frame[DATE]
    first = weeks.iloc[0]
    last_day = weeks.iloc[-1] + f.step - pd.Timedelta(days=1)
    cols: dict[str, np.ndarray] = {"intercept": np.ones(n), "trend": t}
    for k in range(1, harmonics + 1):
        angle = 2 * np.pi * k * t / f.seasonal_period
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
                f"periods: the segment {where} (from {f.unit} "
                f"{weeks.iloc[min(lo, n - 1)]:%Y-%m-%d}) has {kept} {f.unit}s in the fit, "
                f"need at least {min_segment_weeks}"
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
        freq=f,
        outcome=outcome,
    )
