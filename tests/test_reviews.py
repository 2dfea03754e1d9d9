"""Known answers for the reviews of existing care (Harrow Tables 1a/1b, innovation site 3)."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from study import reviews
from study.errors import StudyInputError
from study.plots.reviews import plot_review_changes


def test_published_arithmetic_reproduces_the_budget_impacts(review_tables):
    """Reuse study.data.published: 37 x -£24 x 52 = -£46,176 against the published -£46,000."""
    from study.data.published import check_published_arithmetic, load_figures

    checks = check_published_arithmetic(load_figures(), review_tables).set_index("check")
    row = checks.loc[
        "Table 1a innovation_site (Aug-Nov 2020): full-year impact = completed x "
        "average weekly change x 52"
    ]
    assert row["recomputed"] == 37 * -24 * 52 == -46_176
    assert row["published"] == -46_000 and row["status"] == "ok"


def test_full_year_impact_is_completed_x_mean_x_52():
    from study.tidy import full_year_impact_gbp

    assert full_year_impact_gbp(37, -24) == 37 * -24 * 52 == -46_176
    impacts = full_year_impact_gbp(pd.Series([57, 361]), pd.Series([74.0, 19.0]))
    assert impacts.tolist() == [57 * 74 * 52, 361 * 19 * 52]


def test_review_functions_need_the_loaded_tables():
    """No hidden read: tables=None is an error, not a load of the published CSV."""
    for function in (
        partial(reviews.published_saving, claim_gbp=450_000),
        reviews.review_gap_impact,
        reviews.review_increase_risk_ratios,
    ):
        with pytest.raises(StudyInputError, match="load_review_tables"):
            function(None)


def test_published_saving_and_its_volume_component(review_tables):
    s = reviews.published_saving(review_tables, claim_gbp=450_000).set_index("basis")
    assert s.loc["published impacts", "saving_gbp"] == (219_000 + 353_000) - (-46_000 + 143_000)
    recomputed_old = 57 * 74 * 52 + 361 * 19 * 52  # 576,004
    recomputed_new = 37 * -24 * 52 + 252 * 11 * 52  # 97,968
    assert s.loc["recomputed impacts", "saving_gbp"] == recomputed_old - recomputed_new
    assert s.loc["published impacts", "claim_holds"]
    eq = s.loc["equal volume: old team's 418 completed reviews"]
    assert eq["saving_gbp"] == pytest.approx(418 * (recomputed_old / 418 - recomputed_new / 289))
    assert not eq["claim_holds"]


def test_old_locality_non_covid_gap_and_what_it_could_move(review_tables):
    d = reviews.review_gap_impact(review_tables)
    assert len(d) == 1
    r = d.iloc[0]
    assert (r["covid_status"], r["team"], r["outcome_sum"], r["total"]) == (
        "non_covid",
        "old_locality_team",
        460,
        462,
    )
    assert r["impact_from_rows_gbp"] == 361 * 19 * 52
    assert r["impact_if_gap_completed_gbp"] == 363 * 19 * 52


def test_increase_shares_as_risk_ratios(review_tables):
    rr = reviews.review_increase_risk_ratios(review_tables)
    row = rr[rr["quantity"].str.contains("Covid: innovation vs old: risk ratio")].iloc[0]
    assert row["estimate"] == pytest.approx((5 / 37) / (22 / 57))
    assert row["ci_low"] < row["estimate"] < row["ci_high"]


def test_ongoing_reviews_as_a_bound_on_the_increase_share(review_tables):
    rr = reviews.review_increase_risk_ratios(review_tables, ongoing="as_increase")
    row = rr[rr["quantity"].str.contains("all: innovation vs old: risk ratio")].iloc[0]
    assert row["estimate"] == pytest.approx(((31 + 191) / (289 + 191)) / ((121 + 9) / (418 + 9)))
    assert "completed + ongoing" in row["quantity"]
    with pytest.raises(StudyInputError, match="ongoing"):
        reviews.review_increase_risk_ratios(review_tables, ongoing="drop")


@pytest.mark.parametrize("ongoing", reviews.ONGOING_RULES)
def test_increase_risk_ratios_from_the_blocks_equal_those_from_the_tables(review_tables, ongoing):
    """The blocks built once (as notebook 05 does for its three bases) give the same table."""
    from study.data.published import review_blocks

    blocks = review_blocks(review_tables)
    pd.testing.assert_frame_equal(
        reviews.review_increase_risk_ratios(blocks, ongoing=ongoing),
        reviews.review_increase_risk_ratios(review_tables, ongoing=ongoing),
    )


def synthetic_reviews() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = []
    for team, shift in (("innovation_site_3", -5.0), ("old_locality_team", 20.0)):
        for covid in (True, False):
            for i in range(30):
                before = 300.0
                rows.append(
                    {
                        "review_id": f"{team}-{covid}-{i}",
                        "team": team,
                        "covid_positive": covid,
                        "weekly_cost_before_gbp": before,
                        "weekly_cost_after_gbp": before + shift + rng.normal(0, 40),
                        "status": "completed" if i < 25 else "ongoing",
                    }
                )
    df = pd.DataFrame(rows)
    df["covid_positive"] = df["covid_positive"].astype("boolean")
    return df


def test_record_level_bootstrap_estimates_by_hand():
    rec = synthetic_reviews()
    table = reviews.review_cost_change_bootstrap(rec, n_resamples=2000, seed=1)
    done = rec[rec["status"] == "completed"]
    change = done["weekly_cost_after_gbp"] - done["weekly_cost_before_gbp"]
    inn = change[done["team"] == "innovation_site_3"]
    old = change[done["team"] == "old_locality_team"]
    est = table.drop_duplicates("quantity").set_index("quantity")["estimate"]
    assert est["all: mean weekly change per completed review (GBP), innovation site"] == (
        pytest.approx(inn.mean())
    )
    assert est["all: full-year budget impact (GBP), old locality team"] == pytest.approx(
        old.mean() * 50 * 52
    )
    assert est["all: difference in mean weekly change (GBP), innovation site - old team"] == (
        pytest.approx(inn.mean() - old.mean())
    )
    assert est["all: full-year saving (GBP), old team impact - innovation site impact"] == (
        pytest.approx(52 * (old.sum() - inn.sum()))
    )
    assert set(table["method"]) == {
        "bootstrap percentile (2000 resamples)",
        "bootstrap BCa (2000 resamples)",
    }
    assert (table["ci_low"] <= table["estimate"]).all() and (
        table["estimate"] <= table["ci_high"]
    ).all()


def test_record_level_bootstrap_needs_both_teams():
    rec = synthetic_reviews()
    rec = rec[rec["team"] == "old_locality_team"]
    with pytest.raises(StudyInputError, match="innovation_site_3"):
        reviews.review_cost_change_bootstrap(rec, n_resamples=2000)


def test_review_functions_reject_bad_input(review_tables):
    with pytest.raises(StudyInputError, match="n_resamples"):
        reviews.review_cost_change_bootstrap(synthetic_reviews(), n_resamples=500)
    with pytest.raises(StudyInputError, match="alpha"):
        reviews.review_increase_risk_ratios(review_tables, alpha=2)
    with pytest.raises(StudyInputError, match="weekly_cost_after_gbp"):
        reviews.review_cost_change_bootstrap(
            synthetic_reviews().drop(columns="weekly_cost_after_gbp")
        )


def test_review_forest_plot():
    table = reviews.review_cost_change_bootstrap(synthetic_reviews(), n_resamples=1000, seed=2)
    fig = plot_review_changes(table)
    assert isinstance(fig, Figure)
    assert type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"  # new_figure
    assert len(fig.axes[0].get_yticklabels()) == 9  # 3 strata x (2 teams + difference)
    with pytest.raises(StudyInputError, match="method"):
        plot_review_changes(table, method="studentised")
