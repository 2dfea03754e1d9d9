"""Reading and validating record-level files (CSV, Parquet, Excel) against `study.data.schema`.

`check_file` reads a file (never writes or modifies it), parses every column to its documented
type, runs the pandera schema lazily (all failures collected) plus the cross-column rules of
`study.data.schema.RULES`, and returns a `RecordCheck`: `.valid`, the full problem table
`.problems` (``file, row, column, problem``; one row per offending cell), the problems grouped
one line per column × problem (`.lines`: how many rows, the first row numbers, the offending
values, a suggestion for a near miss) and `.text` / `.summary`, the report `study validate`
prints and the one line `study run` prints. `validate_file` returns just the table;
`read_records` is the strict variant notebooks call: the typed table, or `StudyInputError` with
the one-line summary.

Readers: CSV with the delimiter recognised from the header line (comma, semicolon, tab or
``|``), Parquet, Excel (first sheet or a named one; if the first sheet has no recognisable
header the problem lists the workbook's sheets).

Row numbers follow the spreadsheet convention: the header is row 1 and the first record is
row 2 (the line number a text editor shows for a CSV without quoted line breaks, and the row
label Excel shows). File-level problems (unreadable file, missing column, no records) have an
empty row.
"""

from __future__ import annotations

import copy
import re
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from study.data.schema import (
    ID_COLUMN,
    KIND_DTYPES,
    KINDS,
    OPTIONAL_COLUMNS,
    SCHEMAS,
    column_kinds,
    header_match,
    infer_kind,
    near_miss,
    required_columns,
    rules_for,
)
from study.errors import StudyInputError

PROBLEM_COLUMNS = ["file", "row", "column", "problem"]
# the structured form behind the table: problem = message[: value][ (hint)]
DETAIL_COLUMNS = ["file", "row", "column", "message", "value", "hint"]
SUFFIXES = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
}
FIRST_DATA_ROW = 2  # header is row 1
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe (|)"}
ROWS_SHOWN = 5  # row numbers shown per grouped line
VALUES_SHOWN = 3  # distinct offending values shown per grouped line
LINES_SHOWN = 20  # grouped lines shown before "… and N more"
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
_MAX_SHOWN = 40
_MISSING_COLUMN = "required column is missing"
_PLURAL = {
    _MISSING_COLUMN: "required columns are missing",
    "column appears more than once": "columns appear more than once",
}


def _detail_frame(rows: list[dict] | None = None) -> pd.DataFrame:
    df = pd.DataFrame(rows or [], columns=DETAIL_COLUMNS)
    df["row"] = df["row"].astype("Int64")
    for c in ("file", "column", "message", "value", "hint"):
        df[c] = df[c].fillna("").astype("str")
    return df


def _file_problem(file: str, message: str, column: str = "", hint: str = "") -> dict:
    return dict(file=file, row=pd.NA, column=column, message=message, value="", hint=hint)


# --------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class _Opened:
    raw: pd.DataFrame | None
    problem: str | None = None
    notes: tuple[str, ...] = ()


def sniff_delimiter(path: Path | str) -> str:
    """Delimiter of a CSV from its header line: the most frequent of , ; tab | (ties: comma)."""
    with open(path, "rb") as fh:
        head = fh.read(65536).decode("utf-8-sig", errors="replace")
    line = re.sub(r'"[^"]*"', "", head.splitlines()[0] if head else "")
    counts = {d: line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])  # dict order puts the comma first on ties
    return best if counts[best] else ","


def _read_csv(path: Path) -> _Opened:
    sep = sniff_delimiter(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, index_col=False)
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise ValueError("the data rows have more fields than the header row")
    notes = () if sep == "," else (f"{DELIMITERS[sep]}-delimited",)
    return _Opened(raw, notes=notes)


def _sheet_name(names: list[str], sheet: str | int) -> str | None:
    """A sheet by name, else by 1-based position (an int, or digits that name no sheet)."""
    if str(sheet) in names:
        return str(sheet)
    text = str(sheet).strip()
    if text.isdigit() and 1 <= int(text) <= len(names):
        return names[int(text) - 1]
    return None


def _read_excel(path: Path, sheet: str | int | None, kind: str | None) -> _Opened:
    with pd.ExcelFile(path) as book:
        names = [str(n) for n in book.sheet_names]
        listed = ", ".join(map(repr, names))
        if sheet is not None:
            name = _sheet_name(names, sheet)
            if name is None:
                return _Opened(None, f"no sheet {str(sheet)!r} in the workbook (sheets: {listed})")
            return _Opened(pd.read_excel(book, sheet_name=name), notes=(f"sheet {name!r}",))
        raw = pd.read_excel(book, sheet_name=names[0])
        if len(names) == 1 or _recognisable(raw.columns, kind):
            return _Opened(raw)
        looks = []
        for name in names[1:]:
            header = pd.read_excel(book, sheet_name=name, nrows=0).columns
            if _recognisable(header, kind):
                looks.append(f"{name!r} looks like {kind or header_match(header).iloc[0]['kind']}")
        what = f"{kind} header" if kind else "recognisable header"
        found = f"; {', '.join(looks)}" if looks else ""
        return _Opened(
            None,
            f"the first sheet {names[0]!r} has no {what} (sheets: {listed}{found}); "
            "choose a sheet (study validate --sheet NAME)",
        )


def _open(path: Path | str, sheet: str | int | None = None, kind: str | None = None) -> _Opened:
    """Read a file by suffix (CSV cells as text; typed parsing happens later)."""
    p = Path(path)
    if not p.exists():
        return _Opened(None, "file not found")
    if p.is_dir():
        return _Opened(None, "is a folder, not a file")
    if p.suffix.lower() not in SUFFIXES:
        return _Opened(
            None, f"unsupported file type '{p.suffix or '(none)'}' (use .csv, .parquet or .xlsx)"
        )
    fmt = SUFFIXES[p.suffix.lower()]
    if sheet is not None and fmt != "excel":
        return _Opened(None, f"a sheet was given, but this is a {fmt} file, not an Excel workbook")
    if p.stat().st_size == 0:
        return _Opened(None, "file is empty")
    try:
        if fmt == "csv":
            opened = _read_csv(p)
        elif fmt == "parquet":
            opened = _Opened(pd.read_parquet(p))
        else:
            opened = _read_excel(p, sheet, kind)
    except pd.errors.EmptyDataError:
        return _Opened(None, "file is empty (no header row)")
    except UnicodeDecodeError:
        return _Opened(None, "cannot read as csv: not UTF-8 text (save the file as CSV UTF-8)")
    except Exception as exc:  # any reader failure is a file-level problem, not a crash
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return _Opened(None, f"cannot read as {fmt}: {first[:160]}")
    if opened.raw is not None:
        opened.raw.columns = [str(c).strip() for c in opened.raw.columns]
    return opened


# --------------------------------------------------------------------------------------------
# Which kind of file: from the id columns, the header as a whole, the file name


def _recognisable(columns, kind: str | None) -> bool:
    """At least half of the required columns of `kind` (or of the best-fitting kind)."""
    match = header_match(columns).set_index("kind")["share"]
    return bool((match[kind] if kind else match.max()) >= 0.5)


def _unknown_kind_problem(columns: list[str]) -> str:
    best = header_match(columns).iloc[0]
    kinds = ", ".join(KINDS)
    if best["present"] == 0:
        shown = ", ".join(map(repr, columns[:6])) + (", …" if len(columns) > 6 else "")
        return (
            f"cannot tell which kind of file this is ({kinds}): the header ({shown}) has "
            "none of their columns"
        )
    return (
        f"cannot tell which kind of file this is ({kinds}); the header is closest to "
        f"{best['kind']} ({best['present']} of {best['required']} required columns, lacks "
        f"{_listed(best['missing'])}); pass the kind explicitly (study validate --kind)"
    )


def _listed(names: list[str], n: int = 6) -> str:
    return ", ".join(names[:n]) + (f", … ({len(names) - n} more)" if len(names) > n else "")


def _missing_column_problems(raw_columns: list[str], kind: str, file: str) -> list[dict]:
    missing = [c for c in required_columns(kind) if c not in raw_columns]
    if not missing:
        return []
    rows = []
    match = header_match(raw_columns)
    best, own = match.iloc[0], match.set_index("kind").loc[kind]
    if best["kind"] != kind and best["share"] > own["share"]:
        rows.append(
            _file_problem(
                file,
                f"the header fits {best['kind']} ({best['present']} of {best['required']} "
                f"required columns) better than {kind} ({own['present']} of {own['required']}): "
                f"is this a {best['kind']} file?",
            )
        )
    extra = [c for c in raw_columns if c not in SCHEMAS[kind].columns]
    for c in missing:
        meant = near_miss(c, extra)
        hint = f"did you mean {meant!r}? column names are matched exactly" if meant else ""
        rows.append(_file_problem(file, _MISSING_COLUMN, column=c, hint=hint))
    return rows


# --------------------------------------------------------------------------------------------
# Parsing raw cells to the documented types


def _missing_mask(s: pd.Series) -> pd.Series:
    """Missing cells: NA or blank text."""
    mask = s.isna()
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        mask = mask | (s.astype("str").str.strip() == "").fillna(True)
    return mask.astype(bool)


def _as_text(s: pd.Series) -> pd.Series:
    return s.astype("str").str.strip()


def _parse_text(s: pd.Series, missing: pd.Series) -> tuple[pd.Series, pd.Series]:
    out = _as_text(s.where(~missing, None))
    out = out.where(~missing, None).astype(KIND_DTYPES["text"])
    return out, pd.Series(False, index=s.index)


def _parse_date(s: pd.Series, missing: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        return out.astype(KIND_DTYPES["date"]), pd.Series(False, index=s.index)
    text = _as_text(s).where(~missing, None)
    # ISO 8601 only (YYYY-MM-DD, optionally with a time): day/month orders are ambiguous
    out = pd.to_datetime(text, format="ISO8601", errors="coerce").astype(KIND_DTYPES["date"])
    bad = out.isna() & ~missing
    return out, bad


def _parse_integer(s: pd.Series, missing: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        num = s.astype("float64")
    else:
        num = pd.to_numeric(_as_text(s).where(~missing, None), errors="coerce").astype("float64")
    whole = np.isfinite(num) & (np.floor(num) == num)
    bad = ~missing & ~whole.fillna(False).astype(bool)
    out = num.where(whole & ~missing).astype("Int64")
    return out, bad


def _parse_number(s: pd.Series, missing: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        num = s.astype("float64")
    else:
        num = pd.to_numeric(_as_text(s).where(~missing, None), errors="coerce").astype("float64")
    finite = np.isfinite(num)
    bad = ~missing & ~finite
    return num.where(finite & ~missing), bad


def _parse_boolean(s: pd.Series, missing: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean"), pd.Series(False, index=s.index)
    text = _as_text(s).str.lower()
    is_true = text.isin(_TRUE)
    is_false = text.isin(_FALSE)
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[is_true] = True
    out[is_false] = False
    bad = ~missing & ~(is_true | is_false)
    return out.where(~missing, pd.NA), bad


_PARSERS = {
    "text": _parse_text,
    "date": _parse_date,
    "integer": _parse_integer,
    "number": _parse_number,
    "boolean": _parse_boolean,
}
_PARSE_MESSAGES = {
    "date": "not a date (expected YYYY-MM-DD)",
    "integer": "not a whole number",
    "number": "not a number",
    "boolean": "not true/false",
    "text": "not text",
}


def _show(value) -> str:
    if isinstance(value, pd.Timestamp | np.datetime64):
        ts = pd.Timestamp(value)
        text = str(ts)[: -len(" 00:00:00")] if ts == ts.normalize() else str(ts)
    else:
        text = str(value)
    return repr(text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…")


def _per_unique(values, fn) -> np.ndarray:
    """`fn` applied once per distinct value (not once per row), spread back to every row."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    return np.array([fn(v) for v in uniques], dtype=object)[codes]


def _date_hint(value) -> str:
    text = str(value).strip()
    iso = None  # (year, month, day) of a day-first or month-first date
    if m := re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", text):
        a, b = int(m[1]), int(m[2])
        if a > 12 >= b:
            iso = (m[3], m[2], m[1])
        elif b > 12 >= a:
            iso = (m[3], m[1], m[2])
        elif a != b:
            return "day and month order is ambiguous; write YYYY-MM-DD"
        else:
            iso = (m[3], m[2], m[1])
    elif re.fullmatch(r"\d{5}(\.0+)?", text) and 36526 <= float(text) <= 73051:
        day = pd.Timestamp("1899-12-30") + pd.Timedelta(days=int(float(text)))
        return f"an Excel day number? that is {day:%Y-%m-%d}"
    if iso is None:
        return ""
    try:
        day = pd.Timestamp(int(iso[0]), int(iso[1]), int(iso[2]))
    except ValueError:
        return ""
    return f"did you mean {day:%Y-%m-%d}?"


def _number_hint(value) -> str:
    text = re.sub(r"^[£$€]\s*", "", str(value).strip())
    if re.fullmatch(r"[-+]?\d+,\d{1,2}", text):
        return f"decimal comma? write {text.replace(',', '.')}"
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", text) or text != str(value).strip():
        plain = text.replace(",", "")
        if re.fullmatch(r"[-+]?\d+(\.\d+)?", plain):
            return f"write the plain number {plain}"
    return ""


_PARSE_HINTS = {"date": _date_hint, "number": _number_hint, "integer": _number_hint}


def _row_problems(file, idx, column, message, value="", hint="") -> pd.DataFrame:
    """Problem detail of the rows at 0-based positions `idx`."""
    cells = dict(file=file, row=idx + FIRST_DATA_ROW, column=column, message=message)
    return pd.DataFrame({**cells, "value": value, "hint": hint})


def _parse(raw: pd.DataFrame, kind: str, file: str) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    kinds = column_kinds(kind)
    typed = raw.reset_index(drop=True).copy()
    problems: list[pd.DataFrame] = []
    for name, ckind in kinds.items():
        if name not in typed.columns:
            continue
        s = typed[name]
        missing = _missing_mask(s)
        out, bad = _PARSERS[ckind](s, missing)
        typed[name] = out
        if bad.any():
            idx = np.flatnonzero(bad.to_numpy())
            values, hint = s.to_numpy()[idx], _PARSE_HINTS.get(ckind)
            shown, hints = _per_unique(values, _show), _per_unique(values, hint) if hint else ""
            problems.append(_row_problems(file, idx, name, _PARSE_MESSAGES[ckind], shown, hints))
    return typed, problems


# --------------------------------------------------------------------------------------------
# Checking


def _allowed_hints(fc: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.Series:
    """'did you mean …?' for values outside a column's allowed set (one lookup per value)."""
    hints = pd.Series("", index=fc.index, dtype=object)
    offered = fc["message"].str.startswith(("not an allowed", "not a site identifier"))
    for name in fc.loc[offered, "column"].unique():
        col = schema.columns.get(name)
        if col is None:
            continue
        allowed = [v for v in (col.metadata.get("values") or ()) if isinstance(v, str)]
        pattern = col.metadata.get("pattern")
        if not allowed and not pattern:
            continue

        def hint(v, allowed=allowed, pattern=pattern) -> str:
            meant = near_miss(v, allowed, pattern)
            return f"did you mean {meant!r}?" if meant else ""

        rows = offered & (fc["column"] == name)
        hints[rows] = _per_unique(fc.loc[rows, "failure_case"].to_numpy(), hint)
    return hints


def _pandera_problems(
    typed: pd.DataFrame, schema: pa.DataFrameSchema, file: str
) -> pd.DataFrame | None:
    try:
        schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
    else:
        return None
    fc = fc[fc["index"].notna()].copy()
    if fc.empty:
        return None
    fc["row"] = fc["index"].astype("int64") + FIRST_DATA_ROW
    check = fc["check"].astype("str")
    fc["message"] = check
    fc["value"] = _per_unique(fc["failure_case"].to_numpy(), _show)
    fc.loc[check == "not_nullable", ["message", "value"]] = ["missing value (required)", ""]
    fc.loc[check == "field_uniqueness", "message"] = "duplicate value"
    multi = check == "multiple_fields_uniqueness"
    if multi.any():
        cols = ", ".join(schema.unique or [])
        text = f"duplicate combination of ({cols})"
        fc.loc[multi, ["message", "value", "column"]] = [text, "", cols]
    fc["hint"] = _allowed_hints(fc, schema)
    fc["file"] = file
    return fc[DETAIL_COLUMNS].drop_duplicates(subset=["row", "column", "message", "value"])


def _rule_problems(
    typed: pd.DataFrame, kind: str, file: str, parse_problems: list[pd.DataFrame]
) -> list[pd.DataFrame]:
    """Cross-column rules, except in rows where a cell the rule needs did not parse."""
    unparsed = {p["column"].iloc[0]: p["row"].to_numpy() - FIRST_DATA_ROW for p in parse_problems}
    found = []
    for rule in rules_for(kind):
        if any(c not in typed.columns for c in rule.needs):
            continue
        bad = rule.bad(typed).to_numpy(dtype=bool, copy=True)
        for c in rule.needs:
            bad[unparsed.get(c, np.array([], dtype=int))] = False
        if bad.any():
            found.append(_row_problems(file, np.flatnonzero(bad), rule.column, rule.text))
    return found


def _no_records(raw: pd.DataFrame, typed: pd.DataFrame, kind: str) -> str | None:
    """'no records' when the file has a header only, or every data row is blank."""
    if len(raw) == 0:
        return "no records: the file has a header but no data rows"
    known = [c for c in SCHEMAS[kind].columns if c in typed.columns]
    if not known or not typed[known].isna().all(axis=None):
        return None  # some cell parsed to a value: there are records
    blank = np.logical_and.reduce([_missing_mask(raw[c]).to_numpy() for c in known])
    return f"no records: all {len(raw):,} data rows are empty" if blank.all() else None


def _check(
    raw: pd.DataFrame, kind: str, file: str, need_records: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed frame and problem detail of an already-read raw frame."""
    schema = SCHEMAS[kind]
    file_rows = _missing_column_problems(list(raw.columns), kind, file)
    dupes = raw.columns[raw.columns.duplicated()].unique()
    for c in dupes:
        file_rows.append(_file_problem(file, "column appears more than once", column=str(c)))
    if len(dupes):
        raw = raw.loc[:, ~raw.columns.duplicated()]
    typed, parse_problems = _parse(raw, kind, file)
    ordered = [c for c in schema.columns if c in typed.columns]
    typed = typed[ordered + [c for c in typed.columns if c not in schema.columns]]
    empty = _no_records(raw, typed, kind) if need_records else None
    if empty is not None:
        file_rows.append(_file_problem(file, empty))
    if empty is not None or not _recognisable(raw.columns, kind):  # rows would only add noise
        return typed, _sorted(_detail_frame(file_rows), kind)

    absent = [c for c in schema.columns if c not in typed.columns]
    active = schema.remove_columns(absent) if absent else schema
    if active.unique and any(c in absent for c in active.unique):
        active = copy.deepcopy(active)
        active.unique = None
    parts = [_detail_frame(file_rows), *parse_problems]
    pandera_part = _pandera_problems(typed, active, file)
    if pandera_part is not None:
        if parse_problems:  # a cell already reported as unparseable is not reported again
            seen = pd.concat(parse_problems)[["row", "column"]].assign(_seen=True)
            pandera_part = pandera_part.merge(seen, on=["row", "column"], how="left")
            pandera_part = pandera_part[pandera_part["_seen"].isna()].drop(columns="_seen")
        parts.append(pandera_part)
    parts.extend(_rule_problems(typed, kind, file, parse_problems))
    parts = [p for p in parts if len(p)]
    detail = pd.concat(parts, ignore_index=True) if parts else _detail_frame()
    return typed, _sorted(detail, kind)


def _sorted(detail: pd.DataFrame, kind: str | None) -> pd.DataFrame:
    """File-level problems first, then by row and schema column order."""
    if detail.empty:
        return _detail_frame()
    order = {c: i for i, c in enumerate(SCHEMAS[kind].columns)} if kind else {}
    detail = detail.assign(
        row=detail["row"].astype("Int64"),
        _file_level=detail["row"].notna().astype(int),
        _col=detail["column"].map(order).fillna(len(order)).where(detail["row"].notna(), 0),
    )
    detail = detail.sort_values(["_file_level", "row", "_col"], kind="stable", na_position="first")
    out = detail[DETAIL_COLUMNS].reset_index(drop=True)
    for c in ("file", "column", "message", "value", "hint"):
        out[c] = out[c].fillna("").astype("str")
    return out


def _problem_table(detail: pd.DataFrame) -> pd.DataFrame:
    """The public table: problem = message[: value][ (hint)]."""
    if "problem" in detail.columns:
        return detail[PROBLEM_COLUMNS]
    value = detail["value"].astype("str")
    hint = detail["hint"].astype("str")
    problem = (
        detail["message"].astype("str")
        + np.where(value != "", ": " + value, "")
        + np.where(hint != "", " (" + hint + ")", "")
    )
    out = detail[["file", "row", "column"]].assign(problem=problem.astype("str"))
    out["row"] = out["row"].astype("Int64")
    return out[PROBLEM_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Wording: grouped lines (validate) and one line (run, read_records), from the same groups


def _as_detail(problems: pd.DataFrame) -> pd.DataFrame:
    if "message" in problems.columns:
        return problems
    return problems.assign(message=problems["problem"], value="", hint="")


def problem_groups(problems: pd.DataFrame) -> pd.DataFrame:
    """One row per column × problem (file-level problems: per problem, columns listed).

    Columns: column (the columns, joined, for file-level groups), message, n (problems),
    file_level, rows (first ROWS_SHOWN row numbers), values ([(value, hint, count)], the
    VALUES_SHOWN most frequent), n_values (distinct values). Groups are in the order their
    first problem appears (file-level first, then by row). Vectorised: a few group-bys, no
    per-row Python.
    """
    cols = ["column", "message", "n", "file_level", "rows", "values", "n_values"]
    d = _as_detail(problems)
    if d.empty:
        return pd.DataFrame(columns=cols)
    file_level = d["row"].isna().to_numpy()
    d = d.assign(_fl=file_level, _g=np.where(file_level, "", d["column"].astype("str")))
    keys = ["_fl", "_g", "message"]
    grouped = d.groupby(keys, sort=False)
    out = grouped.size().rename("n").reset_index()
    firsts = grouped["row"].agg(lambda s: [int(r) for r in s.head(ROWS_SHOWN).dropna()])
    fl = d[file_level]
    columns = fl.groupby(keys, sort=False).apply(
        lambda g: list(zip(g["column"], g["hint"], strict=True)), include_groups=False
    )
    counts = d.groupby([*keys, "value", "hint"], sort=False).size().rename("k").reset_index()
    n_values = counts.groupby(keys, sort=False).size()
    top = counts.sort_values("k", ascending=False, kind="stable").groupby(keys).head(VALUES_SHOWN)
    values = top.groupby(keys, sort=False).apply(
        lambda g: list(zip(g["value"], g["hint"], g["k"], strict=True)), include_groups=False
    )
    idx = list(out[keys].itertuples(index=False, name=None))  # one per group, not per row
    named = columns.to_dict()
    out = out.assign(
        rows=[firsts[k] for k in idx],
        values=[values[k] for k in idx],
        n_values=[int(n_values[k]) for k in idx],
        column=[named[k] if k[0] else k[1] for k in idx],
        file_level=out["_fl"].astype(bool),
    )
    return out[cols].reset_index(drop=True)


def _rows_text(n: int, rows: list[int]) -> str:
    more = ", …" if n > len(rows) else ""
    return f"{n:,} rows ({', '.join(map(str, rows))}{more})"


def _values_text(values: list[tuple], n_values: int) -> str:
    shown = [(v, h, k) for v, h, k in values if v]
    if not shown:
        return ""
    parts = []
    for v, h, k in shown:
        part = v + (f" ({h})" if h else "")
        parts.append(part + (f" ×{k:,}" if n_values > 1 else ""))
    if n_values > len(shown):
        parts.append(f"… ({n_values - len(shown):,} other values)")
    return ": " + ", ".join(parts)


def _group_line(g) -> str:
    """'WHERE: WHAT' — where: row and column, or the column and how many rows (first few)."""
    if g.file_level:
        named = [c + (f" ({h})" if h else "") for c, h in g.column if c]
        if not named:
            hints = [h for _, h in g.column if h]
            return g.message + (f" ({hints[0]})" if hints else "")
        if len(named) == 1:
            column, hint = g.column[0]
            return f"column {column}: {g.message}" + (f" ({hint})" if hint else "")
        return f"columns {', '.join(named)}: {_PLURAL.get(g.message, g.message)}"
    if len(g.values) == 1 and not g.values[0][0] and g.values[0][1]:
        what = f"{g.message} ({g.values[0][1]})"  # a hint without a value
    else:
        what = g.message + _values_text(g.values, g.n_values)
    if g.n == 1:
        return f"row {g.rows[0]}, column {g.column}: {what}"
    return f"column {g.column}, {_rows_text(g.n, g.rows)}: {what}"


def problem_lines(problems: pd.DataFrame, limit: int | None = LINES_SHOWN) -> list[str]:
    """The problems grouped, one line per column × problem, e.g.

    ``column site, 200,000 rows (2, 3, 4, 5, 6, …): not an allowed value (allowed: birmingham,
    harrow, other): 'Harrow' (did you mean 'harrow'?)``, ``row 3, column end_date: end_date is
    before start_date``, ``columns outcome, site: required columns are missing``. At most
    `limit` lines (None: all), then ``… and N more kinds of problem``. Takes the table of
    `validate_file` / `RecordCheck.problems` or `RecordCheck.detail` (which merges values).
    """
    groups = problem_groups(problems)
    shown = groups if limit is None else groups.head(limit)
    lines = [_group_line(g) for g in shown.itertuples(index=False)]
    if len(groups) > len(shown):
        k = len(groups) - len(shown)
        lines.append(f"… and {k} more kind{'s' if k > 1 else ''} of problem")
    return lines


def problem_row_lines(problems: pd.DataFrame) -> list[str]:
    """Every problem, one line each: ``row 2, column site: PROBLEM`` (file-level: ``column
    outcome: PROBLEM`` or ``PROBLEM``), in the words of `problem_lines`."""
    table = _problem_table(problems)
    where = np.where(table["row"].isna(), "", "row " + table["row"].astype("str") + ", ")
    column = np.where(table["column"] != "", "column " + table["column"] + ": ", "")
    return (where + column + table["problem"]).tolist() if len(table) else []


def summarise_problems(problems: pd.DataFrame, file: str) -> str:
    """One line: 'FILE: N problems; LINE[; and K more kinds of problem]' (LINE as in
    `problem_lines`); 'FILE: LINE' when the only problem is a file-level one."""
    lines = problem_lines(problems, limit=1)
    n = len(problems)
    if n == 1 and pd.isna(problems["row"].iloc[0]):
        return f"{file}: {lines[0]}"
    more = f"; and {lines[1][len('… and ') :]}" if len(lines) > 1 else ""
    return f"{file}: {n:,} problem{'s' if n > 1 else ''}; {lines[0]}{more}"


# --------------------------------------------------------------------------------------------
# The result object and the entry points


@dataclass(frozen=True, eq=False)
class RecordCheck:
    """What checking one record-level file found.

    `detail` holds one row per problem (file, row, column, message, value, hint), file-level
    problems first; `kind` is None when it could not be told; `n_records` counts the data rows
    read; `notes` say how the file was read (a delimiter other than comma, the sheet).
    """

    file: str
    kind: str | None
    n_records: int
    detail: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return self.detail.empty

    @cached_property
    def problems(self) -> pd.DataFrame:
        """The full table (file, row, column, problem): one row per problem."""
        return _problem_table(self.detail)

    @cached_property
    def groups(self) -> pd.DataFrame:
        """One row per column × problem (see `problem_groups`)."""
        return problem_groups(self.detail)

    def lines(self, limit: int | None = LINES_SHOWN) -> list[str]:
        """The grouped problem lines (see `problem_lines`)."""
        return problem_lines(self.detail, limit)

    @property
    def summary(self) -> str:
        """One line (what `study run` and `read_records` say about an invalid file)."""
        if self.valid:
            return self._valid_line()
        return summarise_problems(self.detail, self.file)

    @property
    def text(self) -> str:
        """What `study validate` prints: a heading line, then one indented line per group."""
        if self.valid:
            return self._valid_line()
        if len(self.detail) == 1 and pd.isna(self.detail["row"].iloc[0]):
            return self.summary
        n = len(self.detail)
        about = [self.kind or "kind unknown", _records_text(self.n_records), *self.notes]
        lines = [f"{self.file}: {n:,} problem{'s' if n > 1 else ''} ({', '.join(about)})"]
        lines += ["  " + line for line in self.lines()]
        groups = self.groups
        cut = (groups["n"] > ROWS_SHOWN) & ~groups["file_level"].astype(bool)
        if cut.any() or len(groups) > LINES_SHOWN:
            lines.append(
                "  (first rows only: study validate --all lists every problem, "
                "--report FILE writes them to a CSV)"
            )
        return "\n".join(lines)

    @property
    def full_text(self) -> str:
        """`text` with every problem listed, one line each (`study validate --all`)."""
        if self.valid:
            return self._valid_line()
        head = self.text.splitlines()[0] if len(self.detail) > 1 else f"{self.file}: 1 problem"
        return "\n".join([head, *("  " + line for line in problem_row_lines(self.detail))])

    def _valid_line(self) -> str:
        about = [self.kind or "", _records_text(self.n_records), *self.notes]
        return f"{self.file}: valid ({', '.join(a for a in about if a)})"


def _records_text(n: int) -> str:
    return f"{n:,} record{'' if n == 1 else 's'}"


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise StudyInputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")


def _check_path(path: Path | str, kind: str | None, sheet: str | int | None):
    """(RecordCheck, typed frame or None)."""
    _check_kind(kind)
    file = str(path)
    opened = _open(path, sheet, kind)
    if opened.raw is None:
        return RecordCheck(
            file, kind, 0, _detail_frame([_file_problem(file, opened.problem)])
        ), None
    raw = opened.raw
    if kind is None:
        kind = infer_kind(list(raw.columns), Path(path).name)
        if kind is None:
            problem = _file_problem(file, _unknown_kind_problem(list(raw.columns)))
            return RecordCheck(file, None, len(raw), _detail_frame([problem]), opened.notes), None
    typed, detail = _check(raw, kind, file, need_records=True)
    return RecordCheck(file, kind, len(raw), detail, opened.notes), typed


def check_file(
    path: Path | str, kind: str | None = None, sheet: str | int | None = None
) -> RecordCheck:
    """Check a record-level file; return a `RecordCheck` (`.valid`, `.problems`, `.text`).

    Checks the documented schema of `kind` ('conversations', 'reviews', 'weekly'; None →
    inferred from the id columns, then from the file name): required columns, types (dates
    that do not parse, non-numbers), allowed values (with a suggestion for a near miss),
    uniqueness, ranges (negative counts or costs; dates before 2000-01-01 or after today),
    Monday week starts and the cross-column rules (end before start, ...). All problems are
    collected. `row` is the spreadsheet row number (header = row 1, first record = row 2); it
    is empty for file-level problems (file not found, a folder, empty, unreadable or of an
    unsupported type, a required column missing, no records), which are reported as one row
    each. `sheet` picks an Excel sheet by name or 1-based position. Never raises for bad data
    and never modifies the file.
    """
    return _check_path(path, kind, sheet)[0]


def validate_file(
    path: Path | str, kind: str | None = None, sheet: str | int | None = None
) -> pd.DataFrame:
    """The problems table of `check_file` (file, row, column, problem); empty when valid."""
    return check_file(path, kind, sheet).problems


def validate_frame(df: pd.DataFrame, kind: str, file: str = "<frame>") -> pd.DataFrame:
    """Problems table of an in-memory frame of the given kind (empty when valid).

    The same checks as `check_file`, except that a frame without rows is not a problem.
    """
    _check_kind(kind)
    return _problem_table(_check(df, kind, file)[1])


def read_records(path: Path | str, kind: str, sheet: str | int | None = None) -> pd.DataFrame:
    """Read and validate a record-level file; return the typed table.

    Columns come in schema order (dates as datetime64, `conversation`/`count` as Int64,
    booleans as the nullable 'boolean' dtype, costs as float64), then any extra columns.
    Raises StudyInputError with `RecordCheck.summary` (one line: "FILE: N problems; column
    C, N rows (R1, R2, …): PROBLEM") if the file has any problem (see `check_file`).
    """
    if kind is None or kind not in KINDS:
        raise StudyInputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    check, typed = _check_path(path, kind, sheet)
    if not check.valid:
        raise StudyInputError(check.summary)
    return typed


def typed_frame(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Parse and validate an in-memory frame; return it typed or raise StudyInputError."""
    _check_kind(kind)
    typed, detail = _check(df, kind, "<frame>")
    if len(detail):
        raise StudyInputError(summarise_problems(detail, "<frame>"))
    return typed


def check_report_path(report: Path | str, checked: Path | str) -> Path:
    """The path for a CSV report of problems, refused if it would overwrite the checked file,
    is a folder, is not a .csv or lies in a folder that does not exist."""
    target = Path(report)
    if target.exists() and target.resolve() == Path(checked).resolve():
        raise StudyInputError(f"--report {report}: is the file being checked; choose another name")
    if target.is_dir():
        raise StudyInputError(f"--report {report}: is a folder; give a .csv file name")
    if target.suffix.lower() != ".csv":
        raise StudyInputError(f"--report {report}: give a .csv file name")
    if not target.parent.is_dir():
        raise StudyInputError(f"--report {report}: folder {target.parent} does not exist")
    return target


__all__ = [
    "DETAIL_COLUMNS",
    "ID_COLUMN",
    "OPTIONAL_COLUMNS",
    "PROBLEM_COLUMNS",
    "RecordCheck",
    "check_file",
    "check_report_path",
    "header_match",
    "infer_kind",
    "near_miss",
    "problem_groups",
    "problem_lines",
    "problem_row_lines",
    "read_records",
    "sniff_delimiter",
    "summarise_problems",
    "typed_frame",
    "validate_file",
    "validate_frame",
]
