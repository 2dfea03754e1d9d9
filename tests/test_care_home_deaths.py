"""study.data.care_home_deaths on the ONS first-wave workbook in ../shared/external/ (skipped when
absent), refusals of broken copies, and the Covid-19 context of notebook 06 (wave dates and the
agreement of notebook 03's covid_wave_1 start) by hand."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from study.analyses import national_context as ctx
from study.data import national
from study.data.care_home_deaths import CARE_HOME_COLUMNS, CARE_HOME_DEATHS_FILE
from study.data.care_home_deaths import read_care_home_deaths as read
from study.errors import StudyInputError

FILE = national.external_dir() / CARE_HOME_DEATHS_FILE
needs_file = pytest.mark.skipif(not FILE.is_file(), reason=f"{FILE} not present")
HARROW, BIRMINGHAM = "E09000015", "E08000025"


@pytest.fixture(scope="module")
def deaths():
    return read(FILE)


def _series(deaths, code, cause):
    sub = deaths[(deaths["geography_code"] == code) & (deaths["cause"] == cause)]
    return sub.sort_values("week_ending")["deaths"].tolist()


@needs_file
def test_the_real_workbook_reads_every_week_and_both_causes(deaths):
    assert list(deaths.columns) == CARE_HOME_COLUMNS
    weeks = sorted(deaths["week_ending"].unique())
    assert len(weeks) == 9 and (weeks[0], weeks[-1]) == (
        pd.Timestamp("2020-03-06"),
        pd.Timestamp("2020-05-01"),
    )
    assert {pd.Timestamp(w).day_name() for w in weeks} == {"Friday"}
    assert set(deaths["cause"]) == {"all causes", "involving COVID-19"}
    # SOURCES.md section 5: the all-cause series as the source lists them
    assert _series(deaths, HARROW, "all causes")[:8] == [1, 7, 6, 11, 23, 32, 35, 27]
    assert _series(deaths, BIRMINGHAM, "all causes")[:6] == [30, 31, 54, 61, 108, 155]
    wide = deaths.pivot_table(
        index=["geography_code", "week_ending"], columns="cause", values="deaths"
    )
    assert (wide["involving COVID-19"] <= wide["all causes"]).all()


@needs_file
def test_each_row_names_the_cell_it_was_read_from(deaths):
    """An independent route: openpyxl's own cell at the recorded sheet, row and column."""
    book = openpyxl.load_workbook(FILE, read_only=False, data_only=True)
    sample = deaths[deaths["geography_code"].isin([HARROW, BIRMINGHAM])]
    for r in sample.itertuples(index=False):
        assert book[r.sheet][f"{r.column}{r.row}"].value == r.deaths
        assert book[r.sheet][f"A{r.row}"].value.strip() == r.geography_code


@needs_file
def test_broken_copies_are_refused_naming_sheet_row_and_column(tmp_path, deaths):
    book = openpyxl.load_workbook(FILE)
    harrow = deaths[(deaths["geography_code"] == HARROW) & (deaths["sheet"] == "Table 12")]
    cell = harrow.iloc[3]
    book["Table 12"][f"{cell.column}{cell.row}"] = "n/a"
    bad = tmp_path / "bad.xlsx"
    book.save(bad)
    with pytest.raises(StudyInputError) as err:
        read(bad)
    message = str(err.value)
    assert f"sheet 'Table 12' row {cell.row} column {cell.column} ({HARROW}" in message
    assert "'n/a' is not a count of deaths" in message and "\n" not in message
    del book["Table 11"]
    book.save(bad)
    with pytest.raises(StudyInputError, match="no sheet 'Table 11'"):
        read(bad)
    (tmp_path / "text.xlsx").write_text("not a workbook", encoding="utf-8")
    with pytest.raises(StudyInputError, match="not a readable .xlsx workbook"):
        read(tmp_path / "text.xlsx")
    with pytest.raises(StudyInputError, match="workbook not found"):
        read(tmp_path / "missing.xlsx")


def _toy(covid: list[int], all_causes: list[int], code: str = "E09000099") -> pd.DataFrame:
    weeks = pd.date_range("2020-03-06", periods=len(covid), freq="7D")
    rows = [
        {"geography_code": code, "name": "Toyborough", "week_ending": w, "cause": cause,
         "deaths": d, "sheet": "t", "row": 1, "column": "C"}
        for cause, values in (("involving COVID-19", covid), ("all causes", all_causes))
        for w, d in zip(weeks, values, strict=True)
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=CARE_HOME_COLUMNS)


def test_wave_dates_by_hand():
    toy = _toy([0, 0, 2, 9, 12, 21, 12, 9], [1, 7, 6, 11, 23, 32, 35, 27])
    row = ctx.wave_dates(toy, ["E09000099"], fall_share=0.5).iloc[0]
    assert row["first_week"] == pd.Timestamp("2020-03-20")  # the first week with a death
    assert (row["peak_week"], row["peak_deaths"]) == (pd.Timestamp("2020-04-10"), 21)
    assert row["fall_week"] == pd.Timestamp("2020-04-24")  # 9 <= 10.5; 12 is not
    assert (row["wave_deaths"], row["all_cause"]) == (65, 142)
    never = ctx.wave_dates(toy, ["E09000099"], fall_share=0.3).iloc[0]
    assert pd.isna(never["fall_week"])  # 9 > 6.3 in the last week
    with pytest.raises(StudyInputError, match="fall_share must be between 0 and 1"):
        ctx.wave_dates(toy, ["E09000099"], fall_share=1.0)
    with pytest.raises(StudyInputError, match="no involving COVID-19 rows for E09000001"):
        ctx.wave_dates(toy, ["E09000001"], fall_share=0.5)


@pytest.mark.parametrize(
    ("start", "days", "agrees"),
    [
        ("2020-03-14", 0, True),  # the Saturday that begins the week ending Friday 20 March
        ("2020-03-20", 0, True),  # its Friday
        ("2020-03-23", 3, True),  # the Monday after: 3 days after the week
        ("2020-03-06", -8, False),  # 8 days before the Saturday
        ("2020-03-30", 10, False),
    ],
)
def test_start_agreement_counts_days_from_the_first_week(start, days, agrees):
    dates = ctx.wave_dates(_toy([0, 0, 2, 9], [5, 5, 5, 5]), ["E09000099"], fall_share=0.5)
    row = ctx.start_agreement(dates, start, agreement_days=7).iloc[0]
    assert (row["days"], row["agrees"]) == (days, agrees)


@needs_file
def test_notebook_03s_default_wave_start_against_the_real_first_weeks(deaths):
    result = ctx.care_home_covid_context(deaths, [HARROW, BIRMINGHAM])
    start = ctx.declared_periods("03")[ctx.WAVE_PERIOD]["start"]
    dates = result.tables["dates"].set_index("geography_code")
    assert dates.loc[HARROW, "first_week"] == pd.Timestamp("2020-03-27")
    assert dates.loc[BIRMINGHAM, "first_week"] == pd.Timestamp("2020-03-20")
    assert f"start ({start})" in result.text and result.table.empty
    assert list(result.figures) == ["care_home_deaths"]


def test_without_the_workbook_the_context_says_why():
    result = ctx.care_home_covid_context(None, [HARROW])
    assert result.text == ctx.CARE_HOME_SKIPPED and result.table.empty


def test_notebook_03_says_whether_its_own_wave_start_agrees(monkeypatch, tmp_path):
    """`interrupted_time_series.covid_context` on notebook 03's periods: the sentence names this
    notebook's start; without a code, a covid_wave_1 period or the workbook it says why."""
    from types import SimpleNamespace

    from study.analyses import interrupted_time_series as its_analysis

    periods = {"covid_wave_1": {"start": "2020-03-30", "kind": "context"}}
    setup = SimpleNamespace(periods=periods)
    args = dict(fall_share=0.5, agreement_days=7)
    skipped = its_analysis.covid_context(setup, "", "", **args)
    assert skipped.text.endswith("no site_geography_code.") and skipped.table.empty
    other = SimpleNamespace(periods={"covid": {"start": "2020-04-06", "kind": "context"}})
    assert "no 'covid_wave_1' period" in its_analysis.covid_context(other, "", HARROW, **args).text
    monkeypatch.setenv(national.EXTERNAL_DIR_ENV, str(tmp_path))  # no workbook there
    assert its_analysis.covid_context(setup, "", HARROW, **args).text == ctx.CARE_HOME_SKIPPED
    with pytest.raises(StudyInputError, match="none.xlsx: ONS care-home deaths workbook not found"):
        its_analysis.covid_context(setup, str(tmp_path / "none.xlsx"), HARROW, **args)
    monkeypatch.delenv(national.EXTERNAL_DIR_ENV)
    if FILE.is_file():
        result = its_analysis.covid_context(setup, str(FILE), HARROW, **args)
        # first week ending Friday 27 March 2020 (21-27 March): 30 March is 3 days after it
        assert "This notebook's covid_wave_1 start (2020-03-30) agrees" in result.text
        assert "Harrow agrees (3 days after its first week)" in result.text
        unknown = its_analysis.covid_context(setup, str(FILE), "E09999999", **args)
        assert unknown.text.endswith(f"E09999999 is not a council of {FILE.name}.")
