"""Frictionless data packages read with pandera: one CSV resource, validated in one lazy pass.

`read_resource` reads a CSV resource of a Frictionless Data Package (`datapackage.json`) and
validates it with the `pandera.DataFrameSchema` that `resource_schema` builds from the
resource's table schema: field types (string; number and integer, finite; date in the field's
`format`), the constraints required, unique, enum, pattern (whole value), minimum and maximum,
the primary key and self-referencing foreign keys, plus the caller's `RowRule`s (rules across
columns, run by pandera as dataframe checks). Validation is lazy, so every problem is
collected; the `StudyInputError` raised names the first one (file, CSV line, column) in one
line and counts the others.

The reader checks what precedes a table: the file exists and is CSV, and every row is
non-blank and has as many cells as the header. Line numbers are physical lines of the CSV
file with the header as line 1, so the first data row is line 2 (as an editor or `sed -n 2p`
shows).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.engines import pandas_engine

from study import config
from study.errors import StudyInputError

__all__ = [
    "PACKAGE_FILE",
    "RowRule",
    "input_error",
    "load_package",
    "resource_schema",
    "read_resource",
]

PACKAGE_FILE = "datapackage.json"
CONSTRAINTS = ("required", "unique", "enum", "pattern", "minimum", "maximum")
_HEADER_PROBLEMS = {  # pandera's header checks -> (rank, problem)
    "dataframe_column_labels_unique": (0, "column appears twice in the header"),
    "column_in_schema": (1, f"column is not declared in {PACKAGE_FILE}"),
    "column_in_dataframe": (2, f"required column is missing (see {PACKAGE_FILE})"),
}
_CELL, _KEY, _RULE = 3, 4, 5  # ranks: field checks, primary key, foreign keys and row rules


def input_error(path: Path, line: int, column: str | None, problem: str) -> StudyInputError:
    """The one-line error for a problem in a file: "<file> line N, column 'c': <problem>"."""
    where = f"{config.project_label(path)} line {line}"
    if column is not None:
        where += f", column {column!r}"
    return StudyInputError(f"{where}: {problem}")


def load_package(package_path: str | Path | None = None) -> tuple[Path, dict]:
    """(path, descriptor) of a datapackage.json (default: `config.PUBLISHED_DIR`)."""
    path = (
        config.PUBLISHED_DIR / PACKAGE_FILE
        if package_path is None
        else config.resolve_path(package_path)
    )
    if not path.is_file():
        raise StudyInputError(f"{config.project_label(path)}: data package description not found")
    try:
        return path, json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise StudyInputError(
            f"{config.project_label(path)} line {exc.lineno}: not valid JSON ({exc.msg})"
        ) from None


@dataclass(frozen=True)
class RowRule:
    """A rule across columns, checked by pandera on the typed frame (a dataframe check).

    `ok(frame)` is True for the rows that pass (NA counts as passing); a failing row is
    reported at `column`, worded by `problem(cells)` from its cells as written in the file
    (column -> text). The rule is skipped when a column in `needs` cannot be typed.
    """

    column: str
    needs: tuple[str, ...]
    ok: Callable[[pd.DataFrame], pd.Series]
    problem: Callable[[Mapping[str, str]], str]


def _names(fields: str | Sequence[str] | None) -> list[str]:
    return [] if not fields else [fields] if isinstance(fields, str) else list(fields)


def _dtype(field: dict) -> object:
    """pandera dtype of a Frictionless field type; nullable numbers keep 'NaN' apart from ''."""
    ftype = field.get("type", "string")
    if ftype == "date":
        fmt = str(field.get("format", "default")).removeprefix("fmt:")
        kwargs = {} if fmt == "any" else {"format": "%Y-%m-%d" if fmt == "default" else fmt}
        return pandas_engine.DateTime(to_datetime_kwargs=kwargs)
    types = {"string": str, "number": "Float64", "integer": "Int64"}
    if ftype not in types:
        raise StudyInputError(f"field {field['name']!r}: type {ftype!r} is not supported")
    return types[ftype]


def _column(field: dict, unique: bool) -> pa.Column:
    cons = field.get("constraints", {})
    unknown = sorted(set(cons) - set(CONSTRAINTS))
    if unknown:
        raise StudyInputError(
            f"field {field['name']!r}: constraint {unknown[0]!r} is not supported"
        )

    def bound(value: object) -> object:
        return pd.Timestamp(value) if field.get("type") == "date" else value

    checks = []
    if field.get("type") in ("number", "integer"):
        checks.append(pa.Check(np.isfinite, error="finite"))
    if "enum" in cons:
        checks.append(pa.Check.isin(cons["enum"], error="enum"))
    if "pattern" in cons:  # a Frictionless pattern matches the whole value
        checks.append(pa.Check.str_matches(rf"(?:{cons['pattern']})\Z", error="pattern"))
    if "minimum" in cons:
        checks.append(pa.Check.ge(bound(cons["minimum"]), error="minimum"))
    if "maximum" in cons:
        checks.append(pa.Check.le(bound(cons["maximum"]), error="maximum"))
    return pa.Column(
        _dtype(field),
        checks=checks,
        nullable=not cons.get("required", False),
        unique=unique or bool(cons.get("unique")),
        report_duplicates="exclude_first",
        coerce=True,
        title=field.get("title"),
        description=field.get("description"),
    )


def _foreign_key_rules(schema: dict) -> list[RowRule]:
    """Self-referencing foreign keys as row rules (a key with an empty cell is not checked)."""
    rules = []
    for fk in schema.get("foreignKeys", []):
        if fk["reference"].get("resource", "") != "":
            raise StudyInputError("only self-referencing foreign keys are supported")
        src, ref = _names(fk["fields"]), _names(fk["reference"]["fields"])

        def ok(frame: pd.DataFrame, src: list[str] = src, ref: list[str] = ref) -> pd.Series:
            keys = pd.MultiIndex.from_frame(frame[src])
            found = keys.isin(pd.MultiIndex.from_frame(frame[ref]))
            return pd.Series(found, index=frame.index) | frame[src].isna().any(axis=1)

        rules.append(
            RowRule(
                src[0],
                (*src, *ref),
                ok,
                lambda cells, s=src[0], r=ref[0]: (
                    f"{cells[s]!r} does not match any {r} in the file"
                ),
            )
        )
    return rules


def _all_rules(resource: dict, rules: Sequence[RowRule]) -> list[RowRule]:
    """The resource's foreign keys, then the caller's rules: 'rule i' is the i-th of these."""
    return [*_foreign_key_rules(resource["schema"]), *rules]


def _wide_check(rule: RowRule, i: int) -> pa.Check:
    def check(frame: pd.DataFrame) -> pd.Series:
        return rule.ok(frame).astype("boolean").fillna(True).astype(bool)

    return pa.Check(check, name=f"rule {i}", error=f"rule {i}")


def resource_schema(resource: dict, rules: Sequence[RowRule] = ()) -> pa.DataFrameSchema:
    """The pandera schema of one tabular data resource: its fields (see the module docstring),
    no undeclared or repeated column, the primary key unique, then the foreign keys and `rules`
    as dataframe checks named 'rule 0', 'rule 1', ... (foreign keys first)."""
    schema = resource["schema"]
    key = _names(schema.get("primaryKey"))
    columns = {f["name"]: _column(f, unique=key == [f["name"]]) for f in schema["fields"]}
    return pa.DataFrameSchema(
        columns,
        checks=[_wide_check(rule, i) for i, rule in enumerate(_all_rules(resource, rules))],
        unique=key if len(key) > 1 else None,
        report_duplicates="exclude_first",
        strict=True,
        unique_column_names=True,
        name=resource.get("name"),
        title=resource.get("title"),
        description=resource.get("description"),
    )


def _read_cells(path: Path) -> tuple[pd.DataFrame, list[int], tuple[int, str] | None]:
    """Every cell as text (columns as in the header), the CSV line of each row and the first
    problem of the CSV structure, (line, problem), where reading stopped (None if none)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise input_error(path, 1, None, "file is empty (no header)") from None
        except csv.Error as exc:
            raise input_error(path, 1, None, f"not readable as CSV ({exc})") from None
        rows: list[list[str]] = []
        lines: list[int] = []
        broken = None
        line_end = reader.line_num
        while broken is None:
            line = line_end + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                broken = (line, f"not readable as CSV ({exc})")
                break
            line_end = reader.line_num
            if not cells or all(c.strip() == "" for c in cells):
                broken = (line, "blank row")
            elif len(cells) != len(header):
                broken = (line, f"expected {len(header)} cells, found {len(cells)}")
            else:
                rows.append(cells)
                lines.append(line)
    return pd.DataFrame(rows, columns=header, dtype=object), lines, broken


def _type_problem(text: str, ftype: str) -> str:
    if ftype == "date":
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return f"{text!r} is not a valid calendar date"
        return f"{text!r} is not an ISO date (YYYY-MM-DD)"
    return f"{text!r} is not {'an integer' if ftype == 'integer' else 'a number'}"


_CELL_PROBLEMS: dict[str, Callable[[str, dict], str]] = {  # check -> problem(text, constraints)
    "not_nullable": lambda text, cons: "value is required but empty",
    "finite": lambda text, cons: f"{text!r} is not a finite number",
    "enum": lambda text, cons: f"{text!r} is not one of {cons['enum']}",
    "pattern": lambda text, cons: f"{text!r} does not match the pattern {cons['pattern']!r}",
    "minimum": lambda text, cons: f"{text!r} is below the minimum {cons['minimum']}",
    "maximum": lambda text, cons: f"{text!r} is above the maximum {cons['maximum']}",
}


def _problem_list(
    failures: pd.DataFrame,
    cells: pd.DataFrame,
    lines: list[int],
    resource: dict,
    rules: Sequence[RowRule],
) -> list[tuple[int, str | None, str]]:
    """(line, column, problem) of every problem pandera found, one per cell, in the order to
    show them: header; field checks by row and column; primary key; foreign keys and rules."""
    fields = {f["name"]: f for f in resource["schema"]["fields"]}
    order = {name: i for i, name in enumerate(fields)}
    key = _names(resource["schema"].get("primaryKey"))
    header = []
    for f in failures.itertuples(index=False):
        if str(f.check) in _HEADER_PROBLEMS:
            rank, problem = _HEADER_PROBLEMS[str(f.check)]
            labels = f.failure_case
            column = str(labels if isinstance(labels, str) else list(labels)[0])
            where = order if rank == 2 else {c: i for i, c in enumerate(cells.columns)}
            header.append((rank, where.get(column, -1), column, problem))
    if header:  # cells cannot be read reliably under a wrong header
        return [(1, column, problem) for *_, column, problem in sorted(header)]

    is_type = failures["check"].astype(str).str.match(r"(coerce_)?dtype\(")
    untyped = set(failures.loc[is_type, "column"])
    every_rule = _all_rules(resource, rules)
    found = []
    for seq, f in enumerate(failures.itertuples(index=False)):
        check, column = str(f.check), f.column
        if f.index is None or pd.isna(f.index):
            continue  # a check that could not run because of a problem reported elsewhere
        row = int(f.index)
        if check.startswith("rule "):
            i = int(check.removeprefix("rule "))
            rule = every_rule[i]
            if untyped & set(rule.needs):
                continue
            found.append((_RULE, i, row, seq, rule.column, rule.problem(cells.loc[row])))
            continue
        if check == "multiple_fields_uniqueness":
            values = tuple(cells.loc[row, key])
            first = (cells[key] == cells.loc[row, key]).all(axis=1).idxmax()
            problem = f"primary key {values} repeats line {lines[first]}"
            found.append((_KEY, order[key[0]], row, seq, ", ".join(key), problem))
            continue
        if column in untyped and not is_type.iloc[seq] and check != "not_nullable":
            continue  # checks of a column that cannot be typed
        text, cons = cells.at[row, column], fields[column].get("constraints", {})
        if is_type.iloc[seq]:
            problem = _type_problem(text, fields[column].get("type", "string"))
        elif check == "field_uniqueness":
            first = (cells[column] == text).idxmax()
            problem = f"{text!r} is not unique (first used on line {lines[first]})"
        elif check in _CELL_PROBLEMS:
            problem = _CELL_PROBLEMS[check](text, cons)
        else:
            problem = f"{text!r} fails the check {check}"
        found.append((_CELL, 0, row, order[column], column, problem))
    shown: dict[tuple[int, str], tuple[int, str | None, str]] = {}
    for *_, row, _, column, problem in sorted(found, key=lambda p: p[:4]):  # stable: seq
        shown.setdefault((row, column), (lines[row], column, problem))
    return list(shown.values())


def _validate(
    schema: pa.DataFrameSchema,
    cells: pd.DataFrame,
    csv_path: Path,
    lines: list[int],
    resource: dict,
    rules: Sequence[RowRule],
) -> pd.DataFrame:
    """The typed frame of `cells` (text) validated lazily; the first problem raises."""
    missing = cells.isin(resource["schema"].get("missingValues", [""]))
    try:
        return schema.validate(cells.where(~missing, None), lazy=True)
    except pa.errors.SchemaErrors as err:
        problems = _problem_list(err.failure_cases, cells, lines, resource, rules)
        if not problems:
            detail = " ".join(str(err.schema_errors[0]).split())
            raise StudyInputError(f"{config.project_label(csv_path)}: {detail}") from None
        line, column, problem = problems[0]
        more = len(problems) - 1
        if more:
            problem += f" (and {more} more problem{'s' if more > 1 else ''} in the file)"
        raise input_error(csv_path, line, column, problem) from None


def read_resource(
    path: str | Path | None,
    name: str,
    package_path: str | Path | None = None,
    *,
    rules: Sequence[RowRule] = (),
) -> tuple[pd.DataFrame, Path]:
    """Read one CSV resource of a data package and validate it with `resource_schema`.

    `path` None means the resource's own path beside the descriptor's default folder
    (`config.PUBLISHED_DIR`). Returns the typed frame (columns in schema order; numbers
    float, NaN when empty; dates datetime64; strings NaN when empty) and the resolved path.
    Every problem is collected (pandera, lazy); the error names the first and counts the rest.
    """
    pkg_path, package = load_package(package_path)
    resource = next((r for r in package.get("resources", []) if r.get("name") == name), None)
    if resource is None:
        raise StudyInputError(f"{config.project_label(pkg_path)}: no resource named {name!r}")
    try:
        schema = resource_schema(resource, rules)
    except StudyInputError as exc:
        raise StudyInputError(
            f"{config.project_label(pkg_path)}: resource {name!r}: {exc}"
        ) from None
    csv_path = (
        config.PUBLISHED_DIR / resource["path"] if path is None else config.resolve_path(path)
    )
    if not csv_path.is_file():
        raise StudyInputError(f"{config.project_label(csv_path)}: file not found")
    cells, lines, broken = _read_cells(csv_path)
    where = (csv_path, lines, resource, rules)
    if broken is not None:
        _validate(schema, cells.iloc[:0], *where)  # a problem in the header comes first
        raise input_error(csv_path, broken[0], None, broken[1])
    typed = _validate(schema, cells, *where)
    frame = typed[list(schema.columns)]
    for field in resource["schema"]["fields"]:
        col = field["name"]
        if field.get("type") in ("number", "integer"):
            frame[col] = frame[col].astype("float64")
        elif field.get("type") == "date":
            frame[col] = frame[col].astype("datetime64[s]")  # day dates, as pd.to_datetime reads
    return frame, csv_path
