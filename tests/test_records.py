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
    RecordCheck,
    check_file,
    check_report_path,
    infer_kind,
    problem_groups,
    problem_lines,
    problem_row_lines,
    read_records,
    sniff_delimiter,
    summarise_problems,
    typed_frame,
    validate_file,
    validate_frame,
)
from study.data.schema import SCHEMAS, SITE_ERROR
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
    "header_only.csv": [(None, "", "no records: the file has a header but no data rows")],
    "future_date.csv": [
        (3, "request_date", "date is in the future (after today): '2099-06-04'"),
        (3, "start_date", "date is in the future (after today): '2099-06-05'"),
        (3, "end_date", "date is in the future (after today): '2099-08-01'"),
        (4, "request_date", "date is before 2000-01-01 (implausibly early): '1999-12-31'"),
    ],
    "semicolon_reviews.csv": [
        (2, "weekly_cost_before_gbp", "not a number: '250,50' (decimal comma? write 250.50)")
    ],
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
        "E1,P1,Leeds City,team_x,2019-02-30,4,2019-01-01,2018-12-01,finished,maybe,perhaps\n"
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


@pytest.mark.slow  # CI tier (make test-slow): a real study run or a property search
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conversations_frames())
def test_valid_frames_have_no_problems(df):
    assert validate_frame(df, "conversations").empty
    typed = typed_frame(df, "conversations")
    assert len(typed) == len(df)


@pytest.mark.slow  # CI tier (make test-slow): a real study run or a property search
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conversations_frames(), st.data())
def test_one_defect_is_reported_at_its_row(df, data):
    i = data.draw(st.integers(0, len(df) - 1))
    defect = data.draw(st.sampled_from(["site", "start_date", "team", "request_date"]))
    bad = df.astype(object).copy()
    if defect == "site":
        bad.loc[i, "site"] = "Leeds City"
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


@pytest.mark.slow  # CI tier (make test-slow): a real study run or a property search
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


# --------------------------------------------------------------------------------------------
# Grouped wording: one line per column x problem, the same words for validate and run


def _repeated_mistake(tmp_path, n: int = 500) -> Path:
    """A weekly extract of n rows with `site` = 'Harrow' on every row."""
    weeks = pd.date_range("2005-01-03", periods=n, freq="7D").strftime("%Y-%m-%d")
    path = tmp_path / "weekly.csv"
    pd.DataFrame(
        {"week_start": weeks, "site": "Harrow", "series": "repeat_requests", "count": 1}
    ).to_csv(path, index=False)
    return path


def test_one_repeated_mistake_is_one_line_with_count_rows_and_suggestion(tmp_path):
    path = _repeated_mistake(tmp_path)
    check = check_file(path)
    assert isinstance(check, RecordCheck) and not check.valid
    assert len(check.problems) == 500 and list(check.problems.columns) == PROBLEM_COLUMNS
    allowed = SITE_ERROR
    line = f"column site, 500 rows (2, 3, 4, 5, 6, …): {allowed}: 'Harrow' (did you mean 'harrow'?)"
    assert check.lines() == [line]
    assert check.summary == f"{path}: 500 problems; {line}"
    assert check.text.splitlines() == [
        f"{path}: 500 problems (weekly, 500 records)",
        "  " + line,
        "  (first rows only: study validate --all lists every problem, --report FILE writes "
        "them to a CSV)",
    ]
    # the plain table words it the same way, so callers holding only the table agree
    assert problem_lines(check.problems) == [line]
    assert summarise_problems(check.problems, str(path)) == check.summary
    with pytest.raises(StudyInputError) as err:
        read_records(path, "weekly")
    assert str(err.value) == check.summary


def test_groups_merge_values_and_count_them():
    check = check_file(FIXTURES / "near_miss_site.csv")
    groups = check.groups
    assert len(groups) == 1
    g = groups.iloc[0]
    # any lower-case identifier is a site; capitals are not, and each gets its folded form
    assert (g["column"], g["n"], g["rows"], g["n_values"]) == ("site", 8, [2, 3, 4, 5, 6], 3)
    assert g["values"] == [
        ("'Harrow'", "did you mean 'harrow'?", 6),
        ("'Harow'", "did you mean 'harow'?", 1),
        ("'Leeds'", "did you mean 'leeds'?", 1),
    ]
    assert check.lines()[0].endswith(
        ": 'Harrow' (did you mean 'harrow'?) ×6, 'Harow' (did you mean 'harow'?) ×1, "
        "'Leeds' (did you mean 'leeds'?) ×1"
    )


def test_lines_are_limited_and_say_how_many_more(tmp_path):
    path = tmp_path / "conversations.csv"
    path.write_text(
        "episode_id,person_id,site,team,request_date,conversation,start_date,end_date,"
        "outcome,repeat_request,covid_positive\n"
        "E1,P1,Leeds City,team_x,2019-02-30,4,2019-01-01,2018-12-01,finished,maybe,perhaps\n"
    )
    check = check_file(path)
    n_groups = len(check.groups)
    assert n_groups >= 8
    assert len(check.lines(limit=3)) == 4
    assert check.lines(limit=3)[-1] == f"… and {n_groups - 3} more kinds of problem"
    assert len(check.lines(limit=None)) == n_groups
    assert check.summary.endswith(f"; and {n_groups - 1} more kinds of problem")
    assert "\n" not in check.summary


def test_row_lines_list_every_problem():
    check = check_file(FIXTURES / "duplicate_id.csv")
    assert problem_row_lines(check.problems) == [
        "row 2, column episode_id: duplicate value: 'E1'",
        "row 4, column episode_id: duplicate value: 'E1'",
    ]
    assert problem_row_lines(check_file(FIXTURES / "missing_column.csv").detail) == [
        "column outcome: required column is missing"
    ]
    assert problem_row_lines(check_file(GOOD).problems) == []
    assert check.full_text.splitlines() == [
        f"{FIXTURES / 'duplicate_id.csv'}: 2 problems (conversations, 4 records)",
        "  row 2, column episode_id: duplicate value: 'E1'",
        "  row 4, column episode_id: duplicate value: 'E1'",
    ]
    assert (
        check_file(FIXTURES / "empty.csv").full_text
        == f"{FIXTURES / 'empty.csv'}: 1 problem\n  file is empty"
    )


def test_valid_file_text_and_groups():
    check = check_file(GOOD)
    assert check.valid and check.problems.empty and problem_groups(check.problems).empty
    assert check.text == check.summary == f"{GOOD}: valid (conversations, 4 records)"
    assert check.lines() == []


def test_file_level_problem_is_one_line():
    check = check_file(FIXTURES / "empty.csv", "conversations")
    assert check.text == check.summary == f"{FIXTURES / 'empty.csv'}: file is empty"


def test_missing_columns_are_one_line_with_near_miss_names(tmp_path):
    raw = pd.read_csv(GOOD, dtype=str, keep_default_na=False)
    path = tmp_path / "conversations.csv"
    raw.rename(columns={"person_id": "Person ID"}).drop(columns=["outcome"]).to_csv(
        path, index=False
    )
    lines = check_file(path).lines()
    assert lines[0] == (
        "columns person_id (did you mean 'Person ID'? column names are matched exactly), "
        "outcome: required columns are missing"
    )


# --------------------------------------------------------------------------------------------
# Which kind: the closest kind and the columns it lacks


def test_wrong_kind_names_the_better_kind_and_skips_row_noise():
    check = check_file(GOOD, kind="weekly")
    assert check.lines() == [
        "the header fits conversations (11 of 11 required columns) better than weekly (1 of 4): "
        "is this a conversations file?",
        "columns week_start, series, count: required columns are missing",
    ]


def test_unknown_kind_names_the_closest_kind_and_what_it_lacks(tmp_path):
    path = tmp_path / "extract.csv"
    path.write_text("person_id,team,review_start\nP1,innovation_site_3,2020-08-03\n")
    (problem,) = validate_file(path)["problem"]
    assert problem == (
        "cannot tell which kind of file this is (conversations, reviews, weekly); the header is "
        "closest to reviews (3 of 9 required columns, lacks review_id, review_end, "
        "weekly_cost_before_gbp, weekly_cost_after_gbp, covid_positive, status); pass the kind "
        "explicitly (study validate --kind)"
    )
    path.write_text("a,b\n1,2\n")
    (problem,) = validate_file(path)["problem"]
    assert problem.endswith("the header ('a', 'b') has none of their columns")


# --------------------------------------------------------------------------------------------
# Dialects and sheets


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiters_are_recognised_and_read_alike(tmp_path, sep):
    raw = pd.read_csv(GOOD, dtype=str, keep_default_na=False)
    path = tmp_path / "conversations.csv"
    raw.to_csv(path, sep=sep, index=False)
    before = _digest(path)
    assert sniff_delimiter(path) == sep
    check = check_file(path)
    assert check.valid
    named = {
        ",": "",
        ";": ", semicolon-delimited",
        "\t": ", tab-delimited",
        "|": ", pipe (|)-delimited",
    }
    assert check.text == f"{path}: valid (conversations, 4 records{named[sep]})"
    pd.testing.assert_frame_equal(
        read_records(path, "conversations"), read_records(GOOD, "conversations")
    )
    assert _digest(path) == before


def test_quoted_header_cells_do_not_mislead_the_sniffer(tmp_path):
    path = tmp_path / "weekly.csv"
    path.write_text('"week_start","site;x",series,count\n')
    assert sniff_delimiter(path) == ","


def _workbook(path: Path, first: pd.DataFrame, second: pd.DataFrame) -> Path:
    with pd.ExcelWriter(path) as book:
        first.to_excel(book, sheet_name="Notes", index=False)
        second.to_excel(book, sheet_name="Data", index=False)
    return path


def test_data_on_the_second_sheet_lists_the_sheets_and_sheet_picks_it(tmp_path):
    raw = pd.read_csv(GOOD, dtype=str, keep_default_na=False)
    notes = pd.DataFrame({"About this extract": ["exported from the case system"]})
    path = _workbook(tmp_path / "extract.xlsx", notes, raw)
    before = _digest(path)
    listed = "(sheets: 'Notes', 'Data'; 'Data' looks like conversations)"
    assert _rows(validate_file(path)) == [
        (None, "", f"the first sheet 'Notes' has no recognisable header {listed}; "
         "choose a sheet (study validate --sheet NAME)")
    ]  # fmt: skip
    assert "has no conversations header" in validate_file(path, "conversations")["problem"][0]
    for sheet in ("Data", 2, "2"):
        check = check_file(path, sheet=sheet)
        assert check.valid and check.text.endswith("(conversations, 4 records, sheet 'Data')")
    typed = read_records(path, "conversations", sheet="Data")
    pd.testing.assert_frame_equal(typed, read_records(GOOD, "conversations"))
    assert _rows(validate_file(path, sheet="Summary")) == [
        (None, "", "no sheet 'Summary' in the workbook (sheets: 'Notes', 'Data')")
    ]
    assert _digest(path) == before


def test_a_first_sheet_with_a_real_header_is_checked_not_skipped(tmp_path):
    raw = pd.read_csv(GOOD, dtype=str, keep_default_na=False)
    path = _workbook(tmp_path / "extract.xlsx", raw.drop(columns=["outcome"]), raw)
    assert _rows(validate_file(path, "conversations")) == [
        (None, "outcome", "required column is missing")
    ]


def test_a_sheet_for_a_csv_is_a_file_level_problem():
    assert _rows(validate_file(GOOD, sheet="Data")) == [
        (None, "", "a sheet was given, but this is a csv file, not an Excel workbook")
    ]


# --------------------------------------------------------------------------------------------
# Dates: not before 2000-01-01, not after today (read when the file is checked)


def test_today_is_accepted_and_tomorrow_is_not(tmp_path):
    today = pd.Timestamp.today().normalize()
    monday = today - pd.Timedelta(days=today.day_of_week)
    path = tmp_path / "weekly.csv"
    rows = [monday, monday + pd.Timedelta(days=7), pd.Timestamp("1999-12-27")]
    pd.DataFrame(
        {"week_start": [d.strftime("%Y-%m-%d") for d in rows], "site": "harrow",
         "series": "repeat_requests", "count": 1}
    ).to_csv(path, index=False)  # fmt: skip
    got = [(r, c, p.split(":")[0]) for r, c, p in _rows(validate_file(path))]
    assert got == [
        (3, "week_start", "date is in the future (after today)"),
        (4, "week_start", "date is before 2000-01-01 (implausibly early)"),
    ]


def test_committed_synthetic_extracts_still_validate():
    from study.config import SYNTHETIC_DIR

    for path in sorted(SYNTHETIC_DIR.glob("*.csv")):
        check = check_file(path)
        assert check.valid, check.text


# --------------------------------------------------------------------------------------------
# The report file must not overwrite the input


def test_report_path_refuses_the_input_a_folder_and_a_missing_folder(tmp_path):
    assert check_report_path(tmp_path / "problems.csv", GOOD) == tmp_path / "problems.csv"
    with pytest.raises(StudyInputError, match="is the file being checked"):
        check_report_path(GOOD, GOOD)
    with pytest.raises(StudyInputError, match="is a folder"):
        check_report_path(tmp_path, GOOD)
    with pytest.raises(StudyInputError, match="give a .csv file name"):
        check_report_path(tmp_path / "problems.xlsx", GOOD)
    with pytest.raises(StudyInputError, match="does not exist"):
        check_report_path(tmp_path / "no" / "problems.csv", GOOD)


@pytest.mark.parametrize(
    ("column", "cell", "hint"),
    [
        ("week_start", "13/01/2020", "did you mean 2020-01-13?"),
        ("week_start", "01/13/2020", "did you mean 2020-01-13?"),
        ("week_start", "03/02/2020", "day and month order is ambiguous; write YYYY-MM-DD"),
        ("week_start", "43843", "an Excel day number? that is 2020-01-13"),
        ("week_start", "soon", ""),
        ("count", "1,200", "write the plain number 1200"),
        ("count", "£12", "write the plain number 12"),
        ("population", "12,5", "decimal comma? write 12.5"),
        ("count", "seven", ""),
    ],
)
def test_unparseable_cells_get_a_hint_when_the_meaning_is_clear(column, cell, hint):
    row = {"week_start": "2020-01-13", "site": "harrow", "series": "repeat_requests", "count": "1"}
    problems = validate_frame(pd.DataFrame([{**row, column: cell}]), "weekly")
    (problem,) = problems[problems["column"] == column]["problem"]
    assert problem.endswith(f"{cell!r} ({hint})" if hint else repr(cell))


# --------------------------------------------------------------------------------------------
# Sites are data: any lower-case identifier, one clear error for capitals or spaces


def test_a_council_of_its_own_is_a_valid_site_in_every_kind(tmp_path):
    episodes = pd.read_csv(FIXTURES / "good_conversations.csv", dtype=str).assign(site="northfield")
    path = tmp_path / "northfield_conversations.csv"
    episodes.to_csv(path, index=False)
    assert check_file(path).valid
    weekly = tmp_path / "northfield_weekly.csv"
    weekly.write_text(
        "week_start,site,series,count\n2020-01-06,northfield,repeat_requests,3\n"
        "2020-01-06,north_field_2,repeat_requests,1\n"
    )
    assert check_file(weekly).valid
    assert check_file(FIXTURES / "unknown_site.csv").valid  # 'leeds': a council like any other


@pytest.mark.parametrize(
    ("value", "meant"),
    [("North Field", "north_field"), ("Northfield", "northfield"), ("NORTH-FIELD", "north_field")],
)
def test_a_site_with_capitals_or_spaces_is_one_error_naming_file_row_column_and_fix(
    tmp_path, value, meant
):
    episodes = pd.read_csv(FIXTURES / "good_conversations.csv", dtype=str)
    episodes.loc[1, "site"] = value
    path = tmp_path / "conversations.csv"
    episodes.to_csv(path, index=False)
    check = check_file(path)
    assert _rows(check.problems) == [
        (3, "site", f"{SITE_ERROR}: {value!r} (did you mean {meant!r}?)")
    ]
    line = f"row 3, column site: {SITE_ERROR}: {value!r} (did you mean {meant!r}?)"
    assert check.lines() == [line]
    with pytest.raises(StudyInputError) as err:
        read_records(path, "conversations")
    assert str(err.value) == f"{path}: 1 problem; {line}"


def test_a_site_that_cannot_be_folded_into_an_identifier_gets_no_guess(tmp_path):
    path = tmp_path / "weekly.csv"
    path.write_text("week_start,site,series,count\n2020-01-06,3 Rivers,repeat_requests,3\n")
    assert check_file(path).lines() == [f"row 2, column site: {SITE_ERROR}: '3 Rivers'"]
