"""Synthetic weekly series: Harrow and a London comparison series (SYNTHETIC data)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from study.data.aggregate import weekly_series
from study.data.schema import SCHEMAS
from study.data.synthetic.calibration import (
    DEFAULT_SEED,
    FIRST_TIME_REQUESTS_PER_WEEK,
    HARROW_FIRST_WEEK,
    LT_ANCHORS,
    SYNTHETIC_POPULATION,
    Calibration,
    _season,
    last_full_week,
    load_calibration,
    lt_mean_per_week,
)
from study.data.synthetic.conversations import synthetic_conversations

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
