"""Known-answer and bad-input tests for study.its.controlled (controlled ITS)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from its_series import HARROW

from study import its
from study.errors import StudyInputError


def test_controlled_its_equals_difference_of_separate_fits():
    periods = {"site": "2019-01-07", "covid": {"start": "2019-09-02", "kind": "context"}}
    t = its.simulate_its_counts(
        130, baseline_per_week=30, periods=periods, level_log={"site": -0.3}, seed=1
    )
    c = its.simulate_its_counts(130, baseline_per_week=50, periods=periods, seed=2)
    long = pd.concat([t.assign(group="harrow"), c.assign(group="comparison")])
    joint = its.fit_controlled_its(
        long, periods, treated="harrow", comparison="comparison", family="poisson", harmonics=0
    )
    ft = its.fit_its(t, periods, family="poisson", harmonics=0)
    fc = its.fit_its(c, periods, family="poisson", harmonics=0)
    diff = joint.differences.set_index("quantity")
    for term in ("level_site", "slope_site", "level_covid", "slope_covid"):
        what, period = term.split("_", 1)
        expected = ft.params[term] - fc.params[term]
        assert diff.loc[f"difference in {what} {period}", "estimate"] == pytest.approx(
            expected, abs=1e-7
        )
        var = ft.cov.loc[term, term] + fc.cov.loc[term, term]  # independent groups
        row = diff.loc[f"difference in {what} {period}"]
        assert row["ci_high"] - row["ci_low"] == pytest.approx(
            2 * 1.959963984540054 * math.sqrt(var), rel=1e-5
        )
    rr = diff.loc["ratio of level rate ratios site"]
    assert rr["ci_low"] < math.exp(-0.3) < rr["ci_high"]
    assert joint.n == 260


# poisson_hac_ar1 fits one series and is refused here (tests/test_its_hac_ar1.py)
@pytest.mark.parametrize("family", [f for f in its.FAMILIES if f != "poisson_hac_ar1"])
def test_controlled_its_runs_for_every_family(family, harrow_like):
    comp = its.simulate_its_counts(187, first_week="2017-09-04", baseline_per_week=20, seed=4)
    long = pd.concat([harrow_like.assign(site="harrow"), comp.assign(site="london")])
    fit = its.fit_controlled_its(
        long, HARROW, treated="harrow", comparison="london", group_col="site", family=family
    )
    d = fit.differences
    assert (d["ci_low"] < d["estimate"]).all() and (d["estimate"] < d["ci_high"]).all()
    if family in ("poisson_hac", "ols_hac"):
        assert "Driscoll-Kraay" in fit.method


def test_bad_controlled_arguments(harrow_like):
    long = pd.concat([harrow_like.assign(group="harrow"), harrow_like.assign(group="other")])
    with pytest.raises(StudyInputError, match="comparison: group 'london' not found"):
        its.fit_controlled_its(long, HARROW, treated="harrow", comparison="london")
    with pytest.raises(StudyInputError, match="missing column 'site'"):
        its.fit_controlled_its(long, HARROW, treated="harrow", comparison="other", group_col="site")
    short = pd.concat([harrow_like.assign(group="harrow"), harrow_like.iloc[1:].assign(group="o")])
    with pytest.raises(StudyInputError, match="week 2017-09-04 is in group 'harrow' but not in"):
        its.fit_controlled_its(short, HARROW, treated="harrow", comparison="o")
