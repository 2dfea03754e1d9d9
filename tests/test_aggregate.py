"""Aggregation known answers on tiny hand-written frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from study.data.aggregate import (
    conversation_split,
    review_tables,
    review_tables_long,
    week_start,
    weekly_series,
)
from study.data.records import validate_frame
from study.errors import StudyInputError


def _conversations() -> pd.DataFrame:
    # weeks: Mon 2020-01-06, Mon 2020-01-13, Mon 2020-01-20
    return pd.DataFrame(
        {
            "episode_id": ["E1", "E2", "E3", "E4", "E5"],
            "person_id": ["P1", "P2", "P3", "P1", "P4"],
            "site": ["harrow", "harrow", "harrow", "harrow", "birmingham"],
            "team": [
                "innovation_site_1",
                "innovation_site_1",
                "usual_care",
                "innovation_site_2",
                "innovation_site_1",
            ],
            "request_date": pd.to_datetime(
                ["2020-01-06", "2020-01-12", "2020-01-13", "2020-01-19", "2020-01-08"]
            ),
            "conversation": pd.array([3, 1, None, 2, 3], dtype="Int64"),
            "start_date": pd.to_datetime(
                ["2020-01-06", "2020-01-12", "2020-01-13", "2020-01-20", "2020-01-08"]
            ),
            "end_date": pd.to_datetime(
                ["2020-01-14", "2020-01-13", "2020-01-21", None, "2020-01-26"]
            ),
            "outcome": [
                "long_term_support",
                "no_further_support",
                "long_term_support",
                "ongoing",
                "short_term_support",
            ],
            "repeat_request": [False, True, False, True, False],
            "covid_positive": pd.array([None] * 5, dtype="boolean"),
        }
    )


def test_fixture_frame_is_valid():
    assert validate_frame(_conversations(), "conversations").empty


def test_week_start_is_the_monday():
    d = pd.Series(pd.to_datetime(["2020-01-06", "2020-01-12", "2020-01-13", "2020-01-19"]))
    assert week_start(d).dt.strftime("%Y-%m-%d").tolist() == [
        "2020-01-06",
        "2020-01-06",
        "2020-01-13",
        "2020-01-13",
    ]


def test_weekly_series_known_answer():
    out = weekly_series(_conversations(), "2020-01-06", "2020-01-20")
    assert list(out.columns) == ["week_start", "site", "series", "count", "population"]
    assert validate_frame(out, "weekly").empty
    h = out[out["site"] == "harrow"].pivot(index="week_start", columns="series", values="count")
    # long-term starts by end-date week: E1 ends 01-14 (wk 13), E3 ends 01-21 (wk 20)
    assert h["new_long_term_starts"].tolist() == [0, 1, 1]
    # requests by request-date week: E1, E2 (wk 6); E3, E4 (wk 13)
    assert h["requests_new_clients"].tolist() == [2, 2, 0]
    assert h["repeat_requests"].tolist() == [1, 1, 0]
    # completed with a conversation: E2 ends 01-13 (wk 13), E1 ends 01-14 (wk 13)
    assert h["completed_conversations"].tolist() == [0, 2, 0]
    assert h["completed_at_c3"].tolist() == [0, 1, 0]
    b = out[(out["site"] == "birmingham") & (out["series"] == "completed_at_c3")]
    assert b["count"].tolist() == [0, 0, 1]  # E5 ends Sunday 01-26, week of 01-20
    assert out["population"].isna().all()


def test_weekly_series_default_span_and_zero_fill():
    out = weekly_series(_conversations(), series=["requests_new_clients"])
    assert out["week_start"].min() == pd.Timestamp("2020-01-06")
    assert out["week_start"].max() == pd.Timestamp("2020-01-20")
    assert len(out) == 2 * 3  # two sites x three weeks
    assert out["count"].sum() == 5


def test_weekly_series_bad_input():
    with pytest.raises(StudyInputError, match="lacks column"):
        weekly_series(_conversations().drop(columns="outcome"))
    with pytest.raises(StudyInputError, match="series must be among"):
        weekly_series(_conversations(), series=["visits"])


def test_conversation_split_known_answer():
    out = conversation_split(_conversations(), by=("site",))
    h = out[out["site"] == "harrow"]
    # completed harrow episodes with a conversation: E1 (C3), E2 (C1); E3 usual care, E4 ongoing
    assert h["conversation"].tolist() == [1, 2, 3]
    assert h["count"].tolist() == [1, 0, 1]
    assert h["total"].tolist() == [2, 2, 2]
    assert h["share"].tolist() == [0.5, 0.0, 0.5]


def test_conversation_split_periods_and_teams():
    periods = {"early": ("2020-01-01", "2020-01-10"), "late": ("2020-01-11", "2020-01-31")}
    out = conversation_split(_conversations(), periods=periods)
    assert out["period"].unique().tolist() == ["early", "late"]
    early = out[(out["period"] == "early") & (out["count"] > 0)]
    assert set(zip(early["site"], early["conversation"], strict=True)) == {
        ("harrow", 3),
        ("birmingham", 3),
    }
    late = out[(out["period"] == "late") & (out["site"] == "harrow")]
    assert late.set_index("conversation")["share"].to_dict() == {1: 1.0, 2: 0.0, 3: 0.0}


def _reviews() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "review_id": [f"R{i}" for i in range(1, 8)],
            "person_id": [f"P{i}" for i in range(1, 8)],
            "team": ["innovation_site_3"] * 5 + ["old_locality_team"] * 2,
            "review_start": pd.to_datetime(["2020-08-03"] * 5 + ["2020-04-06"] * 2),
            "review_end": pd.to_datetime(
                ["2020-09-01", "2020-09-01", "2020-09-01", None, "2020-09-01"] + ["2020-05-01"] * 2
            ),
            "weekly_cost_before_gbp": [100.0, 200.0, 300.0, 150.0, np.nan, 100.0, 50.0],
            "weekly_cost_after_gbp": [130.0, 180.0, 300.0, np.nan, np.nan, 190.0, 50.0],
            "covid_positive": pd.array([False] * 5 + [True, False], dtype="boolean"),
            "status": ["completed"] * 3 + ["ongoing", "excluded"] + ["completed"] * 2,
        }
    )


def test_review_tables_known_answer():
    assert validate_frame(_reviews(), "reviews").empty
    out = review_tables(_reviews()).set_index(["team", "covid_status"])
    inn = out.loc[("innovation_site_3", "non_covid")]
    rows = ["total", "increases", "decreases", "no_change", "ongoing", "excluded"]
    assert inn[rows].tolist() == [5, 1, 1, 1, 1, 1]
    # completed changes +30, -20, 0 -> mean 10/3; impact 3 x 10/3 x 52 = 520
    assert inn["avg_weekly_change_gbp"] == pytest.approx(10 / 3)
    assert inn["full_year_budget_impact_gbp"] == pytest.approx(520.0)
    old_covid = out.loc[("old_locality_team", "covid")]
    assert old_covid["increases"] == 1 and old_covid["avg_weekly_change_gbp"] == 90
    assert old_covid["full_year_budget_impact_gbp"] == pytest.approx(90 * 52)


def test_review_tables_long_layout():
    out = review_tables_long(_reviews())
    assert list(out.columns) == ["covid_status", "team", "row", "quantity", "value"]
    assert set(out["team"]) == {"innovation_site", "old_locality_team"}
    cell = out[
        (out["team"] == "innovation_site")
        & (out["row"] == "total")
        & (out["quantity"] == "full_year_budget_impact_gbp")
    ]
    assert cell["value"].item() == pytest.approx(520.0)
    counts = out[(out["quantity"] == "count") & (out["team"] == "innovation_site")]
    assert counts.set_index("row")["value"].to_dict() == {
        "total": 5,
        "increases": 1,
        "decreases": 1,
        "no_change": 1,
        "ongoing": 1,
        "excluded": 1,
    }
