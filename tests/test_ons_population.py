"""study.data.ons_population on the real ONS mid-year editions in ../shared/external/ (skipped
when absent), and refusals of broken copies and changed layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from study.data import national
from study.data import ons_population as ons
from study.errors import StudyInputError

FOLDER = national.external_dir() / ons.ONS_POPULATION_DIR
needs_files = pytest.mark.skipif(not FOLDER.is_dir(), reason=f"{FOLDER} not present")


@pytest.fixture(scope="module")
def population():
    return ons.read_ons_populations(FOLDER)


def _value(pop, year, code, band):
    sel = pop[(pop["year"] == year) & (pop["geography_code"] == code) & (pop["age_band"] == band)]
    assert len(sel) == 1
    return float(sel["population"].iloc[0])


@needs_files
def test_every_edition_reads_with_its_years_and_adult_bands(population):
    assert sorted(population["year"].unique()) == [f"mid-{y}" for y in range(2015, 2021)]
    for year in population["year"].unique():
        for code in ("E09000015", "E08000025", "E12000007", "E92000001"):
            a, b, c = (_value(population, year, code, band) for band in ons.ADULT_BANDS)
            assert a + b == c  # 18-64 + 65+ = 18+


@needs_files
def test_known_values_from_the_published_tables(population):
    # ASCOF 2A2 2020-21 denominator for Harrow (SOURCES.md: 181 / 40,634 = 445.4 per 100,000)
    assert _value(population, "mid-2020", "E09000015", "65 and over") == 40634
    # all ages is not returned, but each row's ages 0-90 were checked against it; Harrow 18+
    assert _value(population, "mid-2016", "E09000015", "18 and over") == 191429
    rows = ons.financial_year_population(population, "2019-20")
    assert set(rows["year"]) == {"mid-2019"}
    with pytest.raises(StudyInputError, match="no ONS mid-2021 estimate for 2021-22"):
        ons.financial_year_population(population, "2021-22")


@needs_files
def test_a_broken_copy_is_refused(tmp_path):
    src = sorted(FOLDER.glob("*.xls"))[-1]
    broken = tmp_path / src.name
    broken.write_bytes(src.read_bytes()[:5000])
    with pytest.raises(StudyInputError, match="not a readable .xls workbook"):
        ons.read_ons_population(broken)
    text = tmp_path / "x.xls"
    text.write_text("Code,Name\n")
    with pytest.raises(StudyInputError, match="not a readable .xls workbook"):
        ons.read_ons_population(text)
    with pytest.raises(StudyInputError, match="not found"):
        ons.read_ons_population(tmp_path / "missing.xls")


class _Sheet:
    def __init__(self, rows, name="MYE2 - Persons"):
        self.rows, self.name, self.nrows = rows, name, len(rows)

    def row_values(self, r):
        return self.rows[r]


def test_a_changed_header_is_refused_naming_sheet_and_header():
    ages = [str(a) for a in range(91)]
    with pytest.raises(StudyInputError, match=r"sheet 'MYE2 - Persons': no header row"):
        ons._header(_Sheet([["Area code", "Name", "All ages", *ages]]), Path("f.xls"))
    with pytest.raises(StudyInputError, match=r"row 1: header .* lacks the single years"):
        ons._header(_Sheet([["Code", "Name", "All ages", *ages[:90]]]), Path("f.xls"))
    assert (
        ons._header(
            _Sheet([["Code", "Name", "Geography", "All ages", *ages[:90], "90+"]]), Path("f")
        )[2]
        == 3
    )
