"""Tests for study.its.robustness (placebo interruptions, sensitivity table)."""

from __future__ import annotations

import pandas as pd
import pytest
from its_series import HARROW

from study import its
from study.errors import StudyInputError
from study.tidy import ESTIMATE_COLUMNS


def test_placebo_dates_and_null_effects(harrow_like):
    table = its.placebo_tests(harrow_like, HARROW, family="quasi_poisson", step_weeks=8)
    # series starts 2017-09-04, target 2019-06-03 = week 91: placebos at weeks 8, 16, ..., 80
    dates = pd.date_range("2017-09-04", periods=91, freq="7D")[8:84:8]
    assert list(table["placebo_start"].unique()) == [f"{d:%Y-%m-%d}" for d in dates]
    assert (table["n"] == 91).all()
    level = table[table["scale"] == "log"]
    assert (level["p_value"] > 0.01).all()
    assert table["weeks_before_target"].min() >= 8


def test_placebo_for_a_later_target_keeps_earlier_periods(harrow_like):
    table = its.placebo_tests(harrow_like, HARROW, target="innovation_site_2", step_weeks=2)
    # site 1 at week 91, site 2 at week 109: weeks 99 and 101 leave >= 8 weeks on both sides
    assert list(table["placebo_start"].unique()) == ["2019-07-29", "2019-08-12"]
    assert (table["n"] == 109).all()


def test_sensitivity_table_shape(harrow_like):
    fams = ("poisson", "negative_binomial", "ols_hac")
    table = its.sensitivity_table(
        harrow_like,
        HARROW,
        max_harmonics=1,
        families=fams,
        windows={"w": ["2019-06-03", "2020-03-22"]},
        n_draws=100,
    )
    per_fit = table.groupby(["family", "harmonics"]).size()
    assert len(per_fit) == 6
    # 2 intervention level terms (+2 rate ratios for count families) + 1 avoided row
    assert per_fit[("poisson", 0)] == 5 and per_fit[("ols_hac", 1)] == 3
    assert list(table.columns[:9]) == [*ESTIMATE_COLUMNS, "family", "harmonics"]
    assert table["quantity"].is_unique
    assert table["quantity"].iloc[0] == "coef level_innovation_site_1 [poisson, 0 harmonics]"


def test_bad_placebo_and_sensitivity_arguments(harrow_like):
    late = {"site": "2017-11-06", "covid": {"start": "2020-03-23", "kind": "context"}}
    with pytest.raises(StudyInputError, match="target: the pre-period of 'site' has 9 weeks"):
        its.placebo_tests(harrow_like, late)
    with pytest.raises(StudyInputError, match="target: no period named 'x'"):
        its.placebo_tests(harrow_like, HARROW, target="x")
    with pytest.raises(StudyInputError, match="family must be one of"):
        its.sensitivity_table(harrow_like, HARROW, families=["ols"])
