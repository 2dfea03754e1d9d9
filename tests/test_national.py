"""Known answers for the official-data readers and the cited national figures.

Synthetic workbooks (built here with openpyxl) exercise the reader's rules and its errors for
later editions; the real files in ../shared/external check every transcribed figure against its
official cell (skipped, with the reason, when that folder is absent).
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from study import config
from study.data import national
from study.errors import StudyInputError

ASCFR = config.EXTERNAL_DIR / national.ASCFR_FILE
OFLOG = config.EXTERNAL_DIR / national.OFLOG_FILE
COMMITTED = config.PUBLISHED_DIR / national.NATIONAL_FIGURES_FILE
needs_ascfr = pytest.mark.skipif(
    not ASCFR.exists(), reason=f"official workbook not present: {ASCFR}"
)
needs_oflog = pytest.mark.skipif(
    not OFLOG.exists(), reason=f"official Oflog file not present: {OFLOG}"
)

SEQUELS = list(national.TABLE_SPECS["T10"].measures)
HARROW_T10 = [75, 10, 15, 225, "[c]", "[c]", "[c]", 65, 1235, 265, 5, 1950, 3845]
LONDON_T10 = [5300, 115, 175, 5350, 70, 305, 65, 9840, 4020, 31935, 410, 25220, 82805]
ENGLAND_T10 = [32585, 760, 1605, 32765, 260, 3350, 880, 80890, 39335, 209475, 3905, 205695, 611505]
T10_TITLE = (
    "Table 10: Number of requests for support received from new clients aged 18 to 64, "
    "by what happened next, {year}"
)
IDS = ["Geography code", "LA code", "LA name", "Region code", "Region name"]


def t10_rows(
    *,
    year: str = "2021-22",
    title_rows: int = 3,
    sequels: list[str] | None = None,
    harrow: list | None = None,
    extra: list[list] | None = None,
) -> list[list]:
    """A T10-like sheet: title rows, header, England and London rows, LAs, footer."""
    rows: list[list] = [[None], ["Return to contents"]] + [[]] * (title_rows - 2)
    rows += [[T10_TITLE.format(year=year)], [], [None] * 17 + ["Numbers"]]
    rows += [IDS + (sequels or SEQUELS), [" "]]
    rows += [[" ", "", "", "E92000001", "England", *ENGLAND_T10], [" "]]
    rows += [[" ", "", "", "E12000007", "London", *LONDON_T10], [" "]]
    rows += [["E09000015", "725", "Harrow", "E12000007", "London", *(harrow or HARROW_T10)]]
    rows += [["E09000012", "704", "Hackney", "E12000007", "London", *["[x]"] * 13]]
    rows += extra or []
    rows += [[], ["Source: SALT Collection, STS001, NHS Digital"], ["[c] indicates data < 5."]]
    return rows


def write_workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def value_of(frame: pd.DataFrame, code: str, measure: str, **where: str) -> pd.Series:
    sub = frame[(frame["geography_code"] == code) & (frame["measure"] == measure)]
    for column, wanted in where.items():
        sub = sub[sub[column] == wanted]
    assert len(sub) == 1, (code, measure, where)
    return sub.iloc[0]


# ----------------------------------------------------------------------------- paths


def test_external_dir_env_var_then_config(monkeypatch, tmp_path):
    monkeypatch.delenv(national.EXTERNAL_DIR_ENV, raising=False)
    assert national.external_dir() == config.EXTERNAL_DIR
    monkeypatch.setenv(national.EXTERNAL_DIR_ENV, str(tmp_path))
    assert national.external_dir() == tmp_path


def test_default_workbook_comes_from_the_env_folder(monkeypatch, tmp_path):
    write_workbook(tmp_path / national.ASCFR_FILE, {"T10": t10_rows()})
    monkeypatch.setenv(national.EXTERNAL_DIR_ENV, str(tmp_path))
    assert len(national.read_ascfr_table(None, "T10")) == 4 * 13


def test_missing_files_named(tmp_path):
    with pytest.raises(StudyInputError, match="workbook not found: .*nowhere.xlsx"):
        national.read_ascfr_table(tmp_path / "nowhere.xlsx", "T10")
    with pytest.raises(StudyInputError, match="Oflog measures file not found: .*none.csv"):
        national.read_oflog_measures(tmp_path / "none.csv")
    (tmp_path / "fake.xlsx").write_text("not a workbook")
    with pytest.raises(StudyInputError, match="fake.xlsx: not readable as an Excel workbook"):
        national.read_ascfr_table(tmp_path / "fake.xlsx", "T10")


# ----------------------------------------------------------------------------- workbook reader


def test_reader_known_answers_on_a_synthetic_t10(tmp_path):
    path = write_workbook(tmp_path / "t.xlsx", {"T10": t10_rows()})
    t10 = national.read_ascfr_table(path, "T10")
    assert list(t10.columns) == national.ASCFR_COLUMNS
    assert set(t10["year"]) == {"2021-22"} and set(t10["age_band"]) == {"18 to 64"}
    row = value_of(t10, "E09000015", "Long Term Care: Community")
    assert (row["value"], row["flag"], row["cell"]) == (225.0, "", "T10!I13")
    assert (row["la_code"], row["name"], row["region_code"], row["level"]) == (
        "725",
        "Harrow",
        "E12000007",
        "la",
    )
    assert value_of(t10, "E09000015", "Total")["cell"] == "T10!R13"
    prison = value_of(t10, "E09000015", "Long Term Care: Prison")
    assert math.isnan(prison["value"]) and prison["flag"] == "c"
    hackney = t10[t10["geography_code"] == "E09000012"]
    assert hackney["value"].isna().all() and set(hackney["flag"]) == {"x"}
    england = value_of(t10, "E92000001", "Total")
    assert (england["value"], england["level"], england["la_code"], england["cell"]) == (
        611505.0,
        "england",
        "",
        "T10!R9",
    )
    london = value_of(t10, "E12000007", "Total")
    assert (london["level"], london["name"], london["region"]) == ("region", "London", "London")


def test_a_later_edition_reads_unchanged(tmp_path):
    """2023-24: year only in the title, header two rows lower, an extra sequel column."""
    sequels = SEQUELS[:5] + ["Long Term Care: Other"] + SEQUELS[5:]
    harrow = HARROW_T10[:5] + [20] + HARROW_T10[5:]
    rows = t10_rows(year="2023-24", title_rows=5, sequels=sequels, harrow=harrow)
    rows = [r[:10] + [0] + r[10:] if r[:1] in ([" "], ["E09000012"]) else r for r in rows]
    path = write_workbook(tmp_path / "ASCFR and SALT Data Tables 2023-24.xlsx", {"T10": rows})
    t10 = national.read_ascfr_table(path, "T10")
    assert set(t10["year"]) == {"2023-24"}
    assert value_of(t10, "E09000015", "Long Term Care: Community")["cell"] == "T10!I15"
    assert value_of(t10, "E09000015", "Long Term Care: Other")["value"] == 20
    assert value_of(t10, "E09000015", "Total")[["value", "cell"]].tolist() == [3845.0, "T10!S15"]


def test_a_renamed_column_fails_with_one_clear_line(tmp_path):
    sequels = [s.replace("Long Term Care: Nursing", "Long-term care: nursing") for s in SEQUELS]
    path = write_workbook(
        tmp_path / "ASCFR and SALT Data Tables 2023-24.xlsx",
        {"T10": t10_rows(year="2023-24", sequels=sequels)},
    )
    expected = (
        "ASCFR and SALT Data Tables 2023-24.xlsx: T10: expected column "
        "'Long Term Care: Nursing' not found in header row 7; found: "
        "['Short Term Care: to maximise independence', 'Long-term care: nursing', "
    )
    with pytest.raises(StudyInputError) as info:
        national.read_ascfr_table(path, "T10")
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)


def test_a_changed_age_band_in_the_title_fails_clearly(tmp_path):
    rows = t10_rows()
    rows[3] = [rows[3][0].replace("aged 18 to 64", "aged 18 and over")]
    path = write_workbook(tmp_path / "t.xlsx", {"T10": rows})
    with pytest.raises(StudyInputError, match=r"T10: expected column .* for age band '18 to 64'"):
        national.read_ascfr_table(path, "T10")


def t2_rows(years: list[str]) -> list[list]:
    """A T2-like sheet: measure / age band / year across three merged header rows."""
    measures = [national.TABLE_SPECS["T2"].measures[0], national.TABLE_SPECS["T2"].measures[1]]
    n = len(years)
    top, ages, year_row = [], [], []
    for m in measures:
        top += [m] + [None] * (2 * n - 1)
        ages += ["18 to 64"] + [None] * (n - 1) + ["65 and over"] + [None] * (n - 1)
        year_row += years * 2
    top += ["Support provided to carers during the year"] + [None] * (n - 1)
    year_row += years
    width = len(year_row)
    england = list(range(100, 100 + width))
    harrow = list(range(200, 200 + width))
    return [
        [None],
        [],
        [],
        [f"Table 2: Summary figures, year on year comparison, {', '.join(years)}"],
        [],
        [],
        IDS + top,
        [""] * 5 + ages,
        [""] * 5 + year_row,
        [" "],
        [" ", "", "", "E92000001", "England", *england],
        ["E09000015", "725", "Harrow", "E12000007", "London", *harrow],
        ["Source: SALT"],
    ]


def test_t2_years_from_the_header_including_an_extra_year(tmp_path):
    years = ["2019-20", "2020-21", "2021-22", "2022-23"]
    path = write_workbook(tmp_path / "t.xlsx", {"T2": t2_rows(years)})
    t2 = national.read_ascfr_table(path, "T2")
    requests = national.TABLE_SPECS["T2"].measures[0]
    got = value_of(t2, "E92000001", requests, age_band="65 and over", year="2022-23")
    assert (got["value"], got["cell"]) == (107.0, "T2!M11")
    carers = t2[t2["measure"] == "Support provided to carers during the year"]
    assert set(carers["age_band"]) == {"all"}  # no age row above the carers block
    assert sorted(set(carers["year"])) == years
    assert len(t2) == 2 * 4 * 4 + 2 * 4


def test_no_year_anywhere_fails_clearly(tmp_path):
    rows = t10_rows()
    rows[3] = ["Table 10: Number of requests ... aged 18 to 64, by what happened next"]
    path = write_workbook(tmp_path / "t.xlsx", {"T10": rows})
    with pytest.raises(StudyInputError, match=r"T10: column F of header row 7 has no year"):
        national.read_ascfr_table(path, "T10")


def test_no_geography_header_and_missing_sheet(tmp_path):
    rows = [r if r[:1] != ["Geography code"] else ["Area code", *r[1:]] for r in t10_rows()]
    path = write_workbook(tmp_path / "t.xlsx", {"T10": rows})
    with pytest.raises(StudyInputError, match="T10: no header row with 'Geography code'"):
        national.read_ascfr_table(path, "T10")
    with pytest.raises(StudyInputError, match=r"sheet 'T11' not found; sheets: \['T10'\]"):
        national.read_ascfr_table(path, "T11")


def test_unknown_marker_names_the_cell(tmp_path):
    harrow = [75, "[z]", *HARROW_T10[2:]]
    path = write_workbook(tmp_path / "t.xlsx", {"T10": t10_rows(harrow=harrow)})
    with pytest.raises(StudyInputError, match=r"t.xlsx: T10!G13: value '\[z\]' is neither"):
        national.read_ascfr_table(path, "T10")


def test_region_rows_repeated_in_the_la_list_are_kept_once(tmp_path):
    again = [[" ", "", "", "E12000007", "London", *LONDON_T10]]
    path = write_workbook(tmp_path / "t.xlsx", {"T10": t10_rows(extra=again)})
    t10 = national.read_ascfr_table(path, "T10")
    london = t10[t10["geography_code"] == "E12000007"]
    assert len(london) == 13 and london["cell"].str.fullmatch(r"T10![A-Z]+11").all()

    in_column_a = [["E12000007", "", "London", "E12000007", "London", *LONDON_T10]]
    path = write_workbook(tmp_path / "a.xlsx", {"T10": t10_rows(extra=in_column_a)})
    again = national.read_ascfr_table(path, "T10")
    assert again.equals(t10)

    different = [[" ", "", "", "E12000007", "London", *LONDON_T10[:-1], 1]]
    path = write_workbook(tmp_path / "u.xlsx", {"T10": t10_rows(extra=different)})
    with pytest.raises(StudyInputError, match="E12000007 appears in rows 11 and 15 with different"):
        national.read_ascfr_table(path, "T10")


def test_type_rows_and_a_text_only_column(tmp_path):
    """T12-style 'Region / type' rows get level 'type'; a column of words is not a measure."""
    header = ["Geography code", "LA code", "LA name", "Region / type code", "Region / type name"]
    rows = [
        ["Table 12: Requests per 100,000 adults, by age band, 2021-22"],
        header + ["18 to 64", None, "", "65 and over"],
        [""] * 5 + ["Requests for support", "Population", "", "Requests for support"],
        [" ", "", "", "A", "County", 198405, 12074345, "and also", 568715],
        [" ", "", "", "J (OL)", "London Borough (Outer London)", 49800, 3542530, "and also", 1],
        ["E09000015", "725", "Harrow", "E12000007", "London", 3845, 151735, "and also", 5375],
    ]
    path = write_workbook(tmp_path / "t.xlsx", {"X12": rows})
    x12 = national.read_ascfr_table(path, "X12")
    county = value_of(x12, "A", "Population")
    assert (county["level"], county["name"], county["region_code"], county["value"]) == (
        "type",
        "County",
        "",
        12074345.0,
    )
    assert set(x12["cell"].str[:5]) == {"X12!F", "X12!G", "X12!I"}
    assert (
        value_of(x12, "E09000015", "Requests for support", age_band="65 and over")["value"] == 5375
    )


# ----------------------------------------------------------------------------- real workbook


@pytest.fixture(scope="module")
def real_tables() -> pd.DataFrame:
    if not ASCFR.exists():
        pytest.skip(f"official workbook not present: {ASCFR}")
    return national.read_ascfr_tables(ASCFR, list(national.TABLE_SPECS))


def test_real_t10_harrow_row(real_tables):
    t10 = real_tables[real_tables["table"] == "T10"]
    community = value_of(t10, "E09000015", "Long Term Care: Community")
    assert (community["value"], community["cell"], community["year"]) == (
        225.0,
        "T10!I128",
        "2021-22",
    )
    assert value_of(t10, "E09000015", "Total")["value"] == 3845
    assert value_of(t10, "E09000015", "End of Life")["flag"] == "c"


def test_real_t2_england_and_hackney(real_tables):
    t2 = real_tables[real_tables["table"] == "T2"]
    requests = national.TABLE_SPECS["T2"].measures[0]
    england = value_of(t2, "E92000001", requests, age_band="18 to 64", year="2019-20")
    assert (england["value"], england["cell"], england["level"]) == (560350.0, "T2!F11", "england")
    hackney = value_of(t2, "E09000012", requests, age_band="18 to 64", year="2021-22")
    assert math.isnan(hackney["value"]) and hackney["flag"] == "x"
    assert value_of(t2, "E09000012", requests, age_band="18 to 64", year="2019-20")["value"] == (
        3880
    )


def test_real_tables_one_row_per_geography_and_column(real_tables):
    keys = ["table", "level", "geography_code", "measure", "age_band", "year"]
    assert not real_tables.duplicated(keys).any()
    t12 = real_tables[real_tables["table"] == "T12"]
    assert set(t12.loc[t12["level"] == "type", "geography_code"]) == {
        "A",
        "D",
        "E",
        "H",
        "J (IL)",
        "J (OL)",
    }
    assert (real_tables.groupby("table")["geography_code"].nunique() >= 160).all()
    t52 = real_tables[real_tables["table"] == "T52"]
    assert set(t52["age_band"]) == {"18 to 64", "65 and over", "all"}
    assert set(real_tables.loc[real_tables["table"] == "T43", "age_band"]) == {"18 to 64"}


# ----------------------------------------------------------------------------- Oflog reader


@pytest.fixture(scope="module")
def oflog_lines() -> list[dict[str, str]]:
    if not OFLOG.exists():
        pytest.skip(f"official Oflog file not present: {OFLOG}")
    with OFLOG.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@needs_oflog
def test_oflog_reader_known_answers(oflog_lines):
    oflog = national.read_oflog_measures(OFLOG)
    assert list(oflog.columns) == national.OFLOG_COLUMNS
    assert len(oflog) == len(oflog_lines)
    for n, line in enumerate(oflog_lines, start=1):
        if line["Local authority code"] in ("E09000015", "E08000025") and line["Code"] == "ASC6":
            got = oflog.iloc[n - 1]
            assert got["row"] == n
            assert (got["geography_code"], got["measure"], got["year"]) == (
                line["Local authority code"],
                "ASC6",
                line["Financial year"],
            )
            assert got["value"] == float(line["Value"])
            assert got["median"] == float(line["MEDIAN"])
            assert got["la_type"] == line["Entity_Name"]
    harrow = oflog[(oflog["geography_code"] == "E09000015") & (oflog["year"] == "2021-22")]
    assert harrow.set_index("measure").loc["ASC6", "value"] == pytest.approx(2157.301034464833)
    empty = [n for n, line in enumerate(oflog_lines, start=1) if line["Value"] == ""]
    assert empty and oflog.loc[oflog["flag"] == "x", "row"].tolist() == empty
    assert oflog.loc[oflog["flag"] == "x", "value"].isna().all()


def test_oflog_missing_column_and_bad_values(tmp_path):
    header = "Financial year,Local authority code,Local authority name,Grouping,Entity_Name,"
    good = header + "Region,Measure,Code,Value,MEDIAN\n"
    path = tmp_path / "ASC_data.csv"
    path.write_text(
        good
        + "2021-22,E09000015,Harrow,LA_Raw,London Boroughs,London,m,ASC6,12.5,10\n"
        + "2021-22,E08000025,Birmingham,LA_Raw,Metropolitan Districts,West Midlands,m,ASC6,"
        + "[c],10\n"
        + "2021-22,E09000012,Hackney,LA_Raw,London Boroughs,London,m,ASC6,n/a,10\n"
    )
    oflog = national.read_oflog_measures(path)
    assert oflog["value"].iloc[0] == 12.5
    assert oflog["flag"].tolist() == ["", "c", "x"]
    assert oflog["value"].iloc[1:].isna().all()

    path.write_text(good.replace(",MEDIAN", ",Median") + "2021-22,E1,H,L,T,R,m,ASC6,1,1\n")
    with pytest.raises(StudyInputError, match="ASC_data.csv: expected column 'MEDIAN' not found"):
        national.read_oflog_measures(path)
    path.write_text(good + "2021,E1,H,L,T,R,m,ASC6,1,1\n")
    with pytest.raises(StudyInputError, match="ASC_data.csv row 1, column 'Financial year'"):
        national.read_oflog_measures(path)


# ----------------------------------------------------------------------------- cited figures


@pytest.fixture(scope="module")
def cited() -> pd.DataFrame:
    return national.load_national_figures()


def test_cited_table_shape_and_coverage(cited):
    assert list(cited.columns) == national.NATIONAL_FIGURES_COLUMNS
    assert len(cited) <= 400
    workbook = cited[cited["source_file"] == national.ASCFR_FILE]
    assert set(workbook["geography_code"]) == set(national.CITED_GEOGRAPHIES)
    assert set(workbook["table"]) == set(national.TABLE_SPECS)
    t2 = workbook[workbook["table"] == "T2"]
    assert sorted(set(t2["year"])) == ["2019-20", "2020-21", "2021-22"]
    oflog = cited[cited["source_file"] == national.OFLOG_FILE]
    assert set(oflog["geography_code"]) == {"E09000015", "E08000025", "median"}
    per_series = oflog.groupby(["table", "geography_code"])["year"].nunique()
    assert (per_series == 8).all()  # 2015-16 to 2022-23


def test_cited_t10_t11_give_the_long_term_share(cited):
    """Harrow 2021-22: (10 + 15 + 225 + 65 + 50 + 485) long-term of 3845 + 5375 requests."""
    harrow = cited[(cited["geography_code"] == "E09000015") & cited["table"].isin(["T10", "T11"])]
    long_term = harrow[harrow["measure"].str.startswith("Long Term Care:")]["value"].sum()
    total = harrow.loc[harrow["measure"] == "Total", "value"].sum()
    assert (long_term, total) == (850.0, 9220.0)


def test_oflog_asc6_is_requests_resulting_in_a_service_per_100k_adults(cited):
    """ASC6 (Harrow 2021-22) = (T10 + T11 Total - No Services Provided [incl. deceased] -
    Universal Services/Signposted) / T12 population 18+ x 100,000, to the last digit."""
    harrow = cited[cited["geography_code"] == "E09000015"]
    sequels = harrow[harrow["table"].isin(["T10", "T11"])].groupby("measure")["value"].sum()
    no_service = ["No Services Provided", "No Services Provided - Deceased"]
    no_service.append("Universal Services/ Signposted to other services")
    population = harrow.loc[(harrow["table"] == "T12") & (harrow["measure"] == "Population")]
    rate = (sequels["Total"] - sequels[no_service].sum()) / population["value"].sum() * 1e5
    asc6 = harrow[(harrow["table"] == "ASC6") & (harrow["year"] == "2021-22")]["value"].item()
    assert rate == pytest.approx(asc6, rel=1e-12)


def test_cited_flags_are_the_suppressed_cells(cited):
    flagged = cited[cited["flag"] != ""]
    assert set(flagged["flag"]) == {"c"}
    assert flagged["value"].isna().all()
    assert set(flagged["geography_code"]) == {"E09000015", "E08000025"}
    harrow = flagged[flagged["geography_code"] == "E09000015"]
    assert set(harrow["measure"]) == {
        "Long Term Care: Prison",
        "100% NHS Funded Care",
        "End of Life",
    }


@needs_ascfr
def test_every_workbook_figure_equals_its_official_cell(cited):
    cells: dict[str, object] = {}
    firsts: dict[tuple[str, int], tuple] = {}
    wb = openpyxl.load_workbook(ASCFR, read_only=True, data_only=True)
    try:
        for sheet in sorted(set(cited["table"]) & set(wb.sheetnames)):
            ws = wb[sheet]
            ws.reset_dimensions()
            for row in ws.iter_rows():
                present = [c for c in row if getattr(c, "coordinate", None)]
                for c in present:
                    cells[f"{sheet}!{c.coordinate}"] = c.value
                if present:
                    firsts[(sheet, present[0].row)] = tuple(
                        getattr(c, "value", None) for c in row[:5]
                    )
    finally:
        wb.close()
    workbook = cited[cited["source_file"] == national.ASCFR_FILE]
    assert len(workbook) > 250
    for rec in workbook.itertuples(index=False):
        raw = cells[rec.cell]
        if rec.flag:
            assert raw == {"c": "[c]", "x": "[x]"}[rec.flag], rec.cell
        else:
            assert isinstance(raw, int | float) and float(raw) == rec.value, rec.cell
        sheet, row = re.fullmatch(r"(T\d+)![A-Z]+(\d+)", rec.cell).groups()
        ident = [str(v or "").strip() for v in firsts[(sheet, int(row))]]
        assert rec.geography_code in (ident[0], ident[3]), rec.cell
        assert rec.name in (ident[2], ident[4]), rec.cell


@needs_oflog
def test_every_oflog_figure_equals_its_row(cited, oflog_lines):
    oflog = cited[cited["source_file"] == national.OFLOG_FILE]
    for rec in oflog.itertuples(index=False):
        n, median = re.fullmatch(r"ASC_data\.csv row (\d+)( MEDIAN)?", rec.cell).groups()
        line = oflog_lines[int(n) - 1]
        assert (line["Code"], line["Financial year"]) == (rec.table, rec.year)
        if median:
            assert rec.geography_code == "median"
            assert float(line["MEDIAN"]) == rec.value
        else:
            assert line["Local authority code"] == rec.geography_code
            assert float(line["Value"]) == rec.value


@needs_ascfr
@needs_oflog
def test_committed_table_equals_a_fresh_transcription():
    fresh = national.national_figures_csv(national.national_figures(ASCFR, OFLOG))
    assert COMMITTED.read_text(encoding="utf-8") == fresh


def test_loader_rejects_a_value_with_a_flag_and_a_missing_column(tmp_path):
    lines = COMMITTED.read_text(encoding="utf-8").splitlines(keepends=True)
    flagged = next(i for i, ln in enumerate(lines) if ",c," in ln)
    broken = lines.copy()
    broken[flagged] = broken[flagged].replace(",,c,", ",5,c,")
    path = tmp_path / "national_figures.csv"
    path.write_text("".join(broken), encoding="utf-8")
    with pytest.raises(
        StudyInputError, match=rf"line {flagged + 1}, column 'value': flag 'c' marks an empty cell"
    ):
        national.load_national_figures(path)
    path.write_text("".join(ln.rsplit(",", 1)[0] + "\n" for ln in lines), encoding="utf-8")
    with pytest.raises(StudyInputError, match="column 'unit': required column is missing"):
        national.load_national_figures(path)
    bad_flag = lines[:2]
    bad_flag[1] = bad_flag[1].replace(",,requests", ",z,requests")
    path.write_text("".join(bad_flag), encoding="utf-8")
    with pytest.raises(StudyInputError, match=r"line 2, column 'flag': 'z' is not one of"):
        national.load_national_figures(path)


def test_cited_source_names_each_file_with_its_tables_in_order(cited):
    t = cited[cited["table"].isin(["T11", "T10", "T2", "ASC6"])]
    assert national.cited_source(t, via="data/published/national_figures.csv") == (
        "ASCFR and SALT Data Tables 2021-22.xlsx T2, T10, T11; ASC_data.csv ASC6 "
        "(via data/published/national_figures.csv)"
    )
    costs = national.cost_figures("E09000015")
    assert national.cited_source(costs) == (
        "ASCFR and SALT Data Tables 2021-22.xlsx T10, T11, T34, T38, T43, T44, T51, T52"
    )
    with pytest.raises(StudyInputError, match="source file and a table"):
        national.cited_source(cited.iloc[:0])
