"""study.plots.intervals returns unregistered matplotlib Figures with the expected structure."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure

from study.analyses import long_term_reduction as ltr
from study.data import published
from study.errors import StudyInputError
from study.plots import intervals as figures
from study.proportions import comparison_denominator_sensitivity, multinomial_ci


@pytest.fixture(scope="module")
def published_figures() -> pd.DataFrame:
    return published.load_figures()


def test_split_plot_has_one_whisker_set_per_method():
    table = multinomial_ci({"C1": 1048, "C2": 150, "C3": 299})
    fig = figures.split_plot(table, "Toy split", level=0.9)
    assert isinstance(fig, Figure)
    assert fig.canvas.manager is None  # not registered with pyplot
    assert fig.get_layout_engine().__class__.__name__ == "ConstrainedLayoutEngine"
    ax = fig.axes[0]
    assert ax.get_title() == "Toy split"
    assert len(ax.containers) == 1 + table["method"].nunique()  # bars + one errorbar each
    assert ax.get_legend().get_title().get_text() == "90% interval"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(
        dict.fromkeys(table["method"])
    )


def test_difference_sensitivity_plot_ticks_are_the_denominators():
    sensitivity = comparison_denominator_sensitivity(
        0.16, 0.09, [(120, 100), (600, 500), (2400, 2000)], label="C3"
    )
    fig = figures.difference_sensitivity_plot(sensitivity, title="T", xlabel="n")
    ax = fig.axes[0]
    assert isinstance(fig, Figure)
    assert list(ax.get_xticks()) == [100, 500, 2000]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["100", "500", "2,000"]
    assert ax.get_xscale() == "log"


def test_forest_plot_has_one_row_per_ratio(published_figures):
    lt = ltr.harrow_lt_published(published_figures, 13, [13])
    repeat = ltr.harrow_repeat_published(published_figures, 1000, 1000, [1000])
    forest = pd.concat([lt.tables["ratios"], repeat.tables["ratios"]], ignore_index=True)
    assert len(forest) == 6  # five Harrow rate ratios and one risk ratio
    fig = figures.forest_plot(forest, level=0.95, title="Forest")
    ax = fig.axes[0]
    assert isinstance(fig, Figure)
    rows = sorted((t.get_position()[1], t.get_text()) for t in ax.get_yticklabels())
    assert [text for _, text in rows] == forest["label"].tolist()[::-1]  # first row at the top
    assert len(ax.collections[0].get_segments()) == len(forest)  # one interval line per ratio
    assert ax.get_xlabel() == "ratio after / before (95% CI, log scale)"


def test_figures_name_missing_columns():
    with pytest.raises(StudyInputError, match="forest table"):
        figures.forest_plot(pd.DataFrame({"label": ["a"]}))
    with pytest.raises(StudyInputError, match="split table"):
        figures.split_plot(pd.DataFrame(), "empty")
