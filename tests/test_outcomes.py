"""Known-answer tests for study.analyses.outcomes (the assembly behind notebooks 01 and 02)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from study import rates
from study.analyses import outcomes
from study.errors import StudyInputError
from study.proportions import (
    GOODMAN,
    KATZ,
    NEWCOMBE,
    WILSON,
    compare_proportions,
    multinomial_ci,
    proportion_ci,
)

SYNTHETIC = "data/synthetic/conversations_synthetic.csv"
TEXT_COLUMNS = ["quantity", "method", "note"]


def assert_same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


@pytest.fixture(scope="module")
def data() -> outcomes.EpisodeData:
    return outcomes.read_episodes(SYNTHETIC)


# --- helpers --------------------------------------------------------------------------------


def test_display_view_rounds_and_formats_p_values():
    t = pd.DataFrame({"estimate": [0.123456], "p_value": [0.000123456], "n": [7]})
    out = outcomes.display_view(t, ["estimate", "p_value"])
    assert list(out.columns) == ["estimate", "p_value"]
    assert out.loc[0, "estimate"] == 0.1235
    assert out.loc[0, "p_value"] == "0.00012"


def test_pct_and_ci_text():
    assert outcomes.pct(0.7) == "70.0%"
    row = pd.Series({"ci_low": 0.1234, "ci_high": 0.25})
    assert outcomes.ci_text(row) == "12.3% to 25.0%"
    assert outcomes.ci_text(row, scale=1, unit="") == "0.1 to 0.2"


def test_pick_finds_one_row_and_names_the_problem_otherwise():
    t = pd.DataFrame(
        {"quantity": ["x: rate ratio after / before", "x: reduction 1 - RR"], "method": ["m", "m"]}
    )
    assert outcomes.pick(t, "reduction 1 - RR", "m")["quantity"] == "x: reduction 1 - RR"
    with pytest.raises(StudyInputError, match="reduction 1 - RR"):
        outcomes.pick(t, "reduction 1 - RR", "other")


# --- 01 -------------------------------------------------------------------------------------


def test_published_split_rebuilds_counts_and_wilson_bounds():
    split = outcomes.published_split({"C1": 0.70, "C2": 0.10, "C3": 0.20}, 1497, label="B")
    assert split.total == 1497
    assert split.counts["count"].tolist() == [1048, 150, 299]
    wilson = split.table[split.table["method"] == WILSON].reset_index(drop=True)
    for i, k in enumerate([1048, 150, 299]):
        ref = proportion_ci(k, 1497).iloc[0]
        assert wilson.loc[i, "ci_low"] == pytest.approx(ref["ci_low"], abs=1e-12)
        assert wilson.loc[i, "ci_high"] == pytest.approx(ref["ci_high"], abs=1e-12)
    assert_same_table(split.table, multinomial_ci({"C1": 1048, "C2": 150, "C3": 299}, label="B"))


def test_birmingham_published_split_is_the_published_70_10_20_of_1497():
    split = outcomes.birmingham_published_split()
    assert split.total == 1497
    assert split.counts["count"].tolist() == [1048, 150, 299]
    assert split.table["quantity"].str.startswith("Birmingham conversation split").all()


def test_split_sentence_quotes_goodman_intervals_and_rounding_range():
    split = outcomes.birmingham_published_split()
    good = split.table[split.table["method"] == GOODMAN].set_index("category")
    text = outcomes.split_sentence(split, alpha=0.05)
    assert "With 1,497 conversations" in text
    assert (
        f"{100 * good.loc['C1', 'ci_low']:.1f}% to {100 * good.loc['C1', 'ci_high']:.1f}%" in text
    )
    lo, hi = split.counts.loc[0, ["count_min", "count_max"]]
    assert f"{lo:,}–{hi:,} conversations compatible with '70% at Conversation 1'" in text
    assert "95% Goodman" in text


def test_harrow_c3_published_known_counts():
    res = outcomes.harrow_c3_published(1000, [100, 1000], alpha=0.05)
    assert (res.nobs1, res.nobs0) == (1200, 1000)  # +20% requests in the Covid year
    ref = compare_proportions(192, 1200, 90, 1000, label="Harrow C3 share")
    for col in ["estimate", "ci_low", "ci_high"]:
        np.testing.assert_allclose(res.comparison[col], ref[col], rtol=1e-12)
    assert res.sensitivity["nobs0"].unique().tolist() == [100, 1000]
    assert res.sensitivity["nobs1"].unique().tolist() == [120, 1200]


def sens_table(nobs0, lows, highs):
    return pd.DataFrame(
        {"method": NEWCOMBE, "nobs0": nobs0, "ci_low": lows, "ci_high": highs, "estimate": 0.0}
    )


def test_smallest_clear_denominator_both_directions():
    up = sens_table([100, 500, 1000], [-0.1, 0.01, 0.02], [0.2, 0.1, 0.1])
    assert outcomes.smallest_clear_denominator(up, direction="increase") == 500
    down = sens_table([100, 500], [-0.2, -0.1], [0.1, 0.05])
    assert outcomes.smallest_clear_denominator(down, direction="decrease") is None
    with pytest.raises(StudyInputError, match="direction"):
        outcomes.smallest_clear_denominator(up, direction="up")


@pytest.mark.parametrize(
    ("lows", "verdict"),
    [
        ([-0.1, -0.05], "no assumed denominator in the list"),
        ([0.01, 0.02], "excludes zero for every denominator tried"),
        ([-0.1, 0.02], "only from about 1,000 pre-Covid conversations"),
    ],
)
def test_harrow_c3_sentence_verdicts(lows, verdict):
    base = outcomes.harrow_c3_published(1000, [100, 1000])
    sens = sens_table([100, 1000], lows, [0.2, 0.1])
    res = outcomes.ShareComparison(base.nobs1, base.nobs0, base.comparison, sens)
    text = outcomes.harrow_c3_sentence(res)
    assert verdict in text
    assert text.startswith("Assuming 1,000 conversations before and 1,200 during")


def test_records_split_by_site_matches_multinomial_ci():
    split = pd.DataFrame(
        {
            "site": ["harrow"] * 3 + ["birmingham"] * 3,
            "conversation": [1, 2, 3] * 2,
            "count": [5, 3, 2, 70, 10, 20],
        }
    )
    out = outcomes.records_split_by_site(split, kind="synthetic")
    assert out["site"].unique().tolist() == ["birmingham", "harrow"]
    ref = multinomial_ci({"C1": 5, "C2": 3, "C3": 2}, label="Harrow conversation split (synthetic)")
    assert_same_table(out[out["site"] == "harrow"].drop(columns="site"), ref)


def test_harrow_c3_by_period_counts_by_request_date():
    def episodes(date: str, conversations: list[int]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "site": "harrow",
                "conversation": conversations,
                "outcome": "short_term_support",
                "request_date": date,
            }
        )

    eps = pd.concat(
        [
            episodes("2019-09-01", [1] * 8 + [2, 3]),  # pre-Covid: 1 of 10 at C3
            episodes("2020-06-01", [1] * 6 + [2, 2, 3, 3]),  # Covid year: 2 of 10
            episodes("2019-01-01", [3] * 5),  # before the first site: ignored
        ],
        ignore_index=True,
    )
    eps.loc[len(eps)] = ["birmingham", 3, "short_term_support", "2020-06-01"]  # other site
    out = outcomes.harrow_c3_by_period(eps, kind="synthetic")
    ref = compare_proportions(
        2, 10, 1, 10, label="Harrow C3 share (synthetic)", names=("Covid year", "pre-Covid")
    )
    assert_same_table(out, ref)


def test_read_episodes_labels_synthetic_data(data):
    assert data.kind == "synthetic"
    assert "not a finding" in data.label
    assert data.description.startswith(f"**Data:** `{SYNTHETIC}` (synthetic: ")
    assert f"{len(data.episodes):,} episodes; sites: birmingham, harrow." in data.description


def test_records_split_sentence_names_kind_and_published_split(data):
    from study.data import aggregate

    split = aggregate.conversation_split(data.episodes, by=("site",))
    rs = outcomes.records_split_by_site(split, kind=data.kind)
    c3 = outcomes.harrow_c3_by_period(data.episodes, kind=data.kind)
    counts = outcomes.birmingham_published_split().counts
    text = outcomes.records_split_sentence(rs, c3, counts, data=data)
    assert text.startswith("From the synthetic records (synthetic data calibrated")
    assert "against the published 70.0% / 10.0% / 20.0%" in text
    assert f"a difference of {100 * c3.iloc[2]['estimate']:.1f} points" in text


# --- 02 -------------------------------------------------------------------------------------


def test_harrow_lt_published_reproduces_published_ratios():
    res = outcomes.harrow_lt_published(13)
    assert list(res.by) == [(b, a) for b, a, _ in outcomes.HARROW_LT_COMPARISONS]
    rr = outcomes.pick(res.by[("Mar 2019", "Mar 2020")], outcomes.RATE_RATIO)
    assert rr["estimate"] == pytest.approx(5.5 / 7.2, rel=1e-9)
    assert len(res.table) == sum(len(t) for t in res.by.values())
    lt = outcomes.harrow_lt_figures()
    assert lt["value"].tolist() == [8.3, 7.2, 6.1, 5.5, 7.2]


def test_harrow_lt_sentence():
    res = outcomes.harrow_lt_published(13)
    red = outcomes.pick(res.by[("Mar 2019", "Mar 2020")], outcomes.REDUCTION)
    text = outcomes.harrow_lt_sentence(res, weeks_per_rate=13)
    assert text.startswith("Harrow's fall from 7.2 to 5.5 new long-term starts")
    assert f"reduction of {100 * (1 - 5.5 / 7.2):.1f}%" in text
    assert f"95% interval is {outcomes.ci_text(red)}" in text
    assert "rise back to 7.2 a week" in text


def test_weeks_sensitivity_and_sentence():
    sens = outcomes.harrow_lt_weeks_sensitivity([4, 13, 52])
    ref = rates.published_rate_ratio_sensitivity(
        7.2, 5.5, [4, 13, 52], label="Harrow LT starts Mar 2019 to Mar 2020"
    )
    assert_same_table(sens, ref)
    red = sens[sens["quantity"].str.endswith(outcomes.REDUCTION)]
    clear = red[red["ci_low"] > 0]
    text = outcomes.weeks_sensitivity_sentence(sens)
    assert "(weeks tried: 4, 13, 52)" in text
    expected = f"at least {clear['exposure'].min():g} weeks" if len(clear) else "more weeks than"
    assert expected in text


def test_birmingham_reduction_published_and_sentence():
    res = outcomes.birmingham_reduction_published(200, [25, 800])
    assert res.reduction == pytest.approx(0.36)
    rr = outcomes.pick(res.table, outcomes.RATE_RATIO)
    assert rr["estimate"] == pytest.approx(0.64, rel=1e-9)
    assert sorted(res.sensitivity_reductions["baseline_count"].unique()) == [25, 800]
    text = outcomes.birmingham_reduction_sentence(res)
    assert text.startswith("Birmingham's 36.0% reduction (reproduced: 36.0%)")
    assert "if 200 people needed" in text


def test_harrow_repeat_published_and_sentence():
    res = outcomes.harrow_repeat_published(1000, 1000, [250, 4000])
    ref = compare_proportions(250, 1000, 330, 1000)
    np.testing.assert_allclose(res.comparison["estimate"], ref["estimate"], rtol=1e-12)
    assert res.comparison.iloc[3]["method"] == KATZ
    text = outcomes.harrow_repeat_sentence(res)
    assert "repeat requests fell by 8.0 percentage points" in text
    assert "With 1,000 and 1,000 requests" in text


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


def test_birmingham_lt_records_counts_key_areas_against_usual_care():
    out = outcomes.birmingham_lt_records(_bham_toy(6), kind="synthetic")
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
    twelve = outcomes.birmingham_lt_records(_bham_toy(12), kind="synthetic", months=12)
    assert twelve["estimate"].iloc[:2].tolist() == pytest.approx([5 / 12, 3 / 12])
    assert twelve["estimate"].iloc[2] == pytest.approx(out["estimate"].iloc[2])


def test_birmingham_lt_records_refuses_an_extract_longer_than_its_months():
    data = outcomes.read_episodes("data/synthetic/birmingham_12m_conversations_synthetic.csv")
    with pytest.raises(
        StudyInputError,
        match=r"3Cs episodes start over 12\.0 months .*"
        r"bham_extract_months = 6",
    ):
        outcomes.birmingham_lt_records(data.episodes, kind=data.kind)
    with pytest.raises(StudyInputError, match=r"over 12\.0 months .*shorter than .* = 24"):
        outcomes.birmingham_lt_records(data.episodes, kind=data.kind, months=24)
    with pytest.raises(StudyInputError, match="whole number"):
        outcomes.birmingham_lt_records(data.episodes, kind=data.kind, months=0)
    out = outcomes.birmingham_lt_records(data.episodes, kind=data.kind, months=12)
    before = data.episodes.query("team == 'usual_care' and outcome == 'long_term_support'")
    assert out["estimate"].iloc[0] == pytest.approx(len(before) / 12)


def test_harrow_repeat_records_by_financial_year():
    eps = pd.DataFrame(
        {
            "site": "harrow",
            "request_date": ["2018-05-01"] * 4 + ["2019-05-01"] * 5 + ["2017-01-01"],
            "repeat_request": [True, True, False, None, True, False, False, False, False, True],
        }
    )
    out = outcomes.harrow_repeat_records(eps, kind="synthetic")
    ref = compare_proportions(
        1,
        5,
        2,
        4,
        label="Harrow repeat requests (synthetic)",
        names=("innovation year", "before"),
    )
    assert_same_table(out, ref)


def test_harrow_lt_records_and_sentence(data):
    res = outcomes.harrow_lt_records(data.episodes, weeks_per_rate=13, kind=data.kind)
    assert list(res.by) == [("Mar 2019", "Mar 2020"), ("Mar 2020", "Mar 2021")]
    assert res.table["quantity"].str.contains(r"\(synthetic\)").all()
    bham = outcomes.birmingham_lt_records(data.episodes, kind=data.kind)
    repeat = outcomes.harrow_repeat_records(data.episodes, kind=data.kind)
    text = outcomes.records_lt_sentence(res, bham, repeat, data=data)
    assert text.startswith("In the synthetic records (synthetic data calibrated")
    h_red = res.by[("Mar 2019", "Mar 2020")].iloc[2]
    assert f"weekly starts fell by {outcomes.pct(h_red['estimate'])}" in text


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
    out = outcomes.ratio_rows([(t, "published"), (t.iloc[:1], "synthetic")])
    assert out["label"].tolist() == ["A", "B", "A"]
    assert out["data"].tolist() == ["published", "published", "synthetic"]


def test_a_birmingham_only_extract_runs_every_record_step_and_says_what_is_missing():
    from study.data import aggregate

    data = outcomes.read_episodes("data/synthetic/birmingham_6m_conversations_synthetic.csv")
    assert data.sites == ["birmingham"] and not data.has("harrow")
    split = aggregate.conversation_split(data.episodes, by=("site",))
    rs = outcomes.records_split_by_site(split, kind=data.kind)
    c3 = outcomes.harrow_c3_by_period(data.episodes, kind=data.kind)
    assert c3.empty and list(c3.columns)[:3] == ["quantity", "estimate", "ci_low"]
    counts = outcomes.birmingham_published_split().counts
    text = outcomes.records_split_sentence(rs, c3, counts, data=data)
    assert "Birmingham's split is" in text and "has no Harrow episodes" in text
    harrow = outcomes.harrow_lt_records(data.episodes, weeks_per_rate=13, kind=data.kind)
    assert harrow.by == {} and harrow.table.empty
    bham = outcomes.birmingham_lt_records(data.episodes, kind=data.kind)
    repeat = outcomes.harrow_repeat_records(data.episodes, kind=data.kind)
    assert repeat.empty and not bham.empty
    text = outcomes.records_lt_sentence(harrow, bham, repeat, data=data)
    assert "Birmingham's key areas saw" in text and "Harrow's" not in text
    assert outcomes.display_view(repeat, ["quantity", "p_value"]).empty
    # the same rows as the full extract's Birmingham estimates
    full = outcomes.read_episodes(SYNTHETIC)
    assert_same_table(bham, outcomes.birmingham_lt_records(full.episodes, kind=full.kind))
