"""Tests for study.its.windows (cutting a weekly file at the evaluation's last week)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from study import its
from study.errors import StudyInputError


def test_data_up_to_cuts_weeks_periods_and_windows():
    weeks = pd.date_range("2019-01-07", periods=80, freq="7D")
    weekly = pd.DataFrame({"week_start": weeks, "count": np.arange(80)})
    periods = {
        "a": {"start": "2019-06-03", "kind": "intervention"},
        "covid": {"start": "2020-03-23", "kind": "context"},
    }
    windows = {"early": ["2019-06-03", "2020-03-31"], "late": ["2020-04-01", "2020-12-31"]}
    cut = its.data_up_to(weekly, periods, windows, "2020-03-16")
    assert cut.weekly["week_start"].max() == pd.Timestamp("2020-03-16")
    assert len(cut.weekly) == int((weeks <= "2020-03-16").sum())
    assert list(cut.periods) == ["a"] and cut.periods["a"] == periods["a"]
    assert cut.windows == {"early": ["2019-06-03", "2020-03-16"]}
    assert cut.dropped == (
        "period covid (starts 2020-03-23)",
        "window late (starts 2020-04-01)",
    )
    whole = its.data_up_to(weekly, periods, windows, "")
    assert whole.weekly is weekly and whole.dropped == () and list(whole.periods) == ["a", "covid"]
    with pytest.raises(StudyInputError, match="no week of the series starts by then"):
        its.data_up_to(weekly, periods, windows, "2018-01-01")
    with pytest.raises(StudyInputError, match="last_week"):
        its.data_up_to(weekly, periods, windows, "not a date")
