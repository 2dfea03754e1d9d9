"""NHS Digital's Adult Social Care Outcomes Framework (ASCOF) open data, long format.

`read_ascof(path)` reads the official open-data file ("Measures from the Adult Social Care
Outcomes Framework, England 2020-21", `meas-from-asc-of-eng-2021-open-data-csv_v2.xlsx`: one
sheet, one row per geography x measure x disaggregation x measure type) and returns columns
`ASCOF_COLUMNS`: la_code (old DH code, e.g. Harrow 725), name, level (Council, Region,
Council Type, England), geography_code (ONS code; empty for council types), measure (e.g. 2A1,
2D), disaggregation (Total, 18-64, ...), measure_type (Numerator, Denominator, Base, Outcome,
Margin Of Error), value (float; NaN for a marker), flag ('' or 'x' for `[x]` not available, 'c'
for `[c]` suppressed), group, description, row (1-based Excel row).

A copy whose header lacks a column, whose measure type is unknown, whose value is neither a
number nor a marker, or that repeats a key is refused with one line naming the file, the sheet,
the row and the column. `measure_counts` pivots one measure's Total rows to one row per
geography (numerator, denominator, outcome, margin_of_error, flags).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from study.data.workbooks import cell_text, open_xlsx, sheet_values
from study.errors import StudyInputError

__all__ = [
    "ASCOF_FILE",
    "ASCOF_COLUMNS",
    "MEASURE_TYPES",
    "read_ascof",
    "measure_counts",
]

ASCOF_FILE = "meas-from-asc-of-eng-2021-open-data-csv_v2.xlsx"
# file header -> column of the tidy frame
HEADER = {
    "Geographical Code": "la_code",
    "Geographical Description": "name",
    "Geographical Level": "level",
    "ONS Code": "geography_code",
    "ASCOF Measure Code": "measure",
    "Disaggregation Level": "disaggregation",
    "Measure Type": "measure_type",
    "Measure Value": "value",
    "Measure Group": "group",
    "Measure Group Description": "description",
}
ASCOF_COLUMNS = [*HEADER.values(), "flag", "row"]
MEASURE_TYPES = ("Numerator", "Denominator", "Base", "Outcome", "Margin Of Error")
MARKERS = {"[x]": "x", "[c]": "c"}
KEY = ["level", "la_code", "geography_code", "measure", "disaggregation", "measure_type"]


def _sheet(path: Path):
    book = open_xlsx(path, "ASCOF open-data file")
    if len(book.sheetnames) != 1:
        raise StudyInputError(
            f"{path}: expected the one sheet of the open-data file, found {book.sheetnames}"
        )
    return book, book[book.sheetnames[0]]


def _measure_values(raws: list) -> tuple[list[float], list[str], int]:
    """Each 'Measure Value' cell as (value, flag): a number as float with flag '', a marker
    [x] / [c] as NaN with its flag, text as a number without thousands commas; and the index
    of the first cell that is none of these (len(raws) if none)."""
    values, flags = [], []
    for i, raw in enumerate(raws):
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            values.append(float(raw))
            flags.append("")
            continue
        text = cell_text(raw)
        if text in MARKERS:
            values.append(np.nan)
            flags.append(MARKERS[text])
            continue
        try:
            values.append(float(text.replace(",", "")))
        except ValueError:
            return values, flags, i
        flags.append("")
    return values, flags, len(raws)


def read_ascof(path: str | Path) -> pd.DataFrame:
    """The ASCOF open-data file as a tidy frame (module docs); refuses a broken copy."""
    path = Path(path)
    book, sheet = _sheet(path)
    try:
        rows = iter(sheet_values(book, sheet))
        header = [cell_text(c) for c in next(rows, ())]
        missing = [h for h in HEADER if h not in header]
        if missing:
            raise StudyInputError(
                f"{path} sheet {sheet.title!r} row 1: header lacks column(s) {missing} "
                f"(found {header})"
            )
        at = {h: header.index(h) for h in HEADER}
        body = [(r, v) for r, v in enumerate(rows, start=2) if v and v.count(None) < len(v)]
    finally:
        book.close()
    if not body:
        raise StudyInputError(f"{path} sheet {sheet.title!r}: no data rows under the header")
    columns: dict[str, list] = {
        col: [v.strip() if type(v) is str else cell_text(v) for v in (b[1][at[h]] for b in body)]
        for h, col in HEADER.items()
        if col != "value"
    }
    values, flags, bad_value = _measure_values([b[1][at["Measure Value"]] for b in body])
    types = columns["measure_type"]
    bad_type = next((i for i, t in enumerate(types) if t not in MEASURE_TYPES), len(body))
    where = f"{path} sheet {sheet.title!r} row"
    if bad_type < len(body) and bad_type <= bad_value:  # the first bad row, its type first
        raise StudyInputError(
            f"{where} {body[bad_type][0]} column 'Measure Type': "
            f"{types[bad_type]!r} is not one of {list(MEASURE_TYPES)}"
        )
    if bad_value < len(body):
        raise StudyInputError(
            f"{where} {body[bad_value][0]} column 'Measure Value': "
            f"{body[bad_value][1][at['Measure Value']]!r} is neither a number nor [x] / [c]"
        )
    columns.update(value=values, flag=flags, row=[b[0] for b in body])
    out = pd.DataFrame(columns, columns=ASCOF_COLUMNS)
    repeated = out[out.duplicated(KEY, keep="first")]
    if not repeated.empty:
        first = repeated.iloc[0]
        raise StudyInputError(
            f"{path} sheet {sheet.title!r} row {first['row']}: repeats the row of "
            f"{first['name']} {first['measure']} {first['disaggregation']} "
            f"{first['measure_type']} (column 'Measure Type')"
        )
    return out


def measure_counts(
    ascof: pd.DataFrame, measure: str, codes: Sequence[str] | None = None
) -> pd.DataFrame:
    """One measure's Total rows, one row per geography (ONS code): numerator, denominator,
    outcome, margin_of_error (NaN where the file has none or a marker), flags (the markers
    seen, e.g. 'Numerator [c]'), rows (the Excel rows). `codes` None: every geography with an
    ONS code."""
    need = {"geography_code", "measure", "disaggregation", "measure_type", "value", "flag"}
    if not need <= set(ascof.columns):
        raise StudyInputError(f"ascof: missing column(s) {sorted(need - set(ascof.columns))}")
    sub = ascof[
        (ascof["measure"] == measure)
        & (ascof["disaggregation"] == "Total")
        & (ascof["geography_code"] != "")
    ]
    if codes is not None:
        sub = sub[sub["geography_code"].isin(list(codes))]
        absent = sorted(set(codes) - set(sub["geography_code"]))
        if absent:
            raise StudyInputError(f"ascof: no {measure} Total rows for {absent}")
    if sub.empty:
        raise StudyInputError(f"ascof: no {measure} Total rows")
    wide = sub.pivot(index="geography_code", columns="measure_type", values="value")
    wide = wide.reindex(columns=list(MEASURE_TYPES))
    wide.columns = [c.lower().replace(" ", "_") for c in wide.columns]
    grouped = sub.groupby("geography_code")
    wide["name"] = grouped["name"].first()
    wide["level"] = grouped["level"].first()
    wide["flags"] = grouped.apply(
        lambda g: ", ".join(
            f"{t} [{f}]" for t, f in zip(g["measure_type"], g["flag"], strict=True) if f
        ),
        include_groups=False,
    )
    wide["rows"] = grouped["row"].apply(lambda s: ", ".join(str(r) for r in sorted(s)))
    out = wide.reset_index()
    if codes is not None:
        out = out.set_index("geography_code").loc[list(codes)].reset_index()
    return out
