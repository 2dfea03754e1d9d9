"""Known-answer tests for study.proportions.conditional_odds_ratio: scipy's
`scipy.stats.contingency.odds_ratio(table, kind="conditional")` is the reference (the same
conditional MLE and exact interval, evaluated through BiasedUrn one urn per probability)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from study.proportions import compare_proportions, conditional_odds_ratio


def _scipy(table, alpha):
    res = stats.contingency.odds_ratio(np.asarray(table), kind="conditional")
    ci = res.confidence_interval(confidence_level=1 - alpha)
    return float(res.statistic), float(ci.low), float(ci.high)


def _tables():
    fixed = [
        [[7, 15], [58, 472]],  # scipy's docstring example
        [[1, 1], [1, 1]],
        [[10, 1], [1, 10]],
        [[2, 7], [8, 2]],
        [[3, 40], [0, 33]],  # one zero cell: MLE inf, upper limit inf
        [[0, 5], [3, 4]],  # MLE 0, lower limit 0
        [[5, 0], [3, 4]],
        [[5, 3], [0, 4]],
        [[5, 3], [4, 0]],
        [[0, 5], [4, 0]],  # two zero cells
        [[5, 0], [0, 4]],
        [[0, 1], [1, 0]],
        [[1, 0], [0, 1]],
        [[1, 999], [10, 990]],
        [[50, 0], [49, 1]],
        [[0, 200], [7, 193]],
        [[120, 880], [95, 905]],
        [[250, 3595], [5460, 73500]],  # large margins: BiasedUrn's stepwise log factorials
        [[20, 1998], [45, 1995]],
    ]
    rng = np.random.default_rng(20261201)
    drawn = []
    for hi in [12] * 25 + [60] * 15 + [400] * 6:
        n1, n0 = (int(v) for v in rng.integers(1, hi, size=2))
        k1, k0 = int(rng.integers(0, n1 + 1)), int(rng.integers(0, n0 + 1))
        drawn.append([[k1, n1 - k1], [k0, n0 - k0]])
    return fixed + drawn


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.01])
def test_equals_scipy_over_many_tables(alpha):
    """MLE and both limits equal scipy's to a relative 1e-10 (bit-identical on this build);
    0, inf and nan exactly where scipy has them."""
    for table in _tables():
        want, got = _scipy(table, alpha), conditional_odds_ratio(table, alpha=alpha)
        for w, g in zip(want, got, strict=True):
            if math.isfinite(w) and w != 0:
                assert g == pytest.approx(w, rel=1e-10, abs=0), (table, alpha, want, got)
            else:
                assert (g == w) or (math.isnan(g) and math.isnan(w)), (table, alpha, want, got)


def test_scipy_docstring_example_bit_for_bit():
    """scipy's documented answer for [[7, 15], [58, 472]]."""
    assert conditional_odds_ratio([[7, 15], [58, 472]]) == (
        3.7836687705553493,
        1.2514829132266785,
        10.363493716701269,
    )


def test_empty_row_or_column_is_undefined():
    """An empty margin: MLE nan, interval (0, inf) as scipy; the row reports nan limits."""
    mle, low, high = conditional_odds_ratio([[0, 0], [3, 4]])
    assert math.isnan(mle) and (low, high) == (0.0, math.inf)
    row = compare_proportions(0, 5, 0, 7).iloc[-1]
    assert math.isnan(row["estimate"]) and math.isnan(row["ci_low"])
    assert row["note"].startswith("failed: the odds ratio is undefined")


def test_compare_proportions_odds_ratio_row_is_scipys():
    """The odds ratio row of compare_proportions carries scipy's numbers and Fisher's p."""
    row = compare_proportions(30, 200, 18, 210, alpha=0.1).iloc[-1]
    table = [[30, 170], [18, 192]]
    assert (row["estimate"], row["ci_low"], row["ci_high"]) == pytest.approx(
        _scipy(table, 0.1), rel=1e-10
    )
    assert row["p_value"] == stats.fisher_exact(table).pvalue
