"""Published figures: validated loaders and a re-check of the published arithmetic.

The CSVs in `data/published/` are described by `data/published/datapackage.json` (Frictionless
Data Package). The loaders validate each file with the pandera schema `study.data.package` builds
from that description (columns, types, enums, patterns, minimum, unique keys, self-references)
plus a few rules across columns (period start before end, whole-number counts, the value as
printed, source files listed in `../shared/seeds/README.md`), all in one lazy pass.

Line numbers in error messages are physical lines of the CSV file with the header as line 1, so
the first data row is line 2 (as shown by an editor or `sed -n 2p`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from study import config
from study.data.package import PACKAGE_FILE, RowRule, read_resource
from study.errors import StudyInputError
from study.tidy import WEEKS_PER_YEAR, full_year_impact_gbp, gbp_pounds

__all__ = [
    "FIGURES_FILE",
    "EVENTS_FILE",
    "REVIEW_TABLES_FILE",
    "PACKAGE_FILE",
    "STATED_CHANGES",
    "ARITHMETIC_COLUMNS",
    "load_figures",
    "load_events",
    "load_review_tables",
    "figure_value",
    "figure_table",
    "event_dates",
    "figures_source",
    "review_tables_source",
    "review_blocks",
    "published_changes",
    "check_published_arithmetic",
    "verify_quotes",
]

FIGURES_FILE = "figures.csv"
EVENTS_FILE = "events.csv"
REVIEW_TABLES_FILE = "harrow_reviews_tables.csv"

ARITHMETIC_COLUMNS = [
    "check",
    "published",
    "recomputed",
    "difference",
    "tolerance",
    "status",
    "note",
]
OUTCOME_ROWS = ["increases", "decreases", "no_change", "ongoing", "excluded"]
COMPLETED_ROWS = ["increases", "decreases", "no_change"]

# Changes the documents state in words ("fell from 7.2 to 5.5"): (from_id, to_id, direction,
# wording). No percentage change is published for any of them; the relative change is derived.
STATED_CHANGES: tuple[tuple[str, str, str, str], ...] = (
    (
        "harrow_lt_starts_2018_09",
        "harrow_lt_starts_2019_03",
        "decrease",
        "8.3 per week by September 2018 ... reduced to 7.2 per week by March 2019",
    ),
    (
        "harrow_lt_starts_2019_03",
        "harrow_lt_starts_2019_09",
        "decrease",
        "has reduced from 7.2 to 6.1",
    ),
    (
        "harrow_lt_starts_2019_09",
        "harrow_lt_starts_2020_03",
        "decrease",
        "fell to 5.5 people per week at the end of March 2020 (from 6.1 at mid-year ...)",
    ),
    (
        "harrow_lt_starts_2019_03",
        "harrow_lt_starts_2020_03",
        "decrease",
        "falling from 7.2 to 5.5 people per week",
    ),
    (
        "harrow_lt_starts_2020_03",
        "harrow_lt_starts_2021_03",
        "increase",
        "increased from 5.5 people per week back to 7.2 people per week by March 2021",
    ),
    (
        "harrow_repeat_share_before",
        "harrow_repeat_share_after",
        "decrease",
        "fell from 33% to 25%",
    ),
    (
        "harrow_c3_share_pre_covid",
        "harrow_c3_share_covid",
        "increase",
        "more conversations went to Conversation Three (16%, compared to 9% before the pandemic)",
    ),
)


# --------------------------------------------------------------------------------------------
# Loaders: datapackage.json (pandera, via study.data.package) plus the rules below
# --------------------------------------------------------------------------------------------


def _seed_files_listed() -> set[str] | None:
    """File names listed in ../shared/seeds/README.md (None when that README is absent)."""
    readme = config.SEEDS_DIR / "README.md"
    if not readme.is_file():
        return None
    return set(re.findall(r"`([^`\s]+\.txt)`", readme.read_text(encoding="utf-8")))


def _sources_listed() -> list[RowRule]:
    """source_file is listed in the seeds README (no rule when ../shared/seeds is absent)."""
    listed = _seed_files_listed()
    if listed is None:
        return []
    return [
        RowRule(
            "source_file",
            ("source_file",),
            lambda f: f["source_file"].isin(listed),
            lambda c: f"{c['source_file']!r} is not listed in the seeds README",
        )
    ]


def _in_order(start: str, end: str) -> RowRule:
    """start <= end when both are stated."""
    return RowRule(
        end,
        (start, end),
        lambda f: ~(f[end] < f[start]),
        lambda c: f"{end} {c[end]} is before {start} {c[start]}",
    )


def load_figures(
    path: str | Path | None = None, *, package_path: str | Path | None = None
) -> pd.DataFrame:
    """Read and validate `figures.csv` (default: `config.PUBLISHED_DIR`).

    Validated against the `figures` resource of datapackage.json, plus: period_start <=
    period_end; source_file listed in the seeds README (when ../shared/seeds is present).
    Numbers are float, dates datetime64 (NaT when not stated), missing strings NaN.
    """
    rules = [_in_order("period_start", "period_end"), *_sources_listed()]
    return read_resource(path, "figures", package_path, rules=rules)[0]


def load_events(
    path: str | Path | None = None, *, package_path: str | Path | None = None
) -> pd.DataFrame:
    """Read and validate `events.csv`: dated events and windows (innovation site timings).

    Validated against the `events` resource of datapackage.json, plus: date_start <= date_end;
    a 'stated' or 'inferred' event has both dates; source_file listed in the seeds README.
    """
    both_dates = RowRule(
        "date_start",
        ("basis", "date_start", "date_end"),
        lambda f: (f["basis"] == "not_stated") | (f["date_start"].notna() & f["date_end"].notna()),
        lambda c: f"a {c['basis']!r} event needs both dates",
    )
    rules = [_in_order("date_start", "date_end"), both_dates, *_sources_listed()]
    return read_resource(path, "events", package_path, rules=rules)[0]


def _is_count(f: pd.DataFrame) -> pd.Series:
    value = f["value"].astype(float)
    return (f["quantity"] != "count") | ((value >= 0) & (value == np.floor(value)))


def _matches_printed(f: pd.DataFrame) -> pd.Series:
    printed = f["published_text"].str.replace(r"[£,+\s]", "", regex=True)
    return pd.to_numeric(printed, errors="coerce").astype(float) == f["value"].astype(float)


def load_review_tables(
    path: str | Path | None = None, *, package_path: str | Path | None = None
) -> pd.DataFrame:
    """Read and validate `harrow_reviews_tables.csv` (Harrow Tables 1a/1b, one row per cell).

    Validated against the `harrow_reviews_tables` resource of datapackage.json, plus: counts
    are non-negative whole numbers; the value is the number printed in published_text;
    period_start <= period_end; source_file listed in the seeds README.
    """
    rules = [
        RowRule(
            "value",
            ("quantity", "value"),
            _is_count,
            lambda c: f"a count must be a non-negative whole number, got {c['value']}",
        ),
        RowRule(
            "value",
            ("value", "published_text"),
            _matches_printed,
            lambda c: f"{c['value']} does not match published_text {c['published_text']!r}",
        ),
        _in_order("period_start", "period_end"),
        *_sources_listed(),
    ]
    return read_resource(path, "harrow_reviews_tables", package_path, rules=rules)[0]


# --------------------------------------------------------------------------------------------
# Look-ups
# --------------------------------------------------------------------------------------------


def _unknown(kind: str, wanted: str, known: Iterable[str], file: str) -> StudyInputError:
    close = difflib.get_close_matches(wanted, list(known), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return StudyInputError(f"unknown {kind} {wanted!r} (not in data/published/{file}){hint}")


def figure_value(figure_id: str, figures: pd.DataFrame) -> float:
    """The published value of one figure (as in figures.csv, in its `unit`)."""
    hit = figures.loc[figures["figure_id"] == figure_id, "value"]
    if hit.empty:
        raise _unknown("figure_id", figure_id, figures["figure_id"], FIGURES_FILE)
    return float(hit.iloc[0])


def figure_table(ids: Iterable[str], figures: pd.DataFrame) -> pd.DataFrame:
    """The rows of figures.csv for the given ids, in the order given (unknown id: error)."""
    ids = list(ids)
    indexed = figures.set_index("figure_id", drop=False)
    for fid in ids:
        if fid not in indexed.index:
            raise _unknown("figure_id", fid, figures["figure_id"], FIGURES_FILE)
    return indexed.loc[ids].reset_index(drop=True)


def figures_source(ids: Iterable[str], figures: pd.DataFrame) -> str:
    """The `source` of estimates built from published figures (estimates.csv): 'data/published/
    figures.csv: <ids> (quoted from <source documents>)'; unknown ids raise."""
    rows = figure_table(ids, figures)
    documents = ", ".join(sorted(rows["source_file"].unique()))
    return (
        f"data/published/{FIGURES_FILE}: {', '.join(rows['figure_id'])} (quoted from {documents})"
    )


def review_tables_source(tables: pd.DataFrame) -> str:
    """The `source` of estimates built from the review tables: 'data/published/
    harrow_reviews_tables.csv: Tables 1a, 1b (from <source documents>)'."""
    names = ", ".join(sorted(tables["table"].astype(str).unique()))
    documents = ", ".join(sorted(tables["source_file"].unique()))
    return f"data/published/{REVIEW_TABLES_FILE}: Tables {names} (from {documents})"


def event_dates(event_id: str, events: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(date_start, date_end) of one event in events.csv; NaT where the text gives no date."""
    hit = events.loc[events["event_id"] == event_id]
    if hit.empty:
        raise _unknown("event_id", event_id, events["event_id"], EVENTS_FILE)
    row = hit.iloc[0]
    return row["date_start"], row["date_end"]


def review_blocks(tables: pd.DataFrame) -> pd.DataFrame:
    """One row per block of Tables 1a/1b (table x team) with every published cell as a column.

    Adds `outcome_sum` (sum of the five outcome rows, to compare with `total`) and `completed`
    (increases + decreases + no change: the conversations the average and impact refer to).
    """
    keys = ["table", "covid_status", "team", "period", "period_start", "period_end"]
    counts = tables[tables["quantity"] == "count"].pivot_table(
        index=keys, columns="row", values="value", aggfunc="first", sort=False
    )
    money = tables[tables["quantity"] != "count"].pivot_table(
        index=keys, columns="quantity", values="value", aggfunc="first", sort=False
    )
    wide = counts.join(money).reset_index()
    wide.columns.name = None
    for col in ["total", *OUTCOME_ROWS, "avg_weekly_change_gbp", "full_year_budget_impact_gbp"]:
        if col not in wide:
            raise StudyInputError(f"Harrow review tables lack the cells {col!r} for some block")
    wide["outcome_sum"] = wide[OUTCOME_ROWS].sum(axis=1)
    wide["completed"] = wide[COMPLETED_ROWS].sum(axis=1)
    return wide[
        [
            *keys,
            "total",
            *OUTCOME_ROWS,
            "outcome_sum",
            "completed",
            "avg_weekly_change_gbp",
            "full_year_budget_impact_gbp",
        ]
    ]


def published_changes(figures: pd.DataFrame) -> pd.DataFrame:
    """The changes the documents state in words, with the derived absolute and relative change.

    relative_change = to_value / from_value - 1 (e.g. 5.5 / 7.2 - 1 = -0.236); no percentage
    change is published for any of them.
    """
    rows = []
    for from_id, to_id, direction, wording in STATED_CHANGES:
        a, b = figure_value(from_id, figures), figure_value(to_id, figures)
        rows.append(
            {
                "from_id": from_id,
                "to_id": to_id,
                "from_value": a,
                "to_value": b,
                "absolute_change": b - a,
                "relative_change": b / a - 1,
                "stated_direction": direction,
                "wording": wording,
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Arithmetic
# --------------------------------------------------------------------------------------------


def _half_unit(value: float, qualifier: str) -> float:
    """Half the last published digit: 7.2 -> 0.05, 33 -> 0.5, 700000 ('approx') -> 50000.

    Trailing zeros of a whole number count as rounding only for 'approx' figures.
    """
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    if qualifier != "approx":
        exponent = min(exponent, 0)
    return 0.5 * 10.0**exponent


def _row(
    check: str,
    published: float,
    recomputed: float,
    tolerance: float,
    ok: bool,
    note: str,
) -> dict:
    return {
        "check": check,
        "published": float(published),
        "recomputed": float(recomputed),
        "difference": float(recomputed) - float(published),
        "tolerance": float(tolerance),
        "status": "ok" if ok else "discrepancy",
        "note": note,
    }


def check_published_arithmetic(figures: pd.DataFrame, tables: pd.DataFrame) -> pd.DataFrame:
    """Reproduce the arithmetic behind the published figures; flag what does not add up.

    Checks (difference = recomputed - published):
    - Tables 1a/1b, each block: the five outcome rows sum to the total (exact);
    - each block: impact = completed x average weekly change x 52, tolerance completed x 0.5 x 52
      (average rounded to the £) + 500 (impact rounded to the £1,000);
    - the text's bounds from the tables' impacts: old way (Apr-Jul) > £550k, new way (Aug-Nov)
      < £100k, saving (old - new) > £450k; tolerance = 500 per £1,000-rounded term, and the
      bound must hold beyond it;
    - Birmingham shares at Conversations 1/2/3 sum to 100 (three whole-percent roundings: 1.5);
    - restated figures agree within the rounding of the less precise statement;
    - stated changes have the stated direction (published = 0, recomputed = relative change);
    - the part-year cost avoidance does not exceed the full-year bound ('up to £1m').
    Status is 'ok' or 'discrepancy'; a discrepancy is reported, never corrected.
    """
    blocks = review_blocks(tables)
    rows: list[dict] = []

    for b in blocks.itertuples(index=False):
        label = f"Table {b.table} {b.team} ({b.period})"
        rows.append(
            _row(
                f"{label}: outcome rows sum to total",
                b.total,
                b.outcome_sum,
                0.0,
                b.outcome_sum == b.total,
                "increases + decreases + no change + ongoing + excluded = "
                f"{b.increases:.0f} + {b.decreases:.0f} + {b.no_change:.0f} + {b.ongoing:.0f}"
                f" + {b.excluded:.0f} = {b.outcome_sum:.0f}; published total {b.total:.0f}"
                + (
                    ""
                    if b.outcome_sum == b.total
                    else " - publication discrepancy (recorded, not corrected); which number"
                    " is wrong is unknown"
                ),
            )
        )
        recomputed = full_year_impact_gbp(b.completed, b.avg_weekly_change_gbp)
        tol = full_year_impact_gbp(b.completed, 0.5) + 500
        implied = b.full_year_budget_impact_gbp / (b.completed * WEEKS_PER_YEAR)
        rows.append(
            _row(
                f"{label}: full-year impact = completed x average weekly change x 52",
                b.full_year_budget_impact_gbp,
                recomputed,
                tol,
                abs(recomputed - b.full_year_budget_impact_gbp) <= tol,
                f"{b.completed:.0f} completed x {gbp_pounds(b.avg_weekly_change_gbp, plus=True)} "
                f"x 52 = {gbp_pounds(recomputed, plus=True)}; "
                f"tolerance {b.completed:.0f} x 0.5 x 52 + 500; "
                f"implied average = impact / (completed x 52) = {implied:+.2f} GBP per week",
            )
        )

    def impact(team: str, table: str) -> float:
        sel = blocks[(blocks["team"] == team) & (blocks["table"] == table)]
        return float(sel["full_year_budget_impact_gbp"].iloc[0])

    old = impact("old_locality_team", "1a") + impact("old_locality_team", "1b")
    new = impact("innovation_site", "1a") + impact("innovation_site", "1b")
    bound_old = figure_value("harrow_reviews_old_annual_add", figures)
    bound_new = figure_value("harrow_reviews_new_annual_add", figures)
    bound_saving = figure_value("harrow_reviews_full_year_saving", figures)
    rows.append(
        _row(
            "Harrow reviews: old way adds more than £550,000 a year (Tables 1a + 1b)",
            bound_old,
            old,
            1000.0,
            old - 1000 > bound_old,
            f"{gbp_pounds(impact('old_locality_team', '1a'))} + "
            f"{gbp_pounds(impact('old_locality_team', '1b'))} = {gbp_pounds(old)}; "
            "must exceed the bound beyond rounding",
        )
    )
    rows.append(
        _row(
            "Harrow reviews: 3Cs adds less than £100,000 a year (Tables 1a + 1b)",
            bound_new,
            new,
            1000.0,
            new + 1000 < bound_new,
            f"{gbp_pounds(impact('innovation_site', '1a'))} + "
            f"{gbp_pounds(impact('innovation_site', '1b'))} = {gbp_pounds(new)}; "
            "must stay below the bound beyond rounding",
        )
    )
    rows.append(
        _row(
            "Harrow reviews: full-year equivalent saving of more than £450k (old - new)",
            bound_saving,
            old - new,
            2000.0,
            old - new - 2000 > bound_saving,
            f"{gbp_pounds(old)} - {gbp_pounds(new)} = {gbp_pounds(old - new)}; "
            "four terms, each rounded to £1,000",
        )
    )

    shares = [figure_value(f"bham_share_c{i}", figures) for i in (1, 2, 3)]
    n = figure_value("bham_conversations_6m", figures)
    implied_counts = ", ".join(f"{s / 100 * n:.1f}" for s in shares)
    rows.append(
        _row(
            "Birmingham: shares completed at Conversations 1, 2, 3 sum to 100%",
            100.0,
            sum(shares),
            1.5,
            abs(sum(shares) - 100) <= 1.5,
            f"{' + '.join(f'{s:.0f}' for s in shares)} = {sum(shares):.0f}; "
            f"implied counts of {n:.0f}: {implied_counts}",
        )
    )

    restated = figures[figures["restates"].notna()]
    by_id = figures.set_index("figure_id")
    for r in restated.itertuples(index=False):
        primary = by_id.loc[r.restates]
        tol = max(
            _half_unit(primary["value"], primary["qualifier"]), _half_unit(r.value, r.qualifier)
        )
        rows.append(
            _row(
                f"restatement agrees: {r.figure_id} = {r.restates}",
                primary["value"],
                r.value,
                tol,
                abs(r.value - primary["value"]) <= tol,
                f"'{primary['period']}' vs '{r.period}'; tolerance = half the last published "
                "digit of the less precise statement",
            )
        )

    for c in published_changes(figures).itertuples(index=False):
        rel = c.relative_change
        ok = rel < 0 if c.stated_direction == "decrease" else rel > 0
        rows.append(
            _row(
                f"stated {c.stated_direction}: {c.from_id} -> {c.to_id}",
                0.0,
                rel,
                0.0,
                ok,
                f"'{c.wording}': {c.from_value:g} -> {c.to_value:g}, relative change "
                f"{c.to_value:g}/{c.from_value:g} - 1 = {rel:+.1%}, absolute "
                f"{c.absolute_change:+.2f}; no percentage change is published",
            )
        )

    def block(team: str, table: str):
        sel = blocks[(blocks["team"] == team) & (blocks["table"] == table)]
        return sel.iloc[0]

    for table, claim in (
        ("1a", "the Three Conversations approach resulted in fewer increases to long term care"),
        ("1b", "Table 1b show fewer and smaller increases to care being made"),
    ):
        new_b, old_b = block("innovation_site", table), block("old_locality_team", table)
        share_new = new_b["increases"] / new_b["completed"]
        share_old = old_b["increases"] / old_b["completed"]
        rows.append(
            _row(
                f"Table {table} claim: fewer increases with 3Cs (share of completed)",
                0.0,
                share_new - share_old,
                0.0,
                share_new < share_old,
                f"'{claim}': {new_b['increases']:.0f}/{new_b['completed']:.0f} = {share_new:.1%}"
                f" vs {old_b['increases']:.0f}/{old_b['completed']:.0f} = {share_old:.1%}",
            )
        )
    new_b, old_b = block("innovation_site", "1b"), block("old_locality_team", "1b")
    diff = new_b["avg_weekly_change_gbp"] - old_b["avg_weekly_change_gbp"]
    rows.append(
        _row(
            "Table 1b claim: smaller increases with 3Cs (average weekly change)",
            0.0,
            diff,
            0.0,
            diff < 0,
            f"'fewer and smaller increases': "
            f"{gbp_pounds(new_b['avg_weekly_change_gbp'], plus=True)} vs "
            f"{gbp_pounds(old_b['avg_weekly_change_gbp'], plus=True)} "
            "per completed conversation per week",
        )
    )
    avg_1a = block("innovation_site", "1a")["avg_weekly_change_gbp"]
    rows.append(
        _row(
            "Table 1a claim: net savings with Covid-recovering clients (average change < 0)",
            0.0,
            avg_1a,
            0.0,
            avg_1a < 0,
            "'Work with Covid-recovering clients even resulted in net savings on the care "
            f"packages originally set up': average weekly change {gbp_pounds(avg_1a, plus=True)}",
        )
    )

    part = figure_value("harrow_cost_avoided_2019_20", figures)
    full = figure_value("harrow_cost_avoided_full_year", figures)
    rows.append(
        _row(
            "Harrow: part-year cost avoidance (£696k) within the full-year bound (up to £1m)",
            full,
            part,
            0.0,
            part <= full,
            "unit costs behind either figure are not published, so neither can be recomputed",
        )
    )
    return pd.DataFrame(rows, columns=ARITHMETIC_COLUMNS)


# --------------------------------------------------------------------------------------------
# Provenance
# --------------------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def verify_quotes(
    figures: pd.DataFrame,
    events: pd.DataFrame,
    tables: pd.DataFrame,
    seeds_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Check that every quote is in its source text (whitespace-normalised, case-sensitive).

    Figures and events: `quote` must be a substring of the seed text. Table cells:
    `published_text` must be a whole line of the seed text. Returns one row per checked item
    with columns resource, id, source_file, text, found.
    """
    seeds = config.SEEDS_DIR if seeds_dir is None else config.resolve_path(seeds_dir)
    if not seeds.is_dir():
        raise StudyInputError(f"seeds folder {seeds} not found (needed to verify quotes)")

    cache: dict[str, tuple[str, set[str]]] = {}

    def source(name: str) -> tuple[str, set[str]]:
        if name not in cache:
            file = seeds / name
            if not file.is_file():
                raise StudyInputError(f"source file {file} not found")
            raw = file.read_text(encoding="utf-8")
            cache[name] = (_normalise(raw), {line.strip() for line in raw.splitlines()})
        return cache[name]

    rows = []
    for resource, frame, id_col in (
        ("figures", figures, "figure_id"),
        ("events", events, "event_id"),
    ):
        for r in frame.itertuples(index=False):
            text = r.quote
            found = _normalise(text) in source(r.source_file)[0]
            rows.append((resource, getattr(r, id_col), r.source_file, text, found))
    for r in tables.itertuples(index=False):
        item = f"{r.table}/{r.team}/{r.row}/{r.quantity}"
        found = r.published_text.strip() in source(r.source_file)[1]
        rows.append(("harrow_reviews_tables", item, r.source_file, r.published_text, found))
    return pd.DataFrame(rows, columns=["resource", "id", "source_file", "text", "found"])
