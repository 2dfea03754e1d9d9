"""Notebook 03 on user data: the disclosure rule on its rows, views, sentences and figures."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from study import config
from study.analyses import interrupted_time_series as its_analysis
from study.config import SYNTHETIC_DIR
from study.data.records import read_records
from study.run.parameters import BY_NAME

WINDOWS = {"short": ["2019-06-03", "2019-07-01"], "fy_2019_20": ["2019-04-01", "2020-03-31"]}


def _setup(path, threshold=10):
    d = {k: BY_NAME[k].default_in("03") for k in ("site", "series", "periods", "family")}
    weekly = read_records(path, "weekly")
    return its_analysis.prepare(
        weekly, **d, comparison_site="london_comparison", windows=WINDOWS, last_week="",
        harmonics=1, exposure="", transition_weeks=0, alpha=0.05,
        data_kind=config.data_kind(path), source=str(path), disclosure_threshold=threshold,
    )  # fmt: skip


@pytest.fixture(scope="module")
def user_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("user") / "weekly.csv"
    shutil.copy(SYNTHETIC_DIR / "harrow_weekly_synthetic.csv", path)
    return path


def _scatter_values(fig) -> np.ndarray:
    ax = fig.axes[0]
    points = [c for c in ax.collections if type(c).__name__ == "PathCollection"]  # scatters
    return np.concatenate(
        [np.ma.filled(np.ma.asarray(c.get_offsets()[:, 1], dtype=float), np.nan) for c in points]
    )


def test_user_series_hides_small_counts_short_windows_and_their_sentences(user_file):
    setup = _setup(user_file)
    assert setup.data_kind == "user" and setup.hide_below == 10
    cf = its_analysis.counterfactual(setup, n_draws=200, seed=1)
    short = cf.table[cf.table["window"] == "short"]
    assert short["estimate"].isna().all() and short["note"].str.startswith("[c]").all()
    assert (cf.view.loc[short.index, "estimate"] == "[c]").all()
    kept = cf.table[cf.table["window"] == "fy_2019_20"]
    assert kept["estimate"].notna().all()
    assert "Over short: [c]" in cf.text and "Over fy_2019_20 (" in cf.text
    fig = cf.figures["counterfactual"]
    drawn = _scatter_values(fig)
    observed = setup.treated["count"].to_numpy(dtype=float)
    assert ((observed > 0) & (observed < 10)).any()  # the rule has something to hide
    finite = drawn[np.isfinite(drawn)]
    assert not ((finite > 0) & (finite < 10)).any()
    assert "not drawn (disclosure rule)" in fig.axes[0].get_title()
    ctl = its_analysis.controlled(setup).figures["controlled_its"]
    finite = _scatter_values(ctl)
    finite = finite[np.isfinite(finite)]
    assert not ((finite > 0) & (finite < 10)).any()


def test_synthetic_series_is_exempt():
    setup = _setup(SYNTHETIC_DIR / "harrow_weekly_synthetic.csv")
    assert setup.data_kind == "synthetic" and setup.hide_below is None
    cf = its_analysis.counterfactual(setup, n_draws=200, seed=1)
    assert cf.table["estimate"].notna().all() and "[c]" not in cf.text
    drawn = _scatter_values(cf.figures["counterfactual"])
    assert ((drawn > 0) & (drawn < 10)).any()
