"""Synthetic record-level data calibrated to the published figures (SYNTHETIC — not real records).

The generator reads every calibration target from ``data/published/`` (through
``study.data.published``, figure ids in brackets); no published number is typed here.

* Birmingham — [bham_conversations_6m] conversation episodes in a six-month window ending at
  Conversation 1/2/3 in exactly the published split [bham_share_c1..c3] (largest-remainder
  counts), and the published fall [bham_long_term_reduction] in people going on to long-term
  support in the two key areas (innovation sites 1 and 2) compared with the usual-care
  episodes of the six months before.
* Harrow front door — weekly new long-term starts whose mean passes through the published
  levels [harrow_lt_starts_2018_09 … harrow_lt_starts_2021_03] at the end of their months,
  linear between them and flat before the first, with mild annual seasonality and Poisson
  noise; requests whose April 2020–March 2021 total exceeds 2019-20's by exactly the
  published rise [harrow_requests_increase_2020_21]; repeat requests at the published shares
  in 2018-19 [harrow_repeat_share_before] and from 2019-20 [harrow_repeat_share_after]
  (exact counts; usual-care rows keep the old share); the Conversation 3 share of completed
  innovation-site episodes before and during the Covid year [harrow_c3_share_pre_covid,
  harrow_c3_share_covid] (exact).
* Harrow reviews — Tables 1a/1b row counts exactly and the average weekly change to the
  pence of (published full-year impact / (completed × 52)), so the £ average and the rounded
  impact both match. Where a block's printed total differs from the sum of its rows (Old
  Locality Team, non-Covid), the rows are generated.
* A ``london_comparison`` weekly series that never adopts the model but gets Harrow's
  relative Covid rise in long-term starts and the same Covid-year rise in requests.

Assumptions that no source states (the Birmingham window's dates, volumes, durations, team
splits, seasonality, exposure) are the module constants below; data/synthetic/README.md lists
them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from study.config import PUBLISHED_DIR
from study.data import published
from study.data.aggregate import weekly_series
from study.data.schema import SCHEMAS
from study.errors import StudyInputError
from study.proportions import largest_remainder_counts
from study.tidy import full_year_impact_gbp

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


# --------------------------------------------------------------------------------------------
# Conversations


def _frame(
    site: str,
    team: np.ndarray,
    request: np.ndarray,
    conversation: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    outcome: np.ndarray,
    repeat: np.ndarray,
    covid: pd.array,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site": site,
            "team": team,
            "request_date": request,
            "conversation": pd.array(conversation, dtype="Int64"),
            "start_date": start,
            "end_date": end,
            "outcome": outcome,
            "repeat_request": repeat,
            "covid_positive": covid,
        }
    )


def _non_lt_outcomes(rng: np.random.Generator, conv: np.ndarray, usual: np.ndarray) -> np.ndarray:
    """Outcomes of completed episodes without long-term support (shares are assumptions)."""
    u = rng.random(conv.size)
    short = np.where(
        usual, u < 0.3, np.where(conv == 2, u < 0.6, np.where(conv == 3, u < 0.7, False))
    )
    return np.where(short, "short_term_support", "no_further_support")


def _durations(rng: np.random.Generator, conv: np.ndarray, usual: np.ndarray) -> np.ndarray:
    n = conv.size
    out = _days(rng, MEAN_DAYS["usual_care"], n)
    for c in (1, 2, 3):
        m = (~usual) & (conv == c)
        out[m] = _days(rng, MEAN_DAYS[f"c{c}"], int(m.sum()))
    return out


def _birmingham(rng: np.random.Generator, cal: Calibration) -> pd.DataFrame:
    """Birmingham: 1,497 3Cs episodes in the window + usual-care baseline of the 6 months before."""
    w0, w1 = cal.bham_window
    n = cal.bham_conversations
    counts = largest_remainder_counts(n, cal.bham_shares)
    conv = rng.permutation(np.repeat([1, 2, 3], counts))
    team = rng.choice(
        ["innovation_site_1", "innovation_site_2", "innovation_site_3"], n, p=BHAM_SITE_WEIGHTS
    )
    span = (w1 - w0).days + 1
    start = w0.to_datetime64() + rng.integers(0, span, n).astype("timedelta64[D]")
    dur = _durations(rng, conv, np.zeros(n, bool))
    end = np.minimum(start + dur.astype("timedelta64[D]"), w1.to_datetime64())
    lag = _days(rng, MEAN_DAYS["request_lag"], n)
    request = np.maximum(start - lag.astype("timedelta64[D]"), w0.to_datetime64())

    # baseline: usual care in the two key areas, the six months before the window
    key = np.isin(team, ["innovation_site_1", "innovation_site_2"])
    b0 = cal.bham_baseline_start
    n0 = int(rng.poisson(key.sum()))
    lt0 = int(rng.binomial(n0, BHAM_BASELINE_LT_SHARE))
    lt1 = int(round(lt0 * (1.0 - cal.bham_lt_reduction)))
    c3_key = np.flatnonzero(key & (conv == 3))
    lt_rows = _choose(rng, c3_key, lt1, "Birmingham long-term starts in the two key areas")
    outcome = _non_lt_outcomes(rng, conv, np.zeros(n, bool))
    outcome[lt_rows] = "long_term_support"
    other_c3 = np.flatnonzero(~key & (conv == 3))
    frac = lt1 / max(c3_key.size, 1)
    outcome[other_c3[rng.random(other_c3.size) < frac]] = "long_term_support"
    pilot = _frame(
        "birmingham",
        team,
        request,
        conv,
        start,
        end,
        outcome,
        rng.random(n) < cal.repeat_before,
        pd.array([pd.NA] * n, dtype="boolean"),
    )

    bspan = (w0 - b0).days
    bstart = b0.to_datetime64() + rng.integers(0, bspan, n0).astype("timedelta64[D]")
    bdur = _days(rng, MEAN_DAYS["usual_care"], n0)
    bend = np.minimum(
        bstart + bdur.astype("timedelta64[D]"), (w0 - pd.Timedelta(days=1)).to_datetime64()
    )
    blag = _days(rng, MEAN_DAYS["request_lag"], n0)
    brequest = np.maximum(bstart - blag.astype("timedelta64[D]"), b0.to_datetime64())
    bconv = np.zeros(n0, dtype="int64")
    boutcome = _non_lt_outcomes(rng, bconv, np.ones(n0, bool))
    boutcome[_choose(rng, np.arange(n0), lt0, "Birmingham baseline long-term starts")] = (
        "long_term_support"
    )
    base = _frame(
        "birmingham",
        np.full(n0, "usual_care"),
        brequest,
        np.full(n0, np.nan),
        bstart,
        bend,
        boutcome,
        rng.random(n0) < cal.repeat_before,
        pd.array([pd.NA] * n0, dtype="boolean"),
    )
    return pd.concat([base, pilot], ignore_index=True)


def _teams_by_date(rng: np.random.Generator, request: np.ndarray, cal: Calibration) -> np.ndarray:
    """usual_care before site 1; then site 1 takes `site_share` of requests (rest usual care)
    until site 2 starts, after which sites 1 and 2 share them."""
    s1, s2 = cal.site1_start.to_datetime64(), cal.site2_start.to_datetime64()
    first = rng.random(request.size) < cal.site_share
    code = np.where(first, 1, 2).astype(np.int8)  # 1 = site 1, 2 = site 2 (0 = usual care)
    code[(request < s2) & ~first] = 0
    code[request < s1] = 0
    names = np.array(["usual_care", "innovation_site_1", "innovation_site_2"], dtype=object)
    return names[code]


def _harrow(rng: np.random.Generator, cal: Calibration, scale: float) -> pd.DataFrame:
    """Harrow front-door episodes, April 2018 – March 2021 (see module docstring)."""
    first_day = HARROW_FIRST_WEEK
    data_end = cal.covid_year[1]
    last_week = last_full_week(data_end)
    weeks = pd.date_range(first_day, last_week, freq="7D")
    D = "timedelta64[D]"

    # 1. long-term starts by week of end date (Poisson around the interpolated level)
    mu = lt_mean_per_week(weeks, cal) * _season(weeks + pd.Timedelta(days=3)) * scale
    k = rng.poisson(mu)
    n_lt = int(k.sum())
    lt_end = np.repeat(weeks.to_numpy(), k) + rng.integers(0, 7, n_lt).astype(D)
    lt_start = lt_end - _days(rng, MEAN_DAYS["long_term"], n_lt, minimum=1).astype(D)
    lt_request = lt_start - _days(rng, MEAN_DAYS["request_lag"], n_lt).astype(D)

    # 2. all requests: exact financial-year totals (+20% in the Covid year), daily multinomial
    days = pd.date_range(first_day, data_end, freq="D")
    p_repeat = np.where(days < cal.site1_start, cal.repeat_before, cal.repeat_after)
    lam = FIRST_TIME_REQUESTS_PER_WEEK * scale / 7.0 / (1.0 - p_repeat) * _season(days)
    fys = _fy_bounds(first_day, data_end)
    totals = []
    for lo, hi in fys:
        if lo >= cal.covid_year[0] and totals:
            totals.append(int(round(totals[-1] * (1.0 + cal.requests_increase))))
        else:
            m = (days >= lo) & (days <= hi)
            totals.append(int(rng.poisson(lam[m].sum())))
    req_parts = []
    for (lo, hi), total in zip(fys, totals, strict=True):
        m = (days >= lo) & (days <= hi)
        in_fy = (lt_request >= lo.to_datetime64()) & (lt_request <= hi.to_datetime64())
        n_other = total - int(in_fy.sum())
        if n_other < 0:
            raise StudyInputError("synthetic calibration infeasible: too few requests")
        counts = rng.multinomial(n_other, lam[m] / lam[m].sum())
        req_parts.append(np.repeat(days[m].to_numpy(), counts))
    other_request = np.concatenate(req_parts)
    n_other = other_request.size
    other_start = other_request + _days(rng, MEAN_DAYS["request_lag"], n_other).astype(D)
    ongoing = other_start + _days(rng, MEAN_DAYS["c2"], n_other).astype(D) > np.datetime64(data_end)

    request = np.concatenate([lt_request, other_request])
    start = np.concatenate([lt_start, other_start])
    is_lt = np.r_[np.ones(n_lt, bool), np.zeros(n_other, bool)]
    ongoing = np.r_[np.zeros(n_lt, bool), ongoing]
    n = request.size
    team = _teams_by_date(rng, request, cal)
    usual = team == "usual_care"

    # 3. conversations: exact Conversation 3 share among completed innovation-site episodes
    conv = np.zeros(n, dtype="int64")
    conv[is_lt & ~usual] = 3
    c12 = np.asarray(cal.bham_shares[:2])  # C1:C2 ratio of the other completions (Birmingham)
    periods = [
        (cal.site1_start, cal.covid_year[0] - pd.Timedelta(days=1), cal.c3_pre_covid),
        (cal.covid_year[0], data_end, cal.c3_covid),
    ]
    for lo, hi, c3_share in periods:
        in_p = (~usual) & (request >= lo.to_datetime64()) & (request <= hi.to_datetime64())
        done = in_p & ~ongoing
        target = int(round(c3_share * done.sum()))
        free = np.flatnonzero(done & ~is_lt)
        c3_rows = _choose(rng, free, target - int((done & is_lt).sum()), "Conversation 3 share")
        conv[c3_rows] = 3
        rest = rng.permutation(np.setdiff1d(free, c3_rows, assume_unique=True))
        conv[rest] = np.repeat([1, 2], largest_remainder_counts(rest.size, c12))
        open_rows = np.flatnonzero(in_p & ongoing)
        conv[open_rows] = rng.choice(
            [1, 2, 3], open_rows.size, p=np.r_[c12 / c12.sum() * (1 - c3_share), c3_share]
        )

    # 4. end dates and outcomes
    end = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    end[is_lt] = lt_end
    fin = ~is_lt & ~ongoing
    dur = _durations(rng, conv[fin], usual[fin])
    end[fin] = np.minimum(start[fin] + dur.astype(D), np.datetime64(data_end))
    outcome = np.full(n, "ongoing", dtype=object)
    outcome[is_lt] = "long_term_support"
    outcome[fin] = _non_lt_outcomes(rng, conv[fin], usual[fin])

    # 5. repeat requests: exact shares per financial year; usual care keeps the old rate
    repeat = rng.random(n) < cal.repeat_before  # requests before the first full week
    for i, (lo, hi) in enumerate(fys):
        in_fy = (request >= lo.to_datetime64()) & (request <= hi.to_datetime64())
        repeat[in_fy] = False
        p = cal.repeat_before if i == 0 else cal.repeat_after
        k_all = int(round(p * in_fy.sum()))
        uc = np.flatnonzero(in_fy & usual) if i else np.flatnonzero(in_fy)
        k_uc = int(round(cal.repeat_before * uc.size)) if i else k_all
        repeat[_choose(rng, uc, k_uc, "repeat requests (usual care)")] = True
        if i:
            rest = np.flatnonzero(in_fy & ~usual)
            repeat[_choose(rng, rest, k_all - k_uc, "repeat requests (innovation)")] = True

    covid = pd.array(
        np.where(
            request >= cal.covid_year[0].to_datetime64(),
            rng.random(n) < COVID_POSITIVE_SHARE,
            False,
        ),
        dtype="boolean",
    )
    covid[request < cal.covid_year[0].to_datetime64()] = pd.NA
    conv_out = np.where(usual, np.nan, conv.astype(float))
    return _frame("harrow", team, request, conv_out, start, end, outcome, repeat, covid)


def _finish(rng: np.random.Generator, frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Sort by dates, assign episode ids and link repeat requests to earlier people."""
    frame = frame.sort_values(["request_date", "start_date"], kind="stable").reset_index(drop=True)
    request = frame["request_date"].to_numpy("datetime64[us]")
    end = frame["end_date"].to_numpy("datetime64[us]")
    returnable = frame["outcome"].isin(["no_further_support", "short_term_support"]).to_numpy()
    parent = _link_persons(rng, request, end, returnable, frame["repeat_request"].to_numpy(bool))
    codes, _ = pd.factorize(parent)
    n = len(frame)
    frame.insert(0, "episode_id", _ids(f"{prefix}-E", np.arange(1, n + 1), 7))
    frame.insert(1, "person_id", _ids(f"{prefix}-P", codes + 1, 7))
    return frame


def _typed_conversations(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.astype(
        {
            "request_date": "datetime64[us]",
            "start_date": "datetime64[us]",
            "end_date": "datetime64[us]",
            "repeat_request": "bool",
            "covid_positive": "boolean",
            "site": "str",
            "team": "str",
            "outcome": "str",
        }
    )
    return out[list(SCHEMAS["conversations"].columns)]


def birmingham_calibration(cal: Calibration, months: int) -> Calibration:
    """Calibration of a Birmingham evaluation of `months` months, starting with the 6-month one.

    Assumption (nothing is published beyond six months): conversations continue at the
    six-month rate ([bham_conversations_6m] per 6 months) with the same 70/10/20 split, and the
    usual-care baseline covers the same number of months before the window.
    """
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 36:
        raise StudyInputError(f"months must be a whole number from 1 to 36, got {months!r}")
    w0, w1 = cal.bham_window
    base_months = round((w1 + pd.Timedelta(days=1) - w0).days / 30.4375)
    end = w0 + pd.DateOffset(months=months) - pd.Timedelta(days=1)
    return replace(
        cal,
        bham_conversations=round(cal.bham_conversations * months / base_months),
        bham_window=(w0, end),
        bham_baseline_start=w0 - pd.DateOffset(months=months),
    )


def synthetic_birmingham(seed: int = DEFAULT_SEED, months: int = 6) -> pd.DataFrame:
    """Birmingham-only synthetic episodes of a `months`-month evaluation (conversations schema).

    With months = 6 these are exactly the Birmingham rows of `synthetic_conversations(seed)`.
    """
    rng_b, _, rng_link = np.random.default_rng(seed).spawn(3)
    cal = birmingham_calibration(load_calibration(), months)
    return _typed_conversations(_finish(rng_link, _birmingham(rng_b, cal), "B"))


def synthetic_conversations(seed: int = DEFAULT_SEED, harrow_scale: float = 1.0) -> pd.DataFrame:
    """Synthetic conversation episodes for Birmingham and Harrow (conversations schema).

    `harrow_scale` multiplies Harrow's volumes (1.0 = calibrated; the benchmark uses ~60 to
    reach a million rows). Deterministic for a given seed.
    """
    rng_b, rng_h, rng_link = np.random.default_rng(seed).spawn(3)
    cal = load_calibration()
    bham = _finish(rng_link, _birmingham(rng_b, cal), "B")
    harrow = _finish(rng_link, _harrow(rng_h, cal, harrow_scale), "H")
    return _typed_conversations(pd.concat([bham, harrow], ignore_index=True))


# --------------------------------------------------------------------------------------------
# Reviews (Harrow Tables 1a/1b)


def review_targets(cal: Calibration | None = None) -> pd.DataFrame:
    """Per team × Covid status: published row counts, period and target mean weekly change.

    The target mean change (GBP) is published full-year impact / (completed × 52) when it
    rounds to the published average change, else the published average; columns team,
    covid_status, period_start, period_end, increases, decreases, no_change, ongoing,
    excluded, published_total, avg_published, impact_published, target_avg_gbp.
    """
    cal = cal or load_calibration()
    t = cal.review_tables
    keys = ["covid_status", "team"]
    counts = t[t["quantity"] == "count"].pivot_table(
        index=keys, columns="row", values="value", aggfunc="first"
    )
    money = t[t["row"] == "total"].pivot_table(
        index=keys, columns="quantity", values="value", aggfunc="first"
    )
    dates = t.groupby(keys)[["period_start", "period_end"]].first()
    out = pd.concat([dates, counts, money], axis=1).reset_index()
    out = out.rename(
        columns={
            "total": "published_total",
            "avg_weekly_change_gbp": "avg_published",
            "full_year_budget_impact_gbp": "impact_published",
        }
    )
    for c in ("increases", "decreases", "no_change", "ongoing", "excluded"):
        out[c] = out[c].astype("int64")
    completed = out["increases"] + out["decreases"] + out["no_change"]
    implied = out["impact_published"] / full_year_impact_gbp(completed, 1)
    ok = implied.round() == out["avg_published"]
    out["target_avg_gbp"] = np.where(ok, implied, out["avg_published"])
    out["team"] = out["team"].replace({"innovation_site": "innovation_site_3"})
    return out


def _changes_pence(rng, n_inc: int, n_dec: int, total_pence: int) -> tuple[np.ndarray, np.ndarray]:
    """Positive increases and positive decrease sizes (pence) with inc.sum − dec.sum = total."""
    med = REVIEW_CHANGE_MEDIAN_GBP * 100
    inc = np.maximum(np.round(rng.lognormal(np.log(med), 0.8, n_inc)), 1).astype(np.int64)
    dec = np.maximum(np.round(rng.lognormal(np.log(med), 0.8, n_dec)), 1).astype(np.int64)

    def rescale(x: np.ndarray, target: int) -> np.ndarray:
        if target < x.size:
            raise StudyInputError("synthetic calibration infeasible: review cost changes")
        y = np.maximum(np.floor(x * target / x.sum()).astype(np.int64), 1)
        diff = target - y.sum()
        idx = np.argsort(-y, kind="stable")[: abs(diff)] if diff else np.array([], int)
        y[idx] += np.sign(diff)
        return y

    if total_pence >= 0 and n_inc:
        inc = rescale(inc, total_pence + int(dec.sum()))
    elif n_dec:
        dec = rescale(dec, int(inc.sum()) - total_pence)
    elif n_inc:
        inc = rescale(inc, total_pence)
    return inc, dec


def synthetic_reviews(seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Synthetic reviews of existing care reproducing Harrow Tables 1a/1b (reviews schema)."""
    rng = np.random.default_rng(seed).spawn(4)[3]
    targets = review_targets()
    frames = []
    for row in targets.itertuples(index=False):  # four table cells, not records
        n_c = row.increases + row.decreases + row.no_change
        total = int(round(row.target_avg_gbp * n_c * 100))
        inc, dec = _changes_pence(rng, row.increases, row.decreases, total)
        status = np.repeat(
            ["completed", "completed", "completed", "ongoing", "excluded"],
            [row.increases, row.decreases, row.no_change, row.ongoing, row.excluded],
        )
        change = np.r_[inc, -dec, np.zeros(row.no_change + row.ongoing + row.excluded, np.int64)]
        n = status.size
        base = np.round(rng.lognormal(np.log(REVIEW_COST_MEDIAN_GBP * 100), 0.6, n))
        base = base.astype(np.int64)
        before = np.where(change < 0, base - change, base)  # decreases end at `base`
        after = before + change
        lo, hi = pd.Timestamp(row.period_start), pd.Timestamp(row.period_end)
        start = lo.to_datetime64() + rng.integers(0, (hi - lo).days + 1, n).astype("timedelta64[D]")
        end = start + _days(rng, MEAN_DAYS["review"], n, minimum=1).astype("timedelta64[D]")
        end = np.where(status == "ongoing", np.datetime64("NaT"), end)
        order = rng.permutation(n)
        frames.append(
            pd.DataFrame(
                {
                    "team": row.team,
                    "review_start": start,
                    "review_end": end,
                    "weekly_cost_before_gbp": np.where(status == "excluded", np.nan, before / 100),
                    "weekly_cost_after_gbp": np.where(status == "completed", after / 100, np.nan),
                    "covid_positive": row.covid_status == "covid",
                    "status": status,
                }
            ).iloc[order]
        )
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values(["review_start", "team"], kind="stable").reset_index(drop=True)
    n = len(out)
    out.insert(0, "review_id", _ids("R-", np.arange(1, n + 1), 6))
    out.insert(1, "person_id", _ids("R-P", rng.permutation(n) + 1, 6))
    out = out.astype(
        {
            "review_start": "datetime64[us]",
            "review_end": "datetime64[us]",
            "covid_positive": "boolean",
            "team": "str",
            "status": "str",
        }
    )
    return out[list(SCHEMAS["reviews"].columns)]


# --------------------------------------------------------------------------------------------
# Weekly series (Harrow aggregated from the records + a comparison area)


def _comparison(
    rng: np.random.Generator, weeks: pd.DatetimeIndex, cal: Calibration
) -> pd.DataFrame:
    """london_comparison: no intervention; the pre-intervention level of Harrow's long-term
    starts (March 2019) held flat, then the same relative Covid rise as Harrow (March 2020 →
    March 2021); requests at Harrow's pre-intervention rate, +20% in the Covid year."""
    x = pd.DatetimeIndex(weeks)
    anchors = pd.DatetimeIndex(cal.lt_anchor_dates)
    lv = np.asarray(cal.lt_anchor_levels)
    pre = lv[LT_ANCHORS.index("harrow_lt_starts_2019_03")]  # before the first innovation site
    rise = lt_mean_per_week(weeks, cal) / lv[LT_ANCHORS.index("harrow_lt_starts_2020_03")]
    covid = x > anchors[LT_ANCHORS.index("harrow_lt_starts_2020_03")]
    season = _season(x + pd.Timedelta(days=3))
    lt_mu = pre * np.where(covid, rise, 1.0) * season
    req_mu = FIRST_TIME_REQUESTS_PER_WEEK / (1 - cal.repeat_before) * season
    req_mu = req_mu * np.where(x >= cal.covid_year[0], 1 + cal.requests_increase, 1.0)
    rep_mu = req_mu * cal.repeat_before
    parts = []
    for name, mu in (
        ("new_long_term_starts", lt_mu),
        ("requests_new_clients", req_mu),
        ("repeat_requests", rep_mu),
    ):
        parts.append(
            pd.DataFrame(
                {
                    "week_start": x,
                    "site": "london_comparison",
                    "series": name,
                    "count": rng.poisson(mu),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def synthetic_weekly(
    seed: int = DEFAULT_SEED, conversations: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Harrow weekly series aggregated from the synthetic conversations, plus the comparison.

    Full weeks from 2018-04-02 to the last full week of March 2021; columns week_start, site,
    series, count, population (a placeholder constant exposure, see SYNTHETIC_POPULATION).
    """
    cal = load_calibration()
    conv = conversations if conversations is not None else synthetic_conversations(seed)
    data_end = cal.covid_year[1]
    last_week = last_full_week(data_end)
    harrow = weekly_series(conv[conv["site"] == "harrow"], HARROW_FIRST_WEEK, last_week)
    weeks = pd.date_range(HARROW_FIRST_WEEK, last_week, freq="7D")
    comp = _comparison(np.random.default_rng(seed).spawn(5)[4], weeks, cal)
    out = pd.concat([harrow.drop(columns="population"), comp], ignore_index=True)
    out["count"] = out["count"].astype("int64")
    out["population"] = SYNTHETIC_POPULATION
    out = out.astype({"week_start": "datetime64[us]", "site": "str", "series": "str"})
    return out[list(SCHEMAS["weekly"].columns)].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Writing


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    text = frame.to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\n")
    return text.encode("utf-8")


def _meta(name: str, seed: int, frame: pd.DataFrame, data: bytes, kind: str) -> dict:
    return {
        "file": name,
        "kind": kind,
        "synthetic": True,
        "note": SYNTHETIC_NOTE,
        "seed": seed,
        "generator": "study.data.synthetic.write_synthetic",
        "generator_version": GENERATOR_VERSION,
        "rows": int(len(frame)),
        "columns": list(frame.columns),
        "sha256": hashlib.sha256(data).hexdigest(),
        "calibrated_to": "data/published/figures.csv, events.csv, harrow_reviews_tables.csv",
    }


def _is_ours(path: Path) -> bool:
    """True if `path` was written by write_synthetic (so it may be overwritten)."""
    try:
        if path.name == "README.md":
            return SYNTHETIC_NOTE in path.read_text(encoding="utf-8")
        if path.name.endswith(".meta.json"):
            meta = path
        else:
            meta = path.with_name(path.name.removesuffix(".csv") + ".meta.json")
        return bool(json.loads(meta.read_text(encoding="utf-8")).get("synthetic"))
    except (json.JSONDecodeError, OSError, UnicodeDecodeError, AttributeError):
        return False


def _pct(x: float) -> str:
    return f"{x * PERCENT:g}%"


def _day(x: pd.Timestamp) -> str:
    return f"{x.day} {x:%B %Y}"


def synthetic_readme(seed: int, rows: dict[str, int], cal: Calibration | None = None) -> str:
    """Text of the README written beside the synthetic files (figures from the calibration)."""
    cal = cal or load_calibration()
    levels = ", ".join(
        f"{v:g} ({d:%b %Y})" for d, v in zip(cal.lt_anchor_dates, cal.lt_anchor_levels, strict=True)
    )
    split = "/".join(f"{s * PERCENT:g}" for s in cal.bham_shares)
    w0, w1 = cal.bham_window
    c0, c1 = cal.covid_year
    lines = [
        "# Synthetic record-level data",
        "",
        f"**{SYNTHETIC_NOTE}.** Generated by "
        f"`study.data.synthetic.write_synthetic(seed={seed}, ...)` "
        f"(generator version {GENERATOR_VERSION}); regenerate with "
        f"`study synth --seed {seed} --out data/synthetic`. Each CSV has a `.meta.json` sidecar.",
        "Column definitions: `data/README.md` (generated from `study.data.schema`).",
        "",
        "| file | kind | rows |",
        "| --- | --- | --- |",
        *[f"| `{f}` | {KINDS[f]} | {n} |" for f, n in rows.items()],
        "",
        "## Calibrated to (read from `data/published/`)",
        "",
        f"- Birmingham: {cal.bham_conversations:,} 3Cs episodes started {_day(w0)} – {_day(w1)}, "
        f"ending at Conversation 1/2/3 in the published {split} split (largest-remainder "
        f"counts); {_pct(cal.bham_lt_reduction)} fewer long-term support outcomes in the two key "
        "areas (`innovation_site_1`, `innovation_site_2`) than among the usual-care episodes of "
        "the six months before (Birmingham `usual_care` rows are that baseline).",
        "- Birmingham-only extracts: `"
        + BIRMINGHAM_FILES[6]
        + "` is exactly the Birmingham rows above; `"
        + BIRMINGHAM_FILES[12]
        + "` continues the same process for twelve months "
        f"({_day(w0)} – {_day(birmingham_calibration(cal, 12).bham_window[1])}) with a "
        "twelve-month usual-care baseline before it (no twelve-month figure is published: "
        "conversations are assumed to continue at the six-month rate and split).",
        f"- Harrow: weekly new long-term starts with mean {levels} per week, joined linearly "
        f"(flat before the first), Poisson noise, ±{_pct(SEASONAL_AMPLITUDE)} winter "
        f"seasonality; requests +{_pct(cal.requests_increase)} in {c0:%b %Y}–{c1:%b %Y} over "
        f"the previous financial year (exact, by request date); repeat requests "
        f"{_pct(cal.repeat_before)} of requests in 2018-19 and {_pct(cal.repeat_after)} from "
        f"2019-20 on (exact; usual-care rows keep {_pct(cal.repeat_before)}); Conversation 3 "
        f"share of completed innovation-site episodes {_pct(cal.c3_pre_covid)} (requests from "
        f"{_day(cal.site1_start)} to {_day(c0 - pd.Timedelta(days=1))}) and "
        f"{_pct(cal.c3_covid)} ({c0:%b %Y}–{c1:%b %Y}) (exact).",
        "- Reviews: Harrow Tables 1a/1b row counts exactly; mean weekly change per completed "
        "review = published full-year impact / (completed × 52), which reproduces the "
        "published £ average and the rounded full-year impact. Old Locality Team non-Covid: "
        "the rows sum to 460 but the printed total is 462 — 460 reviews are generated.",
        "- `london_comparison` (weekly file only): no intervention; long-term starts held at "
        "Harrow's pre-intervention level (Mar 2019) then Harrow's relative Covid rise; "
        "requests at Harrow's pre-intervention rate, raised by the same Covid-year increase.",
        "",
        "## Assumptions (not published; constants in `study/synth.py`)",
        "",
        "- Birmingham's six-month window is undated; it is placed so that the twelve-month "
        "evaluation (April 2019) closes the first year; the baseline is the six months before. "
        f"Team split {'/'.join(f'{w:.0%}' for w in BHAM_SITE_WEIGHTS)} across innovation "
        f"sites 1/2/3; {BHAM_BASELINE_LT_SHARE:.0%} of baseline usual-care episodes went on to "
        "long-term support; repeat flags drawn at Harrow's pre-intervention share.",
        f"- Harrow first-time requests {FIRST_TIME_REQUESTS_PER_WEEK:g} per week from "
        f"{_day(HARROW_FIRST_WEEK)}; site 1 takes {_pct(cal.site_share)} of requests from "
        f"{_day(cal.site1_start)}, site 2 the rest from {_day(cal.site2_start)} (the Monday "
        "after site 1's 13-week evaluation period); the Conversation 1:2 ratio of the other "
        "completions is Birmingham's; durations geometric (means in `MEAN_DAYS`); "
        f"{COVID_POSITIVE_SHARE:.0%} of Covid-year requests flagged Covid-positive.",
        f"- `population` is a placeholder exposure of {SYNTHETIC_POPULATION:,.0f} for both areas.",
        f"- Review costs: lognormal weekly cost before (median £{REVIEW_COST_MEDIAN_GBP:g}), "
        f"change sizes lognormal (median £{REVIEW_CHANGE_MEDIAN_GBP:g}) rescaled to the target "
        "mean; review dates uniform within each table's period.",
        "",
    ]
    return "\n".join(lines)


def synthetic_data(seed: int = DEFAULT_SEED) -> dict[str, pd.DataFrame]:
    """All synthetic tables keyed by file name (conversations, reviews, weekly)."""
    conv = synthetic_conversations(seed)
    return {
        CONVERSATIONS_FILE: conv,
        REVIEWS_FILE: synthetic_reviews(seed),
        WEEKLY_FILE: synthetic_weekly(seed, conv),
        **{name: synthetic_birmingham(seed, m) for m, name in BIRMINGHAM_FILES.items()},
    }


def write_synthetic(seed: int, out_dir: Path | str) -> list[Path]:
    """Write the synthetic CSVs, their .meta.json sidecars and a README; return the paths.

    Byte-identical output for the same seed. Refuses (StudyInputError) to write into
    data/published/ or to overwrite a file that is not marked as synthetic (a CSV without a
    `synthetic: true` sidecar, or a README without the synthetic note).
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise StudyInputError(f"seed must be a non-negative whole number, got {seed!r}")
    out = Path(out_dir)
    if out.resolve().is_relative_to(PUBLISHED_DIR.resolve()):
        raise StudyInputError(f"refusing to write synthetic data into {out} (published figures)")
    if out.exists() and not out.is_dir():
        raise StudyInputError(f"out_dir {out} is a file, not a folder")
    tables = synthetic_data(int(seed))
    payload: dict[str, bytes] = {}
    for name, frame in tables.items():
        data = _csv_bytes(frame)
        payload[name] = data
        meta = _meta(name, int(seed), frame, data, KINDS[name])
        payload[name.removesuffix(".csv") + ".meta.json"] = (
            json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        ).encode("utf-8")
    rows = {name: len(frame) for name, frame in tables.items()}
    payload["README.md"] = synthetic_readme(int(seed), rows).encode("utf-8")
    for name in payload:
        target = out / name
        if target.exists() and not _is_ours(target):
            raise StudyInputError(
                f"refusing to overwrite {target}: not a synthetic file written by "
                "study.data.synthetic"
            )
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in payload.items():
        target = out / name
        target.write_bytes(data)
        paths.append(target)
    return paths


def simulated_council_panel(
    n_units: int, n_years: int, n_pre: int, *, effect: float, seed: int
) -> pd.DataFrame:
    """A simulated council x year panel for testing and timing `study.panel` (calibrated to
    nothing): unit levels N(50, 10) + unit trends N(0, 0.5) a year + common year shocks N(0, 2)
    + noise N(0, 1.5); unit 'E00000000' gains `effect` from period `n_pre` on. Columns
    geography_code, year ('2015-16', ...), value; deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_years)
    values = (
        rng.normal(50, 10, (n_units, 1))
        + rng.normal(0, 0.5, (n_units, 1)) * t
        + rng.normal(0, 2, (1, n_years))
        + rng.normal(0, 1.5, (n_units, n_years))
    )
    values[0, n_pre:] += effect
    years = [f"{2015 + k}-{(16 + k) % 100:02d}" for k in t]
    return pd.DataFrame(
        {
            "geography_code": np.repeat([f"E{i:08d}" for i in range(n_units)], n_years),
            "year": np.tile(years, n_units),
            "value": values.ravel(),
        }
    )
