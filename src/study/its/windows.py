"""Dates and evaluation windows: parsing name -> [start, end], the weeks inside a window, and
cutting a weekly file at the last week an evaluation had (`data_up_to`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from study.errors import StudyInputError
from study.its.design import DATE, make_periods


def _as_date(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise StudyInputError(f"{name}: not a date: {value!r}") from None
    if pd.isna(ts):
        raise StudyInputError(f"{name}: not a date: {value!r}")
    return ts.normalize()


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
