"""Figures of study.plots.its: one Axes each, the controlled ITS counterfactual by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
from its_series import HARROW
from matplotlib.figure import Figure

from study import its
from study.plots import its as its_plots


def test_plot_helpers_return_figures(harrow_like):
    fit = its.fit_its(harrow_like, HARROW)
    cf = its.counterfactual_effect(fit, {"w": ["2019-06-03", "2020-03-22"]}, n_draws=50)
    fig = its_plots.plot_counterfactual(fit, cf, title="x")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert isinstance(its_plots.plot_residual_acf(its.residual_diagnostics(fit)), Figure)


def test_plot_controlled_its_lines_and_counterfactual(harrow_like):
    comp = its.simulate_its_counts(187, first_week="2017-09-04", baseline_per_week=20, seed=4)
    long = pd.concat([harrow_like.assign(site="harrow"), comp.assign(site="london")])
    cfit = its.fit_controlled_its(
        long, HARROW, treated="harrow", comparison="london", group_col="site"
    )
    assert cfit.treated_intervention_terms == (
        "treated_level_innovation_site_1",
        "treated_slope_innovation_site_1",
        "treated_level_innovation_site_2",
    )
    fig = its_plots.plot_controlled_its(cfit, synthetic=True)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert "synthetic" in ax.get_title() and "harrow vs london" in ax.get_title()
    lines = {ln.get_label(): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}
    assert sorted(lines) == [
        "harrow counterfactual (follows london)",
        "harrow fitted",
        "london fitted",
    ]
    assert sorted(c.get_label() for c in ax.collections if c.get_label()[0] != "_") == [
        "harrow observed",
        "london observed",
    ]
    fitted = np.asarray(lines["harrow fitted"].get_ydata(), dtype=float)
    cf = np.asarray(lines["harrow counterfactual (follows london)"].get_ydata(), dtype=float)
    assert len(fitted) == len(cf) == 187
    first = 91  # innovation_site_1 starts 2019-06-03, week 91 from 2017-09-04
    np.testing.assert_allclose(cf[:first], fitted[:first], rtol=1e-12)
    assert not np.allclose(cf[first:], fitted[first:])
    # known answer: the counterfactual is exp(X beta) with the treated intervention terms zeroed
    X = cfit.X[cfit.frame["group"] == "harrow"].copy()
    X[list(cfit.treated_intervention_terms)] = 0.0
    np.testing.assert_allclose(cf, np.exp(X.to_numpy() @ cfit.params.to_numpy()), rtol=1e-10)
    np.testing.assert_allclose(
        np.asarray(lines["london fitted"].get_ydata(), dtype=float),
        np.asarray(cfit.result.fittedvalues)[:187],
        rtol=1e-10,
    )
    title = its_plots.plot_controlled_its(cfit, title="t").axes[0].get_title()
    assert title == "t"
