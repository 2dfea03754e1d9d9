"""Known-answer, property and bad-input tests for study.proportions."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    multinomial_proportions_confint,
)

from study.errors import StudyInputError
from study.proportions import (
    GOODMAN,
    KATZ,
    KOOPMAN,
    NEWCOMBE,
    SISON_GLAZ,
    WILSON,
    compare_proportions,
    compare_published_shares,
    comparison_denominator_sensitivity,
    katz_risk_ratio_ci,
    multinomial_ci,
    newcombe_difference_ci,
    shares_to_counts,
    sison_glaz_intervals,
    smallest_clear_denominator,
    wilson_interval,
)
from study.tidy import ESTIMATE_COLUMNS

Z975 = 1.959963984540054


def wilson_closed_form(k: int, n: int, z: float = Z975) -> tuple[float, float]:
    """Wilson (1927): (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)."""
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


# --- known answers ---------------------------------------------------------------------------


def test_wilson_birmingham_c1_closed_form():
    t = multinomial_ci({"C1": 1048, "C2": 150, "C3": 299}, methods=("wilson",), label="B")
    low, high = wilson_closed_form(1048, 1497)
    assert list(t.columns[:7]) == ESTIMATE_COLUMNS
    assert t.loc[0, "quantity"] == "B: share C1"
    assert t.loc[0, "estimate"] == pytest.approx(1048 / 1497)
    assert t.loc[0, "ci_low"] == pytest.approx(low, abs=1e-12)
    assert t.loc[0, "ci_high"] == pytest.approx(high, abs=1e-12)
    assert wilson_interval(1048, 1497) == pytest.approx((low, high), abs=1e-12)
    assert t.loc[0, "method"] == WILSON
    assert t.loc[0, "level"] == 0.95
    assert t.loc[0, "n"] == 1497


def test_shares_to_counts_birmingham():
    s = shares_to_counts({"C1": 0.70, "C2": 0.10, "C3": 0.20}, 1497)
    assert s["count"].tolist() == [1048, 150, 299]
    assert s["count"].sum() == 1497
    # whole counts consistent with 69.5% to 70.5% of 1,497
    assert s.loc[0, "count_min"] == math.ceil(0.695 * 1497)
    assert s.loc[0, "count_max"] == math.floor(0.705 * 1497)


def test_shares_to_counts_accepts_rounding_within_tolerance():
    s = shares_to_counts({"a": 0.33, "b": 0.33, "c": 0.33}, 300)
    assert s["count"].tolist() == [100, 100, 100]


def test_goodman_closed_form():
    counts = {"C1": 1048, "C2": 150, "C3": 299}
    t = multinomial_ci(counts, methods=("goodman",))
    n, k = 1497, 3
    c = stats.chi2.ppf(1 - 0.05 / k, 1)  # Goodman (1965): chi-square 1 df at alpha / k
    for i, x in enumerate(counts.values()):
        p = x / n
        delta = math.sqrt(c * (c + 4 * n * p * (1 - p)))
        assert t.loc[i, "ci_low"] == pytest.approx((2 * n * p + c - delta) / (2 * (c + n)))
        assert t.loc[i, "ci_high"] == pytest.approx((2 * n * p + c + delta) / (2 * (c + n)))
        assert t.loc[i, "method"] == GOODMAN


def test_sison_glaz_matches_r_multinomialci_example():
    # Sison & Glaz (1995) example 1; limits from R MultinomialCI (as in statsmodels' test data)
    counts = [56, 72, 73, 59, 62, 87, 58]
    expected = np.array(
        [
            [0.07922912, 0.1643361],
            [0.11349036, 0.1985973],
            [0.11563169, 0.2007386],
            [0.08565310, 0.1707601],
            [0.09207709, 0.1771840],
            [0.14561028, 0.2307172],
            [0.08351178, 0.1686187],
        ]
    )
    t = multinomial_ci(dict(enumerate(counts)), methods=("sison-glaz",))
    got = t[["ci_low", "ci_high"]].to_numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert (t["method"] == SISON_GLAZ).all()
    assert not t["note"].str.contains("indicative").any()  # 7 categories: within design


SISON_GLAZ_CASES = [
    [56, 72, 73, 59, 62, 87, 58],
    [1048, 150, 299],
    [1, 0],
    [0, 5],
    [2, 1],
    [1, 1, 1],
    [10, 0, 0, 0],
    [0, 0, 1, 0, 0, 0, 0],
    [400, 0, 1, 2, 399, 7],
    [5028, 958],
    [3, 17, 0, 250, 41],
]


@pytest.mark.parametrize("counts", SISON_GLAZ_CASES)
def test_sison_glaz_is_statsmodels_computation_to_the_bit(counts):
    """The vectorised port against statsmodels' category-by-category original."""
    for alpha in (0.01, 0.05, 0.2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref = multinomial_proportions_confint(counts, alpha=alpha, method="sison-glaz")
            got = sison_glaz_intervals(counts, alpha=alpha)
        np.testing.assert_array_equal(got, ref)


def test_sison_glaz_three_categories_is_flagged():
    t = multinomial_ci({"C1": 1048, "C2": 150, "C3": 299}, methods=("sison-glaz",))
    assert t["note"].str.contains("indicative").all()
    widths = (t["ci_high"] - t["ci_low"]).to_numpy()
    np.testing.assert_allclose(widths, widths[0])  # uniform width when not truncated


def test_newcombe_1998_worked_example():
    # Newcombe (1998) Table II, example (b): 56/70 vs 48/80, method 10: 0.0524 to 0.3339
    d, low, high = newcombe_difference_ci(56, 70, 48, 80)
    assert d == pytest.approx(0.2)
    assert round(low, 4) == 0.0524
    assert round(high, 4) == 0.3339


@pytest.mark.parametrize(
    "k1, n1, k0, n0", [(56, 70, 48, 80), (192, 1200, 90, 1000), (5, 20, 0, 15), (3, 3, 1, 9)]
)
def test_newcombe_matches_statsmodels(k1, n1, k0, n0):
    _, low, high = newcombe_difference_ci(k1, n1, k0, n0)
    sm_low, sm_high = confint_proportions_2indep(k1, n1, k0, n0, method="newcomb")
    assert low == pytest.approx(sm_low, abs=1e-12)
    assert high == pytest.approx(sm_high, abs=1e-12)


@pytest.mark.parametrize(
    "k1, n1, k0, n0", [(56, 70, 48, 80), (192, 1200, 90, 1000), (25, 100, 33, 100)]
)
def test_katz_matches_statsmodels_log_ratio(k1, n1, k0, n0):
    rr, low, high = katz_risk_ratio_ci(k1, n1, k0, n0)
    sm_low, sm_high = confint_proportions_2indep(k1, n1, k0, n0, method="log", compare="ratio")
    assert rr == pytest.approx((k1 / n1) / (k0 / n0))
    assert low == pytest.approx(sm_low, rel=1e-12)
    assert high == pytest.approx(sm_high, rel=1e-12)


def test_score_ratio_matches_statsmodels():
    t = compare_proportions(192, 1200, 90, 1000, ratio_method="score")
    row = t[t["method"] == KOOPMAN].iloc[0]
    sm_low, sm_high = confint_proportions_2indep(
        192, 1200, 90, 1000, method="score", compare="ratio"
    )
    assert row["ci_low"] == pytest.approx(sm_low)
    assert row["ci_high"] == pytest.approx(sm_high)


def test_compare_proportions_tests_by_hand():
    t = compare_proportions(56, 70, 48, 80, label="ex")
    assert t["quantity"].tolist() == [
        "ex: proportion after",
        "ex: proportion before",
        "ex: difference after - before",
        "ex: risk ratio after / before",
        "ex: odds ratio after / before",
    ]
    # Pearson chi-square without correction: N (ad - bc)^2 / (r1 r2 c1 c2)
    a, b, c, d = 56, 14, 48, 32
    x2 = 150 * (a * d - b * c) ** 2 / (70 * 80 * 104 * 46)
    assert t.loc[2, "p_value"] == pytest.approx(stats.chi2.sf(x2, 1))
    assert t.loc[2, "method"] == NEWCOMBE
    assert t.loc[3, "method"] == KATZ


def test_fisher_tea_tasting():
    # Fisher's lady tasting tea: [[3, 1], [1, 3]], two-sided p = 34/70
    t = compare_proportions(3, 4, 1, 4)
    assert t.loc[4, "p_value"] == pytest.approx(34 / 70)


def test_compare_published_shares_reproduces_points():
    t = compare_published_shares(0.25, 1000, 0.33, 1000, label="repeat")
    assert t.loc[2, "estimate"] == pytest.approx(0.25 - 0.33)
    assert t.loc[3, "estimate"] == pytest.approx(0.25 / 0.33)
    assert "250/1000 vs 330/1000" in t.loc[2, "note"]


def test_wilson_of_a_published_share_narrows_with_n():
    # 9% of 100, 400, 1600 conversations: 9, 36, 144
    bounds = [wilson_interval(k, n) for k, n in [(9, 100), (36, 400), (144, 1600)]]
    assert (np.diff([high - low for low, high in bounds]) < 0).all()
    low, high = wilson_closed_form(144, 1600)
    assert wilson_interval(144, 1600) == pytest.approx((low, high))
    t = compare_published_shares(0.09, 1600, 0.09, 6400)
    assert t.loc[0, "ci_low"] == pytest.approx(low)
    assert t.loc[0, "ci_high"] == pytest.approx(high)


def test_comparison_denominator_sensitivity_rows():
    t = comparison_denominator_sensitivity(0.16, 0.09, [(120, 100), (1200, 1000)], label="C3")
    assert len(t) == 4
    assert t.loc[2, "estimate"] == pytest.approx(0.07)
    assert t.loc[0, "ci_width"] > t.loc[2, "ci_width"]
    assert {"p_value", "p_fisher", "nobs1", "nobs0"} <= set(t.columns)


def test_without_the_odds_ratio_the_other_rows_are_unchanged():
    """odds_ratio=False leaves out the last row only; the sensitivity's Fisher p-value is the
    one the full comparison's odds-ratio row carries."""
    full = compare_published_shares(0.16, 1200, 0.09, 1000, label="C3")
    short = compare_published_shares(0.16, 1200, 0.09, 1000, label="C3", odds_ratio=False)
    pd.testing.assert_frame_equal(short, full.iloc[:4])
    sens = comparison_denominator_sensitivity(0.16, 0.09, [(1200, 1000)])
    assert sens["p_fisher"].iloc[0] == full["p_value"].iloc[4]
    assert sens["p_value"].iloc[0] == full["p_value"].iloc[2]


def sens_table(nobs0, lows, highs):
    return pd.DataFrame(
        {"method": NEWCOMBE, "nobs0": nobs0, "ci_low": lows, "ci_high": highs, "estimate": 0.0}
    )


def test_smallest_clear_denominator_both_directions():
    up = sens_table([100, 500, 1000], [-0.1, 0.01, 0.02], [0.2, 0.1, 0.1])
    assert smallest_clear_denominator(up, direction="increase") == 500
    down = sens_table([100, 500], [-0.2, -0.1], [0.1, 0.05])
    assert smallest_clear_denominator(down, direction="decrease") is None
    with pytest.raises(StudyInputError, match="direction"):
        smallest_clear_denominator(up, direction="up")
    real = comparison_denominator_sensitivity(0.16, 0.09, [(120, 100), (1200, 1000)])
    assert smallest_clear_denominator(real, direction="increase") == 1000


# --- bad input -------------------------------------------------------------------------------


def one_line_error(func, *args, match: str, **kwargs):
    with pytest.raises(StudyInputError, match=match) as exc:
        func(*args, **kwargs)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, "0.05", True])
def test_bad_alpha(alpha):
    one_line_error(multinomial_ci, {"a": 1, "b": 2}, alpha=alpha, match="alpha")
    one_line_error(compare_proportions, 1, 10, 2, 10, alpha=alpha, match="alpha")


def test_shares_not_summing_to_one():
    one_line_error(
        shares_to_counts,
        {"C1": 0.7, "C2": 0.1, "C3": 0.3},
        1497,
        name="bham_shares",
        match="bham_shares must sum to 1",
    )


def test_share_outside_unit_interval():
    one_line_error(shares_to_counts, {"a": 1.2, "b": -0.2}, 10, match=r"shares\['a'\]")


@pytest.mark.parametrize(
    "counts, where",
    [
        ({"a": -1, "b": 3}, r"counts\[0\]"),
        ({"a": 1.5, "b": 3}, r"counts\[0\]"),
        ({"a": 0, "b": 0}, "counts"),
    ],
)
def test_bad_multinomial_counts(counts, where):
    one_line_error(multinomial_ci, counts, match=where)


def test_bad_counts_in_comparison():
    one_line_error(compare_proportions, -1, 10, 2, 10, match="count1")
    one_line_error(compare_proportions, 1, 10, 2.5, 10, match="count0")
    one_line_error(compare_proportions, 11, 10, 2, 10, match="count1")
    one_line_error(compare_proportions, 1, 10, 0, 0, match="nobs0")


def test_bad_denominators():
    one_line_error(comparison_denominator_sensitivity, 0.16, 0.09, [(10, -5)], match="denominators")
    one_line_error(comparison_denominator_sensitivity, 0.16, 0.09, [], match="denominators")
    one_line_error(comparison_denominator_sensitivity, 0.16, 0.09, [(10,)], match="denominators")


def test_unknown_method():
    one_line_error(multinomial_ci, {"a": 1, "b": 2}, methods=("wald",), match="methods")


# --- properties ------------------------------------------------------------------------------

multinomial_counts = st.lists(st.integers(0, 400), min_size=2, max_size=6).filter(
    lambda c: sum(c) > 0
)


@settings(max_examples=60, deadline=None)
@given(multinomial_counts, st.sampled_from([0.01, 0.05, 0.1, 0.2]))
def test_intervals_contain_estimate_and_goodman_covers_wilson(counts, alpha):
    t = multinomial_ci(dict(enumerate(counts)), alpha=alpha)
    eps = 1e-9
    assert ((t["ci_low"] <= t["estimate"] + eps) & (t["estimate"] <= t["ci_high"] + eps)).all()
    assert ((t["ci_low"] >= -eps) & (t["ci_high"] <= 1 + eps)).all()
    wil = t[t["method"] == WILSON].reset_index()
    good = t[(t["method"] == GOODMAN) & ~t["note"].str.contains("Sison-Glaz")].reset_index()
    # Goodman uses chi2(1) at alpha / k > z^2 at alpha: nested, wider than per-category Wilson
    assert (good["ci_low"] <= wil["ci_low"] + eps).all()
    assert (good["ci_high"] >= wil["ci_high"] - eps).all()


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 500), st.integers(1, 500), st.data())
def test_comparison_intervals_contain_estimates(n1, n0, data):
    k1 = data.draw(st.integers(1, n1))
    k0 = data.draw(st.integers(1, n0))
    t = compare_proportions(k1, n1, k0, n0).dropna(subset=["estimate"])  # OR: 0/0 when all yes
    eps = 1e-9
    assert ((t["ci_low"] <= t["estimate"] + eps) & (t["estimate"] <= t["ci_high"] + eps)).all()
    d = t.iloc[2]
    assert -1 - eps <= d["ci_low"] and d["ci_high"] <= 1 + eps


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 100), min_size=2, max_size=6).filter(lambda v: sum(v) > 0),
    st.integers(1, 5000),
)
def test_shares_to_counts_sum_to_total(weights, total):
    shares = {i: w / sum(weights) for i, w in enumerate(weights)}
    s = shares_to_counts(shares, total, rounding_unit=0)
    assert s["count"].sum() == total
    assert (np.abs(s["count"] - s["share"] * total) < 1 + 1e-9).all()


def test_katz_zero_cells_get_half_added_to_every_cell():
    # 10/10 vs 10/10: var(log RR) = 2 (1/10.5 - 1/11), ratio 1 (observed; both counts positive)
    z = 1.959963984540054
    se = math.sqrt(2 * (1 / 10.5 - 1 / 11))
    rr, low, high = katz_risk_ratio_ci(10, 10, 10, 10)
    assert (rr, low, high) == pytest.approx((1.0, math.exp(-z * se), math.exp(z * se)), abs=1e-12)
    assert low < 1 < high
    # 0/10 vs 2/10: ratio (0.5/11) / (2.5/11) = 0.2, var = 1/0.5 - 1/11 + 1/2.5 - 1/11
    se = math.sqrt(1 / 0.5 - 1 / 11 + 1 / 2.5 - 1 / 11)
    rr, low, high = katz_risk_ratio_ci(0, 10, 2, 10)
    assert (rr, low, high) == pytest.approx((0.2, 0.2 * math.exp(-z * se), 0.2 * math.exp(z * se)))
    # no zero cell: the textbook formula unchanged
    se = math.sqrt(1 / 3 - 1 / 10 + 1 / 2 - 1 / 10)
    assert katz_risk_ratio_ci(3, 10, 2, 10)[1] == pytest.approx(1.5 * math.exp(-z * se))


def test_compare_proportions_keeps_the_methods_that_work():
    t = compare_proportions(0, 10, 0, 10)
    assert len(t) == 5
    diff = t.iloc[2]
    assert diff["ci_low"] < 0 < diff["ci_high"]  # Newcombe row kept
    rr = t.iloc[3]
    assert "0.5 added to every cell" in rr["method"] and rr["ci_low"] < 1 < rr["ci_high"]
    odds = t.iloc[4]
    assert math.isnan(odds["estimate"]) and odds["note"].startswith("failed:")
    score = compare_proportions(0, 10, 0, 10, ratio_method="score").iloc[3]
    assert math.isnan(score["estimate"]) and score["note"].startswith("failed: count0 is 0")


def test_sison_glaz_at_a_100_percent_category_is_not_a_point():
    t = multinomial_ci({"a": 10, "b": 0, "c": 0})
    sg = t.iloc[6:]
    goodman = t[t["method"] == GOODMAN].iloc[:3]
    assert (sg["method"] == GOODMAN).all()
    assert sg["note"].str.contains("Sison-Glaz is degenerate").all()
    assert sg["ci_low"].tolist() == pytest.approx(goodman["ci_low"].tolist())
    assert sg.iloc[0]["ci_low"] < 1
