"""Official national data: NHS Digital ASC-FR/SALT tables and Oflog adult social care measures.

Readers turn the official formats into tidy frames:

- `read_ascfr_table` / `read_ascfr_tables`: sheets of the NHS Digital workbook "ASCFR and SALT
  Data Tables" (one edition a year), one row per geography x measure x age band x year, each
  value citing its Excel cell. Years come from the header or, when the header has none, from
  the table title; age bands from the header or the title ("aged 18 to 64"). `TABLE_SPECS`
  declares the columns the study relies on, so a later edition either reads unchanged or fails
  with one line naming the file, the table and what changed.
- `read_oflog_measures`: the Oflog adult social care measures (`ASC_data.csv`).
- `load_national_figures`: the small table of cited figures transcribed from both files
  (`data/published/national_figures.csv`, written by `scripts/transcribe_national.py` through
  `national_figures`), validated against `data/published/datapackage.json`.
- `cost_figures`: the unit-cost inputs of `study.costs.ascfr_unit_costs` for one geography,
  from the cited table (default) or from a workbook.

Markers: `[c]` (suppressed, small number) gives flag "c", `[x]` (not submitted) and an empty
cell give flag "x"; the value is then NaN. SALT counts are rounded to the nearest 5 by NHS
Digital.
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from study import config
from study.data.package import RowRule, read_resource
from study.errors import StudyInputError

__all__ = [
    "ASCFR_FILE",
    "OFLOG_FILE",
    "NATIONAL_FIGURES_FILE",
    "EXTERNAL_DIR_ENV",
    "ASCFR_COLUMNS",
    "OFLOG_COLUMNS",
    "NATIONAL_FIGURES_COLUMNS",
    "TABLE_SPECS",
    "CITED_GEOGRAPHIES",
    "CITED_OFLOG_MEASURES",
    "CITED_OFLOG_COUNCILS",
    "COST_TABLES",
    "TableSpec",
    "external_dir",
    "read_ascfr_table",
    "read_ascfr_tables",
    "read_oflog_measures",
    "national_figures",
    "national_figures_csv",
    "load_national_figures",
    "cost_figures",
]

ASCFR_FILE = "ASCFR and SALT Data Tables 2021-22.xlsx"
OFLOG_FILE = "ASC_data.csv"
NATIONAL_FIGURES_FILE = "national_figures.csv"
EXTERNAL_DIR_ENV = "STUDY_EXTERNAL_DIR"

ASCFR_COLUMNS = [
    "year",
    "geography_code",
    "la_code",
    "name",
    "region_code",
    "region",
    "level",
    "measure",
    "age_band",
    "value",
    "flag",
    "table",
    "cell",
]
OFLOG_COLUMNS = [
    "year",
    "geography_code",
    "name",
    "region",
    "la_type",
    "measure",
    "measure_name",
    "value",
    "median",
    "flag",
    "row",
]
NATIONAL_FIGURES_COLUMNS = [
    "source_file",
    "table",
    "cell",
    "year",
    "geography_code",
    "name",
    "measure",
    "age_band",
    "value",
    "flag",
    "unit",
]
ALL_AGES = "all"
MEDIAN_CODE = "median"
MEDIAN_NAME = "median of English councils"
MARKERS = {"[c]": "c", "[x]": "x", "": "x"}


@dataclass(frozen=True)
class TableSpec:
    """Columns the study relies on in one workbook table: every measure x age band must be in
    the header (years are read, never declared). `unit` is one unit or a unit per measure."""

    measures: tuple[str, ...]
    age_bands: tuple[str, ...]
    unit: str | Mapping[str, str]

    def unit_of(self, measure: str) -> str:
        return self.unit if isinstance(self.unit, str) else self.unit.get(measure, "")


_REQUESTS = "Number of requests for support received from new clients"
_LONG_TERM_CLIENTS = "Long Term Support during the year"
_SEQUELS = (
    "Short Term Care: to maximise independence",
    "Long Term Care: Nursing",
    "Long Term Care: Residential",
    "Long Term Care: Community",
    "Long Term Care: Prison",
    "100% NHS Funded Care",
    "End of Life",
    "Ongoing Low Level Support",
    "Short Term Care: other short term",
    "Universal Services/ Signposted to other services",
    "No Services Provided - Deceased",
    "No Services Provided",
    "Total",
)
_T12_UNITS = {
    "Requests for support per 100,000 adults": "per 100,000 adults",
    "Requests for support": "requests",
    "Population": "people",
}
_COMMUNITY_CLIENTS = (
    "Community Direct Payment Only",
    "Community Part Direct Payment",
    "Community CASSR Managed Personal Budget",
    "Community CASSR Commissioned Support Only",
)
_COMMUNITY_SPEND = (
    "Supported Accommodation",
    "Community: Direct Payments",
    "Community: Home Care",
    "Community: Supported Living",
    "Community: Other Long Term Care",
)
_BOTH_AGES = ("18 to 64", "65 and over")

# The columns the study cites (national_figures.csv) and relies on, per workbook table.
TABLE_SPECS: dict[str, TableSpec] = {
    "T2": TableSpec(
        (_REQUESTS, _LONG_TERM_CLIENTS),
        _BOTH_AGES,
        {_REQUESTS: "requests", _LONG_TERM_CLIENTS: "clients"},
    ),
    "T10": TableSpec(_SEQUELS, ("18 to 64",), "requests"),
    "T11": TableSpec(_SEQUELS, ("65 and over",), "requests"),
    "T12": TableSpec(tuple(_T12_UNITS), _BOTH_AGES, _T12_UNITS),
    "T34": TableSpec(_COMMUNITY_CLIENTS, _BOTH_AGES, "clients"),
    "T38": TableSpec(_COMMUNITY_CLIENTS, _BOTH_AGES, "clients"),
    "T43": TableSpec(_COMMUNITY_SPEND, ("18 to 64",), "GBP thousand"),
    "T44": TableSpec(_COMMUNITY_SPEND, ("65 and over",), "GBP thousand"),
    "T51": TableSpec(("In House", "External"), (ALL_AGES,), "GBP/hour"),
    "T52": TableSpec(("Residential and Nursing",), (*_BOTH_AGES, ALL_AGES), "GBP/week"),
}
CITED_GEOGRAPHIES = {
    "E09000015": "Harrow",
    "E08000025": "Birmingham",
    "E12000007": "London",
    "E92000001": "England",
}
CITED_OFLOG_MEASURES = {"ASC5": "percent", "ASC6": "per 100,000 adults"}
CITED_OFLOG_COUNCILS = ("E09000015", "E08000025")


def external_dir() -> Path:
    """Folder of the official files: $STUDY_EXTERNAL_DIR if set, else `config.EXTERNAL_DIR`."""
    env = os.environ.get(EXTERNAL_DIR_ENV, "").strip()
    return config.resolve_path(env) if env else config.EXTERNAL_DIR


def _source_path(path: str | Path | None, default_name: str, what: str) -> Path:
    p = external_dir() / default_name if path is None else config.resolve_path(path)
    if not p.is_file():
        raise StudyInputError(f"{what} not found: {p}")
    return p


# ----------------------------------------------------------------------------- ASC-FR workbook

_CODE_RE = re.compile(r"[EWSNK]\d{8}")
_YEAR_RE = re.compile(r"(\d{4})[-/](\d{2})")
_AGE_RE = re.compile(r"(\d+) ?(?:to|-) ?(\d+)|(\d+) and over|(\d+)\+", re.IGNORECASE)
_TITLE_AGE_RE = re.compile(r"\baged (\d+ to \d+|\d+ and over)\b", re.IGNORECASE)
_ID_LABELS = {
    "geography code": "geography_code",
    "la code": "la_code",
    "la name": "name",
    "region code": "region_code",
    "region / type code": "region_code",
    "region name": "region",
    "region / type name": "region",
}
_ID_FIELDS = ("geography_code", "la_code", "name", "region_code", "region")


def _text(value: object) -> str:
    """Cell as text with whitespace (including line breaks) collapsed; '' for None."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def _age_band(text: str) -> str | None:
    """'18 to 64', '65 and over' (any case) in a standard spelling; None if not an age band."""
    m = _AGE_RE.fullmatch(text)
    if m is None:
        return None
    if m.group(1):
        return f"{m.group(1)} to {m.group(2)}"
    return f"{m.group(3) or m.group(4)} and over"


def _year(text: str) -> str | None:
    m = _YEAR_RE.fullmatch(text)
    return f"{m.group(1)}-{m.group(2)}" if m else None


def _column_letter(index: int) -> str:
    """Excel column letters of a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass(frozen=True)
class _Column:
    index: int
    measure: str
    age_band: str
    year: str


def _header_columns(
    header: list[list[str]], first: int, title: str, where: str, rows_text: str
) -> list[_Column]:
    """Measure, age band and year of each data column from the header rows.

    Merged header cells are forward-filled to the right, but never across the start of a block
    in a higher header row. A header row holding age bands is an age row ('Total' there means
    all ages); other labels are measure parts, joined by ' | '. Years and age bands missing
    from the header come from the title.
    """
    width = max(len(r) for r in header)
    raw = [r + [""] * (width - len(r)) for r in header]
    age_rows = {k for k, r in enumerate(raw) if any(_age_band(t) for t in r[first:])}
    filled: list[list[str]] = []
    for k, row in enumerate(raw):
        out, last = [], ""
        for c in range(first, width):
            if any(raw[u][c] for u in range(k)):
                last = ""
            last = row[c] or last
            out.append(last)
        filled.append(out)
    title_years = sorted(set(_year(m.group(0)) for m in _YEAR_RE.finditer(title)))
    title_age = _TITLE_AGE_RE.search(title)
    default_age = _age_band(title_age.group(1)) if title_age else ALL_AGES
    columns = []
    for c in range(first, width):
        parts = [(k, filled[k][c - first]) for k in range(len(raw)) if filled[k][c - first]]
        if not parts:
            continue
        measure_parts, age, year = [], None, None
        for k, text in parts:
            if _year(text):
                year = _year(text)
            elif _age_band(text):
                age = _age_band(text)
            elif k in age_rows and text.casefold() == "total":
                age = ALL_AGES
            else:
                measure_parts.append(text)
        if year is None:
            if len(title_years) != 1:
                raise StudyInputError(
                    f"{where}: column {_column_letter(c)} of header {rows_text} has no year and "
                    f"the title names {len(title_years)} years: {title!r}"
                )
            year = title_years[0]
        columns.append(_Column(c, " | ".join(measure_parts) or "Total", age or default_age, year))
    return columns


def _check_spec(columns: list[_Column], spec: TableSpec, where: str, rows_text: str) -> None:
    present = {(col.measure, col.age_band) for col in columns}
    measures = list(dict.fromkeys(col.measure for col in columns))
    for measure in spec.measures:
        if measure not in measures:
            raise StudyInputError(
                f"{where}: expected column {measure!r} not found in header {rows_text}; "
                f"found: {measures}"
            )
        for age in spec.age_bands:
            if (measure, age) not in present:
                ages = sorted({a for m, a in present if m == measure})
                raise StudyInputError(
                    f"{where}: expected column {measure!r} for age band {age!r} not found in "
                    f"header {rows_text}; found age bands {ages}"
                )


def _value(raw: object, where: str) -> tuple[float, str]:
    """(value, flag) of one data cell: a number, or a marker [c] / [x] / empty (NaN)."""
    if isinstance(raw, bool):
        raise StudyInputError(f"{where}: value {raw!r} is not a number")
    if isinstance(raw, int | float):
        return float(raw), ""
    text = _text(raw)
    if text in MARKERS:
        return float("nan"), MARKERS[text]
    try:
        return float(text.replace(",", "")), ""
    except ValueError:
        raise StudyInputError(
            f"{where}: value {text!r} is neither a number nor a marker [c] / [x]"
        ) from None


def _read_sheet(rows: list[tuple], table: str, file_name: str) -> list[tuple]:
    """Tidy records of one sheet (rows as read, row 1 first); see `read_ascfr_table`."""
    where = f"{file_name}: {table}"
    geo = next((i for i, r in enumerate(rows) if r and _text(r[0]) == "Geography code"), None)
    if geo is None:
        raise StudyInputError(
            f"{where}: no header row with 'Geography code' in column A (rows 1-{len(rows)})"
        )
    top = [_text(v) for v in rows[geo]]
    ids: dict[str, int] = {}
    for c, label in enumerate(top):
        field = _ID_LABELS.get(label.casefold())
        if field is None:
            break
        ids[field] = c
    missing = [f for f in _ID_FIELDS if f not in ids]
    if missing:
        raise StudyInputError(
            f"{where}: header row {geo + 1} lacks identifier column(s) {missing}; found: "
            f"{top[: len(ids) + 1]}"
        )
    first = len(ids)
    region_col = ids["region_code"]
    last = geo + 1
    while (
        last < len(rows)
        and not _text(rows[last][0] if rows[last] else "")
        and not _text(rows[last][region_col] if len(rows[last]) > region_col else "")
        and any(_text(v) for v in rows[last][first:])
    ):
        last += 1
    rows_text = f"row {geo + 1}" if last == geo + 1 else f"rows {geo + 1}-{last}"
    title_lines = [_text(v) for r in rows[:geo] for v in r if _text(v)]
    title = next((t for t in title_lines if t.startswith("Table")), " ".join(title_lines))
    columns = _header_columns(
        [[_text(v) for v in r] for r in rows[geo:last]], first, title, where, rows_text
    )
    data = list(_data_rows(rows, ids, last))
    if not data:
        raise StudyInputError(f"{where}: no data rows below header {rows_text}")
    # a column of text only (e.g. T47's 'and also') is a label, not a measure
    columns = [
        col
        for col in columns
        if not all(_is_label(r[col.index] if col.index < len(r) else None) for *_, r in data)
    ]
    keys: dict[tuple[str, str, str], int] = {}
    for col in columns:
        key = (col.measure, col.age_band, col.year)
        if key in keys:
            raise StudyInputError(
                f"{where}: columns {_column_letter(keys[key])} and {_column_letter(col.index)} "
                f"both read as {key} from header {rows_text}"
            )
        keys[key] = col.index
    spec = TABLE_SPECS.get(table)
    if spec is not None:
        _check_spec(columns, spec, where, rows_text)

    records: list[tuple] = []
    seen: dict[tuple[str, str], tuple[int, list]] = {}
    letters = {col.index: _column_letter(col.index) for col in columns}
    for excel_row, level, ident, row in data:
        values = []
        for col in columns:
            raw = row[col.index] if col.index < len(row) else None
            cell = f"{table}!{letters[col.index]}{excel_row}"
            values.append((*_value(raw, f"{file_name}: {cell}"), cell))
        key = (level, ident["geography_code"])
        if key in seen:
            first_row, first_values = seen[key]
            if not _same_values(values, first_values):
                raise StudyInputError(
                    f"{where}: {key[1]} appears in rows {first_row} and {excel_row} with "
                    "different values"
                )
            continue
        seen[key] = (excel_row, values)
        ids_out = tuple(ident[f] for f in _ID_FIELDS)
        for col, (value, flag, cell) in zip(columns, values, strict=True):
            records.append(
                (col.year, *ids_out, level, col.measure, col.age_band, value, flag, table, cell)
            )
    return records


def _data_rows(
    rows: list[tuple], ids: Mapping[str, int], start: int
) -> Iterator[tuple[int, str, dict[str, str], tuple]]:
    """(Excel row, level, identifiers, row) of each data row from row index `start` to the
    footer. The code is the ONS code in column A or, when column A is blank, the code in the
    region column; E92 is England, E12 a region, another code in column A an LA and another
    code in the region column an LA type (T12: 'A' County, ...)."""
    for i in range(start, len(rows)):
        row = rows[i]
        ident = {f: _text(row[c]) if c < len(row) else "" for f, c in ids.items()}
        in_a = ident["geography_code"]
        if in_a and not _CODE_RE.fullmatch(in_a):
            return  # footer ("Source: ...", "Notes:")
        code = in_a or ident["region_code"]
        if not code:
            continue  # blank separator row
        if in_a and code[:3] not in ("E92", "E12"):
            yield i + 1, "la", ident, row
            continue
        level = {"E92": "england", "E12": "region"}.get(code[:3], "type")
        name = (ident["name"] if in_a else "") or ident["region"]
        region = (code, name) if level == "region" else ("", "")
        yield i + 1, level, dict(zip(_ID_FIELDS, (code, "", name, *region), strict=True)), row


def _is_label(raw: object) -> bool:
    """A text cell that is neither a number nor a marker."""
    if not isinstance(raw, str) or raw.strip() in MARKERS:
        return False
    try:
        float(raw.replace(",", ""))
    except ValueError:
        return True
    return False


def _same_values(a: list[tuple], b: list[tuple]) -> bool:
    """Equal (value, flag) lists, NaN equal to NaN."""
    return all(
        fa == fb and (va == vb or (np.isnan(va) and np.isnan(vb)))
        for (va, fa, _), (vb, fb, _) in zip(a, b, strict=True)
    )


def read_ascfr_tables(path: str | Path | None, tables: Sequence[str]) -> pd.DataFrame:
    """Sheets of the NHS Digital "ASCFR and SALT Data Tables" workbook as one tidy frame.

    Opens the workbook once (openpyxl, read-only, cached values) and reads each sheet with
    `read_ascfr_table`'s rules. `path` None means `external_dir() / ASCFR_FILE`.
    """
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    p = _source_path(path, ASCFR_FILE, "ASC-FR/SALT workbook")
    records: list[tuple] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # openpyxl: unsupported extensions
        try:
            wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
        except (OSError, KeyError, ValueError, zipfile.BadZipFile, InvalidFileException) as exc:
            raise StudyInputError(f"{p.name}: not readable as an Excel workbook ({exc})") from None
        try:
            for table in tables:
                if table not in wb.sheetnames:
                    raise StudyInputError(
                        f"{p.name}: sheet {table!r} not found; sheets: {wb.sheetnames}"
                    )
                ws = wb[table]
                ws.reset_dimensions()  # trust the cells, not the stored sheet size
                rows = list(ws.iter_rows(values_only=True))
                records.extend(_read_sheet(rows, table, p.name))
        finally:
            wb.close()
    return pd.DataFrame.from_records(records, columns=ASCFR_COLUMNS)


def read_ascfr_table(path: str | Path | None, table: str) -> pd.DataFrame:
    """One sheet (e.g. 'T10') of the NHS Digital ASC-FR/SALT workbook as a tidy frame.

    The header row has 'Geography code' in column A, then LA code, LA name, region (or
    'Region / type') code and name; 0-2 more header rows below it (merged cells
    forward-filled) give each measure column its measure, age band and year. Years and age
    bands absent from the header come from the title ('..., aged 18 to 64, ..., 2021-22').
    Data rows: an ONS code in column A (level 'la'), or column A blank and a code in the region
    column (level 'england' E92, 'region' E12, else 'type', e.g. T12's 'A' County). A
    geography repeated with equal values is kept once; with other values it is an error.
    Returns columns `ASCFR_COLUMNS`: value NaN with flag 'c' ([c], suppressed) or 'x' ([x] or
    an empty cell, not available); cell like 'T10!I128'. Tables in `TABLE_SPECS` must have
    the declared columns.
    """
    return read_ascfr_tables(path, [table])


# ----------------------------------------------------------------------------- Oflog measures

_OFLOG_SOURCE_COLUMNS = {
    "Financial year": "year",
    "Local authority code": "geography_code",
    "Local authority name": "name",
    "Region": "region",
    "Entity_Name": "la_type",
    "Code": "measure",
    "Measure": "measure_name",
    "Value": "value",
    "MEDIAN": "median",
}


def read_oflog_measures(path: str | Path | None = None) -> pd.DataFrame:
    """The Oflog adult social care measures (`ASC_data.csv`) as a tidy frame.

    One row per council x measure (Code, e.g. 'ASC6') x financial year, with the median of all
    councils (MEDIAN). A value that is not a number becomes NaN with flag 'x' ('c' for
    '[c]'). `row` is the 1-based data row of the file (the header is not counted).
    Returns columns `OFLOG_COLUMNS`. `path` None means `external_dir() / OFLOG_FILE`.
    """
    p = _source_path(path, OFLOG_FILE, "Oflog measures file")
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError) as exc:
        raise StudyInputError(f"{p.name}: not readable as CSV ({exc})") from None
    missing = [c for c in _OFLOG_SOURCE_COLUMNS if c not in raw.columns]
    if missing:
        raise StudyInputError(
            f"{p.name}: expected column {missing[0]!r} not found; found: {list(raw.columns)}"
        )
    out = raw[list(_OFLOG_SOURCE_COLUMNS)].rename(columns=_OFLOG_SOURCE_COLUMNS)
    out = out.apply(lambda s: s.str.strip())
    bad_year = ~out["year"].str.fullmatch(r"\d{4}-\d{2}")
    if bad_year.any():
        i = int(np.flatnonzero(bad_year)[0])
        raise StudyInputError(
            f"{p.name} row {i + 1}, column 'Financial year': {out['year'].iloc[i]!r} is not "
            "a financial year like 2021-22"
        )
    text = out["value"]
    out["value"] = pd.to_numeric(text, errors="coerce")
    out["median"] = pd.to_numeric(out["median"], errors="coerce")
    out["flag"] = np.where(out["value"].notna(), "", text.map(lambda t: MARKERS.get(t, "x")))
    out["row"] = np.arange(1, len(out) + 1)
    return out[OFLOG_COLUMNS]


# ----------------------------------------------------------------------------- cited figures


def _format_value(value: float) -> str:
    """Shortest text that reads back as the same float ('' for NaN, no '.0' on integers)."""
    if np.isnan(value):
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def national_figures(
    ascfr_path: str | Path | None = None, oflog_path: str | Path | None = None
) -> pd.DataFrame:
    """The cited figures (`NATIONAL_FIGURES_COLUMNS`) read from the official files.

    Workbook: every `TABLE_SPECS` column (measure x age band, every year in the table) for the
    `CITED_GEOGRAPHIES`. Oflog: every year of `CITED_OFLOG_MEASURES` for
    `CITED_OFLOG_COUNCILS`, plus one row per measure and year with geography_code 'median'
    (the MEDIAN column, cited at the first data row of that measure and year).
    """
    ascfr = _source_path(ascfr_path, ASCFR_FILE, "ASC-FR/SALT workbook")
    tidy = read_ascfr_tables(ascfr, list(TABLE_SPECS))
    parts = []
    for table, spec in TABLE_SPECS.items():
        sub = tidy[
            (tidy["table"] == table)
            & tidy["measure"].isin(spec.measures)
            & tidy["age_band"].isin(spec.age_bands)
            & tidy["geography_code"].isin(list(CITED_GEOGRAPHIES))
        ]
        missing = set(CITED_GEOGRAPHIES) - set(sub["geography_code"])
        if missing:
            raise StudyInputError(f"{ascfr.name}: {table}: no row for {sorted(missing)}")
        parts.append(sub.assign(unit=sub["measure"].map(spec.unit_of), source_file=ascfr.name))
    workbook_rows = pd.concat(parts, ignore_index=True)

    oflog_file = _source_path(oflog_path, OFLOG_FILE, "Oflog measures file")
    oflog = read_oflog_measures(oflog_file)
    oflog = oflog[oflog["measure"].isin(list(CITED_OFLOG_MEASURES))]
    councils = oflog[oflog["geography_code"].isin(CITED_OFLOG_COUNCILS)]
    for code in CITED_OFLOG_COUNCILS:
        for measure in CITED_OFLOG_MEASURES:
            if not ((councils["geography_code"] == code) & (councils["measure"] == measure)).any():
                raise StudyInputError(f"{oflog_file.name}: no {measure} rows for {code}")
    medians = oflog.drop_duplicates(["measure", "year"]).assign(
        geography_code=MEDIAN_CODE,
        name=MEDIAN_NAME,
        value=lambda f: f["median"],
        flag=lambda f: np.where(f["median"].notna(), "", "x"),
        cell=lambda f: [f"{oflog_file.name} row {r} MEDIAN" for r in f["row"]],
    )
    councils = councils.assign(cell=[f"{oflog_file.name} row {r}" for r in councils["row"]])
    oflog_rows = pd.concat([councils, medians], ignore_index=True).assign(
        source_file=oflog_file.name,
        table=lambda f: f["measure"],
        measure=lambda f: f["measure_name"],
        age_band=ALL_AGES,
        unit=lambda f: f["table"].map(CITED_OFLOG_MEASURES),
    )
    geo_order = {code: i for i, code in enumerate([*CITED_GEOGRAPHIES, MEDIAN_CODE])}
    oflog_rows = (
        oflog_rows.assign(order=oflog_rows["geography_code"].map(geo_order))
        .sort_values(["table", "order", "year"])
        .reset_index(drop=True)
    )
    return pd.concat(
        [workbook_rows[NATIONAL_FIGURES_COLUMNS], oflog_rows[NATIONAL_FIGURES_COLUMNS]],
        ignore_index=True,
    )


def national_figures_csv(figures: pd.DataFrame) -> str:
    """CSV text of `national_figures` output (values as their shortest exact decimal)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(NATIONAL_FIGURES_COLUMNS)
    for rec in figures[NATIONAL_FIGURES_COLUMNS].itertuples(index=False):
        row = rec._asdict()
        row["value"] = _format_value(row["value"])
        writer.writerow(row.values())
    return buffer.getvalue()


def load_national_figures(
    path: str | Path | None = None, *, package_path: str | Path | None = None
) -> pd.DataFrame:
    """Read and validate `data/published/national_figures.csv` (the cited official figures).

    Validated against the `national_figures` resource of datapackage.json (columns, types,
    patterns, enums, unique source_file + cell), plus: a value is empty exactly when the flag
    says why ('c' suppressed, 'x' not available). Returns `NATIONAL_FIGURES_COLUMNS`, value
    float (NaN when flagged), flag '' when there is a value.
    """
    flagged = RowRule(
        "value",
        ("value", "flag"),
        lambda f: f["value"].isna() != f["flag"].isna(),
        lambda c: (
            f"flag {c['flag']!r} marks an empty cell"
            if c["flag"]
            else "empty without a flag ('c' or 'x') saying why"
        ),
    )
    frame, csv_path = read_resource(path, "national_figures", package_path, rules=[flagged])
    if frame.empty:
        raise StudyInputError(f"{config.project_label(csv_path)}: no rows")
    frame["flag"] = frame["flag"].fillna("")
    return frame


# ----------------------------------------------------------------------------- unit-cost inputs

_AGE_TAGS = {"18 to 64": "18_64", "65 and over": "65_over", ALL_AGES: "total"}


def _cost_items() -> list[tuple[str, str, str, str]]:
    """(table, measure, age band, name) of each unit-cost input of `costs.ascfr_unit_costs`;
    '{year}' in a name is filled with each year the table holds (e.g. 2020_21)."""
    items = [("T51", "External", ALL_AGES, "home_care_external_{year}")]
    items += [
        ("T52", "Residential and Nursing", age, f"res_nursing_{tag}_{{year}}")
        for age, tag in _AGE_TAGS.items()
    ]
    for table, age in (("T43", "18 to 64"), ("T44", "65 and over")):
        items += [(table, m, age, f"spend_{_AGE_TAGS[age]}: {m}") for m in _COMMUNITY_SPEND]
    for table, when in (("T38", "end"), ("T34", "during")):
        items += [
            (table, m, age, f"clients_{when}_{_AGE_TAGS[age]}: {m}")
            for age in _BOTH_AGES
            for m in _COMMUNITY_CLIENTS
        ]
    for table, age in (("T10", "18 to 64"), ("T11", "65 and over")):
        items += [
            (table, f"Long Term Care: {m}", age, f"new_lt_{_AGE_TAGS[age]}: {m}")
            for m in ("Nursing", "Residential", "Community")
        ]
    return items


COST_TABLES = tuple(dict.fromkeys(item[0] for item in _cost_items()))


def cited_source(rows: pd.DataFrame, *, via: str | Path | None = None) -> str:
    """The `source` of estimates built from national figures (estimates.csv): each official
    file with its tables or measures, e.g. 'ASCFR and SALT Data Tables 2021-22.xlsx T10, T11',
    and ' (via <via>)' when they were read from the cited table rather than the file.

    Takes rows with `source_file` (or `source`) and `table` (or `sheet`) columns, as
    `load_national_figures`, `cost_figures` and `read_oflog_measures` (+ source_file) return.
    """
    file_col = "source_file" if "source_file" in rows else "source"
    table_col = "table" if "table" in rows else "sheet"
    if rows.empty or file_col not in rows or table_col not in rows:
        raise StudyInputError("cited_source needs rows with a source file and a table column")

    def order(name: str) -> tuple[str, int]:
        digits = re.sub(r"\D", "", name)
        return (re.sub(r"\d", "", name), int(digits) if digits else 0)

    parts = [
        f"{file} {', '.join(sorted(group[table_col].astype(str).unique(), key=order))}"
        for file, group in rows.groupby(file_col, sort=True)
    ]
    text = "; ".join(parts)
    return f"{text} (via {Path(via).as_posix()})" if via else text


def cost_figures(
    geography_code: str,
    *,
    national_figures_path: str | Path | None = None,
    workbook: str | Path | None = None,
) -> pd.DataFrame:
    """The unit-cost inputs of `costs.ascfr_unit_costs` for one LA, region or England.

    From the cited table (`load_national_figures(national_figures_path)`, the default) or,
    when `workbook` is given, read from that ASC-FR/SALT workbook: T51 home care £/hour, T52
    residential and nursing £/week by age (every year), T43/T44 community spend (£k), T38/T34
    community clients at 31 March / during the year and T10/T11 new-client requests ending in
    long-term nursing, residential or community care. Returns one row per input: measure,
    value, unit, year, sheet, excel_row, column (Excel letter), cell, label, geography_code,
    geography, source (file name). Flagged cells have NaN values.
    """
    code = str(geography_code).strip()
    if workbook:
        p = config.resolve_path(workbook)
        tidy = read_ascfr_tables(p, COST_TABLES).assign(source_file=p.name)
        units = zip(tidy["table"], tidy["measure"], strict=True)
        tidy["unit"] = [TABLE_SPECS[t].unit_of(m) for t, m in units]
        origin = p.name
    else:
        tidy = load_national_figures(national_figures_path)
        origin = str(national_figures_path or NATIONAL_FIGURES_FILE)
    tidy = tidy[tidy["table"].isin(COST_TABLES) & (tidy["geography_code"] == code)]
    if tidy.empty:
        raise StudyInputError(f"{origin}: no ASC-FR/SALT rows for geography {code!r}")
    found = {(r.table, r.measure, r.age_band, r.year): r for r in tidy.itertuples(index=False)}
    rows = []
    for table in COST_TABLES:
        items = [item for item in _cost_items() if item[0] == table]
        years = sorted({key[3] for key in found if key[0] == table})
        if len(years) != 1 and not all("{year}" in item[3] for item in items):
            raise StudyInputError(f"{origin}: {table} for {code} holds years {years}; need one")
        for year in years:
            for _, measure, age, name in items:
                r = found.get((table, measure, age, year))
                if r is None:
                    raise StudyInputError(
                        f"{origin}: {table} has no {measure!r} ({age}, {year}) for {code}"
                    )
                column, excel_row = re.fullmatch(r"T\d+!([A-Z]+)(\d+)", r.cell).groups()
                rows.append(
                    {
                        "measure": name.format(year=year.replace("-", "_")),
                        "value": float(r.value),
                        "unit": r.unit,
                        "year": year,
                        "sheet": table,
                        "excel_row": int(excel_row),
                        "column": column,
                        "cell": r.cell,
                        "label": f"{measure}, {'all ages' if age == ALL_AGES else age}",
                        "geography_code": code,
                        "geography": r.name,
                        "source": r.source_file,
                    }
                )
    return pd.DataFrame(rows)
