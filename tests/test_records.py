"""Reading and validating record-level files: broken fixtures, round-trips, properties."""

from __future__ import annotations

import hashlib
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from study.data.records import (
    PROBLEM_COLUMNS,
    infer_kind,
    read_records,
    typed_frame,
    validate_file,
    validate_frame,
)
from study.data.schema import SCHEMAS
from study.errors import StudyInputError

FIXTURES = Path(__file__).parent / "fixtures" / "records"
GOOD = FIXTURES / "good_conversations.csv"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(problems: pd.DataFrame) -> list[tuple]:
    return [
        (None if pd.isna(r.row) else int(r.row), r.column, r.problem)
        for r in problems.itertuples(index=False)
    ]


# --------------------------------------------------------------------------------------------
# Broken fixtures: the right problem rows, and the files are left byte-identical

EXPECTED = {
    "missing_column.csv": [(None, "outcome", "required column is missing")],
    "bad_date_order.csv": [(3, "end_date", "end_date is before start_date")],
    "unknown_site.csv": [
        (5, "site", "not an allowed value (allowed: birmingham, harrow, other): 'leeds'")
    ],
    "negative_cost.csv": [(3, "weekly_cost_before_gbp", "must be >= 0 (negative value): '-120.5'")],
    "duplicate_id.csv": [
        (2, "episode_id", "duplicate value: 'E1'"),
        (4, "episode_id", "duplicate value: 'E1'"),
    ],
    "unparseable_date.csv": [(3, "request_date", "not a date (expected YYYY-MM-DD): '2019-06-31'")],
    "non_monday_week.csv": [
        (3, "week_start", "week_start is not a Monday: '2019-06-11'"),
        (4, "count", "must be >= 0 (negative value): '-1'"),
    ],
    "empty.csv": [(None, "", "file is empty")],
    "wrong_type.txt": [(None, "", "unsupported file type '.txt' (use .csv, .parquet or .xlsx)")],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_fixture_gives_the_right_problems_and_is_untouched(name):
    path = FIXTURES / name
    before = _digest(path)
    problems = validate_file(path)
    assert list(problems.columns) == PROBLEM_COLUMNS
    assert _rows(problems) == EXPECTED[name]
    assert set(problems["file"]) == {str(path)}
    assert _digest(path) == before


def test_corrupt_excel_is_one_file_level_problem():
    path = FIXTURES / "corrupt.xlsx"
    before = _digest(path)
    problems = validate_file(path, kind="conversations")
    assert len(problems) == 1
    assert pd.isna(problems["row"].iloc[0])
    assert problems["problem"].iloc[0].startswith("cannot read as excel")
    assert _digest(path) == before


def test_good_fixture_is_valid_and_typed():
    assert validate_file(GOOD).empty
    df = read_records(GOOD, "conversations")
    assert list(df.columns) == list(SCHEMAS["conversations"].columns)
    assert str(df["request_date"].dtype).startswith("datetime64")
    assert str(df["conversation"].dtype) == "Int64"
    assert str(df["repeat_request"].dtype) == "boolean"
    assert df["conversation"].isna().tolist() == [False, False, True, False]
    assert df["end_date"].isna().sum() == 1
    assert df["covid_positive"].isna().sum() == 3


def test_not_found_and_folder_are_file_level_problems(tmp_path):
    missing = validate_file(tmp_path / "nope.csv", kind="conversations")
    assert _rows(missing) == [(None, "", "file not found")]
    folder = validate_file(tmp_path, kind="conversations")
    assert _rows(folder) == [(None, "", "is a folder, not a file")]


def test_header_only_file_is_refused(tmp_path):
    path = tmp_path / "conversations.csv"
    path.write_text(",".join(SCHEMAS["conversations"].columns) + "\n")
    assert _rows(validate_file(path)) == [
        (None, "", "no records: the file has a header but no data rows")
    ]
    with pytest.raises(StudyInputError, match="no records"):
        read_records(path, "conversations")
    # an in-memory frame without rows is not a problem (only extracts must have records)
    assert validate_frame(pd.DataFrame(columns=SCHEMAS["weekly"].columns), "weekly").empty


def test_blank_rows_only_is_one_problem(tmp_path):
    path = tmp_path / "weekly.csv"
    path.write_text("week_start,site,series,count\n" + ",,,\n" * 500)
    assert _rows(validate_file(path)) == [(None, "", "no records: all 500 data rows are empty")]


def test_read_records_raises_one_line_summary():
    with pytest.raises(StudyInputError) as err:
        read_records(FIXTURES / "duplicate_id.csv", "conversations")
    msg = str(err.value)
    assert "\n" not in msg
    assert msg == (
        f"{FIXTURES / 'duplicate_id.csv'}: 2 problems; column episode_id, 2 rows (2, 4): "
        "duplicate value: 'E1'"
    )
    with pytest.raises(StudyInputError, match=r"empty.csv: file is empty$"):
        read_records(FIXTURES / "empty.csv", "conversations")
    with pytest.raises(
        StudyInputError, match="missing_column.csv: column outcome: required column is missing$"
    ):
        read_records(FIXTURES / "missing_column.csv", "conversations")


def test_unknown_kind_is_an_argument_error():
    with pytest.raises(StudyInputError, match="kind must be one of"):
        validate_file(GOOD, kind="visits")
    with pytest.raises(StudyInputError, match="kind must be one of"):
        read_records(GOOD, None)


def test_kind_inferred_from_columns_then_name(tmp_path):
    assert infer_kind(["episode_id", "site"]) == "conversations"
    assert infer_kind(["review_id"]) == "reviews"
    assert infer_kind(["week_start", "series", "count"]) == "weekly"
    assert infer_kind(["a", "b"], "my_reviews.csv") == "reviews"
    assert infer_kind(["a", "b"], "data.csv") is None
    assert infer_kind(["episode_id", "review_id"], "x.csv") is None
    path = tmp_path / "table.csv"
    path.write_text("a,b\n1,2\n")
    problems = validate_file(path)
    assert len(problems) == 1 and "cannot tell which kind" in problems["problem"].iloc[0]


def test_wrong_kind_reports_missing_columns():
    problems = validate_file(GOOD, kind="reviews")
    missing = problems[problems["problem"] == "required column is missing"]["column"]
    assert set(missing) == {
        "review_id",
        "review_start",
        "review_end",
        "weekly_cost_before_gbp",
        "weekly_cost_after_gbp",
        "status",
    }


def test_many_problems_are_all_collected(tmp_path):
    path = tmp_path / "conversations.csv"
    path.write_text(
        "episode_id,person_id,site,team,request_date,conversation,start_date,end_date,"
        "outcome,repeat_request,covid_positive\n"
        "E1,P1,leeds,team_x,2019-02-30,4,2019-01-01,2018-12-01,finished,maybe,perhaps\n"
        "E1,,harrow,usual_care,2019-01-05,,2019-01-01,,long_term_support,true,\n"
    )
    problems = validate_file(path)
    got = set(zip(problems["row"].astype(int), problems["column"], strict=True))
    assert {
        (2, "site"),
        (2, "team"),
        (2, "request_date"),
        (2, "conversation"),
        (2, "end_date"),
        (2, "outcome"),
        (2, "repeat_request"),
        (2, "covid_positive"),
        (2, "episode_id"),
        (3, "episode_id"),
        (3, "person_id"),
        (3, "start_date"),
    } <= got
    # end_date empty while the outcome is not ongoing
    assert (3, "end_date") in got
    # a cell that did not parse is reported once, not again as missing
    assert len(problems[(problems["row"] == 2) & (problems["column"] == "repeat_request")]) == 1


# --------------------------------------------------------------------------------------------
# Round trips: CSV, Parquet, Excel give the same typed table


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_round_trip(tmp_path, suffix):
    df = read_records(GOOD, "conversations")
    path = tmp_path / f"conversations{suffix}"
    if suffix == ".csv":
        df.to_csv(path, index=False, date_format="%Y-%m-%d")
    elif suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_excel(path, index=False)
    before = _digest(path)
    assert validate_file(path).empty
    back = read_records(path, "conversations")
    pd.testing.assert_frame_equal(back, df, check_dtype=True)
    assert _digest(path) == before


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_broken_parquet_and_excel_report_rows(tmp_path, suffix):
    df = pd.read_csv(FIXTURES / "negative_cost.csv")
    path = tmp_path / f"reviews{suffix}"
    if suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_excel(path, index=False)
    problems = validate_file(path)
    assert _rows(problems) == [
        (3, "weekly_cost_before_gbp", "must be >= 0 (negative value): '-120.5'")
    ]


def test_excel_text_dates_and_numbers_as_text(tmp_path):
    raw = pd.read_csv(GOOD, dtype=str, keep_default_na=False)
    path = tmp_path / "conversations.xlsx"
    raw.to_excel(path, index=False)
    assert validate_file(path).empty


# --------------------------------------------------------------------------------------------
# Property tests (hypothesis)

_ids = st.text(string.ascii_letters + string.digits, min_size=1, max_size=8)


@st.composite
def conversations_frames(draw):
    n = draw(st.integers(1, 25))
    base = pd.Timestamp("2018-01-01")
    rows = []
    for i in range(n):
        req = base + pd.Timedelta(days=draw(st.integers(0, 1200)))
        start = req + pd.Timedelta(days=draw(st.integers(0, 30)))
        team = draw(st.sampled_from(["innovation_site_1", "innovation_site_2", "usual_care"]))
        outcome = draw(
            st.sampled_from(
                ["no_further_support", "short_term_support", "long_term_support", "ongoing"]
            )
        )
        end = None if outcome == "ongoing" else start + pd.Timedelta(days=draw(st.integers(0, 90)))
        conv = None if team == "usual_care" else draw(st.sampled_from([1, 2, 3]))
        rows.append(
            {
                "episode_id": f"E{i}",
                "person_id": draw(_ids),
                "site": draw(st.sampled_from(["birmingham", "harrow", "other"])),
                "team": team,
                "request_date": req,
                "conversation": conv,
                "start_date": start,
                "end_date": end,
                "outcome": outcome,
                "repeat_request": draw(st.booleans()),
                "covid_positive": draw(st.sampled_from([True, False, None])),
            }
        )
    return pd.DataFrame(rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conversations_frames())
def test_valid_frames_have_no_problems(df):
    assert validate_frame(df, "conversations").empty
    typed = typed_frame(df, "conversations")
    assert len(typed) == len(df)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conversations_frames(), st.data())
def test_one_defect_is_reported_at_its_row(df, data):
    i = data.draw(st.integers(0, len(df) - 1))
    defect = data.draw(st.sampled_from(["site", "start_date", "team", "request_date"]))
    bad = df.astype(object).copy()
    if defect == "site":
        bad.loc[i, "site"] = "leeds"
    elif defect == "start_date":  # start before request
        bad.loc[i, "start_date"] = df.loc[i, "request_date"] - pd.Timedelta(days=1)
        if pd.notna(df.loc[i, "end_date"]):
            bad.loc[i, "end_date"] = bad.loc[i, "start_date"]
    elif defect == "team":
        bad.loc[i, "team"] = "innovation site one"
        bad.loc[i, "conversation"] = 1  # an empty conversation is only allowed for usual care
    else:
        bad.loc[i, "request_date"] = "31/12/2019"
    problems = validate_frame(bad, "conversations")
    assert _rows(problems)[0][:2] == (i + 2, defect)
    assert len(problems) == 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                c: st.one_of(st.none(), st.text(max_size=6), st.integers(-5, 5), st.floats())
                for c in ["review_id", "team", "review_start", "weekly_cost_before_gbp", "status"]
            }
        ),
        min_size=1,
        max_size=10,
    )
)
def test_arbitrary_cells_never_raise(rows):
    problems = validate_frame(pd.DataFrame(rows), "reviews")
    assert list(problems.columns) == PROBLEM_COLUMNS
    assert problems["row"].dropna().between(2, len(rows) + 1).all()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(-3, 50), min_size=1, max_size=20), st.integers(0, 6))
def test_weekly_counts_and_mondays(counts, offset):
    weeks = pd.date_range("2020-01-06", periods=len(counts), freq="7D") + pd.Timedelta(days=offset)
    df = pd.DataFrame(
        {"week_start": weeks, "site": "harrow", "series": "repeat_requests", "count": counts}
    )
    problems = validate_frame(df, "weekly")
    negative = int(np.sum(np.array(counts) < 0))
    expected_monday = 0 if offset == 0 else len(counts)
    assert (problems["column"] == "count").sum() == negative
    assert (problems["column"] == "week_start").sum() == expected_monday


def test_weekly_duplicate_combination():
    df = pd.DataFrame(
        {
            "week_start": ["2020-01-06", "2020-01-06", "2020-01-13"],
            "site": "harrow",
            "series": "repeat_requests",
            "count": [1, 2, 3],
        }
    )
    problems = validate_frame(df, "weekly")
    assert _rows(problems) == [
        (2, "site, series, week_start", "duplicate combination of (site, series, week_start)"),
        (3, "site, series, week_start", "duplicate combination of (site, series, week_start)"),
    ]


def test_ragged_and_non_utf8_csv_are_file_level_problems(tmp_path):
    header = "week_start,site,series,count\n"
    too_long = tmp_path / "weekly_long.csv"
    too_long.write_text(header + "2020-01-06,harrow,repeat_requests,3,9\n")
    mixed = tmp_path / "weekly_mixed.csv"
    mixed.write_text(header + "2020-01-06,harrow,repeat_requests,3\n2020-01-13,harrow,x,1,2\n")
    latin = tmp_path / "weekly_latin.csv"
    latin.write_bytes((header + "2020-01-06,h\xe9rrow,repeat_requests,3\n").encode("latin-1"))
    for path, text in [
        (too_long, "more fields than the header"),
        (mixed, "Expected 4 fields in line 3, saw 5"),
        (latin, "not UTF-8"),
    ]:
        before = _digest(path)
        problems = validate_file(path)
        assert len(problems) == 1 and pd.isna(problems["row"].iloc[0])
        assert text in problems["problem"].iloc[0]
        assert _digest(path) == before


def test_utf8_bom_and_padded_cells_are_accepted(tmp_path):
    path = tmp_path / "weekly.csv"
    path.write_bytes(
        b"\xef\xbb\xbfweek_start, site ,series,count\n 2020-01-06 , harrow ,repeat_requests, 3 \n"
    )
    assert validate_file(path).empty
    assert read_records(path, "weekly")["count"].tolist() == [3]
