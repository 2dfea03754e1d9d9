"""Series shared by the tests of `study.its` and its analysis (not a test module)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from study import its

HARROW = {
    "innovation_site_1": {"start": "2019-06-03"},
    "innovation_site_2": {"start": "2019-10-07", "slope": False},
    "covid_wave_1": {"start": "2020-03-23", "kind": "context"},
    "covid_wave_2": {"start": "2020-11-05", "kind": "context", "slope": False},
}


def weekly(counts, first="2019-01-07", **extra) -> pd.DataFrame:
    weeks = pd.date_range(first, periods=len(counts), freq="7D")
    return pd.DataFrame({"week_start": weeks, "count": counts, **extra})


def harrow_like_series() -> pd.DataFrame:
    """187 weeks from Sep 2017 with a 3Cs level drop, a Covid jump and AR(1) noise."""
    return its.simulate_its_counts(
        187,
        first_week="2017-09-04",
        baseline_per_week=8.0,
        trend_log_per_week=-0.001,
        periods=HARROW,
        level_log={"innovation_site_1": -0.2, "covid_wave_1": 0.25},
        season_amplitude_log=0.1,
        ar1_rho=0.3,
        ar1_sd=0.1,
        seed=11,
    )


def step_series() -> pd.DataFrame:
    """156 weekly Poisson counts from April 2017 stepping from 7.2 to 5.5 a week on 2019-06-03
    (Harrow's published rates before and after)."""
    return its.simulate_its_counts(
        156,
        first_week="2017-04-03",
        baseline_per_week=7.2,
        periods={"site": "2019-06-03"},
        level_log={"site": math.log(5.5 / 7.2)},
        seed=4,
    )


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg
