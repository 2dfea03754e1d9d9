"""Record-level tables → the aggregates the published reports quote.

* `weekly_series` — conversations → long weekly counts (new long-term starts by end-date week,
  new requests and repeat requests by request-date week, completed conversations and those
  ending at Conversation 3 by end-date week), zero-filled, in the `weekly` schema.
* `conversation_split` — share of completed episodes ending at Conversation 1/2/3 per period,
  site and team, with counts (Birmingham's 70/10/20; Harrow's Conversation 3 share 9% → 16%).
* `review_tables` / `review_tables_long` — reviews → Harrow Tables 1a/1b: per team × Covid
  status the total, increases, decreases, no change, ongoing and excluded counts, the average
  weekly change in gross care cost among completed reviews, and the approximate full-year
  budget impact = completed × average weekly change × 52.

All functions are vectorised (no per-row Python loops) and expect typed frames as returned by
`study.data.records.read_records` (or the synthetic generator).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from study.data.schema import COMPLETED_OUTCOMES, SERIES
from study.errors import StudyInputError
from study.tidy import full_year_impact_gbp

REVIEW_ROWS = ("total", "increases", "decreases", "no_change", "ongoing", "excluded")
REVIEW_TEAM_LABELS = {
    "innovation_site_3": "innovation_site",
    "old_locality_team": "old_locality_team",
}
WEEKLY_COLUMNS = ["week_start", "site", "series", "count", "population"]


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise StudyInputError(f"{what} lacks column(s): {', '.join(missing)}")


def week_start(dates: pd.Series) -> pd.Series:
    """Monday of the week (Monday–Sunday) containing each date."""
    d = pd.to_datetime(dates).dt.normalize()
    return d - pd.to_timedelta(d.dt.day_of_week, unit="D")


def _weekly_counts(
    site: pd.Series, dates: pd.Series, mask: np.ndarray, series: str
) -> pd.DataFrame:
    keep = mask & dates.notna().to_numpy()
    frame = pd.DataFrame({"site": site[keep], "week_start": week_start(dates[keep])})
    out = frame.groupby(["site", "week_start"], observed=True).size().rename("count")
    return out.reset_index().assign(series=series)


def weekly_series(
    conversations: pd.DataFrame,
    first_week: str | pd.Timestamp | None = None,
    last_week: str | pd.Timestamp | None = None,
    series: Sequence[str] = SERIES,
) -> pd.DataFrame:
    """Long weekly counts per site from conversation episodes (columns of the weekly schema).

    new_long_term_starts = episodes with outcome long_term_support, by week of end_date;
    requests_new_clients = all episodes, by week of request_date; repeat_requests = episodes
    with repeat_request true, by week of request_date; completed_conversations = completed
    episodes with a conversation recorded, by week of end_date; completed_at_c3 = those ending
    at Conversation 3. Weeks start on Monday; every site × series × week from `first_week`
    to `last_week` (default: the span of the data) is present, zero-filled. `population` is
    left empty.
    """
    _require(
        conversations,
        ["site", "request_date", "end_date", "outcome", "repeat_request", "conversation"],
        "conversations",
    )
    unknown = [s for s in series if s not in SERIES]
    if unknown:
        raise StudyInputError(f"series must be among {', '.join(SERIES)}, got {unknown}")
    c = conversations
    site = c["site"].astype("str")
    outcome = c["outcome"].astype("str").to_numpy()
    conv = pd.to_numeric(c["conversation"], errors="coerce").to_numpy(dtype="float64")
    completed = np.isin(outcome, COMPLETED_OUTCOMES) & ~np.isnan(conv)
    request = pd.to_datetime(c["request_date"])
    end = pd.to_datetime(c["end_date"])
    repeat = c["repeat_request"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    makers = {
        "new_long_term_starts": (end, outcome == "long_term_support"),
        "requests_new_clients": (request, np.ones(len(c), dtype=bool)),
        "repeat_requests": (request, repeat),
        "completed_conversations": (end, completed),
        "completed_at_c3": (end, completed & (conv == 3)),
    }
    parts = [_weekly_counts(site, makers[s][0], makers[s][1], s) for s in series]
    counts = pd.concat(parts, ignore_index=True)

    if first_week is None or last_week is None:
        spans = pd.concat([week_start(request.dropna()), week_start(end.dropna())])
        if spans.empty:
            raise StudyInputError("conversations has no dates to build weekly series from")
    first = week_start(pd.Series([pd.Timestamp(first_week)]))[0] if first_week else spans.min()
    last = week_start(pd.Series([pd.Timestamp(last_week)]))[0] if last_week else spans.max()
    weeks = pd.date_range(first, last, freq="7D")
    sites = sorted(site.unique())
    grid = pd.MultiIndex.from_product(
        [sites, list(series), weeks], names=["site", "series", "week_start"]
    ).to_frame(index=False)
    counts = counts.astype({"week_start": grid["week_start"].dtype})
    out = grid.merge(counts, on=["site", "series", "week_start"], how="left")
    out["count"] = out["count"].fillna(0).astype("Int64")
    out["population"] = np.nan
    return out[WEEKLY_COLUMNS].reset_index(drop=True)


MONTH_WEEKS_COLUMN = "weeks"


def monthly_series(weekly: pd.DataFrame, *, complete_only: bool = True) -> pd.DataFrame:
    """Long weekly counts (week_start, site, series, count[, population]) summed into months.

    A week belongs to the calendar month of its Monday, so a month is 4 or 5 whole
    Monday-Sunday weeks, from the month's first Monday to the day before the next month's, and
    is labelled by that first Monday (`week_start`, still a Monday: the weekly schema's date
    rule holds; a monthly ITS reads it with the pandas offset 'WOM-1MON'). `weeks` is the number
    of weeks summed (use it as the exposure: a log offset for the unequal lengths);
    `population` is the mean of the weeks' populations (a head count, not person-time). With
    `complete_only`, months that lack one of their weeks (first and last months of a series
    that starts or ends mid-month) are left out; a missing week inside the span is an error.
    """
    _require(weekly, ["week_start", "site", "series", "count"], "weekly")
    w = weekly.copy()
    w["week_start"] = pd.to_datetime(w["week_start"])
    if (w["week_start"].dt.day_of_week != 0).any():
        bad = w.loc[w["week_start"].dt.day_of_week != 0, "week_start"].iloc[0]
        raise StudyInputError(f"weekly: week_start {bad:%Y-%m-%d} is not a Monday")
    month = w["week_start"].dt.to_period("M")
    first_monday = month.dt.start_time + pd.to_timedelta(
        (7 - month.dt.start_time.dt.day_of_week) % 7, unit="D"
    )
    w["month_start"] = first_monday
    if "population" not in w:
        w["population"] = np.nan
    keys = ["site", "series", "month_start"]
    out = (
        w.groupby(keys, sort=True)
        .agg(
            count=("count", "sum"),
            population=("population", "mean"),
            **{MONTH_WEEKS_COLUMN: ("count", "size")},
        )
        .reset_index()
    )
    next_month = (out["month_start"].dt.to_period("M") + 1).dt.start_time
    next_monday = next_month + pd.to_timedelta((7 - next_month.dt.day_of_week) % 7, unit="D")
    expected = ((next_monday - out["month_start"]).dt.days // 7).astype(int)
    short = out[MONTH_WEEKS_COLUMN] < expected
    for (site, series), g in out[short].groupby(["site", "series"]):
        span = out[(out["site"] == site) & (out["series"] == series)]["month_start"]
        inner = g[(g["month_start"] > span.min()) & (g["month_start"] < span.max())]
        if not inner.empty:
            raise StudyInputError(
                f"weekly: {site} {series} lacks a week in the month of "
                f"{inner['month_start'].iloc[0]:%Y-%m-%d} (a gap inside the series)"
            )
    if complete_only:
        out = out[~short]
    out = out.rename(columns={"month_start": "week_start"})
    out["count"] = out["count"].astype("Int64")
    cols = ["week_start", "site", "series", "count", "population", MONTH_WEEKS_COLUMN]
    return out[cols].sort_values(["site", "series", "week_start"]).reset_index(drop=True)


def conversation_split(
    conversations: pd.DataFrame,
    periods: Mapping[str, tuple[str, str]] | None = None,
    by: Sequence[str] = ("site", "team"),
    date_column: str = "request_date",
) -> pd.DataFrame:
    """Share of completed episodes ending at Conversation 1, 2 and 3, with counts.

    Completed = outcome no_further_support, short_term_support or long_term_support with a
    conversation recorded (usual-care episodes and ongoing/excluded ones are left out).
    `periods` maps a label to inclusive (start, end) dates applied to `date_column`
    (default: one period 'all'). Returns period, *by, conversation, count, total, share.
    """
    _require(conversations, [*by, "conversation", "outcome", date_column], "conversations")
    c = conversations
    conv = pd.to_numeric(c["conversation"], errors="coerce")
    keep = c["outcome"].isin(COMPLETED_OUTCOMES).to_numpy() & conv.notna().to_numpy()
    dates = pd.to_datetime(c[date_column])
    if periods is None:
        periods = {"all": (None, None)}
    frames = []
    for label, (start, end) in periods.items():
        m = keep.copy()
        if start is not None:
            m &= (dates >= pd.Timestamp(start)).to_numpy()
        if end is not None:
            m &= (dates <= pd.Timestamp(end)).to_numpy()
        sub = c.loc[m, list(by)].assign(conversation=conv[m].astype("int64"), period=label)
        frames.append(sub)
    data = pd.concat(frames, ignore_index=True)
    keys = ["period", *by]
    counts = data.groupby([*keys, "conversation"], observed=True).size().rename("count")
    counts = counts.unstack("conversation", fill_value=0).reindex(columns=[1, 2, 3], fill_value=0)
    counts = counts.stack().rename("count").reset_index()
    counts["total"] = counts.groupby(keys, observed=True)["count"].transform("sum")
    counts["share"] = counts["count"] / counts["total"]
    order = {label: i for i, label in enumerate(periods)}
    counts = counts.sort_values(
        keys + ["conversation"], key=lambda s: s.map(order) if s.name == "period" else s
    )
    return counts[[*keys, "conversation", "count", "total", "share"]].reset_index(drop=True)


def review_tables(reviews: pd.DataFrame) -> pd.DataFrame:
    """Harrow Tables 1a/1b from review records, one row per team × Covid status.

    increases / decreases / no_change are completed reviews whose weekly cost after (30 days
    after the conversation ended) is above / below / equal to the cost before (one day before
    it started); ongoing and excluded come from `status`; total counts every row.
    avg_weekly_change_gbp = mean(after − before) over completed reviews;
    full_year_budget_impact_gbp = completed × avg_weekly_change_gbp × 52 (Harrow's
    "approx. impact on full-year social care budget").
    """
    _require(
        reviews,
        ["team", "covid_positive", "status", "weekly_cost_before_gbp", "weekly_cost_after_gbp"],
        "reviews",
    )
    r = reviews
    change = (r["weekly_cost_after_gbp"] - r["weekly_cost_before_gbp"]).astype("float64")
    completed = (r["status"] == "completed").to_numpy()
    change_c = np.where(completed, change.to_numpy(), np.nan)
    frame = pd.DataFrame(
        {
            "team": r["team"].astype("str").to_numpy(),
            "covid_status": np.where(
                r["covid_positive"].astype("boolean").fillna(False), "covid", "non_covid"
            ),
            "total": 1,
            "increases": completed & (change_c > 0),
            "decreases": completed & (change_c < 0),
            "no_change": completed & (change_c == 0),
            "ongoing": (r["status"] == "ongoing").to_numpy(),
            "excluded": (r["status"] == "excluded").to_numpy(),
            "completed": completed,
            "change": change_c,
        }
    )
    g = frame.groupby(["team", "covid_status"], observed=True)
    out = g[[*REVIEW_ROWS, "completed"]].sum().astype("int64")
    out["avg_weekly_change_gbp"] = g["change"].mean()
    out["full_year_budget_impact_gbp"] = full_year_impact_gbp(
        out["completed"], out["avg_weekly_change_gbp"]
    )
    return out.reset_index()


def review_tables_long(reviews: pd.DataFrame) -> pd.DataFrame:
    """Tables 1a/1b in the long layout of data/published/harrow_reviews_tables.csv.

    Columns covid_status, team ('innovation_site' | 'old_locality_team'), row (total,
    increases, ..., excluded), quantity (count | avg_weekly_change_gbp |
    full_year_budget_impact_gbp), value. The two money quantities sit on the `total` row.
    """
    wide = review_tables(reviews)
    wide["team"] = wide["team"].map(REVIEW_TEAM_LABELS).fillna(wide["team"])
    counts = wide.melt(
        id_vars=["covid_status", "team"], value_vars=list(REVIEW_ROWS), var_name="row"
    ).assign(quantity="count")
    money = wide.melt(
        id_vars=["covid_status", "team"],
        value_vars=["avg_weekly_change_gbp", "full_year_budget_impact_gbp"],
        var_name="quantity",
    ).assign(row="total")
    out = pd.concat([counts, money], ignore_index=True)
    out["value"] = out["value"].astype("float64")
    return out[["covid_status", "team", "row", "quantity", "value"]]
