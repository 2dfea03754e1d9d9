"""Tests for study.analyses.interrupted_time_series (notebook 03's sections): every table is the
estimator's table with the run labels, every sentence is computed from that table."""

from __future__ import annotations

import pandas as pd
import pytest
from its_series import HARROW, harrow_like_series
from matplotlib.figure import Figure

from study import its
from study.analyses import interrupted_time_series as its_analysis
from study.errors import StudyInputError
from study.run.recorder import Recorder

SERIES = "new_long_term_starts"
WINDOWS = {"pre_covid": ["2019-06-03", "2020-03-22"], "fy_2020_21": ["2020-04-01", "2021-03-31"]}
LABELS = {"site": "harrow", "data_kind": "synthetic", "source": "weekly.csv"}


@pytest.fixture(scope="module")
def weekly() -> pd.DataFrame:
    """A long weekly file: the treated series, another series of the same site, a comparison."""
    treated = harrow_like_series().drop(columns="mean")
    comparison = its.simulate_its_counts(187, first_week="2017-09-04", baseline_per_week=20, seed=4)
    other = comparison.assign(count=comparison["count"] + 100)
    return pd.concat(
        [
            treated.assign(site="harrow", series=SERIES),
            other.drop(columns="mean").assign(site="harrow", series="reviews"),
            comparison.drop(columns="mean").assign(site="london", series=SERIES),
        ],
        ignore_index=True,
    )


def prepare(weekly: pd.DataFrame, **changes) -> its_analysis.ITSSetup:
    options = dict(
        site="harrow",
        series=SERIES,
        comparison_site="london",
        periods=HARROW,
        windows=WINDOWS,
        last_week="",
        family="quasi_poisson",
        harmonics=1,
        exposure="",
        transition_weeks=0,
        alpha=0.05,
        data_kind="synthetic",
        source="weekly.csv",
    )
    return its_analysis.prepare(weekly, **{**options, **changes})


@pytest.fixture(scope="module")
def setup(weekly) -> its_analysis.ITSSetup:
    return prepare(weekly)


def labels_of(table: pd.DataFrame) -> dict[str, set]:
    return {column: set(table[column]) for column in LABELS}


def test_prepare_cuts_the_file_picks_the_series_and_fits_it(weekly):
    setup = prepare(weekly, last_week="2020-10-26")
    assert len(setup.treated) == 165  # 2017-09-04 .. 2020-10-26
    assert set(setup.treated["site"]) == {"harrow"} and set(setup.treated["series"]) == {SERIES}
    assert set(setup.pair["site"]) == {"harrow", "london"} and len(setup.pair) == 2 * 165
    assert list(setup.periods) == ["innovation_site_1", "innovation_site_2", "covid_wave_1"]
    assert setup.windows == {
        "pre_covid": WINDOWS["pre_covid"],
        "fy_2020_21": ["2020-04-01", "2020-10-26"],
    }
    assert setup.description == (
        "harrow new_long_term_starts: 165 weeks, 2017-09-04 to 2020-10-26; data kind: synthetic"
        "\n\nafter last_week 2020-10-26, left out: period covid_wave_2 (starts 2020-11-05)"
    )
    direct = its.fit_its(setup.treated, setup.periods, family="quasi_poisson", label=SERIES)
    pd.testing.assert_frame_equal(setup.fit.table, direct.table)
    assert prepare(weekly, comparison_site="").pair is None
    with pytest.raises(StudyInputError, match=r"weekly: missing column\(s\) \['series'\]"):
        prepare(weekly.drop(columns="series"))


def test_segmented_regression_rows_and_sentence_come_from_the_fit(setup, tmp_path):
    result = its_analysis.segmented_regression(setup)
    fit = setup.fit
    assert list(result.table["quantity"]) == list(fit.table["quantity"])
    assert result.table["estimate"].tolist() == fit.table["estimate"].tolist()
    assert labels_of(result.table) == {k: {v} for k, v in LABELS.items()}
    diagnostics = its.residual_diagnostics(fit)
    assert result.text == (
        f"{fit.method}\n\nPearson dispersion (Poisson variance): {fit.dispersion:.2f}"
    )
    assert f"Pearson X2/df = {fit.dispersion:.3f}" in result.text  # quasi-Poisson scale
    pd.testing.assert_frame_equal(result.tables["residual_tests"], diagnostics.tests.round(4))
    assert list(result.view.columns) == its_analysis.SHOW
    assert isinstance(result.figures["residual_acf"], Figure)
    # recorded rows are exactly what `Recorder.estimates` wrote from the fit's table
    Recorder(str(tmp_path / "a"), "03").record(result)
    Recorder(str(tmp_path / "b"), "03").estimates(fit.table, **LABELS)
    a = (tmp_path / "a" / "estimates" / "03.csv").read_text()
    assert a == (tmp_path / "b" / "estimates" / "03.csv").read_text()
    assert (tmp_path / "a" / "figures" / "03__residual_acf.png").exists()


def test_counterfactual_rows_and_sentences_come_from_the_draws(setup):
    result = its_analysis.counterfactual(setup, n_draws=200, seed=3)
    cf = its.counterfactual_effect(setup.fit, WINDOWS, n_draws=200, seed=3)
    pd.testing.assert_frame_equal(result.table.drop(columns=list(LABELS)), cf.table)
    assert result.text == "\n\n".join(its.effect_summary(cf, w) for w in WINDOWS)
    avoided = cf.table.set_index("quantity").loc[f"{SERIES}: avoided fy_2020_21"]
    assert f"{avoided['estimate']:.1f} avoided" in result.text.split("\n\n")[1]
    assert list(result.figures) == ["counterfactual"]
    assert its_analysis.counterfactual(setup, n_draws=200, seed=4).text != result.text


def test_controlled_rows_and_text_come_from_the_joint_fit(setup, weekly):
    result = its_analysis.controlled(setup)
    joint = its.fit_controlled_its(
        setup.pair,
        HARROW,
        treated="harrow",
        comparison="london",
        group_col="site",
        label=f"{SERIES} vs london",
    )
    pd.testing.assert_frame_equal(result.table.drop(columns=list(LABELS)), joint.differences)
    assert result.text == joint.method and result.text.startswith("Controlled ITS, Quasi-Poisson")
    assert list(result.figures) == ["controlled_its"]
    alone = its_analysis.controlled(prepare(weekly, comparison_site=""))
    assert alone.table.empty and alone.figures == {} and alone.text == its_analysis.NO_COMPARISON


def test_placebo_sentence_counts_the_rows(setup, weekly):
    loose = prepare(weekly, alpha=0.7)  # a loose alpha, so some placebo p-values fall below it
    below = []
    for s in (setup, loose):
        result = its_analysis.placebo(s, step_weeks=8)
        table = its.placebo_tests(s.treated, HARROW, step_weeks=8, alpha=s.alpha, label=SERIES)
        pd.testing.assert_frame_equal(result.table.drop(columns=list(LABELS)), table)
        levels = table[table["scale"] == "log"]
        k = int((levels["p_value"] < s.alpha).sum())
        below.append(k)
        assert result.text.startswith(
            f"{k} of {len(levels)} placebo level changes have p < {s.alpha}"
        )
        assert f"about {s.alpha * len(levels):.1f} expected by chance" in result.text
    assert below[1] > below[0]


def test_sensitivity_sentence_is_the_range_of_the_avoided_rows(setup):
    result = its_analysis.sensitivity(setup, max_harmonics=1, n_draws=100, seed=2)
    table = its.sensitivity_table(
        setup.treated,
        HARROW,
        max_harmonics=1,
        windows={"pre_covid": WINDOWS["pre_covid"]},
        n_draws=100,
        seed=2,
        label=SERIES,
    )
    pd.testing.assert_frame_equal(result.table.drop(columns=list(LABELS)), table)
    avoided = table[table["measure"] == "avoided"]
    low, high = avoided["estimate"].min(), avoided["estimate"].max()
    assert low < high
    assert result.text == (
        f"Avoided starts over pre_covid: {low:.1f} to {high:.1f} across "
        f"{len(its.FAMILIES)} families x 2 harmonic settings."
    )
    assert result.view.shape == (2, len(its.FAMILIES))
    assert result.view.to_numpy().max() == pytest.approx(high, abs=0.05)
