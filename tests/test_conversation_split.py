"""Known-answer tests for study.analyses.conversation_split (notebook 01)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from study.analyses import conversation_split as cs
from study.analyses.episodes import pct, read_episodes
from study.data import published
from study.proportions import (
    GOODMAN,
    NEWCOMBE,
    WILSON,
    compare_proportions,
    multinomial_ci,
    wilson_interval,
)
from study.run.recorder import OPTIONAL_REPORT_COLUMNS, REPORT_COLUMNS

SYNTHETIC = "data/synthetic/conversations_synthetic.csv"
LABELS = ["site", "data_kind", "source"]


def assert_same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


@pytest.fixture(scope="module")
def data():
    return read_episodes(SYNTHETIC)


# --- Birmingham: the published split --------------------------------------------------------


def test_published_split_rebuilds_counts_and_wilson_bounds():
    split = cs.published_split({"C1": 0.70, "C2": 0.10, "C3": 0.20}, 1497, label="B")
    assert split.total == 1497
    assert split.counts["count"].tolist() == [1048, 150, 299]
    wilson = split.table[split.table["method"] == WILSON].reset_index(drop=True)
    for i, k in enumerate([1048, 150, 299]):
        low, high = wilson_interval(k, 1497)
        assert wilson.loc[i, "ci_low"] == pytest.approx(low, abs=1e-12)
        assert wilson.loc[i, "ci_high"] == pytest.approx(high, abs=1e-12)
    assert_same_table(split.table, multinomial_ci({"C1": 1048, "C2": 150, "C3": 299}, label="B"))


def test_birmingham_published_is_the_published_70_10_20_of_1497(figures):
    res = cs.birmingham_published(figures)
    assert res.tables["counts"]["count"].tolist() == [1048, 150, 299]
    ref = multinomial_ci({"C1": 1048, "C2": 150, "C3": 299}, label="Birmingham conversation split")
    assert_same_table(res.table.drop(columns=LABELS), ref)
    assert set(res.table["site"]) == {"birmingham"} and set(res.table["data_kind"]) == {"published"}
    source = res.table["source"].iloc[0]
    assert source == published.figures_source(cs.BHAM_SPLIT_FIGURES, figures)
    assert source.startswith("data/published/figures.csv: bham_conversations_6m, bham_share_c1")
    assert list(res.view.columns) == cs.SHOW
    assert isinstance(res.figures["birmingham_split"], Figure)
    assert set(REPORT_COLUMNS) - {"notebook", *OPTIONAL_REPORT_COLUMNS} <= set(res.table.columns)


def test_birmingham_published_text_states_the_goodman_c1_share_and_interval(figures):
    res = cs.birmingham_published(figures, alpha=0.1)
    good = res.table[res.table["method"] == GOODMAN].set_index("category")
    c1 = good.loc["C1"]
    assert (
        f"Conversation 1's {pct(c1['estimate'])} has a 90% Goodman simultaneous interval of "
        f"{pct(c1['ci_low'])} to {pct(c1['ci_high'])}" in res.text
    )
    assert f"Conversation 3's {pct(good.loc['C3', 'estimate'])} one of" in res.text
    assert res.text.startswith("With 1,497 conversations")
    lo, hi = res.tables["counts"].loc[0, ["count_min", "count_max"]]
    assert f"{lo:,}–{hi:,} conversations compatible with '70% at Conversation 1'" in res.text
    width = (res.table["ci_high"] - res.table["ci_low"]).groupby(res.table["method"]).mean()
    assert f"{width[GOODMAN] / width[WILSON]:.2f} times (Goodman)" in res.text


# --- Harrow: the published C3 shares --------------------------------------------------------


def test_harrow_c3_published_known_counts(figures):
    res = cs.harrow_c3_published(figures, 1000, [100, 1000], alpha=0.05)
    ref = compare_proportions(192, 1200, 90, 1000, label="Harrow C3 share")  # +20% requests
    comparison = res.table.iloc[: len(ref)]
    for col in ["estimate", "ci_low", "ci_high"]:
        np.testing.assert_allclose(comparison[col], ref[col], rtol=1e-12)
    sensitivity = res.table.iloc[len(ref) :]
    assert sensitivity["nobs0"].unique().tolist() == [100, 1000]
    assert sensitivity["nobs1"].unique().tolist() == [120, 1200]
    assert set(res.table["site"]) == {"harrow"}
    assert res.table["source"].iloc[0] == published.figures_source(cs.HARROW_C3_FIGURES, figures)
    assert len(res.tables["sensitivity"]) == len(sensitivity)
    ax = res.figures["harrow_c3_denominator_sensitivity"].axes[0]
    assert ax.get_xlabel() == "assumed pre-Covid conversations (Covid year: +20%)"


@pytest.mark.parametrize(
    ("denominators", "verdict"),
    [
        ([25, 50], "no assumed denominator in the list"),
        ([1000, 4000], "excludes zero for every denominator tried"),
        ([100, 1000], "only from about 1,000 pre-Covid conversations"),
    ],
)
def test_harrow_c3_text_states_the_difference_and_the_verdict_of_its_table(
    figures, denominators, verdict
):
    res = cs.harrow_c3_published(figures, 1000, denominators)
    diff = res.table[res.table["method"] == NEWCOMBE]
    main, sens = diff.iloc[0], diff.iloc[1:]
    assert (sens["ci_low"] > 0).tolist() == {
        "no assumed denominator in the list": [False, False],
        "excludes zero for every denominator tried": [True, True],
        "only from about 1,000 pre-Covid conversations": [False, True],
    }[verdict]
    assert verdict in res.text
    assert res.text.startswith("Assuming 1,000 conversations before and 1,200 during")
    assert (
        f"rose by {100 * main['estimate']:.1f} percentage points (95% CI "
        f"{100 * main['ci_low']:.1f} to {100 * main['ci_high']:.1f}" in res.text
    )


# --- the split from the record-level extract ------------------------------------------------


def test_records_split_by_site_matches_multinomial_ci():
    split = pd.DataFrame(
        {
            "site": ["harrow"] * 3 + ["birmingham"] * 3,
            "conversation": [1, 2, 3] * 2,
            "count": [5, 3, 2, 70, 10, 20],
        }
    )
    out = cs.records_split_by_site(split, kind="synthetic")
    assert out["site"].unique().tolist() == ["birmingham", "harrow"]
    ref = multinomial_ci({"C1": 5, "C2": 3, "C3": 2}, label="Harrow conversation split (synthetic)")
    assert_same_table(out[out["site"] == "harrow"].drop(columns="site"), ref)


def test_harrow_c3_by_period_counts_by_request_date(events):
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
    out = cs.harrow_c3_by_period(eps, events, kind="synthetic")
    ref = compare_proportions(
        2, 10, 1, 10, label="Harrow C3 share (synthetic)", names=("Covid year", "pre-Covid")
    )
    assert_same_table(out, ref)


def test_split_from_records_labels_each_site_and_states_its_numbers(data, figures, events):
    res = cs.split_from_records(data, figures, events)
    t = res.table
    assert t["site"].unique().tolist() == ["birmingham", "harrow"]
    assert set(t["data_kind"]) == {"synthetic"} and set(t["source"]) == {SYNTHETIC}
    split = t[t["quantity"].str.contains("conversation split")]
    first = split.groupby("site")["quantity"].first()
    assert first["birmingham"].startswith("Birmingham conversation split (synthetic)")
    assert first["harrow"].startswith("Harrow conversation split (synthetic)")
    c3 = t[t["quantity"].str.startswith("Harrow C3 share (synthetic)")]
    assert len(c3) == 5 and (c3["site"] == "harrow").all()
    ref = cs.harrow_c3_by_period(data.episodes, events, kind="synthetic")
    assert_same_table(c3[ref.columns], ref)
    assert res.text.startswith("From the synthetic records (synthetic data calibrated")
    bham = split[(split["site"] == "birmingham") & (split["method"] == GOODMAN)]
    assert (
        "Birmingham's split is "
        + " / ".join(pct(v) for v in bham["estimate"])
        + f" of {int(bham['n'].iloc[0]):,} completed episodes, against the published "
        "70.0% / 10.0% / 20.0%" in res.text
    )
    rd = c3.iloc[2]
    assert (
        f"a difference of {100 * rd['estimate']:.1f} points (95% CI {100 * rd['ci_low']:.1f} to "
        f"{100 * rd['ci_high']:.1f})" in res.text
    )
    assert list(res.figures) == ["birmingham_split_records"]
    assert res.tables["counts"]["site"].unique().tolist() == ["birmingham", "harrow"]
    assert len(res.tables["harrow_c3"]) == 5


def test_a_birmingham_only_extract_has_no_harrow_rows_and_says_so(figures, events):
    data = read_episodes("data/synthetic/birmingham_6m_conversations_synthetic.csv")
    res = cs.split_from_records(data, figures, events)
    assert res.table["site"].unique().tolist() == ["birmingham"]
    assert res.tables["harrow_c3"].empty
    assert "Birmingham's split is" in res.text and "has no Harrow episodes" in res.text
    c3 = cs.harrow_c3_by_period(data.episodes, events, kind=data.kind)
    assert c3.empty and list(c3.columns)[:3] == ["quantity", "estimate", "ci_low"]
