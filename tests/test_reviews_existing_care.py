"""Notebook 05's analyses: each section's table, view and sentence come from the numbers."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure

from study import reviews
from study.analyses import reviews_existing_care as care
from study.data.published import load_figures, review_tables_source
from study.data.synthetic import synthetic_reviews
from study.errors import StudyInputError


@pytest.fixture(scope="module")
def figures():
    return load_figures()


def with_count(tables: pd.DataFrame, table: str, team: str, row: str, value: float):
    """The review tables with one published count replaced (a what-if, not the publication)."""
    out = tables.copy()
    hit = (
        (out["table"] == table)
        & (out["team"] == team)
        & (out["row"] == row)
        & (out["quantity"] == "count")
    )
    assert hit.sum() == 1
    out.loc[hit, "value"] = value
    return out


def test_published_arithmetic_shows_the_review_checks_and_lists_the_flag(review_tables, figures):
    result = care.published_arithmetic(review_tables, figures)
    assert result.table.empty  # shown, not recorded
    checks = result.tables["checks"]
    assert len(checks) == len(result.view) == 15
    assert checks["check"].str.contains("Table 1|Harrow reviews").all()
    assert list(result.view.columns) == care.CHECK_COLUMNS
    flagged = checks[checks["status"] != "ok"]
    assert len(flagged) == 1
    assert result.text == f"{flagged['check'].iloc[0]}: {flagged['note'].iloc[0]}"
    assert "= 460; published total 462" in result.text
    # the same block with a total that matches its rows: nothing flagged
    fixed = with_count(review_tables, "1b", "old_locality_team", "total", 460)
    assert care.published_arithmetic(fixed, figures).text.startswith("No check")


def test_publication_gaps_sentence_from_the_gap_table(review_tables):
    result = care.publication_gaps(review_tables)
    gap = result.view
    assert gap[["team", "outcome_sum", "total"]].values.tolist() == [
        ["old_locality_team", 460, 462]
    ]
    assert result.text == (
        "Discrepancies flagged: 1 block(s) whose rows do not sum to the printed total: "
        "old_locality_team non_covid: rows 460 vs total 462."
    )
    moved = with_count(review_tables, "1a", "innovation_site", "total", 90)
    text = care.publication_gaps(moved).text
    assert text.startswith("Discrepancies flagged: 2 block(s)")
    assert "innovation_site covid: rows 88 vs total 90" in text
    fixed = with_count(review_tables, "1b", "old_locality_team", "total", 460)
    assert care.publication_gaps(fixed).text.startswith("Discrepancies flagged: none")


def test_volume_of_saving_sentence_from_the_saving_table(review_tables, figures):
    result = care.volume_of_saving(review_tables, figures)
    saving = result.tables["saving"].set_index("basis")
    assert result.table.empty
    published = saving.loc["published impacts", "saving_gbp"]
    equal = saving.loc["equal volume: old team's 418 completed reviews", "saving_gbp"]
    assert published == 475_000
    assert result.text == (
        "Published: the tables' impacts give a saving of £475,000 (recomputed from counts and "
        "averages £478,036), so the 'more than £450k' holds on the published basis; at equal "
        f"volume (418 completed reviews each) it would be £{equal:,.0f}, because the innovation "
        "site completed fewer reviews in its 4 months."
    )
    assert f"£{equal:,.0f}" == "£434,306"
    higher = care.volume_of_saving(review_tables, figures, claim_gbp=500_000)
    assert "'more than £500k' does not hold on the published basis" in higher.text
    restated = figures.copy()  # the claim and its months come from the published figures
    for figure_id, value in ((care.SAVING_CLAIM, 480_000), (care.SAVING_MONTHS, 5)):
        restated.loc[restated["figure_id"] == figure_id, "value"] = value
    text = care.volume_of_saving(review_tables, restated).text
    assert "'more than £480k' does not hold" in text and text.endswith("in its 5 months.")


def test_increase_risk_ratios_table_is_labelled_and_sentence_uses_it(review_tables):
    result = care.increase_risk_ratios(review_tables, alpha=0.05)
    t = result.table
    assert set(t["site"]) == {"harrow"} and set(t["data_kind"]) == {"published"}
    assert set(t["source"]) == {review_tables_source(review_tables)}
    bare = reviews.review_increase_risk_ratios(review_tables, alpha=0.05)
    pd.testing.assert_frame_equal(t[bare.columns], bare)  # the estimator's rows, in its order
    pooled = t[t["quantity"].str.contains("all: innovation vs old: risk ratio")].iloc[0]
    assert pooled["estimate"] == pytest.approx((31 / 289) / (121 / 418))
    bounds = result.tables["ongoing_bounds"]
    assert len(bounds) == 6
    assert bounds["quantity"].str.contains("completed + ongoing", regex=False).all()
    as_increase = reviews.review_increase_risk_ratios(review_tables, ongoing="as_increase")
    worst = as_increase[as_increase["quantity"].str.contains("all: innovation vs old: risk ratio")]
    worst = worst.iloc[0]
    assert worst["estimate"] == pytest.approx(((31 + 191) / (289 + 191)) / ((121 + 9) / (418 + 9)))
    assert result.text == (
        f"Completed reviews ending in an increase: risk ratio innovation / old "
        f"{pooled['estimate']:.2f} (95% CI {pooled['ci_low']:.2f} to {pooled['ci_high']:.2f}); "
        f"if every ongoing review ended in an increase it would be {worst['estimate']:.2f} "
        f"({worst['ci_low']:.2f} to {worst['ci_high']:.2f})."
    )
    assert "0.37 (95% CI 0.26 to 0.53)" in result.text and "it would be 1.52" in result.text
    assert "90% CI" in care.increase_risk_ratios(review_tables, alpha=0.1).text


@pytest.fixture(scope="module")
def cost_changes():
    records = care.ReviewRecords("my_reviews.csv", "user", synthetic_reviews())
    return records, care.cost_change_bootstrap(records, n_resamples=1000, alpha=0.05, seed=3)


def test_cost_change_bootstrap_table_figure_and_sentence(cost_changes):
    records, result = cost_changes
    t = result.table
    assert set(t["data_kind"]) == {"user"} and set(t["source"]) == {"my_reviews.csv"}
    assert len(t) == 3 * 6 * 2  # 3 strata x (2 means, 2 impacts, difference, saving) x 2 methods
    assert list(result.figures) == ["review_changes_user"]
    assert isinstance(result.figures["review_changes_user"], Figure)
    done = records.records[records.records["status"] == "completed"]
    change = done["weekly_cost_after_gbp"] - done["weekly_cost_before_gbp"]
    inn = change[done["team"] == "innovation_site_3"]
    old = change[done["team"] == "old_locality_team"]
    diff = t[
        t["quantity"].str.startswith("all: difference") & t["method"].str.contains("BCa")
    ].iloc[0]
    saving = t[
        t["quantity"].str.startswith("all: full-year saving") & t["method"].str.contains("BCa")
    ]
    saving = saving.iloc[0]
    assert diff["estimate"] == pytest.approx(inn.mean() - old.mean())
    assert saving["estimate"] == pytest.approx(52 * (old.sum() - inn.sum()))
    assert result.text == (
        f"USER record-level data: mean weekly change innovation - old {diff['estimate']:+.2f} GBP "
        f"(BCa 95% CI {diff['ci_low']:+.2f} to {diff['ci_high']:+.2f}); full-year saving "
        f"£{saving['estimate']:,.0f} (BCa CI £{saving['ci_low']:,.0f} to "
        f"£{saving['ci_high']:,.0f})."
    )
    assert (
        records.description
        == f"data_kind: USER ({len(records.records)} reviews, {len(done)} completed)"
    )


def test_record_level_rows_carry_the_reviews_site():
    records = care.ReviewRecords("my_reviews.csv", "user", synthetic_reviews())
    result = care.cost_change_bootstrap(records, n_resamples=1000, seed=3, site="northfield")
    assert set(result.table["site"]) == {"northfield"}


def test_interpretation_is_the_sections_sentences_in_order(review_tables, cost_changes, figures):
    saving = care.volume_of_saving(review_tables, figures)
    risk = care.increase_risk_ratios(review_tables)
    gaps = care.publication_gaps(review_tables)
    costs = cost_changes[1]
    text = care.interpretation(saving, risk, gaps, costs)
    assert text.split("\n\n") == [saving.text, risk.text, gaps.text, costs.text]


def test_read_reviews_labels_the_synthetic_extract():
    records = care.read_reviews("data/synthetic/reviews_synthetic.csv")
    assert records.kind == "synthetic" and records.path == "data/synthetic/reviews_synthetic.csv"
    assert records.description.startswith("data_kind: SYNTHETIC (")


def test_row_lookup_wants_exactly_one_match(review_tables):
    table = care.increase_risk_ratios(review_tables).table
    with pytest.raises(StudyInputError, match="expected one row"):
        care._one(table, "risk ratio")


def test_cost_change_bootstrap_applies_the_disclosure_rule_to_user_records():
    from dataclasses import replace

    data = care.read_reviews("data/synthetic/reviews_synthetic.csv")
    user = replace(data, kind="user")
    shown = care.cost_change_bootstrap(user, n_resamples=1000, disclosure_threshold=60)
    small = shown.table["n"].isna()
    plain = care.cost_change_bootstrap(data, n_resamples=1000, disclosure_threshold=60).table
    # strata of fewer than 60 completed reviews go, with the rest of their stratum's comparison
    # (the difference and one mean would give the other back); synthetic rows are exempt
    assert small.any() and not plain["estimate"].isna().any()
    assert (plain.loc[~small, "n"] >= 60).all()
    stratum = plain["quantity"].str.split(":").str[0]
    assert (plain[small].groupby(stratum[small])["n"].min() < 60).all()
    assert shown.table.loc[small & (plain["n"] >= 60), "note"].str.contains("comparison").all()
    assert (shown.view.loc[small, "estimate"] == "[c]").all()
    assert "[c]" in shown.figures["review_changes_user"].axes[0].get_title()
    assert user.describe(10_000) == "data_kind: USER ([c] reviews, [c] completed)"
    assert data.describe(10_000) == data.description  # synthetic: counts as they are
