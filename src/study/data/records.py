"""Reading and validating record-level files (CSV, Parquet, Excel) against `study.data.schema`.

`validate_file` reads a file (never writes or modifies it), parses every column to its
documented type, runs the pandera schema lazily (all failures collected) plus the cross-column
rules of `study.data.schema.RULES`, and returns the problems as a short table
``file, row, column, problem``. `read_records` is the strict variant notebooks call: it returns
the typed table or raises `StudyInputError` with a one-line summary.

Row numbers follow the spreadsheet convention: the header is row 1 and the first record is
row 2 (the line number a text editor shows for a CSV without quoted line breaks, and the row
label Excel shows). File-level problems (unreadable file, missing column) have an empty row.
"""

from __future__ import annotations

import copy
import warnings
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
    required_columns,
    rules_for,
)
from study.errors import StudyInputError

PROBLEM_COLUMNS = ["file", "row", "column", "problem"]
SUFFIXES = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
}
FIRST_DATA_ROW = 2  # header is row 1
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
_SIGNATURE = {
    "conversations": {"episode_id"},
    "reviews": {"review_id"},
    "weekly": {"week_start", "series"},
}
_NAME_HINT = {"conversations": "conversation", "reviews": "review", "weekly": "weekly"}
_MAX_SHOWN = 40


def problems_frame(rows: list[dict] | None = None) -> pd.DataFrame:
    """The problems table (columns file, row, column, problem); `row` is a nullable integer."""
    df = pd.DataFrame(rows or [], columns=PROBLEM_COLUMNS)
    df["row"] = df["row"].astype("Int64")
    for c in ("file", "column", "problem"):
        df[c] = df[c].astype("str")
    return df


def _file_problem(file: str, problem: str, column: str = "") -> dict:
    return {"file": file, "row": pd.NA, "column": column, "problem": problem}


# --------------------------------------------------------------------------------------------
# Reading


def _read_raw(path: Path) -> pd.DataFrame:
    """Read a file by suffix with every CSV cell as text (typed parsing happens later)."""
    fmt = SUFFIXES[path.suffix.lower()]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if fmt == "csv":
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False)
        elif fmt == "parquet":
            raw = pd.read_parquet(path)
        else:
            raw = pd.read_excel(path, sheet_name=0)
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise ValueError("the data rows have more fields than the header row")
    return raw


def _open(path: Path | str) -> tuple[pd.DataFrame | None, str | None]:
    """Return (raw frame, None) or (None, file-level problem)."""
    p = Path(path)
    if not p.exists():
        return None, "file not found"
    if p.is_dir():
        return None, "is a folder, not a file"
    if p.suffix.lower() not in SUFFIXES:
        return None, (
            f"unsupported file type '{p.suffix or '(none)'}' (use .csv, .parquet or .xlsx)"
        )
    if p.stat().st_size == 0:
        return None, "file is empty"
    try:
        raw = _read_raw(p)
    except pd.errors.EmptyDataError:
        return None, "file is empty (no header row)"
    except UnicodeDecodeError:
        return None, "cannot read as csv: not UTF-8 text (save the file as CSV UTF-8)"
    except Exception as exc:  # any reader failure is a file-level problem, not a crash
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"cannot read as {SUFFIXES[p.suffix.lower()]}: {first[:160]}"
    raw.columns = [str(c).strip() for c in raw.columns]
    return raw, None


def infer_kind(columns: list[str], file_name: str = "") -> str | None:
    """Kind of file from its columns (id columns), else from its name; None if ambiguous."""
    cols = set(columns)
    by_cols = [k for k, sig in _SIGNATURE.items() if sig <= cols]
    if len(by_cols) == 1:
        return by_cols[0]
    name = file_name.lower()
    by_name = [k for k, hint in _NAME_HINT.items() if hint in name]
    candidates = [k for k in by_name if not by_cols or k in by_cols]
    return candidates[0] if len(candidates) == 1 else None


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
    if pd.api.types.is_bool_dtype(s.dtype):
        num = s.astype("float64")
    elif pd.api.types.is_numeric_dtype(s.dtype):
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
        text = f"{ts:%Y-%m-%d}" if ts == ts.normalize() else str(ts)
    else:
        text = str(value)
    return repr(text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…")


def parse_columns(raw: pd.DataFrame, kind: str, file: str = "") -> tuple[pd.DataFrame, list]:
    """Parse the known columns of `raw` to their documented types.

    Returns (typed frame, problem rows). Unparseable cells become missing and are reported
    once; extra columns are passed through unchanged; missing columns are not added.
    """
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
            vals = s.to_numpy()[idx]
            problems.append(
                pd.DataFrame(
                    {
                        "file": file,
                        "row": idx + FIRST_DATA_ROW,
                        "column": name,
                        "problem": [f"{_PARSE_MESSAGES[ckind]}: {_show(v)}" for v in vals],
                    }
                )
            )
    return typed, problems


# --------------------------------------------------------------------------------------------
# Checking


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
    shown = fc["failure_case"].map(_show)
    problem = check + ": " + shown
    problem = problem.mask(check == "not_nullable", "missing value (required)")
    problem = problem.mask(check == "field_uniqueness", "duplicate value: " + shown)
    multi = check == "multiple_fields_uniqueness"
    if multi.any():
        cols = ", ".join(schema.unique or [])
        problem = problem.mask(multi, f"duplicate combination of ({cols})")
        fc.loc[multi, "column"] = cols
    fc["problem"] = problem
    fc["file"] = file
    out = fc[PROBLEM_COLUMNS].drop_duplicates(subset=["row", "column", "problem"])
    return out


def _rule_problems(typed: pd.DataFrame, kind: str, file: str) -> list[pd.DataFrame]:
    found = []
    for rule in rules_for(kind):
        if any(c not in typed.columns for c in rule.needs):
            continue
        bad = rule.bad(typed).to_numpy()
        if bad.any():
            idx = np.flatnonzero(bad)
            found.append(
                pd.DataFrame(
                    {
                        "file": file,
                        "row": idx + FIRST_DATA_ROW,
                        "column": rule.column,
                        "problem": rule.text,
                    }
                )
            )
    return found


def _check(raw: pd.DataFrame, kind: str, file: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed frame and problems table of an already-read raw frame."""
    schema = SCHEMAS[kind]
    file_rows = []
    missing_cols = [c for c in required_columns(kind) if c not in raw.columns]
    for c in missing_cols:
        file_rows.append(_file_problem(file, "required column is missing", column=c))
    dupes = raw.columns[raw.columns.duplicated()].unique()
    for c in dupes:
        file_rows.append(_file_problem(file, "column appears more than once", column=str(c)))
    if len(dupes):
        raw = raw.loc[:, ~raw.columns.duplicated()]
    typed, parse_problems = parse_columns(raw, kind, file)

    absent = [c for c in schema.columns if c not in typed.columns]
    active = schema.remove_columns(absent) if absent else schema
    if active.unique and any(c in absent for c in active.unique):
        active = copy.deepcopy(active)
        active.unique = None
    parts = [problems_frame(file_rows), *parse_problems]
    pandera_part = _pandera_problems(typed, active, file)
    if pandera_part is not None:
        if parse_problems:  # a cell already reported as unparseable is not reported again
            seen = pd.concat(parse_problems)[["row", "column"]].assign(_seen=True)
            pandera_part = pandera_part.merge(seen, on=["row", "column"], how="left")
            pandera_part = pandera_part[pandera_part["_seen"].isna()].drop(columns="_seen")
        parts.append(pandera_part)
    parts.extend(_rule_problems(typed, kind, file))
    problems = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else problems_frame()
    )
    problems = _sorted(problems, kind)
    ordered = [c for c in schema.columns if c in typed.columns]
    extra = [c for c in typed.columns if c not in schema.columns]
    return typed[ordered + extra], problems


def _sorted(problems: pd.DataFrame, kind: str) -> pd.DataFrame:
    if problems.empty:
        return problems_frame()
    order = {c: i for i, c in enumerate(SCHEMAS[kind].columns)}
    problems = problems.assign(
        row=problems["row"].astype("Int64"),
        _file_level=problems["row"].notna().astype(int),
        _col=problems["column"].map(order).fillna(len(order)),
    )
    problems = problems.sort_values(
        ["_file_level", "row", "_col"], kind="stable", na_position="first"
    )
    out = problems[PROBLEM_COLUMNS].reset_index(drop=True)
    for c in ("file", "column", "problem"):
        out[c] = out[c].astype("str")
    return out


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise StudyInputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")


def validate_frame(df: pd.DataFrame, kind: str, file: str = "<frame>") -> pd.DataFrame:
    """Problems table of an in-memory frame of the given kind (empty when valid)."""
    _check_kind(kind)
    return _check(df, kind, file)[1]


def validate_file(path: Path | str, kind: str | None = None) -> pd.DataFrame:
    """Check a record-level file; return its problems (file, row, column, problem).

    Checks the documented schema of `kind` ('conversations', 'reviews', 'weekly'; None →
    inferred from the id columns, then from the file name): required columns, types (dates
    that do not parse, non-numbers), allowed values, uniqueness, ranges (negative counts or
    costs), Monday week starts and the cross-column rules (end before start, ...). All problems
    are collected. `row` is the spreadsheet row number (header = row 1, first record = row 2);
    it is empty for file-level problems (file not found, empty, unreadable or of an unsupported
    type, a required column missing), which are reported as one row each. Never raises for bad
    data and never modifies the file. Returns an empty table when the file is valid.
    """
    _check_kind(kind)
    file = str(path)
    raw, problem = _open(path)
    if raw is None:
        return problems_frame([_file_problem(file, problem)])
    if kind is None:
        kind = infer_kind(list(raw.columns), Path(path).name)
        if kind is None:
            return problems_frame(
                [
                    _file_problem(
                        file,
                        "cannot tell which kind of file this is "
                        f"({', '.join(KINDS)}); pass the kind explicitly",
                    )
                ]
            )
    return _check(raw, kind, file)[1]


def summarise_problems(problems: pd.DataFrame, file: str) -> str:
    """One line: 'N problems in FILE; first: row R, column C: PROBLEM'."""
    n = len(problems)
    first = problems.iloc[0]
    where = [] if pd.isna(first["row"]) else [f"row {int(first['row'])}"]
    if first["column"]:
        where.append(f"column {first['column']}")
    where_text = ", ".join(where) if where else "file"
    noun = "problem" if n == 1 else "problems"
    return f"{n} {noun} in {file}; first: {where_text}: {first['problem']}"


def read_records(path: Path | str, kind: str) -> pd.DataFrame:
    """Read and validate a record-level file; return the typed table.

    Columns come in schema order (dates as datetime64, `conversation`/`count` as Int64,
    booleans as the nullable 'boolean' dtype, costs as float64), then any extra columns.
    Raises StudyInputError ("N problems in FILE; first: row R, column C: ...") if the file
    has any problem (see `validate_file`).
    """
    if kind is None or kind not in KINDS:
        raise StudyInputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    file = str(path)
    raw, problem = _open(path)
    if raw is None:
        raise StudyInputError(
            summarise_problems(problems_frame([_file_problem(file, problem)]), file)
        )
    typed, problems = _check(raw, kind, file)
    if len(problems):
        raise StudyInputError(summarise_problems(problems, file))
    return typed


def typed_frame(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Parse and validate an in-memory frame; return it typed or raise StudyInputError."""
    _check_kind(kind)
    typed, problems = _check(df, kind, "<frame>")
    if len(problems):
        raise StudyInputError(summarise_problems(problems, "<frame>"))
    return typed


__all__ = [
    "ID_COLUMN",
    "OPTIONAL_COLUMNS",
    "PROBLEM_COLUMNS",
    "infer_kind",
    "parse_columns",
    "problems_frame",
    "read_records",
    "summarise_problems",
    "typed_frame",
    "validate_file",
    "validate_frame",
]
