"""The record-level schemas: documented columns, generated README, rules."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest

from study.config import DATA_DIR
from study.data.schema import (
    DATE_FLOOR,
    KIND_DTYPES,
    KINDS,
    OPTIONAL_COLUMNS,
    RULES,
    SCHEMAS,
    TEAM_PATTERN,
    column_kinds,
    header_match,
    near_miss,
    required_columns,
    schema_markdown,
    write_schema_markdown,
)


def test_data_readme_is_generated_from_the_schema():
    """data/README.md must equal schema_markdown().

    Regenerate: .venv/bin/python -m study.data.schema"""
    assert (DATA_DIR / "README.md").read_text(encoding="utf-8") == schema_markdown()


def test_write_schema_markdown_to_a_given_path(tmp_path):
    path = write_schema_markdown(tmp_path / "README.md")
    assert path.read_text(encoding="utf-8") == schema_markdown()


@pytest.mark.parametrize("kind", KINDS)
def test_every_column_is_documented(kind):
    schema = SCHEMAS[kind]
    assert schema.description
    for name, col in schema.columns.items():
        assert col.description, name
        meta = col.metadata
        assert set(meta) >= {"kind", "unit", "allowed"}, name
        assert meta["kind"] in KIND_DTYPES, name
        assert meta["allowed"] or meta["kind"] in {"date"}, name
        assert f"`{name}`" in schema_markdown()


def test_column_sets_match_the_contract():
    assert list(SCHEMAS["conversations"].columns) == [
        "episode_id",
        "person_id",
        "site",
        "team",
        "request_date",
        "conversation",
        "start_date",
        "end_date",
        "outcome",
        "repeat_request",
        "covid_positive",
    ]
    assert list(SCHEMAS["reviews"].columns) == [
        "review_id",
        "person_id",
        "team",
        "review_start",
        "review_end",
        "weekly_cost_before_gbp",
        "weekly_cost_after_gbp",
        "covid_positive",
        "status",
    ]
    assert list(SCHEMAS["weekly"].columns) == [
        "week_start",
        "site",
        "series",
        "count",
        "population",
    ]
    assert required_columns("weekly") == ["week_start", "site", "series", "count"]
    assert OPTIONAL_COLUMNS["conversations"] == ()
    assert column_kinds("reviews")["weekly_cost_after_gbp"] == "number"


def test_rules_refer_to_schema_columns():
    for rule in RULES:
        cols = set(SCHEMAS[rule.kind].columns)
        assert rule.column in cols
        assert set(rule.needs) <= cols
        assert rule.text in schema_markdown()


def test_rules_flag_the_right_rows():
    df = pd.DataFrame(
        {
            "request_date": pd.to_datetime(["2020-01-01", "2020-01-05", "2020-01-01"]),
            "start_date": pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-01"]),
            "end_date": pd.to_datetime(["2020-01-10", "2020-01-04", "2019-12-31"]),
        }
    )
    by_text = {r.text: r for r in RULES}
    assert by_text["start_date is before request_date"].bad(df).tolist() == [False, True, False]
    assert by_text["end_date is before start_date"].bad(df).tolist() == [False, False, True]


def test_pandera_schema_is_lazy_and_reports_every_failure():
    df = pd.DataFrame(
        {
            "week_start": pd.to_datetime(["2020-01-06", "2020-01-07"]),
            "site": ["harrow", "Mars"],
            "series": ["repeat_requests", "visits"],
            "count": pd.array([-1, 2], dtype="Int64"),
            "population": [0.0, 10.0],
        }
    )
    with pytest.raises(pa.errors.SchemaErrors) as err:
        SCHEMAS["weekly"].validate(df, lazy=True)
    failed = set(err.value.failure_cases["column"])
    assert failed >= {"week_start", "site", "series", "count", "population"}


def test_date_columns_carry_the_plausible_range():
    for kind, schema in SCHEMAS.items():
        for name, col in schema.columns.items():
            if col.metadata["kind"] == "date":
                assert col.metadata["allowed"].endswith("2000-01-01 … today"), (kind, name)
    df = pd.DataFrame(
        {
            "week_start": pd.to_datetime(["1999-12-27", "2020-01-06"])
            .append(pd.DatetimeIndex([pd.Timestamp.today().normalize() + pd.Timedelta(days=7)]))
            .as_unit("us"),
            "site": "harrow",
            "series": "repeat_requests",
            "count": pd.array([1, 1, 1], dtype="Int64"),
        }
    )
    with pytest.raises(pa.errors.SchemaErrors) as err:
        SCHEMAS["weekly"].validate(df, lazy=True)
    checks = err.value.failure_cases.groupby("check")["index"].apply(list).to_dict()
    assert checks[f"date is before {DATE_FLOOR:%Y-%m-%d} (implausibly early)"] == [0]
    assert checks["date is in the future (after today)"] == [2]


@pytest.mark.parametrize(
    ("value", "allowed", "pattern", "meant"),
    [
        ("Harrow", ("birmingham", "harrow"), None, "harrow"),
        ("  HARROW ", ("birmingham", "harrow"), None, "harrow"),
        ("harow", ("birmingham", "harrow"), None, "harrow"),
        ("Long term support", ("long_term_support", "ongoing"), None, "long_term_support"),
        ("long-term-support", ("long_term_support", "ongoing"), None, "long_term_support"),
        ("leeds", ("birmingham", "harrow", "other"), None, None),
        ("Innovation Site 4", (), TEAM_PATTERN, "innovation_site_4"),
        ("Usual Care", (), TEAM_PATTERN, "usual_care"),
        ("innovation site one", (), TEAM_PATTERN, None),
    ],
)
def test_near_miss(value, allowed, pattern, meant):
    assert near_miss(value, allowed, pattern) == meant


def test_header_match_ranks_the_kinds():
    match = header_match(["review_id", "person_id", "team", "status", "extra"])
    assert list(match["kind"])[0] == "reviews"
    best = match.iloc[0]
    assert (best["present"], best["required"]) == (4, 9)
    assert best["missing"] == [
        "review_start",
        "review_end",
        "weekly_cost_before_gbp",
        "weekly_cost_after_gbp",
        "covid_positive",
    ]
    assert header_match(["week_start", "site", "series", "count"]).iloc[0]["share"] == 1.0
