"""Known-answer and bad-input tests for study.its.design (periods, weekly series, design matrix)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from its_series import HARROW, one_line, weekly

from study import its
from study.errors import StudyInputError


def test_design_matrix_by_hand():
    data = weekly([3, 4, 5, 4, 2, 3, 2, 1, 2, 2])
    design = its.build_design(
        data, {"site": "2019-02-04"}, harmonics=1, min_segment_weeks=4
    )  # week index 4
    t = np.arange(10.0)
    expected = pd.DataFrame(
        {
            "intercept": [1.0] * 10,
            "trend": [0.0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            "sin1": np.sin(2 * np.pi * t / 52.18),
            "cos1": np.cos(2 * np.pi * t / 52.18),
            "level_site": [0.0, 0, 0, 0, 1, 1, 1, 1, 1, 1],
            "slope_site": [0.0, 0, 0, 0, 0, 1, 2, 3, 4, 5],
        }
    )
    pd.testing.assert_frame_equal(design.X, expected)
    assert design.X.loc[1, "sin1"] == pytest.approx(0.1201, abs=1e-4)  # sin(2 pi / 52.18)
    assert design.offset is None
    assert design.intervention_terms == ("level_site", "slope_site")
    assert design.context_terms == ()
    assert design.fit_mask.all()
    assert design.start_index == {"site": 4}


def test_design_mid_week_start_switches_and_transition():
    data = weekly([3] * 24, population=[1000.0] * 24)
    periods = [
        its.PeriodSpec("a", "2019-02-07", slope=False),  # a Thursday -> the week of 2019-02-04
        its.PeriodSpec("covid", "2019-04-01", kind="context", level=False),
    ]
    design = its.build_design(
        data, periods, exposure="population", transition_weeks=2, min_segment_weeks=4
    )
    assert list(design.X.columns) == ["intercept", "trend", "level_a", "slope_covid"]
    assert design.start_index == {"a": 4, "covid": 12}
    assert design.X["level_a"].tolist() == [0.0] * 4 + [1.0] * 20
    assert design.X["slope_covid"].tolist() == [0.0] * 12 + [float(k) for k in range(12)]
    assert np.flatnonzero(~design.fit_mask).tolist() == [4, 5, 12, 13]
    assert np.allclose(design.offset, math.log(1000.0))
    assert design.context_terms == ("slope_covid",)


BAD_PERIODS = [
    ({"site": "2015-01-05"}, "periods['site'].start 2015-01-05 is outside the series"),
    ({"site": "2031-01-06"}, "outside the series"),
    ({"b": "2019-10-07", "a": "2019-06-03"}, "periods['a'].start 2019-06-03 is not after 'b'"),
    ({"site": "2019-01-28"}, "has 3 weeks in the fit, need at least 8"),
    ({"site": "not a date"}, "periods['site'].start: not a date"),
    ({"site": {"start": "2019-06-03", "kind": "covid"}}, "periods['site'].kind must be one of"),
    ({"site": {"start": "2019-06-03", "colour": 1}}, "periods['site']: unknown key(s)"),
    ({"site": {"kind": "context"}}, "periods['site']: missing 'start'"),
    ({"site": {"start": "2019-06-03", "level": False, "slope": False}}, "both switched off"),
    ({"bad name": "2019-06-03"}, "must be an identifier"),
]


@pytest.mark.parametrize(("periods", "match"), BAD_PERIODS)
def test_bad_periods(periods, match):
    data = weekly([5] * 60, first="2019-01-07")
    with pytest.raises(StudyInputError) as exc:
        its.fit_its(data, periods)
    assert match in one_line(exc)


def test_same_week_periods_leave_an_empty_segment():
    data = weekly([5] * 60)
    periods = {"a": "2019-06-03", "covid": {"start": "2019-06-05", "kind": "context"}}
    with pytest.raises(StudyInputError, match="has 0 weeks in the fit"):
        its.fit_its(data, periods)


def test_transition_window_can_empty_a_segment():
    data = weekly([5] * 60)
    with pytest.raises(StudyInputError, match="after 'a'.*has 6 weeks"):
        its.fit_its(data, {"a": "2019-12-23"}, transition_weeks=4)


def test_missing_week_is_named():
    data = weekly([5] * 30).drop(index=[12, 13])
    with pytest.raises(StudyInputError) as exc:
        its.fit_its(data, {"a": "2019-03-04"})
    assert one_line(exc) == "data: missing week 2019-04-01 (weekly series)"


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=38))
def test_first_missing_week_is_named_wherever_it_is(gap):
    data = weekly([5] * 40).drop(index=[gap])
    missing = pd.Timestamp("2019-01-07") + pd.Timedelta(weeks=gap)
    with pytest.raises(StudyInputError, match=f"missing week {missing:%Y-%m-%d}"):
        its.check_weekly_series(data)


@pytest.mark.parametrize(
    ("mutate", "kwargs", "match"),
    [
        (lambda d: d.assign(count=[5] * 20 + [-1] + [5] * 19), {}, "count in week 2019-05-27"),
        (lambda d: d.assign(count=[5.5] + [5] * 39), {}, "count in week 2019-01-07"),
        (lambda d: d.assign(count=["x"] + [5] * 39), {}, "count in week 2019-01-07"),
        (lambda d: d.assign(pop=[0.0] + [9.0] * 39), {"exposure": "pop"}, "pop (exposure) in"),
        (lambda d: d.assign(pop=[9.0] * 39 + [-2.0]), {"exposure": "pop"}, "week 2019-10-07"),
        (lambda d: d, {"exposure": "pop"}, "data: missing column 'pop'"),
        (lambda d: d.drop(columns="count"), {}, "data: missing column 'count'"),
        (lambda d: pd.concat([d, d.iloc[[3]]]), {}, "week 2019-01-28 appears more than once"),
        (
            lambda d: d.assign(week_start=d["week_start"] + pd.to_timedelta([0] * 39 + [1], "D")),
            {},
            "week 2019-10-08 is not 7 days after 2019-09-30",
        ),
        (lambda d: d.assign(week_start="soon"), {}, "'week_start' holds values that are not"),
        (lambda d: d, {"family": "gaussian"}, "family must be one of"),
        (lambda d: d, {"harmonics": -1}, "harmonics must be"),
        (lambda d: d, {"harmonics": 27}, "harmonics must be at most 26"),
        (lambda d: d, {"alpha": 1.5}, "alpha must be"),
        (lambda d: d, {"transition_weeks": 1.5}, "transition_weeks must be"),
        (lambda d: d, {"hac_lags": -2, "family": "ols_hac"}, "hac_lags must be"),
        (lambda d: d.iloc[:0], {}, "data: the series has no rows"),
    ],
)
def test_bad_series_and_arguments(mutate, kwargs, match):
    data = mutate(weekly([5] * 40))
    with pytest.raises(StudyInputError) as exc:
        its.fit_its(data, {"a": "2019-05-06"}, **kwargs)
    assert match in one_line(exc)


def test_iso_strings_and_unsorted_rows_are_accepted(harrow_like):
    shuffled = harrow_like.sample(frac=1.0, random_state=0)
    as_text = shuffled.assign(week_start=shuffled["week_start"].dt.strftime("%Y-%m-%d"))
    a = its.fit_its(as_text, HARROW, family="poisson")
    b = its.fit_its(harrow_like, HARROW, family="poisson")
    assert np.allclose(a.params, b.params, atol=1e-12)
