"""Known-answer, property and bad-input tests for study.rates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from study.errors import StudyInputError
from study.rates import (
    EXACT_CONDITIONAL,
    GARWOOD,
    NEG_BINOMIAL,
    QUASI_POISSON,
    WALD_GLM,
    before_after_weeks,
    exact_rate_ratio_ci,
    garwood_rate_ci,
    glm_rate_ratio,
    poisson_rate_ratio,
    published_rate_ratio,
    published_rate_ratio_sensitivity,
    published_reduction,
    published_reduction_sensitivity,
    weekly_rate_ratio,
)
from study.tidy import ESTIMATE_COLUMNS

Z975 = 1.959963984540054


def closed_form_rr(k1, t1, k0, t0, z=Z975):
    log_rr = math.log(k1 / t1) - math.log(k0 / t0)
    se = math.sqrt(1 / k1 + 1 / k0)
    return math.exp(log_rr), math.exp(log_rr - z * se), math.exp(log_rr + z * se)


# --- known answers ---------------------------------------------------------------------------


@pytest.mark.parametrize("k1, t1, k0, t0", [(72, 13, 94, 13), (30, 10, 45, 12), (5, 2.5, 1, 4)])
def test_glm_rate_ratio_equals_closed_form(k1, t1, k0, t0):
    rr, low, high, p = glm_rate_ratio(k1, t1, k0, t0)
    e_rr, e_low, e_high = closed_form_rr(k1, t1, k0, t0)
    assert rr == pytest.approx(e_rr, rel=1e-9)
    assert low == pytest.approx(e_low, rel=1e-7)
    assert high == pytest.approx(e_high, rel=1e-7)
    zstat = math.log(e_rr) / math.sqrt(1 / k1 + 1 / k0)
    assert p == pytest.approx(2 * stats.norm.sf(abs(zstat)), rel=1e-6)


@pytest.mark.parametrize(
    "k1, t1, k0, t0", [(72, 13, 94, 13), (30, 10, 45, 12), (0, 5, 7, 5), (4, 5, 0, 5)]
)
def test_exact_rate_ratio_matches_scipy_binomtest(k1, t1, k0, t0):
    rr, low, high, p = exact_rate_ratio_ci(k1, t1, k0, t0)
    res = stats.binomtest(k1, k1 + k0, t1 / (t1 + t0))
    ci = res.proportion_ci(confidence_level=0.95, method="exact")

    def to_rr(pi):
        return math.inf if pi == 1 else pi / (1 - pi) * t0 / t1

    assert low == pytest.approx(to_rr(ci.low), abs=1e-10)
    assert high == pytest.approx(to_rr(ci.high), rel=1e-10)
    assert p == pytest.approx(res.pvalue)
    if k0 > 0:
        assert rr == pytest.approx((k1 / t1) / (k0 / t0))


def test_garwood_chi_square_form():
    rate, low, high = garwood_rate_ci(94, 13)
    assert rate == pytest.approx(94 / 13)
    assert low == pytest.approx(stats.chi2.ppf(0.025, 2 * 94) / 2 / 13)
    assert high == pytest.approx(stats.chi2.ppf(0.975, 2 * 95) / 2 / 13)
    assert garwood_rate_ci(0, 10)[1] == 0


def test_poisson_rate_ratio_table():
    t = poisson_rate_ratio(72, 13, 94, 13, label="ex")
    assert list(t.columns[:7]) == ESTIMATE_COLUMNS
    assert t["method"].tolist() == [GARWOOD] * 2 + [WALD_GLM] * 2 + [EXACT_CONDITIONAL] * 2
    rr = t.loc[2]
    red = t.loc[3]
    assert red["estimate"] == pytest.approx(1 - rr["estimate"])
    assert red["ci_low"] == pytest.approx(1 - rr["ci_high"])
    assert red["ci_high"] == pytest.approx(1 - rr["ci_low"])
    assert rr["quantity"] == "ex: rate ratio after / before"


def test_harrow_published_reduction_reproduced_exactly():
    t = published_rate_ratio(7.2, 5.5, 13, 13, label="Harrow")
    wald = t[t["method"] == WALD_GLM]
    assert wald.iloc[0]["estimate"] == pytest.approx(5.5 / 7.2, rel=1e-12)
    assert wald.iloc[1]["estimate"] == pytest.approx(1 - 5.5 / 7.2, rel=1e-12)
    assert round(100 * wald.iloc[1]["estimate"], 1) == 23.6
    # Wald CI equals the closed form on the unrounded counts 93.6 and 71.5
    _, low, high = closed_form_rr(5.5 * 13, 13, 7.2 * 13, 13)
    assert wald.iloc[0]["ci_low"] == pytest.approx(low, rel=1e-7)
    assert wald.iloc[0]["ci_high"] == pytest.approx(high, rel=1e-7)
    exact = t[t["method"] == EXACT_CONDITIONAL]
    assert "72 vs 94" in exact.iloc[0]["note"]
    assert t.loc[0, "estimate"] == pytest.approx(7.2)


def test_published_rate_ratio_sensitivity_narrows():
    t = published_rate_ratio_sensitivity(7.2, 5.5, [4, 13, 26, 52])
    rr = t[t["quantity"].str.contains("rate ratio")]
    assert np.allclose(rr["estimate"], 5.5 / 7.2)
    assert (np.diff(rr["ci_width"].to_numpy()) < 0).all()
    assert rr["exposure"].tolist() == [4, 13, 26, 52]


def test_birmingham_reduction_reproduced_exactly():
    t = published_reduction(0.36, 200, label="Bham")
    red = t[(t["method"] == WALD_GLM) & t["quantity"].str.contains("reduction")].iloc[0]
    assert red["estimate"] == pytest.approx(0.36, rel=1e-12)
    _, low, high = closed_form_rr(128, 1, 200, 1)
    assert red["ci_low"] == pytest.approx(1 - high, rel=1e-7)
    assert red["ci_high"] == pytest.approx(1 - low, rel=1e-7)
    assert "assumed baseline 200" in red["note"]


def test_birmingham_sensitivity_table():
    t = published_reduction_sensitivity(0.36, [25, 100, 400])
    wald = t[(t["method"] == WALD_GLM) & t["quantity"].str.contains("reduction")]
    assert np.allclose(wald["estimate"], 0.36)
    assert (np.diff(wald["ci_width"].to_numpy()) < 0).all()
    assert wald["baseline_count"].tolist() == [25, 100, 400]


def weekly_frame(before, after, exposure=None):
    df = pd.DataFrame(
        {
            "count": list(before) + list(after),
            "period": ["before"] * len(before) + ["after"] * len(after),
        }
    )
    if exposure is not None:
        df["weeks"] = exposure
    return df


def test_weekly_poisson_equals_closed_form():
    before = [7, 9, 6, 8, 7, 8, 6, 7, 9, 8]
    after = [5, 6, 5, 7, 4, 6, 5, 6, 5, 6]
    t = weekly_rate_ratio(weekly_frame(before, after), model="poisson")
    e_rr, e_low, e_high = closed_form_rr(sum(after), len(after), sum(before), len(before))
    row = t.iloc[1]
    assert row["method"] == WALD_GLM
    assert row["estimate"] == pytest.approx(e_rr, rel=1e-9)
    assert row["ci_low"] == pytest.approx(e_low, rel=1e-7)
    assert row["ci_high"] == pytest.approx(e_high, rel=1e-7)


def test_weekly_quasi_poisson_scales_by_pearson_dispersion():
    before = [2, 15, 3, 12, 1, 18, 4, 9, 0, 16]
    after = [1, 9, 2, 11, 0, 7, 3, 8, 1, 6]
    t = weekly_rate_ratio(weekly_frame(before, after))  # auto
    m0, m1 = np.mean(before), np.mean(after)
    x2 = sum((y - m0) ** 2 / m0 for y in before) + sum((y - m1) ** 2 / m1 for y in after)
    phi = x2 / (len(before) + len(after) - 2)
    assert t.loc[0, "estimate"] == pytest.approx(phi)
    assert t.loc[0, "p_value"] == pytest.approx(stats.chi2.sf(x2, 18))
    assert t.loc[1, "method"] == QUASI_POISSON
    se = math.sqrt(phi * (1 / sum(after) + 1 / sum(before)))
    assert t.loc[1, "estimate"] == pytest.approx(m1 / m0)
    assert t.loc[1, "ci_high"] == pytest.approx(m1 / m0 * math.exp(Z975 * se), rel=1e-6)


def test_weekly_auto_keeps_poisson_without_overdispersion():
    before = [7, 8, 7, 8, 7, 8, 7, 8]
    after = [5, 6, 5, 6, 5, 6, 5, 6]
    t = weekly_rate_ratio(weekly_frame(before, after))
    assert t.loc[0, "p_value"] > 0.05
    assert t.loc[1, "method"] == WALD_GLM


def test_weekly_negative_binomial_point_is_ratio_of_means():
    rng = np.random.default_rng(3)
    before = rng.negative_binomial(2, 2 / (2 + 7.2), 40)
    after = rng.negative_binomial(2, 2 / (2 + 5.5), 40)
    t = weekly_rate_ratio(weekly_frame(before, after), model="negative-binomial")
    assert t.loc[1, "method"] == NEG_BINOMIAL
    assert t.loc[1, "estimate"] == pytest.approx(after.mean() / before.mean(), rel=1e-5)


def test_weekly_exposure_column():
    t = weekly_rate_ratio(
        weekly_frame([14, 16], [10, 12], exposure=[2, 2, 2, 2]),
        exposure_col="weeks",
        model="poisson",
    )
    assert t.loc[1, "estimate"] == pytest.approx(22 / 30)


# --- bad input -------------------------------------------------------------------------------


def one_line_error(func, *args, match: str, **kwargs):
    with pytest.raises(StudyInputError, match=match) as exc:
        func(*args, **kwargs)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("alpha", [0, 1, -0.5, 2, None])
def test_bad_alpha(alpha):
    one_line_error(poisson_rate_ratio, 5, 1, 6, 1, alpha=alpha, match="alpha")
    one_line_error(published_rate_ratio, 7.2, 5.5, 13, 13, alpha=alpha, match="alpha")
    one_line_error(published_reduction, 0.36, 100, alpha=alpha, match="alpha")


def test_bad_counts():
    one_line_error(poisson_rate_ratio, -1, 1, 6, 1, match="count1")
    one_line_error(poisson_rate_ratio, 5, 1, 6.5, 1, match="count0")
    one_line_error(poisson_rate_ratio, 0, 1, 0, 1, match="count1 \\+ count0")
    one_line_error(exact_rate_ratio_ci, 2.5, 1, 6, 1, match="count1")
    one_line_error(glm_rate_ratio, 0, 1, 6, 1, match="count1")


@pytest.mark.parametrize("exposure", [0, -13, float("inf"), "13"])
def test_bad_exposure(exposure):
    one_line_error(poisson_rate_ratio, 5, exposure, 6, 1, match="exposure1")
    one_line_error(published_rate_ratio, 7.2, 5.5, exposure, 13, match="exposure_before")
    one_line_error(
        published_rate_ratio_sensitivity, 7.2, 5.5, [13, exposure], match=r"exposures\[1\]"
    )


def test_bad_published_values():
    one_line_error(published_rate_ratio, 0, 5.5, 13, 13, match="rate_before")
    one_line_error(published_rate_ratio, 7.2, -1, 13, 13, match="rate_after")
    one_line_error(published_reduction, 1.36, 100, match="reduction")
    one_line_error(published_reduction, 0.36, 0, match="baseline_count")
    one_line_error(published_reduction_sensitivity, 0.36, [], match="baseline_counts")


def test_bad_weekly_frames():
    good = weekly_frame([5, 6], [4, 5])
    one_line_error(weekly_rate_ratio, good.rename(columns={"count": "n"}), match="'count'")
    one_line_error(weekly_rate_ratio, good.assign(count=[5, -6, 4, 5]), match="count")
    one_line_error(weekly_rate_ratio, good.assign(count=[5, 6.5, 4, 5]), match="count")
    one_line_error(weekly_rate_ratio, good[good.period == "before"], match="after")
    one_line_error(
        weekly_rate_ratio, good.assign(weeks=[1, 0, 1, 1]), exposure_col="weeks", match="weeks"
    )
    one_line_error(weekly_rate_ratio, good, model="zip", match="model")
    one_line_error(weekly_rate_ratio, good, dispersion_alpha=1, match="dispersion_alpha")


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 2000),
    st.integers(1, 2000),
    st.floats(0.5, 104),
    st.floats(0.5, 104),
    st.sampled_from([0.01, 0.05, 0.1]),
)
def test_rate_intervals_contain_estimate(k1, k0, t1, t0, alpha):
    t = poisson_rate_ratio(k1, t1, k0, t0, alpha=alpha)
    eps = 1e-9
    assert (
        (t["ci_low"] <= t["estimate"] * (1 + eps) + eps)
        & (t["estimate"] <= t["ci_high"] * (1 + eps) + eps)
    ).all()
    ratios = t[t["quantity"] == "rate ratio after / before"]
    reductions = t[t["quantity"] == "reduction 1 - RR"]
    np.testing.assert_allclose(reductions["estimate"], 1 - ratios["estimate"].to_numpy())
    np.testing.assert_allclose(reductions["ci_low"], 1 - ratios["ci_high"].to_numpy())


@settings(max_examples=60, deadline=None)
@given(st.floats(0.1, 50), st.floats(0.1, 50), st.floats(1, 104))
def test_published_ratio_point_is_exact(rate0, rate1, weeks):
    t = published_rate_ratio(rate0, rate1, weeks, weeks)
    wald = t[t["method"] == WALD_GLM]
    assert wald.iloc[0]["estimate"] == pytest.approx(rate1 / rate0, rel=1e-9)


def test_before_after_weeks_windows():
    weeks = pd.date_range("2018-12-03", periods=70, freq="7D")
    weekly = pd.DataFrame({"week_start": weeks, "count": np.arange(70)})
    out = before_after_weeks(weekly, "2019-03-31", "2020-03-31", 13)
    before = out[out["period"] == "before"]["week_start"]
    after = out[out["period"] == "after"]["week_start"]
    assert len(before) == len(after) == 13
    assert before.max() == pd.Timestamp("2019-03-25")  # last whole week ends Sun 31 March
    assert after.max() + pd.Timedelta(days=6) <= pd.Timestamp("2020-03-31")
    assert after.max() == pd.Timestamp("2020-03-23")


def test_before_after_weeks_bad_input():
    weeks = pd.date_range("2019-01-07", periods=20, freq="7D")
    weekly = pd.DataFrame({"week_start": weeks, "count": 1})
    one_line_error(before_after_weeks, weekly, "2019-03-31", "2019-05-31", 0, match="weeks")
    one_line_error(before_after_weeks, weekly, "2019-03-31", "2019-05-31", 30, match="weeks")
    one_line_error(before_after_weeks, weekly, "2019-03-31", "2019-04-30", 8, match="overlap")
    one_line_error(
        before_after_weeks,
        weekly.rename(columns={"week_start": "w"}),
        "2019-03-31",
        "2019-05-31",
        4,
        match="week_start",
    )
