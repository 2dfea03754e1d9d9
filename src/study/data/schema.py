"""Documented schemas of the three record-level inputs (pandera, validated lazily).

* ``conversations`` — one row per conversation episode (a request for support and the
  Three Conversations work that followed it, or a usual-care assessment episode).
* ``reviews`` — one row per review of existing care (Harrow's third innovation site and the
  old Locality Team it replaced), with gross weekly care costs before and after.
* ``weekly`` — long weekly count series (one row per site × series × week).

Every column carries its description, type, allowed values and unit in the pandera column
metadata; the row-level rules that involve several columns are listed in ``RULES``.
``data/README.md`` is generated from this module by ``schema_markdown()`` (see
``write_schema_markdown``), so the documentation cannot drift from the checks.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

KINDS = ("conversations", "reviews", "weekly")

# a site is any lower-case identifier: the study's own councils are parameter values, not a list
SITE_PATTERN = r"^[a-z][a-z0-9_]*$"
SITE_ERROR = "not a site identifier (lower case letters, digits and _, starting with a letter)"
SITE_EXAMPLES = ("birmingham", "harrow", "northfield")
WEEKLY_SITE_EXAMPLES = ("harrow", "london_comparison", "northfield")
TEAM_PATTERN = r"^(innovation_site_[1-9][0-9]?|usual_care)$"
USUAL_CARE = "usual_care"
CONVERSATIONS = (1, 2, 3)
OUTCOMES = (
    "no_further_support",
    "short_term_support",
    "long_term_support",
    "ongoing",
    "excluded",
)
OUTCOME_MEANINGS = {
    "no_further_support": "episode closed with information, advice or community connections only",
    "short_term_support": "closed after short-term support (e.g. reablement, a crisis plan)",
    "long_term_support": "person went on to long-term (Care Act eligible) care and support",
    "ongoing": "episode still open at the data extract date (end_date empty)",
    "excluded": "closed without a usable outcome (died, moved away, withdrawn, ...)",
}
COMPLETED_OUTCOMES = ("no_further_support", "short_term_support", "long_term_support")
REVIEW_TEAMS = ("innovation_site_3", "old_locality_team")
REVIEW_STATUSES = ("completed", "ongoing", "excluded")
SERIES = (
    "new_long_term_starts",
    "requests_new_clients",
    "repeat_requests",
    "completed_conversations",
    "completed_at_c3",
)
SERIES_MEANINGS = {
    "new_long_term_starts": "episodes ending with outcome long_term_support, by end_date week",
    "requests_new_clients": "new requests for support (episodes), by request_date week",
    "repeat_requests": "requests flagged repeat_request, by request_date week",
    "completed_conversations": "completed 3Cs episodes (conversation recorded), by end_date week",
    "completed_at_c3": "completed 3Cs episodes that ended at Conversation 3, by end_date week",
}

# plausible dates: none before DATE_FLOOR and none after the day the file is checked
DATE_FLOOR = pd.Timestamp("2000-01-01")

# column kinds understood by the reader (study.data.records) when it parses raw text
KIND_DTYPES = {
    "text": "str",
    "date": "datetime64[us]",
    "integer": "Int64",
    "boolean": "boolean",
    "number": "float64",
}
_PANDERA_DTYPES = {
    "text": pa.String,
    "date": pa.DateTime,
    "integer": "Int64",
    "boolean": "boolean",
    "number": "float64",
}


def _allowed_text(values: tuple) -> str:
    return ", ".join(f"`{v}`" for v in values)


def _site_allowed(examples: tuple) -> str:
    return "a lower-case identifier (letters, digits, `_`), e.g. " + _allowed_text(examples)


def _isin(values: tuple) -> pa.Check:
    return pa.Check.isin(
        list(values), error=f"not an allowed value (allowed: {', '.join(map(str, values))})"
    )


def _today() -> pd.Timestamp:
    """Today's date, read when a file is checked (not when the schema is built)."""
    return pd.Timestamp.today().normalize()


_DATE_CHECKS = (
    pa.Check(
        lambda s: s >= DATE_FLOOR,
        element_wise=False,
        error=f"date is before {DATE_FLOOR:%Y-%m-%d} (implausibly early)",
    ),
    pa.Check(
        lambda s: s < _today() + pd.Timedelta(days=1),
        element_wise=False,
        error="date is in the future (after today)",
    ),
)
_DATE_RANGE_TEXT = f"{DATE_FLOOR:%Y-%m-%d} … today"


def _col(
    kind: str,
    description: str,
    *,
    unit: str = "",
    allowed: str = "",
    values: tuple | None = None,
    pattern: tuple[str, str] | None = None,
    nullable: bool = False,
    unique: bool = False,
    checks: list[pa.Check] | None = None,
) -> pa.Column:
    """A documented column: type `kind`, description, unit and allowed values in metadata.

    `values` are the allowed values; `pattern` = (regular expression, error text) is the
    alternative for open sets. Date columns also get the plausible range (DATE_FLOOR … today).
    """
    all_checks = list(checks or [])
    if values is not None:
        all_checks.insert(0, _isin(values))
        allowed = allowed or _allowed_text(values)
    if pattern is not None:
        all_checks.insert(0, pa.Check.str_matches(pattern[0], error=pattern[1]))
    if kind == "date":
        all_checks.extend(_DATE_CHECKS)
        allowed = f"{allowed}, {_DATE_RANGE_TEXT}" if allowed else _DATE_RANGE_TEXT
    return pa.Column(
        _PANDERA_DTYPES[kind],
        all_checks,
        nullable=nullable,
        unique=unique,
        description=description,
        metadata={
            "kind": kind,
            "unit": unit,
            "allowed": allowed,
            "values": values,
            "pattern": pattern[0] if pattern else None,
        },
    )


_NONNEG = pa.Check.ge(0, error="must be >= 0 (negative value)")
_POSITIVE = pa.Check.gt(0, error="must be > 0")
_MONDAY = pa.Check(
    lambda s: s.dt.day_of_week == 0, element_wise=False, error="week_start is not a Monday"
)

CONVERSATIONS_SCHEMA = pa.DataFrameSchema(
    {
        "episode_id": _col(
            "text", "Identifier of the conversation episode.", allowed="any text", unique=True
        ),
        "person_id": _col(
            "text",
            "Pseudonymous identifier of the person; repeats across that person's episodes.",
            allowed="any text",
        ),
        "site": _col(
            "text",
            "Local authority of the episode, as a lower-case identifier (the analyses take "
            "their site from parameters).",
            allowed=_site_allowed(SITE_EXAMPLES),
            pattern=(SITE_PATTERN, SITE_ERROR),
        ),
        "team": _col(
            "text",
            "Team that held the episode: a Three Conversations innovation site or usual care.",
            allowed="`innovation_site_1` … `innovation_site_99`, `usual_care`",
            pattern=(TEAM_PATTERN, "not an allowed team (innovation_site_<n> or usual_care)"),
        ),
        "request_date": _col(
            "date", "Date the request for support was received.", unit="date (YYYY-MM-DD)"
        ),
        "conversation": _col(
            "integer",
            "Conversation at which the episode ended (or, if ongoing, the current one): "
            "1 listen and connect, 2 work intensively in crisis, 3 build a good life. "
            "Empty only for usual-care episodes.",
            values=CONVERSATIONS,
            nullable=True,
        ),
        "start_date": _col(
            "date", "Date the first conversation (or assessment) started.", unit="date (YYYY-MM-DD)"
        ),
        "end_date": _col(
            "date",
            "Date the episode ended; empty while ongoing.",
            unit="date (YYYY-MM-DD)",
            nullable=True,
        ),
        "outcome": _col(
            "text",
            "How the episode ended: "
            + "; ".join(f"`{k}` = {v}" for k, v in OUTCOME_MEANINGS.items())
            + ".",
            values=OUTCOMES,
        ),
        "repeat_request": _col(
            "boolean",
            "True if this request came from a person whose earlier episode ended within the "
            "previous 12 months (a 'repeat request').",
            allowed="`true`, `false`",
        ),
        "covid_positive": _col(
            "boolean",
            "True if the person had tested positive for Covid-19; empty if not recorded.",
            allowed="`true`, `false`, empty",
            nullable=True,
        ),
    },
    strict=False,
    name="conversations",
    description="One row per conversation episode (request for support).",
)

REVIEWS_SCHEMA = pa.DataFrameSchema(
    {
        "review_id": _col(
            "text", "Identifier of the review conversation.", allowed="any text", unique=True
        ),
        "person_id": _col("text", "Pseudonymous identifier of the person.", allowed="any text"),
        "team": _col(
            "text",
            "`innovation_site_3` = Harrow's third innovation site (reviews as Three "
            "Conversations, Aug–Nov 2020); `old_locality_team` = the old Locality Team "
            "reviews it is compared with (Apr–Jul 2020).",
            values=REVIEW_TEAMS,
        ),
        "review_start": _col(
            "date", "Date the review conversation started.", unit="date (YYYY-MM-DD)"
        ),
        "review_end": _col(
            "date",
            "Date the review conversation ended; empty while ongoing.",
            unit="date (YYYY-MM-DD)",
            nullable=True,
        ),
        "weekly_cost_before_gbp": _col(
            "number",
            "Gross weekly long-term care cost one day before the conversation started; "
            "empty if not available (e.g. care suspended).",
            unit="GBP per week",
            allowed=">= 0, empty",
            nullable=True,
            checks=[_NONNEG],
        ),
        "weekly_cost_after_gbp": _col(
            "number",
            "Gross weekly long-term care cost 30 days after the conversation ended; "
            "empty while ongoing or when excluded.",
            unit="GBP per week",
            allowed=">= 0, empty",
            nullable=True,
            checks=[_NONNEG],
        ),
        "covid_positive": _col(
            "boolean",
            "True if the person had tested positive for Covid-19 (Harrow Table 1a) rather "
            "than not (Table 1b).",
            allowed="`true`, `false`",
        ),
        "status": _col(
            "text",
            "`completed` = costs before and after known; `ongoing` = work still ongoing; "
            "`excluded` = excluded due to suspensions, cancellations or death.",
            values=REVIEW_STATUSES,
        ),
    },
    strict=False,
    name="reviews",
    description="One row per review of existing care (Harrow Tables 1a/1b).",
)

WEEKLY_SCHEMA = pa.DataFrameSchema(
    {
        "week_start": _col(
            "date",
            "Monday that starts the week (weeks run Monday–Sunday).",
            unit="date (YYYY-MM-DD), a Monday",
            allowed="Mondays",
            checks=[_MONDAY],
        ),
        "site": _col(
            "text",
            "Area the series describes, as a lower-case identifier; `london_comparison` (the "
            "synthetic file) is a comparison area that did not adopt the model.",
            allowed=_site_allowed(WEEKLY_SITE_EXAMPLES),
            pattern=(SITE_PATTERN, SITE_ERROR),
        ),
        "series": _col(
            "text",
            "What is counted: " + "; ".join(f"`{k}` = {v}" for k, v in SERIES_MEANINGS.items()),
            values=SERIES,
        ),
        "count": _col(
            "integer",
            "Number of events in the week.",
            unit="events per week",
            allowed="whole number >= 0",
            checks=[_NONNEG],
        ),
        "population": _col(
            "number",
            "Exposure for rates (adult population); optional column, empty if unknown.",
            unit="people",
            allowed="> 0, empty",
            nullable=True,
            checks=[_POSITIVE],
        ),
    },
    strict=False,
    unique=["site", "series", "week_start"],
    name="weekly",
    description="Long weekly count series: one row per site × series × week.",
)

SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "conversations": CONVERSATIONS_SCHEMA,
    "reviews": REVIEWS_SCHEMA,
    "weekly": WEEKLY_SCHEMA,
}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "conversations": (),
    "reviews": (),
    "weekly": ("population",),
}
ID_COLUMN = {"conversations": "episode_id", "reviews": "review_id", "weekly": None}


def required_columns(kind: str) -> list[str]:
    """Columns a file of this kind must have."""
    return [c for c in SCHEMAS[kind].columns if c not in OPTIONAL_COLUMNS[kind]]


def column_kinds(kind: str) -> dict[str, str]:
    """Map column name → parse kind ('text', 'date', 'integer', 'boolean', 'number')."""
    return {name: col.metadata["kind"] for name, col in SCHEMAS[kind].columns.items()}


# --------------------------------------------------------------------------------------------
# Which kind a header fits, and which allowed value a near miss meant

_SIGNATURE = {
    "conversations": {"episode_id"},
    "reviews": {"review_id"},
    "weekly": {"week_start", "series"},
}
_NAME_HINT = {"conversations": "conversation", "reviews": "review", "weekly": "weekly"}


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


def header_match(columns) -> pd.DataFrame:
    """How well a header fits each kind: kind, present, required, share, missing (best first)."""
    cols = {str(c).strip() for c in columns}
    rows = []
    for kind in KINDS:
        required = required_columns(kind)
        missing = [c for c in required if c not in cols]
        present = len(required) - len(missing)
        rows.append(
            {"kind": kind, "present": present, "required": len(required),
             "share": present / len(required), "missing": missing}
        )  # fmt: skip
    return pd.DataFrame(rows).sort_values("share", ascending=False, kind="stable")


def _fold(value) -> str:
    """Case-folded, spaces and hyphens as underscores: the key of a near miss."""
    return re.sub(r"[\s\-]+", "_", str(value).strip().lower())


def near_miss(value, allowed=(), pattern: str | None = None) -> str | None:
    """The allowed value a near miss was meant to be, or None.

    Same after case-folding (spaces and hyphens read as underscores), a folded form that matches
    `pattern`, or the closest allowed value by `difflib` similarity (ratio >= 0.8).
    """
    key = _fold(value)
    texts = [str(a) for a in allowed]
    for a in texts:
        if _fold(a) == key:
            return a
    if pattern and re.fullmatch(pattern, key):
        return key
    close = difflib.get_close_matches(key, texts, n=1, cutoff=0.8)
    return close[0] if close else None


# --------------------------------------------------------------------------------------------
# Row rules that involve several columns (vectorised: each returns a mask of offending rows)


@dataclass(frozen=True)
class Rule:
    """A rule across columns: `bad(df)` marks offending rows; reported against `column`."""

    kind: str
    column: str
    needs: tuple[str, ...]
    text: str
    bad: Callable[[pd.DataFrame], pd.Series]


def _before(later: str, earlier: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda df: (df[later] < df[earlier]).fillna(False).astype(bool)


RULES: tuple[Rule, ...] = (
    Rule(
        "conversations",
        "start_date",
        ("request_date", "start_date"),
        "start_date is before request_date",
        _before("start_date", "request_date"),
    ),
    Rule(
        "conversations",
        "end_date",
        ("start_date", "end_date"),
        "end_date is before start_date",
        _before("end_date", "start_date"),
    ),
    Rule(
        "conversations",
        "end_date",
        ("end_date", "outcome"),
        "end_date is empty but outcome is not ongoing or excluded",
        lambda df: df["end_date"].isna() & ~df["outcome"].isin(["ongoing", "excluded"]),
    ),
    Rule(
        "conversations",
        "end_date",
        ("end_date", "outcome"),
        "outcome is ongoing but end_date is filled in",
        lambda df: df["end_date"].notna() & (df["outcome"] == "ongoing"),
    ),
    Rule(
        "conversations",
        "conversation",
        ("conversation", "team"),
        "conversation is empty for a team other than usual_care",
        lambda df: df["conversation"].isna() & (df["team"] != USUAL_CARE),
    ),
    Rule(
        "reviews",
        "review_end",
        ("review_start", "review_end"),
        "review_end is before review_start",
        _before("review_end", "review_start"),
    ),
    Rule(
        "reviews",
        "review_end",
        ("review_end", "status"),
        "status is completed but review_end is empty",
        lambda df: df["review_end"].isna() & (df["status"] == "completed"),
    ),
    Rule(
        "reviews",
        "weekly_cost_before_gbp",
        ("weekly_cost_before_gbp", "status"),
        "status is completed but weekly_cost_before_gbp is empty",
        lambda df: df["weekly_cost_before_gbp"].isna() & (df["status"] == "completed"),
    ),
    Rule(
        "reviews",
        "weekly_cost_after_gbp",
        ("weekly_cost_after_gbp", "status"),
        "status is completed but weekly_cost_after_gbp is empty",
        lambda df: df["weekly_cost_after_gbp"].isna() & (df["status"] == "completed"),
    ),
    Rule(
        "reviews",
        "review_end",
        ("review_end", "status"),
        "status is ongoing but review_end is filled in",
        lambda df: df["review_end"].notna() & (df["status"] == "ongoing"),
    ),
)


def rules_for(kind: str) -> list[Rule]:
    """The cross-column rules of one kind of file."""
    return [r for r in RULES if r.kind == kind]


# --------------------------------------------------------------------------------------------
# Documentation generated from the schemas

_KIND_WORDS = {
    "text": "text",
    "date": "date",
    "integer": "whole number",
    "boolean": "true/false",
    "number": "number",
}

_PREAMBLE = f"""\
# Data: record-level inputs

<!-- GENERATED by study.data.schema.schema_markdown(); do not edit by hand.
     Regenerate with: .venv/bin/python -m study.data.schema -->

The package reads three kinds of record-level file. `study validate PATH [--kind KIND]
[--sheet SHEET]` checks a file against the schema below and prints one line per column and
problem (how many rows, the first row numbers, the offending values and, for a near miss such as
`Harrow`, the allowed value meant); `--all` lists every row and `--report FILE` writes them all
to a CSV (file, row, column, problem). `study run` words a failing input the same way, in one
line. Notebooks call `study.data.records.read_records(path, kind)`, which raises
`StudyInputError` on an invalid file.

CSV (`.csv`; comma-separated, or semicolon, tab or `|` as recognised from the header line),
Parquet (`.parquet`, `.pq`) and Excel (`.xlsx`, `.xlsm`; the first sheet, or the one named with
`--sheet`; when the first sheet has no recognisable header the error lists the sheets) are
accepted. A file with a header but no records is refused. Dates are written `YYYY-MM-DD` and must
lie between {DATE_FLOOR:%Y-%m-%d} and the day the file is checked; true/false columns accept
`true`/`false` (also `1`/`0`, `yes`/`no`); an empty cell is a missing value. Extra columns are
allowed and ignored. Row numbers in problem reports follow the spreadsheet convention: the
header is row 1, the first record is row 2.

Folders: `published/` holds the figures cited from the source documents; `synthetic/` holds
generated files (`*synthetic*`, see `synthetic/README.md`) — SYNTHETIC data calibrated to the
published aggregates, not real records. `synthetic/northfield_episodes_synthetic.csv` is a
fictional council's SYNTHETIC extract under its own site name (`northfield`), generated from
stated assumptions by `study.data.synthetic.example_council` (not calibrated to any council);
`params/northfield-example.yaml` runs notebooks 01 and 02 on it.

Sites are data: `site` is any lower-case identifier (`northfield`, `north_field`); the
analyses take their site, teams, go-live and windows from parameters. A site written with
capitals or spaces (`North Field`) is reported with its identifier form (`north_field`).
"""

_POSTSCRIPT = """\
## Notes

- `repeat_request` marks the *later* request: the person returned within 12 months of an earlier
  episode ending. The repeat share of a period is repeat requests / all requests in it.
- Harrow Table 1b's Old Locality Team non-Covid rows (increases, decreases, no change, ongoing,
  excluded) sum to 460 while its printed total is 462. The synthetic reviews reproduce the row
  counts (460 people); the aggregated table therefore shows 460 as the total.
- Review costs follow Harrow's method: gross weekly long-term care cost one day before the
  conversation started and 30 days after it ended; a review's weekly change is
  `weekly_cost_after_gbp - weekly_cost_before_gbp` and is counted as an increase, a decrease or
  no change only when the status is `completed`.
"""


def _column_table(schema: pa.DataFrameSchema, kind: str) -> list[str]:
    lines = [
        "| column | type | required | empty allowed | unique | allowed values | unit "
        "| description |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, col in schema.columns.items():
        meta = col.metadata
        required = "no" if name in OPTIONAL_COLUMNS[kind] else "yes"
        cells = [
            f"`{name}`",
            _KIND_WORDS[meta["kind"]],
            required,
            "yes" if col.nullable else "no",
            "yes" if col.unique else "no",
            meta["allowed"] or "—",
            meta["unit"] or "—",
            col.description or "",
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def schema_markdown() -> str:
    """Markdown documentation of every column and cross-column rule (the text of data/README.md)."""
    out = [_PREAMBLE]
    for kind, schema in SCHEMAS.items():
        out.append(f"## `{kind}` — {schema.description}\n")
        out.extend(_column_table(schema, kind))
        rules = [f"- {r.text} → reported in `{r.column}`" for r in rules_for(kind)]
        if schema.unique:
            rules.append(
                "- each combination of "
                + ", ".join(f"`{c}`" for c in schema.unique)
                + " appears once"
            )
        out.append("")
        if rules:
            out.append("Rules across columns (each offending row is reported):\n")
            out.extend(rules)
            out.append("")
    out.append(_POSTSCRIPT)
    return "\n".join(out)


def write_schema_markdown(path: Path | str | None = None) -> Path:
    """Write schema_markdown() to data/README.md (or `path`); returns the path written."""
    from study.config import DATA_DIR

    target = Path(path) if path is not None else DATA_DIR / "README.md"
    target.write_text(schema_markdown(), encoding="utf-8")
    return target


if __name__ == "__main__":  # pragma: no cover - regeneration entry point
    write_schema_markdown()
