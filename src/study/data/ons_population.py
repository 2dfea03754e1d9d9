"""ONS mid-year population estimates by local authority (legacy `.xls` editions, mid-2015 on).

`read_ons_population(path)` reads the persons sheet of one edition ("MYE2: Population
estimates ... by single year of age": `Persons UK` in mid-2015, `MYE2 - All`, `MYE2-All` or
`MYE2 - Persons` later) and returns adults per geography (council, region, country): columns
year (e.g. "mid-2019"), geography_code, name, age_band ("18 to 64", "65 and over", "18 and
over"), population, sheet, row (the 1-based Excel row). The header row is found by its first
cells `Code`, `Name` and an `All ages` column followed by single years of age 0 ... 90 (90 =
90 and over); a layout without them is refused naming the file, the sheet and the header seen.
Each row's single years must add up to its `All ages` value (else refused, naming the row).

`financial_year_population` picks the estimate of a financial year: mid-year Y for year
"Y-(Y+1)" (e.g. mid-2019 for 2019-20), the convention of NHS Digital's SALT/ASCOF rates.
Reading needs `xlrd` (BIFF `.xls`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from study.data.workbooks import cell_text
from study.errors import StudyInputError

__all__ = [
    "ONS_POPULATION_DIR",
    "ONS_POPULATION_COLUMNS",
    "ADULT_BANDS",
    "read_ons_population",
    "read_ons_populations",
    "financial_year_population",
]

ONS_POPULATION_DIR = "ons_population"
ONS_POPULATION_COLUMNS = [
    "year",
    "geography_code",
    "name",
    "age_band",
    "population",
    "sheet",
    "row",
]
ADULT_BANDS = {"18 to 64": (18, 64), "65 and over": (65, 90), "18 and over": (18, 90)}
_PERSONS_SHEET = re.compile(r"^(persons uk|mye2\s*-\s*(all|persons))$", re.IGNORECASE)
_YEAR = re.compile(r"mid-?(\d{4})", re.IGNORECASE)
_CODE = re.compile(r"^[EWSNK]\d{8}$")


def _open(path: Path):
    import xlrd

    if not path.is_file():
        raise StudyInputError(f"{path}: ONS population file not found")
    try:
        return xlrd.open_workbook(str(path), on_demand=True)
    except Exception as exc:  # xlrd raises several types for a damaged or non-BIFF file
        raise StudyInputError(
            f"{path}: not a readable .xls workbook ({exc.__class__.__name__})"
        ) from None


def _persons_sheet(book, path: Path):
    names = [n for n in book.sheet_names() if _PERSONS_SHEET.match(n.strip())]
    if len(names) != 1:
        raise StudyInputError(
            f"{path}: expected one persons sheet (Persons UK / MYE2 - All / MYE2 - Persons), "
            f"found sheets {book.sheet_names()}"
        )
    return book.sheet_by_name(names[0])


def _header(sheet, path: Path) -> tuple[int, int, int, dict[int, int]]:
    """Header row index, code and all-ages column indices, and age -> column."""
    for r in range(min(sheet.nrows, 30)):
        cells = [cell_text(c).lower() for c in sheet.row_values(r)]
        if len(cells) < 2 or cells[0] != "code" or cells[1] != "name" or "all ages" not in cells:
            continue
        total = cells.index("all ages")
        ages = {}
        for c in range(total + 1, len(cells)):
            m = re.fullmatch(r"(\d+)\+?", cells[c])
            if m:
                ages[int(m.group(1))] = c
        if sorted(ages) != list(range(91)):
            raise StudyInputError(
                f"{path} sheet {sheet.name!r} row {r + 1}: header {cells[: total + 4]}... lacks "
                f"the single years of age 0 to 90 after 'All ages'"
            )
        return r, 0, total, ages
    first = [[cell_text(c) for c in sheet.row_values(r)[:4]] for r in range(min(sheet.nrows, 10))]
    raise StudyInputError(
        f"{path} sheet {sheet.name!r}: no header row 'Code, Name, ..., All ages, 0 ... 90' in the "
        f"first 30 rows (first rows: {first})"
    )


def _edition_year(sheet, path: Path) -> str:
    for r in range(min(sheet.nrows, 10)):
        for c in sheet.row_values(r)[:3]:
            m = _YEAR.search(cell_text(c))
            if m:
                return f"mid-{m.group(1)}"
    raise StudyInputError(f"{path} sheet {sheet.name!r}: no 'Mid-YYYY' in the title rows")


def read_ons_population(path: str | Path) -> pd.DataFrame:
    """Adults 18-64, 65+ and 18+ per geography from one ONS mid-year edition (module docs)."""
    path = Path(path)
    book = _open(path)
    sheet = _persons_sheet(book, path)
    header, code_col, total_col, ages = _header(sheet, path)
    year = _edition_year(sheet, path)
    rows = []
    for r in range(header + 1, sheet.nrows):
        values = sheet.row_values(r)
        code = cell_text(values[code_col])
        if not _CODE.match(code):
            continue
        try:
            by_age = np.array([float(values[ages[a]]) for a in range(91)])
            total = float(values[total_col])
        except (ValueError, TypeError):
            raise StudyInputError(
                f"{path} sheet {sheet.name!r} row {r + 1} ({code}): a population is not a number"
            ) from None
        if abs(by_age.sum() - total) > 0.5:
            raise StudyInputError(
                f"{path} sheet {sheet.name!r} row {r + 1} ({code}): ages 0-90 add up to "
                f"{by_age.sum():.0f}, not the All ages {total:.0f}"
            )
        for band, (lo, hi) in ADULT_BANDS.items():
            rows.append(
                {
                    "year": year,
                    "geography_code": code,
                    "name": cell_text(values[1]),
                    "age_band": band,
                    "population": float(by_age[lo : hi + 1].sum()),
                    "sheet": sheet.name,
                    "row": r + 1,
                }
            )
    if not rows:
        raise StudyInputError(f"{path} sheet {sheet.name!r}: no geography rows under the header")
    return pd.DataFrame(rows, columns=ONS_POPULATION_COLUMNS)


def read_ons_populations(folder: str | Path) -> pd.DataFrame:
    """Every `.xls` edition in `folder`, stacked (one edition per mid-year; a repeated year is
    refused)."""
    folder = Path(folder)
    files = sorted(folder.glob("*.xls"))
    if not files:
        raise StudyInputError(f"{folder}: no ONS population .xls files")
    parts = [read_ons_population(f).assign(source_file=f.name) for f in files]
    out = pd.concat(parts, ignore_index=True)
    editions = out.groupby("year")["source_file"].nunique()
    if (editions > 1).any():
        raise StudyInputError(
            f"{folder}: more than one edition of {list(editions[editions > 1].index)}"
        )
    return out


def financial_year_population(population: pd.DataFrame, financial_year: str) -> pd.DataFrame:
    """The rows of `population` for a financial year "YYYY-YY": the mid-YYYY estimate."""
    m = re.fullmatch(r"(\d{4})-\d{2}", str(financial_year))
    if not m:
        raise StudyInputError(f"financial year must look like 2019-20, got {financial_year!r}")
    rows = population[population["year"] == f"mid-{m.group(1)}"]
    if rows.empty:
        have = sorted(population["year"].unique())
        raise StudyInputError(
            f"no ONS mid-{m.group(1)} estimate for {financial_year} (have {have})"
        )
    return rows
