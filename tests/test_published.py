"""Published figures: dataset contents, loader validation, published arithmetic, provenance."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from study import config
from study.data import package, published
from study.errors import StudyInputError

PUB = config.PUBLISHED_DIR
SEEDS_PRESENT = (config.SEEDS_DIR / "README.md").is_file()

# The figure_ids other modules code against, with the value as published.
REQUIRED_FIGURES = {
    "bham_conversations_6m": 1497,
    "bham_share_c1": 70,
    "bham_share_c2": 10,
    "bham_share_c3": 20,
    "bham_long_term_reduction": 36,
    "harrow_lt_starts_2018_09": 8.3,
    "harrow_lt_starts_2019_03": 7.2,
    "harrow_lt_starts_2019_09": 6.1,
    "harrow_lt_starts_2020_03": 5.5,
    "harrow_lt_starts_2021_03": 7.2,
    "harrow_repeat_share_before": 33,
    "harrow_repeat_share_after": 25,
    "harrow_requests_increase_2020_21": 20,
    "harrow_c3_share_pre_covid": 9,
    "harrow_c3_share_covid": 16,
    "harrow_cost_avoided_2019_20": 696000,
    "harrow_cost_avoided_headline": 700000,
    "harrow_cost_avoided_full_year": 1000000,
    "harrow_reviews_full_year_saving": 450000,
    "harrow_reviews_old_annual_add": 550000,
    "harrow_reviews_new_annual_add": 100000,
}
REQUIRED_QUALIFIERS = {
    "harrow_cost_avoided_headline": "approx",
    "harrow_cost_avoided_full_year": "up_to",
    "harrow_reviews_full_year_saving": ">",
    "harrow_reviews_old_annual_add": ">",
    "harrow_reviews_new_annual_add": "<",
}


@pytest.fixture(scope="module")
def tables() -> pd.DataFrame:
    return published.load_review_tables()


@pytest.fixture(scope="module")
def checks(figures, tables) -> pd.DataFrame:
    return published.check_published_arithmetic(figures, tables)


def _check(checks: pd.DataFrame, pattern: str) -> pd.Series:
    hit = checks[checks["check"].str.contains(pattern, regex=False)]
    assert len(hit) == 1, (pattern, hit["check"].tolist())
    return hit.iloc[0]


# ------------------------------------------------------------------ dataset contents


def test_figure_ids_unique_and_snake_case(figures):
    assert figures["figure_id"].is_unique
    assert figures["figure_id"].str.fullmatch(r"[a-z][a-z0-9_]*").all()


@pytest.mark.parametrize(("figure_id", "value"), sorted(REQUIRED_FIGURES.items()))
def test_required_figures_have_published_values(figures, figure_id, value):
    assert published.figure_value(figure_id, figures) == pytest.approx(value)


def test_required_qualifiers_units_and_denominators(figures):
    by_id = figures.set_index("figure_id")
    for fid, qual in REQUIRED_QUALIFIERS.items():
        assert by_id.loc[fid, "qualifier"] == qual, fid
    assert by_id.loc["harrow_lt_starts_2020_03", "unit"] == "people_per_week"
    assert by_id.loc["harrow_cost_avoided_2019_20", "unit"] == "gbp"
    for i in (1, 2, 3):
        assert by_id.loc[f"bham_share_c{i}", "denominator"] == 1497
    assert pd.isna(by_id.loc["harrow_repeat_share_before", "denominator"])
    period = by_id.loc["harrow_requests_increase_2020_21"]
    assert (period["period_start"], period["period_end"]) == (
        pd.Timestamp("2020-04-01"),
        pd.Timestamp("2021-03-31"),
    )


def test_restatements_point_to_primary_rows(figures):
    restated = figures.dropna(subset=["restates"])
    primaries = set(figures.loc[figures["restates"].isna(), "figure_id"])
    assert set(restated["restates"]) <= primaries
    # 7.2 is stated "by March 2019" and "back at the beginning of April 2019"
    assert "harrow_lt_starts_2019_03" in set(restated["restates"])


def test_csv_headers_follow_datapackage():
    package = json.loads((PUB / "datapackage.json").read_text(encoding="utf-8"))
    assert {r["name"] for r in package["resources"]} == {
        "figures",
        "events",
        "harrow_reviews_tables",
        "national_figures",
    }
    for res in package["resources"]:
        with (PUB / res["path"]).open(encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh))
        assert header == [f["name"] for f in res["schema"]["fields"]], res["name"]
        for field in res["schema"]["fields"]:
            assert field.get("description"), (res["name"], field["name"])


def test_review_tables_as_read(tables):
    blocks = published.review_blocks(tables).set_index(["table", "team"])
    expected = {
        ("1a", "innovation_site"): (88, -24, -46000, 5, 3, 29, 45, 6),
        ("1a", "old_locality_team"): (80, 74, 219000, 22, 7, 28, 6, 17),
        ("1b", "innovation_site"): (414, 11, 143000, 26, 11, 215, 146, 16),
        ("1b", "old_locality_team"): (462, 19, 353000, 99, 27, 235, 3, 96),
    }
    cols = ["total", "avg_weekly_change_gbp", "full_year_budget_impact_gbp"]
    cols += ["increases", "decreases", "no_change", "ongoing", "excluded"]
    for key, values in expected.items():
        assert tuple(blocks.loc[key, cols]) == values, key
    assert blocks.loc[("1a", "innovation_site"), "completed"] == 37
    assert len(tables) == 32


def test_innovation_timings_machine_readable(events):
    start, end = published.event_dates("harrow_site1_start", events)
    assert (start, end) == (pd.Timestamp("2019-06-01"), pd.Timestamp("2019-06-30"))
    start, _ = published.event_dates("harrow_site3_start", events)
    assert start == pd.Timestamp("2020-08-01")
    site2 = events.set_index("event_id").loc["harrow_site2_start"]
    assert site2["basis"] == "inferred"
    assert site2["date_start"] < site2["date_end"] <= pd.Timestamp("2020-03-31")


# ------------------------------------------------------------------ published arithmetic


def test_impact_known_answer_table_1a_innovation(checks):
    row = _check(checks, "Table 1a innovation_site (Aug-Nov 2020): full-year impact")
    assert row["recomputed"] == 37 * -24 * 52 == -46176
    assert row["published"] == -46000
    assert row["tolerance"] == 37 * 0.5 * 52 + 500
    assert row["status"] == "ok"


def test_all_four_impacts_within_rounding(checks):
    rows = checks[checks["check"].str.contains("full-year impact")]
    assert len(rows) == 4
    assert (rows["status"] == "ok").all()
    assert (rows["difference"].abs() <= rows["tolerance"]).all()


def test_old_non_covid_total_discrepancy_flagged(checks):
    row = _check(checks, "Table 1b old_locality_team (Apr-Jul 2020): outcome rows sum")
    assert (row["published"], row["recomputed"], row["difference"]) == (462, 460, -2)
    assert row["status"] == "discrepancy"
    # the only discrepancy in the two documents
    assert checks.loc[checks["status"] != "ok", "check"].tolist() == [row["check"]]


def test_text_bounds_from_tables(checks):
    old = _check(checks, "old way adds more than £550,000")
    new = _check(checks, "3Cs adds less than £100,000")
    saving = _check(checks, "saving of more than £450k")
    assert old["recomputed"] == 219000 + 353000
    assert new["recomputed"] == -46000 + 143000
    assert saving["recomputed"] == 572000 - 97000
    assert (old["status"], new["status"], saving["status"]) == ("ok", "ok", "ok")


def test_birmingham_shares_sum(checks):
    row = _check(checks, "Birmingham: shares")
    assert row["recomputed"] == 100 and row["status"] == "ok"


def test_stated_changes_relative(figures):
    changes = published.published_changes(figures).set_index(["from_id", "to_id"])
    rel = changes.loc[("harrow_lt_starts_2019_03", "harrow_lt_starts_2020_03"), "relative_change"]
    assert rel == pytest.approx(5.5 / 7.2 - 1)
    assert 1 - 5.5 / 7.2 == pytest.approx(0.2361, abs=1e-4)


def test_words_restatement_within_rounding(checks):
    row = _check(checks, "harrow_repeat_share_before_summary = harrow_repeat_share_before")
    assert row["difference"] == pytest.approx(0.33)
    assert row["tolerance"] == 0.5 and row["status"] == "ok"


def test_arithmetic_columns(checks):
    assert list(checks.columns) == published.ARITHMETIC_COLUMNS
    assert set(checks["status"]) <= {"ok", "discrepancy"}


def test_arithmetic_flags_a_broken_impact(figures, tables):
    broken = tables.copy()
    sel = (
        (broken["table"] == "1a")
        & (broken["team"] == "innovation_site")
        & (broken["quantity"] == "full_year_budget_impact_gbp")
    )
    broken.loc[sel, "value"] = -60000.0
    checks = published.check_published_arithmetic(figures, broken)
    row = _check(checks, "Table 1a innovation_site (Aug-Nov 2020): full-year impact")
    assert row["status"] == "discrepancy"


# ------------------------------------------------------------------ provenance


@pytest.mark.skipif(not SEEDS_PRESENT, reason="../shared/seeds is not available")
def test_every_quote_found_verbatim_in_seeds(figures, events, tables):
    result = published.verify_quotes(figures=figures, events=events, tables=tables)
    missing = result.loc[~result["found"], ["resource", "id"]].values.tolist()
    assert missing == []
    assert len(result) == len(figures) + len(events) + len(tables)


@pytest.mark.skipif(not SEEDS_PRESENT, reason="../shared/seeds is not available")
def test_verify_quotes_detects_a_changed_quote(figures, events, tables):
    bad = figures.copy()
    bad.loc[bad["figure_id"] == "harrow_lt_starts_2020_03", "quote"] = "fell to 4.5 people per week"
    result = published.verify_quotes(figures=bad, events=events, tables=tables)
    assert result.loc[~result["found"], "id"].tolist() == ["harrow_lt_starts_2020_03"]


def test_verify_quotes_missing_seeds_dir(tmp_path, figures, events, tables):
    with pytest.raises(StudyInputError, match="seeds folder"):
        published.verify_quotes(figures, events, tables, seeds_dir=tmp_path / "nope")


# ------------------------------------------------------------------ look-ups


def test_figure_value_unknown_id_suggests(figures):
    with pytest.raises(StudyInputError, match=r"unknown figure_id 'bham_share_c4'.*bham_share_c"):
        published.figure_value("bham_share_c4", figures)


def test_figure_table_keeps_order(figures):
    ids = ["harrow_lt_starts_2020_03", "bham_share_c1"]
    assert published.figure_table(ids, figures)["figure_id"].tolist() == ids
    with pytest.raises(StudyInputError, match="unknown figure_id"):
        published.figure_table(["nope"], figures)


# ------------------------------------------------------------------ loader validation


def _read_rows(name: str) -> list[list[str]]:
    with (PUB / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return path


def _broken_figures(tmp_path: Path, edit) -> Path:
    rows = _read_rows("figures.csv")
    edit(rows)
    return _write_rows(tmp_path / "figures.csv", rows)


def _set(rows: list[list[str]], line: int, column: str, value: str) -> None:
    """Set a cell by CSV line number (header = line 1)."""
    rows[line - 1][rows[0].index(column)] = value


def test_missing_column_named(tmp_path):
    def drop_value(rows):
        i = rows[0].index("value")
        for r in rows:
            del r[i]

    path = _broken_figures(tmp_path, drop_value)
    with pytest.raises(StudyInputError) as exc:
        published.load_figures(path)
    msg = str(exc.value)
    assert "figures.csv line 1, column 'value'" in msg and "missing" in msg
    assert "\n" not in msg


def test_non_numeric_value_named(tmp_path):
    path = _broken_figures(tmp_path, lambda rows: _set(rows, 7, "value", "abc"))
    with pytest.raises(StudyInputError) as exc:
        published.load_figures(path)
    assert str(exc.value) == f"{path} line 7, column 'value': 'abc' is not a number"


@pytest.mark.parametrize(
    ("line", "column", "text", "problem"),
    [
        (3, "qualifier", "about", "is not one of"),
        (4, "site", "london", "is not one of"),
        (5, "period_end", "2019-02-30", "not a valid calendar date"),
        (6, "period_start", "March 2019", "not an ISO date"),
        (8, "figure_id", "Bad-Id", "does not match the pattern"),
        (9, "quote", "", "required but empty"),
        (10, "denominator", "-5", "below the minimum"),
        (11, "restates", "no_such_figure", "does not match any figure_id"),
        (12, "source_file", "999_unknown.txt", "is not one of"),
    ],
)
def test_cell_errors_named(tmp_path, line, column, text, problem):
    path = _broken_figures(tmp_path, lambda rows: _set(rows, line, column, text))
    with pytest.raises(StudyInputError, match=re.escape(problem)) as exc:
        published.load_figures(path)
    assert f"figures.csv line {line}, column '{column}'" in str(exc.value)


def test_duplicate_id_names_both_lines(tmp_path):
    def dup(rows):
        _set(rows, 9, "figure_id", rows[2][0])

    path = _broken_figures(tmp_path, dup)
    with pytest.raises(StudyInputError, match=r"line 9, column 'figure_id'.*first used on line 3"):
        published.load_figures(path)


def test_period_order_checked(tmp_path):
    def swap(rows):
        line = next(i for i, r in enumerate(rows, 1) if r[0] == "harrow_requests_increase_2020_21")
        _set(rows, line, "period_start", "2022-01-01")

    path = _broken_figures(tmp_path, swap)
    with pytest.raises(StudyInputError, match="column 'period_end'.*is before period_start"):
        published.load_figures(path)


def test_undeclared_column_and_short_row(tmp_path):
    path = _broken_figures(tmp_path, lambda rows: rows[0].__setitem__(-1, "extra"))
    with pytest.raises(StudyInputError, match="line 1, column 'extra': column is not declared"):
        published.load_figures(path)
    path = _broken_figures(tmp_path, lambda rows: rows[4].pop())
    with pytest.raises(StudyInputError, match=r"line 5: expected 14 cells, found 13"):
        published.load_figures(path)


def test_missing_file_named(tmp_path):
    with pytest.raises(StudyInputError, match="nothing.csv: file not found"):
        published.load_figures(tmp_path / "nothing.csv")


def test_review_table_count_and_printed_text(tmp_path):
    rows = _read_rows("harrow_reviews_tables.csv")
    _set(rows, 5, "value", "5.5")  # an outcome count
    path = _write_rows(tmp_path / "harrow_reviews_tables.csv", rows)
    with pytest.raises(
        StudyInputError, match="line 5, column 'value': a count must be a non-negative whole"
    ):
        published.load_review_tables(path)
    rows = _read_rows("harrow_reviews_tables.csv")
    _set(rows, 4, "value", "-45000")  # printed as -£46,000
    path = _write_rows(tmp_path / "harrow_reviews_tables.csv", rows)
    with pytest.raises(StudyInputError, match="line 4, column 'value'.*-£46,000"):
        published.load_review_tables(path)


def test_event_dates_required_when_stated(tmp_path):
    rows = _read_rows("events.csv")
    line = next(i for i, r in enumerate(rows, 1) if r[0] == "harrow_site1_start")
    _set(rows, line, "date_end", "")
    path = _write_rows(tmp_path / "events.csv", rows)
    with pytest.raises(StudyInputError, match=f"line {line}, column 'date_start'.*both dates"):
        published.load_events(path)


def _not_a_number(text: str) -> bool:
    try:
        return not math.isfinite(float(text))
    except ValueError:
        return True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1
    ).filter(lambda s: s.strip() != "" and _not_a_number(s)),
    data=st.data(),
)
def test_any_non_number_in_value_is_located(tmp_path_factory, text, data):
    rows = _read_rows("figures.csv")
    line = data.draw(st.integers(min_value=2, max_value=len(rows)), label="line")
    _set(rows, line, "value", text)
    path = _write_rows(tmp_path_factory.mktemp("fig") / "figures.csv", rows)
    with pytest.raises(StudyInputError) as exc:
        published.load_figures(path)
    assert f"line {line}, column 'value'" in str(exc.value)


# ------------------------------------------------------------------ datapackage.json -> pandera


def _resource(name: str) -> dict:
    _, descriptor = package.load_package()
    return next(r for r in descriptor["resources"] if r["name"] == name)


def test_resource_schema_follows_the_descriptor():
    res = _resource("figures")
    schema = package.resource_schema(res)
    assert list(schema.columns) == [f["name"] for f in res["schema"]["fields"]]
    assert schema.strict and schema.unique_column_names
    figure_id = schema.columns["figure_id"]
    assert figure_id.unique and not figure_id.nullable and figure_id.coerce
    assert str(schema.columns["value"].dtype) == "Float64"  # 'NaN' stays apart from ''
    assert schema.columns["denominator"].nullable
    assert [c.error for c in schema.columns["denominator"].checks] == ["finite", "minimum"]
    assert [c.error for c in schema.columns["figure_id"].checks] == ["pattern"]
    assert len(schema.checks) == 1  # the foreign key restates -> figure_id
    tables = package.resource_schema(_resource("harrow_reviews_tables"))
    assert tables.unique == ["table", "team", "row", "quantity"]


def test_loaded_columns_and_types(figures):
    assert list(figures.columns) == [f["name"] for f in _resource("figures")["schema"]["fields"]]
    assert figures["value"].dtype == "float64" and figures["denominator"].dtype == "float64"
    assert figures["period_start"].dtype.kind == "M"


def test_every_problem_is_collected_and_counted(tmp_path):
    def three(rows):
        _set(rows, 9, "value", "x")
        _set(rows, 4, "site", "york")
        _set(rows, 6, "denominator", "inf")

    path = _broken_figures(tmp_path, three)
    with pytest.raises(StudyInputError) as exc:
        published.load_figures(path)
    assert str(exc.value) == (
        f"{path} line 4, column 'site': 'york' is not one of ['birmingham', 'harrow'] "
        "(and 2 more problems in the file)"
    )


@pytest.mark.parametrize("text", ["inf", "-inf", "NaN"])
def test_non_finite_number_named(tmp_path, text):
    path = _broken_figures(tmp_path, lambda rows: _set(rows, 6, "denominator", text))
    with pytest.raises(
        StudyInputError, match=f"line 6, column 'denominator': '{text}' is not a finite number"
    ):
        published.load_figures(path)
    path = _broken_figures(tmp_path, lambda rows: _set(rows, 6, "denominator", ""))
    assert pd.isna(published.load_figures(path)["denominator"].iloc[6 - 2])


def test_primary_key_repeat_names_both_lines(tmp_path):
    rows = _read_rows("harrow_reviews_tables.csv")
    rows.append(list(rows[3]))
    path = _write_rows(tmp_path / "harrow_reviews_tables.csv", rows)
    with pytest.raises(StudyInputError) as exc:
        published.load_review_tables(path)
    assert str(exc.value) == (
        f"{path} line {len(rows)}, column 'table, team, row, quantity': primary key "
        "('1a', 'innovation_site', 'total', 'full_year_budget_impact_gbp') repeats line 4"
    )


def test_header_problem_comes_before_a_broken_row(tmp_path):
    def both(rows):
        rows[0][-1] = "extra"
        rows[4].pop()

    path = _broken_figures(tmp_path, both)
    with pytest.raises(StudyInputError, match="line 1, column 'extra': column is not declared"):
        published.load_figures(path)


def test_unsupported_descriptor_feature_named(tmp_path):
    descriptor = json.loads((PUB / "datapackage.json").read_text(encoding="utf-8"))
    figures = next(r for r in descriptor["resources"] if r["name"] == "figures")
    figures["schema"]["fields"][2]["constraints"]["maxLength"] = 80
    pkg = tmp_path / "datapackage.json"
    pkg.write_text(json.dumps(descriptor), encoding="utf-8")
    with pytest.raises(
        StudyInputError,
        match="datapackage.json: resource 'figures': field 'measure': constraint 'maxLength'",
    ):
        published.load_figures(package_path=pkg)


def test_sources_name_the_figures_and_their_documents(figures):
    text = published.figures_source(["bham_share_c1", "harrow_repeat_share_after"], figures)
    doc_b = published.figure_table(["bham_share_c1"], figures)["source_file"].iloc[0]
    doc_h = published.figure_table(["harrow_repeat_share_after"], figures)["source_file"].iloc[0]
    assert text == (
        "data/published/figures.csv: bham_share_c1, harrow_repeat_share_after "
        f"(quoted from {', '.join(sorted({doc_b, doc_h}))})"
    )
    with pytest.raises(StudyInputError, match="unknown figure_id"):
        published.figures_source(["no_such_figure"], figures)
    tables = published.load_review_tables()
    assert published.review_tables_source(tables).startswith(
        "data/published/harrow_reviews_tables.csv: Tables 1a, 1b (from 004_"
    )
