"""Calibration targets read from data/published/, the generator's stated assumptions, and the small
vectorised helpers every synthetic table uses (SYNTHETIC data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from study.data import published
from study.errors import StudyInputError

GENERATOR_VERSION = "1.0"
DEFAULT_SEED = 20210501  # the committed files in data/synthetic/ (Harrow report, May 2021)
SYNTHETIC_NOTE = "SYNTHETIC — calibrated to published aggregates, not real records"
CONVERSATIONS_FILE = "conversations_synthetic.csv"
REVIEWS_FILE = "reviews_synthetic.csv"
WEEKLY_FILE = "harrow_weekly_synthetic.csv"
# Birmingham-only extracts of the 6- and 12-month evaluations (params/birmingham-*.yaml)
BIRMINGHAM_FILES = {
    6: "birmingham_6m_conversations_synthetic.csv",
    12: "birmingham_12m_conversations_synthetic.csv",
}
KINDS = {
    CONVERSATIONS_FILE: "conversations",
    REVIEWS_FILE: "reviews",
    WEEKLY_FILE: "weekly",
    **dict.fromkeys(BIRMINGHAM_FILES.values(), "conversations"),
}

# ---- assumptions (no published source; documented in data/synthetic/README.md) -------------
HARROW_FIRST_WEEK = pd.Timestamp("2018-04-02")  # first Monday of financial year 2018-19
FIRST_TIME_REQUESTS_PER_WEEK = 75.0  # Harrow community requests that are not repeats
SEASONAL_AMPLITUDE = 0.05  # ±5% annual cycle, peak mid-January (winter pressures)
SEASONAL_PEAK_DAY = 15
BHAM_SITE_WEIGHTS = (0.35, 0.35, 0.30)  # innovation sites 1, 2 (the two key areas), 3
BHAM_BASELINE_LT_SHARE = 0.25  # share of usual-care episodes going on to long-term support
COVID_POSITIVE_SHARE = 0.05  # conversations requested in the Covid year, flagged Covid+
SYNTHETIC_POPULATION = 200_000.0  # placeholder adult population (exposure), both areas
MEAN_DAYS = {  # mean duration (days) of an episode by how it ended
    "request_lag": 3,
    "c1": 10,
    "c2": 25,
    "c3": 40,
    "usual_care": 21,
    "long_term": 42,
    "review": 30,
}
REVIEW_COST_MEDIAN_GBP = 300.0  # weekly care cost before the review (lognormal median)
REVIEW_CHANGE_MEDIAN_GBP = 40.0  # size of an increase or decrease (lognormal median)

PERCENT = 100.0


# --------------------------------------------------------------------------------------------
# Calibration targets from data/published/


@dataclass(frozen=True)
class Calibration:
    """Published targets the generator reproduces (read from data/published/)."""

    bham_conversations: int
    bham_shares: tuple[float, float, float]
    bham_lt_reduction: float
    bham_window: tuple[pd.Timestamp, pd.Timestamp]
    bham_baseline_start: pd.Timestamp
    lt_anchor_dates: tuple[pd.Timestamp, ...]
    lt_anchor_levels: tuple[float, ...]
    repeat_before: float
    repeat_after: float
    requests_increase: float
    c3_pre_covid: float
    c3_covid: float
    site1_start: pd.Timestamp
    site2_start: pd.Timestamp
    site_share: float
    covid_year: tuple[pd.Timestamp, pd.Timestamp]
    review_tables: pd.DataFrame


LT_ANCHORS = (
    "harrow_lt_starts_2018_09",
    "harrow_lt_starts_2019_03",
    "harrow_lt_starts_2019_09",
    "harrow_lt_starts_2020_03",
    "harrow_lt_starts_2021_03",
)


def _published_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(figures, events, review tables), read and validated by study.data.published."""
    return published.load_figures(), published.load_events(), published.load_review_tables()


def _lookup(frame: pd.DataFrame, key: str, id_col: str, col: str):
    rows = frame.loc[frame[id_col] == key, col]
    if rows.empty:
        raise StudyInputError(
            f"data/published: no {id_col} {key!r} (needed by study.data.synthetic)"
        )
    return rows.iloc[0]


def _monday_on_or_after(day: pd.Timestamp) -> pd.Timestamp:
    return day + pd.Timedelta(days=(7 - day.day_of_week) % 7)


def load_calibration() -> Calibration:
    """Read the calibration targets of the synthetic data from data/published/."""
    figures, events, tables = _published_tables()

    def value(fid: str) -> float:
        return float(_lookup(figures, fid, "figure_id", "value"))

    def share(fid: str) -> float:
        unit = str(_lookup(figures, fid, "figure_id", "unit"))
        return value(fid) / PERCENT if unit == "percent" else value(fid)

    def event_date(eid: str, col: str = "date_start") -> pd.Timestamp:
        return pd.Timestamp(_lookup(events, eid, "event_id", col))

    site1 = _monday_on_or_after(event_date("harrow_site1_start"))
    # site 2 began after site 1 "had by now worked for more than three months": the Monday
    # after site 1's 13-week evaluation period
    site2 = site1 + pd.Timedelta(weeks=value("harrow_site1_evaluation_weeks") + 1)
    # Birmingham: the six-month window is undated; it is placed so that the twelve-month
    # evaluation due in April 2019 closes the first year (start = April 2018)
    followup = event_date("bham_twelve_month_evaluation")
    bham_start = _monday_on_or_after(
        followup - pd.DateOffset(months=int(value("bham_followup_evaluation_months")))
    )
    months = int(value("bham_evaluation_months"))
    bham_end = bham_start + pd.DateOffset(months=months)
    bham_end = bham_end - pd.Timedelta(days=1)
    anchors = [pd.Timestamp(_lookup(figures, f, "figure_id", "period_end")) for f in LT_ANCHORS]
    return Calibration(
        bham_conversations=int(value("bham_conversations_6m")),
        bham_shares=tuple(share(f"bham_share_c{i}") for i in (1, 2, 3)),
        bham_lt_reduction=share("bham_long_term_reduction"),
        bham_window=(bham_start, bham_end),
        bham_baseline_start=bham_start - pd.DateOffset(months=months),
        lt_anchor_dates=tuple(anchors),
        lt_anchor_levels=tuple(value(f) for f in LT_ANCHORS),
        repeat_before=share("harrow_repeat_share_before"),
        repeat_after=share("harrow_repeat_share_after"),
        requests_increase=share("harrow_requests_increase_2020_21"),
        c3_pre_covid=share("harrow_c3_share_pre_covid"),
        c3_covid=share("harrow_c3_share_covid"),
        site1_start=site1,
        site2_start=site2,
        site_share=share("harrow_site1_share_new_requests"),
        covid_year=(
            event_date("harrow_covid_demand_window"),
            event_date("harrow_covid_demand_window", "date_end"),
        ),
        review_tables=tables.copy(),
    )


# --------------------------------------------------------------------------------------------
# Small vectorised helpers


def _days(rng: np.random.Generator, mean: float, size: int, minimum: int = 0) -> np.ndarray:
    """Whole days: `minimum` + geometric with the given mean."""
    p = 1.0 / (mean - minimum + 1.0)
    return (rng.geometric(p, size) - 1 + minimum).astype("int64")


def _season(dates: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    doy = pd.DatetimeIndex(dates).day_of_year.to_numpy()
    return 1.0 + SEASONAL_AMPLITUDE * np.cos(2 * np.pi * (doy - SEASONAL_PEAK_DAY) / 365.25)


def last_full_week(day: pd.Timestamp) -> pd.Timestamp:
    """Monday of the last Monday–Sunday week that ends on or before `day`."""
    return day - pd.Timedelta(days=day.day_of_week + 7 * (day.day_of_week < 6))


def _day_number(dates: pd.DatetimeIndex) -> np.ndarray:
    """Days since 1970-01-01 whatever the datetime resolution."""
    return dates.to_numpy().astype("datetime64[D]").astype("float64")


def lt_mean_per_week(weeks: pd.DatetimeIndex, cal: Calibration) -> np.ndarray:
    """Mean weekly new long-term starts: published levels joined linearly, flat outside."""
    x = _day_number(pd.DatetimeIndex(weeks) + pd.Timedelta(days=3))
    xp = _day_number(pd.DatetimeIndex(cal.lt_anchor_dates))
    return np.interp(x, xp, cal.lt_anchor_levels)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """Identifiers such as 'H-E0000012' (vectorised)."""
    return prefix + pd.Series(numbers, dtype="int64").astype("str").str.zfill(width)


def _choose(rng: np.random.Generator, pool: np.ndarray, k: int, what: str) -> np.ndarray:
    if k < 0 or k > pool.size:
        raise StudyInputError(f"synthetic calibration infeasible: {what} needs {k} of {pool.size}")
    return rng.choice(pool, size=k, replace=False) if k else pool[:0]


def _fy_bounds(start: pd.Timestamp, end: pd.Timestamp) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Financial years (1 April – 31 March) clipped to [start, end]."""
    out = []
    year = start.year if start.month >= 4 else start.year - 1
    while pd.Timestamp(year=year, month=4, day=1) <= end:
        lo = max(start, pd.Timestamp(year=year, month=4, day=1))
        hi = min(end, pd.Timestamp(year=year + 1, month=3, day=31))
        out.append((lo, hi))
        year += 1
    return out


def _link_persons(
    rng: np.random.Generator,
    request: np.ndarray,
    end: np.ndarray,
    returnable: np.ndarray,
    repeat: np.ndarray,
) -> np.ndarray:
    """Person index per episode: a repeat request belongs to the person of a random earlier
    episode (returnable = ended without long-term support) that ended in the 365 days before
    the request; other requests (and repeats with no such episode) are new people."""
    n = request.size
    parent = np.arange(n)
    cand = np.flatnonzero(returnable & ~np.isnat(end))
    cand = cand[np.argsort(end[cand], kind="stable")]
    cand_end = end[cand]
    rows = np.flatnonzero(repeat)
    lo = np.searchsorted(cand_end, request[rows] - np.timedelta64(365, "D"), side="left")
    hi = np.searchsorted(cand_end, request[rows], side="left")
    has = hi > lo
    pick = lo + np.floor(rng.random(rows.size) * (hi - lo)).astype(np.int64)
    parent[rows[has]] = cand[pick[has]]
    while True:  # pointer jumping to the first episode of each person (no cycles: time order)
        nxt = parent[parent]
        if np.array_equal(nxt, parent):
            return parent
        parent = nxt
