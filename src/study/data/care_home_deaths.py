"""ONS "Deaths involving COVID-19 in the care sector, England and Wales" (first wave): weekly
deaths of care-home residents by local authority.

`read_care_home_deaths(path)` reads Table 11 (all causes) and Table 12 (involving COVID-19) of
the ONS workbook (`deathsinvolvingcovid19inthecaresectordataset.xlsx`; weeks ending Friday 6
March to 1 May 2020, deaths occurring, registered up to 9 May 2020) and returns columns
`CARE_HOME_COLUMNS`: geography_code, name, week_ending (Timestamp, a Friday), cause ('all
causes' or 'involving COVID-19'), deaths, sheet, row (1-based Excel row), column (Excel letter).
The header row is found by its first cells `Area Code`, `Area Name` followed by week-ending
dates; a workbook without the sheet or header, or with a count that is not a whole number, is
refused with one line naming the file, the sheet, the row and the column.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd

from study.data.workbooks import open_xlsx, sheet_values
from study.errors import StudyInputError

__all__ = ["CARE_HOME_DEATHS_FILE", "CARE_HOME_COLUMNS", "TABLES", "read_care_home_deaths"]

CARE_HOME_DEATHS_FILE = "deathsinvolvingcovid19inthecaresectordataset.xlsx"
TABLES = {"Table 11": "all causes", "Table 12": "involving COVID-19"}
CARE_HOME_COLUMNS = [
    "geography_code",
    "name",
    "week_ending",
    "cause",
    "deaths",
    "sheet",
    "row",
    "column",
]
_CODE = re.compile(r"^[EW]\d{8}$")


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _header(rows: list[tuple], path: Path, sheet: str) -> tuple[int, dict[int, pd.Timestamp]]:
    for r, values in enumerate(rows[:30]):
        cells = [str(c).strip() if c is not None else "" for c in values]
        if cells[:2] != ["Area Code", "Area Name"]:
            continue
        weeks = {
            c: pd.Timestamp(v)
            for c, v in enumerate(values)
            if c >= 2 and isinstance(v, dt.datetime | dt.date)
        }
        if not weeks or min(weeks) != 2:
            raise StudyInputError(
                f"{path} sheet {sheet!r} row {r + 1}: no week-ending dates after 'Area Name' "
                f"(found {cells[:6]})"
            )
        return r, weeks
    raise StudyInputError(
        f"{path} sheet {sheet!r}: no header row 'Area Code, Area Name, <week-ending dates>' in "
        "the first 30 rows"
    )


def read_care_home_deaths(path: str | Path) -> pd.DataFrame:
    """Weekly care-home resident deaths by local authority, all causes and involving COVID-19
    (module docs); refuses a broken copy."""
    path = Path(path)
    book = open_xlsx(path, "ONS care-home deaths workbook")
    records = []
    try:
        for sheet, cause in TABLES.items():
            if sheet not in book.sheetnames:
                raise StudyInputError(f"{path}: no sheet {sheet!r} (sheets {book.sheetnames})")
            rows = sheet_values(book, book[sheet])  # openpyxl's values, scanned faster
            header, weeks = _header(rows, path, sheet)
            for r in range(header + 1, len(rows)):
                values = rows[r]
                code = str(values[0]).strip() if values and values[0] is not None else ""
                if not _CODE.match(code):
                    continue
                for c, week in weeks.items():
                    v = values[c] if c < len(values) else None
                    if (
                        not isinstance(v, int | float)
                        or isinstance(v, bool)
                        or v != int(v)
                        or v < 0
                    ):
                        raise StudyInputError(
                            f"{path} sheet {sheet!r} row {r + 1} column {_letter(c)} ({code}, "
                            f"week ending {week:%Y-%m-%d}): {v!r} is not a count of deaths"
                        )
                    records.append(
                        {
                            "geography_code": code,
                            "name": str(values[1]).strip(),
                            "week_ending": week,
                            "cause": cause,
                            "deaths": int(v),
                            "sheet": sheet,
                            "row": r + 1,
                            "column": _letter(c),
                        }
                    )
    finally:
        book.close()
    if not records:
        raise StudyInputError(f"{path}: no local-authority rows in {list(TABLES)}")
    return pd.DataFrame(records, columns=CARE_HOME_COLUMNS)
