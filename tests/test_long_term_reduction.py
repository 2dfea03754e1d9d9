"""Known-answer tests for study.analyses.long_term_reduction (notebook 02)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from study import rates
from study.analyses import AnalysisResult
from study.analyses import long_term_reduction as ltr
from study.analyses.episodes import pct, read_episodes
from study.errors import StudyInputError
from study.proportions import KATZ, compare_proportions
from study.run.parameters import BY_NAME

SYNTHETIC = "data/synthetic/conversations_synthetic.csv"
LABELS = ["site", "data_kind", "source"]


def assert_same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


@pytest.fixture(scope="module")
def data():
    return read_episodes(SYNTHETIC)


# --- helpers --------------------------------------------------------------------------------


def test_ci_text():
    row = pd.Series({"ci_low": 0.1234, "ci_high": 0.25})
    assert ltr.ci_text(row) == "12.3% to 25.0%"
    assert ltr.ci_text(row, scale=1, unit="") == "0.1 to 0.2"


def test_pick_finds_one_row_and_names_the_problem_otherwise():
    t = pd.DataFrame(
        {"quantity": ["x: rate ratio after / before", "x: reduction 1 - RR"], "method": ["m", "m"]}
    )
    assert ltr.pick(t, "reduction 1 - RR", "m")["quantity"] == "x: reduction 1 - RR"
    with pytest.raises(StudyInputError, match="reduction 1 - RR"):
        ltr.pick(t, "reduction 1 - RR", "other")


def test_ratio_rows_keeps_ratio_rows_of_the_named_methods():
    t = pd.DataFrame(
        {
            "quantity": [
                "A: rate ratio after / before",
                "A: reduction 1 - RR",
                "A: rate ratio after / before",
                "B: risk ratio innovation year / before",
            ],
            "method": [rates.WALD_GLM, rates.WALD_GLM, rates.EXACT_CONDITIONAL, KATZ],
            "estimate": [0.8, 0.2, 0.8, 0.75],
        }
    )
    out = ltr.ratio_rows([(t, "published"), (t.iloc[:1], "synthetic")])
    assert out["label"].tolist() == ["A", "B", "A"]
    assert out["data"].tolist() == ["published", "published", "synthetic"]


# --- published figures ----------------------------------------------------------------------


def test_harrow_lt_comparisons_reproduce_published_ratios(figures):
    res = ltr.harrow_lt_comparisons(figures, 13)
    assert list(res.by) == [(b, a) for b, a, _ in ltr.HARROW_LT_COMPARISONS]
    rr = ltr.pick(res.by[("Mar 2019", "Mar 2020")], ltr.RATE_RATIO)
    assert rr["estimate"] == pytest.approx(5.5 / 7.2, rel=1e-9)
    assert len(res.table) == sum(len(t) for t in res.by.values())
    assert ltr.harrow_lt_figures(figures)["value"].tolist() == [8.3, 7.2, 6.1, 5.5, 7.2]


def test_harrow_lt_published_table_and_text(figures):
    res = ltr.harrow_lt_published(figures, 13, [4, 13, 52])
    comparisons = ltr.harrow_lt_comparisons(figures, 13).table
    sens = rates.published_rate_ratio_sensitivity(
        7.2, 5.5, [4, 13, 52], label="Harrow LT starts Mar 2019 to Mar 2020"
    )
    assert_same_table(ltr.harrow_lt_weeks_sensitivity(figures, [4, 13, 52]), sens)
    assert_same_table(res.table.iloc[: len(comparisons)][comparisons.columns], comparisons)
    assert_same_table(res.table.iloc[len(comparisons) :][sens.columns], sens)
    assert set(res.table["site"]) == {"harrow"} and set(res.table["data_kind"]) == {"published"}
    source = res.table["source"].iloc[0]
    assert source.startswith("data/published/figures.csv: harrow_lt_starts_2018_09, harrow_lt")
    assert not res.view["method"].eq(rates.GARWOOD).any()
    assert len(res.tables["weeks_sensitivity"]) == len(sens)
    red = ltr.pick(
        comparisons[
            comparisons["quantity"].str.startswith("Harrow LT starts Mar 2019 to Mar 2020")
        ],
        ltr.REDUCTION,
    )
    assert res.text.startswith("Harrow's fall from 7.2 to 5.5 new long-term starts")
    assert f"reduction of {100 * (1 - 5.5 / 7.2):.1f}%" in res.text
    assert f"If each average covers 13 weeks, its 95% interval is {ltr.ci_text(red)}" in res.text
    assert f"(p = {red['p_value']:.2g})" in res.text
    assert "rise back to 7.2 a week" in res.text
    reductions = sens[sens["quantity"].str.endswith(ltr.REDUCTION)]
    clear = reductions[reductions["ci_low"] > 0]
    assert "(weeks tried: 4, 13, 52)" in res.text
    expected = f"at least {clear['exposure'].min():g} weeks" if len(clear) else "more weeks than"
    assert expected in res.text
    assert f"The {pct(1 - 5.5 / 7.2)} reduction is distinguishable" in res.text
    assert res.tables["ratios"]["data"].unique().tolist() == ["published (assumed exposure)"]
    assert len(res.tables["ratios"]) == 5  # the five comparisons; no sensitivity rows


def test_harrow_lt_text_when_no_weeks_tried_suffice(figures):
    res = ltr.harrow_lt_published(figures, 13, [1, 2])
    assert "rests on more weeks than any tried of data (weeks tried: 1, 2)" in res.text


def test_birmingham_reduction_published_table_and_text(figures):
    res = ltr.birmingham_reduction_published(figures, 200, [25, 800])
    label = "Birmingham long-term services (two key areas)"
    main = rates.published_reduction(0.36, 200, period="comparison periods", label=label)
    sens = rates.published_reduction_sensitivity(0.36, [25, 800], label=label)
    assert_same_table(res.table.iloc[: len(main)][main.columns], main)
    assert_same_table(res.table.iloc[len(main) :][sens.columns], sens)
    assert set(res.table["site"]) == {"birmingham"}
    rr = ltr.pick(main, ltr.RATE_RATIO)
    assert rr["estimate"] == pytest.approx(0.64, rel=1e-9)
    assert sorted(res.tables["sensitivity"]["baseline_count"].unique()) == [25, 800]
    red = ltr.pick(main, ltr.REDUCTION)
    assert res.text.startswith("Birmingham's 36.0% reduction (reproduced: 36.0%)")
    assert f"has a 95% interval of {ltr.ci_text(red)} if 200 people needed" in res.text
    wald = sens[sens["quantity"].str.endswith(ltr.REDUCTION) & sens["method"].eq(rates.WALD_GLM)]
    assert (wald["ci_low"] > 0).tolist() == [False, True]
    assert "a baseline of at least 800 people" in res.text
    assert res.tables["ratios"]["label"].tolist() == [label]


def test_harrow_repeat_published_table_and_text(figures):
    res = ltr.harrow_repeat_published(figures, 1000, 1000, [250, 4000])
    ref = compare_proportions(250, 1000, 330, 1000)
    np.testing.assert_allclose(res.table["estimate"].iloc[:5], ref["estimate"], rtol=1e-12)
    assert res.table["method"].iloc[3] == KATZ
    rd = res.table.iloc[2]
    assert "repeat requests fell by 8.0 percentage points" in res.text
    assert f"(95% CI {-100 * rd['ci_high']:.1f} to {-100 * rd['ci_low']:.1f})" in res.text
    assert "With 1,000 and 1,000 requests" in res.text
    assert res.tables["sensitivity"]["quantity"].str.contains(r"\(n = 4000 vs 4000\)").any()
    assert res.tables["ratios"]["method"].tolist() == [KATZ]


# --- record level ----------------------------------------------------------------------------


def _bham_toy(months: int) -> pd.DataFrame:
    """3 key-area and 5 usual-care long-term starts (+ one short-term), spread over `months`
    months of 3Cs from 2018-04-02 and the same months of usual care before."""
    start = pd.Timestamp("2018-04-02")
    after = pd.date_range(start, start + pd.DateOffset(months=months) - pd.Timedelta(days=2), 4)
    before = pd.date_range(start - pd.DateOffset(months=months), start - pd.Timedelta(days=1), 5)
    eps = pd.DataFrame(
        {
            "site": "birmingham",
            "team": ["innovation_site_1"] * 2
            + ["innovation_site_2"]
            + ["usual_care"] * 5
            + ["innovation_site_1"],
            "outcome": "long_term_support",
            "start_date": list(after[:3]) + list(before) + [after[3]],
        }
    )
    eps.loc[len(eps) - 1, "outcome"] = "short_term_support"  # not long-term: ignored
    return eps


KEY_AREAS = ("innovation_site_1", "innovation_site_2")
HARROW_YEAR = ["2019-04-01", "2020-03-31"]


def _bham(months: int = 6, go_live: str = "2018-04-02") -> ltr.LongTermComparison:
    return ltr.LongTermComparison("birmingham", KEY_AREAS, "usual_care", go_live, months)


def _records(data, figures, lt=None, repeat_site="harrow", repeat_window=HARROW_YEAR):
    return ltr.reductions_from_records(
        data,
        figures,
        weeks_per_rate=13,
        lt=lt or _bham(),
        repeat_site=repeat_site,
        repeat_window=repeat_window,
    )


def test_site_lt_records_counts_key_areas_against_usual_care():
    out = ltr.site_lt_records(_bham_toy(6), _bham(6), kind="synthetic")
    ref = rates.poisson_rate_ratio(
        3,
        6,
        5,
        6,
        exposure_unit="months",
        label="Birmingham long-term services, two key areas (synthetic)",
    )
    assert_same_table(out, ref)
    # a twelve-month extract: rates per month over 12 months each, same ratio
    twelve = ltr.site_lt_records(_bham_toy(12), _bham(12), kind="synthetic")
    assert twelve["estimate"].iloc[:2].tolist() == pytest.approx([5 / 12, 3 / 12])
    assert twelve["estimate"].iloc[2] == pytest.approx(out["estimate"].iloc[2])
    # an empty go-live is the first start date of the key areas: the same table
    assert_same_table(ltr.site_lt_records(_bham_toy(6), _bham(6, ""), kind="synthetic"), out)


def test_the_go_live_splits_before_from_after():
    toy = _bham_toy(6)
    # usual care that goes on after the go-live and a key-area start before it are not counted
    extra = pd.DataFrame(
        {
            "site": "birmingham",
            "team": ["usual_care", "innovation_site_1"],
            "outcome": "long_term_support",
            "start_date": pd.to_datetime(["2018-05-01", "2018-03-01"]),
        }
    )
    out = ltr.site_lt_records(pd.concat([toy, extra]), _bham(6), kind="synthetic")
    assert_same_table(out, ltr.site_lt_records(toy, _bham(6), kind="synthetic"))
    # a go-live two months later leaves four months of 3Cs: refused, naming the months
    with pytest.raises(StudyInputError, match=r"3Cs episodes start over .* shorter than"):
        ltr.site_lt_records(toy, _bham(6, "2018-06-02"), kind="synthetic")


def test_site_lt_records_refuses_an_extract_longer_than_its_months():
    data = read_episodes("data/synthetic/birmingham_12m_conversations_synthetic.csv")
    with pytest.raises(
        StudyInputError,
        match=r"Birmingham 3Cs episodes start over 12\.0 months .*"
        r"bham_extract_months = 6",
    ):
        ltr.site_lt_records(data.episodes, _bham(6), kind=data.kind)
    with pytest.raises(StudyInputError, match=r"over 12\.0 months .*shorter than .* = 24"):
        ltr.site_lt_records(data.episodes, _bham(24), kind=data.kind)
    with pytest.raises(StudyInputError, match="whole number"):
        ltr.site_lt_records(data.episodes, _bham(0), kind=data.kind)
    out = ltr.site_lt_records(data.episodes, _bham(12), kind=data.kind)
    before = data.episodes.query("team == 'usual_care' and outcome == 'long_term_support'")
    assert out["estimate"].iloc[0] == pytest.approx(len(before) / 12)


def test_site_repeat_records_by_window(figures):
    eps = pd.DataFrame(
        {
            "site": "harrow",
            "request_date": ["2018-05-01"] * 4 + ["2019-05-01"] * 5 + ["2017-01-01"],
            "repeat_request": [True, True, False, None, True, False, False, False, False, True],
        }
    )
    out = ltr.site_repeat_records(eps, site="harrow", window=HARROW_YEAR, kind="synthetic")
    ref = compare_proportions(
        1,
        5,
        2,
        4,
        label="Harrow repeat requests (synthetic)",
        names=("innovation year", "before"),
    )
    assert_same_table(out, ref)
    # the default window is the published innovation year of Harrow's 25%
    period = figures.set_index("figure_id").loc["harrow_repeat_share_after"]
    assert [f"{period[c]:%Y-%m-%d}" for c in ("period_start", "period_end")] == HARROW_YEAR
    assert BY_NAME["repeat_window"].default == HARROW_YEAR


def test_repeat_windows_have_the_same_length_before():
    w = ltr.repeat_windows(["2022-04-04", "2023-04-03"])
    assert w["before"] == (pd.Timestamp("2021-04-04"), pd.Timestamp("2022-04-03"))
    six = ltr.repeat_windows(["2019-04-01", "2019-09-30"])
    assert six["before"] == (pd.Timestamp("2018-10-01"), pd.Timestamp("2019-03-31"))
    days = ltr.repeat_windows(["2020-01-01", "2020-01-10"])  # not whole months: 10 days
    assert days["before"] == (pd.Timestamp("2019-12-22"), pd.Timestamp("2019-12-31"))
    with pytest.raises(StudyInputError, match="ends before it starts"):
        ltr.repeat_windows(["2020-02-01", "2020-01-01"])


def test_harrow_lt_records_windows(data, figures):
    res = ltr.harrow_lt_records(data.episodes, figures, weeks_per_rate=13, kind=data.kind)
    assert list(res.by) == [("Mar 2019", "Mar 2020"), ("Mar 2020", "Mar 2021")]
    assert res.table["quantity"].str.contains(r"\(synthetic\)").all()


def test_reductions_from_records_labels_each_site_and_states_its_numbers(data, figures):
    res = _records(data, figures)
    t = res.table
    harrow = ltr.harrow_lt_records(data.episodes, figures, weeks_per_rate=13, kind=data.kind)
    bham = ltr.site_lt_records(data.episodes, _bham(), kind=data.kind)
    repeat = ltr.site_repeat_records(
        data.episodes, site="harrow", window=HARROW_YEAR, kind=data.kind
    )
    parts = [(harrow.table, "harrow"), (bham, "birmingham"), (repeat, "harrow")]
    assert t["site"].tolist() == [site for table, site in parts for _ in range(len(table))]
    assert set(t["data_kind"]) == {"synthetic"} and set(t["source"]) == {SYNTHETIC}
    assert_same_table(t[bham.columns].iloc[len(harrow.table) : -len(repeat)], bham)
    assert res.text.startswith("In the synthetic records (synthetic data calibrated")
    h_red = harrow.by[("Mar 2019", "Mar 2020")].iloc[2]
    expected = f"weekly starts fell by {pct(h_red['estimate'])} (95% CI {ltr.ci_text(h_red)}"
    assert expected in res.text
    b_red = ltr.pick(bham, ltr.REDUCTION)
    assert (
        f"Birmingham's key areas saw {pct(b_red['estimate'])} fewer long-term starts in the six "
        "months from 2 April 2018 than the comparison team in the six months before"
    ) in res.text
    assert (
        f"moved from {pct(repeat['estimate'].iloc[1])} (1 April 2018 to 31 March 2019) to "
        f"{pct(repeat['estimate'].iloc[0])} (1 April 2019 to 31 March 2020)"
    ) in res.text
    assert "Skipped" not in res.text and res.tables["skipped"].empty
    assert not res.view["method"].eq(rates.GARWOOD).any()
    assert res.tables["ratios"]["data"].unique().tolist() == ["synthetic"]


def test_a_birmingham_only_extract_runs_every_record_step_and_says_what_is_skipped(figures):
    data = read_episodes("data/synthetic/birmingham_6m_conversations_synthetic.csv")
    harrow = ltr.harrow_lt_records(data.episodes, figures, weeks_per_rate=13, kind=data.kind)
    assert harrow.by == {} and harrow.table.empty
    assert ltr.site_repeat_records(
        data.episodes, site="harrow", window=HARROW_YEAR, kind=data.kind
    ).empty
    res = _records(data, figures)
    assert res.table["site"].unique().tolist() == ["birmingham"]
    assert "Birmingham's key areas saw" in res.text and "Harrow's weekly" not in res.text
    assert res.tables["skipped"]["site"].tolist() == ["harrow", "harrow"]
    assert (
        "Skipped, repeat requests at Harrow: the extract has no episodes for site 'harrow' "
        "(parameter repeat_site)."
    ) in res.text
    # the same rows as the full extract's Birmingham estimates
    full = read_episodes(SYNTHETIC)
    bham = ltr.site_lt_records(data.episodes, _bham(), kind=data.kind)
    assert_same_table(bham, ltr.site_lt_records(full.episodes, _bham(), kind=full.kind))


# --- all ratios at a glance ------------------------------------------------------------------


def test_ratios_forest_stacks_the_ratio_rows_in_order(data, figures):
    results = [
        ltr.harrow_lt_published(figures, 13, [13]),
        ltr.birmingham_reduction_published(figures, 200, [25, 800]),
        ltr.harrow_repeat_published(figures, 1000, 1000, [250]),
        _records(data, figures),
    ]
    res = ltr.ratios_forest(results)
    assert res.table.empty
    assert len(res.view) == 5 + 1 + 1 + 2 + 1 + 1  # sensitivity rows are left out
    assert res.view["data"].tolist() == [
        *["published (assumed exposure)"] * 5,
        "published (assumed baseline)",
        "published (assumed denominators)",
        *["synthetic"] * 4,
    ]
    assert isinstance(res.figures["ratios_forest"], Figure)
    with pytest.raises(StudyInputError, match="no ratio rows"):
        ltr.ratios_forest([AnalysisResult(table=pd.DataFrame())])
