"""Figures of the interrupted time series (notebook 03): counterfactual, controlled ITS and
residual autocorrelation. Each function takes `study.its` result objects and returns a
matplotlib Figure made by `study.plots.new_figure` (not registered with pyplot)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from study.errors import StudyInputError
from study.its import (
    DATE,
    ControlledITSFit,
    CounterfactualResult,
    ITSDesign,
    ITSFit,
    PeriodSpec,
    ResidualDiagnostics,
)
from study.plots import new_figure
from study.run.disclosure import MARK


def _period_spans(design: ITSDesign) -> list[tuple[PeriodSpec, pd.Timestamp, pd.Timestamp]]:
    weeks = design.week_start
    order = sorted(design.periods, key=lambda p: design.start_index[p.name])
    end = weeks[-1] + pd.Timedelta(days=7)
    spans = []
    for i, p in enumerate(order):
        lo = weeks[design.start_index[p.name]]
        hi = weeks[design.start_index[order[i + 1].name]] if i + 1 < len(order) else end
        spans.append((p, lo, hi))
    return spans


def _shade_periods(ax: Axes, design: ITSDesign, intervention_colour) -> None:
    """Shade each period's segment (intervention: `intervention_colour`, context: grey), mark
    its start and write its name at the top of the axes."""
    for p, lo, hi in _period_spans(design):
        colour = intervention_colour if p.kind == "intervention" else "0.5"
        ax.axvspan(lo.to_datetime64(), hi.to_datetime64(), color=colour, alpha=0.08, lw=0)
        ax.axvline(lo.to_datetime64(), color=colour, lw=0.8, ls=":")
        ax.annotate(
            p.name,
            (lo.to_datetime64(), 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=7,
            color="0.3",
        )


def _shown(observed: np.ndarray, hide_below: int | None) -> np.ndarray:
    """Observed counts to draw: those from 1 to `hide_below` - 1 left out (disclosure rule)."""
    out = np.asarray(observed, dtype=float).copy()
    if hide_below is not None:
        out[(out > 0) & (out < hide_below)] = np.nan
    return out


def _hidden_note(observed: np.ndarray, hide_below: int | None) -> str:
    shown = _shown(observed, hide_below)
    if hide_below is None or not np.isnan(shown).any():
        return ""
    return f"\n{MARK}: observed counts from 1 to {hide_below - 1} not drawn (disclosure rule)"


def _max(values: np.ndarray) -> float:
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(finite.max()) if finite.size else 0.0


def plot_counterfactual(
    fit: ITSFit,
    cf: CounterfactualResult,
    *,
    title: str = "",
    ylabel: str = "count per week",
    hide_below: int | None = None,
) -> Figure:
    """Observed, fitted and counterfactual (Covid kept) weekly series with percentile bands.

    Segments between period starts are shaded (blue: intervention, grey: context); the y axis
    stops at 1.5 x the larger of the observed maximum and the fitted band, so a widening
    counterfactual band may run off the top. `hide_below` (user data: the disclosure
    threshold) leaves out observed counts from 1 to hide_below - 1 and says so under the title.
    Returns a matplotlib Figure not registered with pyplot.
    """
    pal = sns.color_palette("colorblind")
    w = cf.weekly
    x = w[DATE].to_numpy()
    observed = _shown(w["observed"].to_numpy(), hide_below)
    fig, ax = new_figure(10, 4.8)
    _shade_periods(ax, fit.design, pal[0])
    ax.scatter(x, observed, s=8, color="0.35", label="observed", zorder=3)
    ax.fill_between(x, w["fitted_low"], w["fitted_high"], color=pal[0], alpha=0.25, lw=0)
    ax.plot(x, w["fitted"], color=pal[0], lw=1.8, label="fitted")
    ax.fill_between(
        x, w["counterfactual_low"], w["counterfactual_high"], color=pal[1], alpha=0.25, lw=0
    )
    ax.plot(
        x,
        w["counterfactual"],
        color=pal[1],
        lw=1.8,
        ls="--",
        label="counterfactual (no 3Cs, Covid kept)",
    )
    ax.set_ylabel(ylabel)
    ax.set_xlabel("week")
    top = 1.5 * max(_max(observed), float(w["fitted_high"].max()), 1.0)
    ax.set_ylim(0, top)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    title = title + _hidden_note(w["observed"].to_numpy(), hide_below)
    if title:
        ax.set_title(title)
    sns.despine(ax=ax)
    return fig


def plot_controlled_its(
    cfit: ControlledITSFit,
    *,
    title: str = "",
    synthetic: bool = False,
    ylabel: str = "count per week",
    hide_below: int | None = None,
) -> Figure:
    """Controlled ITS: observed and fitted weekly counts of both groups, treated counterfactual.

    The counterfactual (dashed) is `cfit.predict(interventions=False)` on the treated rows: the
    treated-specific intervention terms `treated_level_<p>` and `treated_slope_<p>` of every
    intervention period p are set to zero, so at the intervention periods the treated series
    follows the comparison group's changes (level_<p>, slope_<p> kept); the baseline
    differences (treated, treated_trend) and all context-period terms, treated-specific or not,
    are kept. It equals the treated fitted line before the first intervention. Point
    predictions at the estimates (no bands). Segments between period starts are shaded (blue:
    intervention, grey: context). `synthetic=True` adds "synthetic data" to the title;
    `hide_below` (user data: the disclosure threshold) leaves out observed counts from 1 to
    hide_below - 1 and says so under the title. Returns a matplotlib Figure not registered with
    pyplot.
    """
    if cfit.design is None:
        raise StudyInputError("cfit: no design stored; refit with fit_controlled_its")
    pal = sns.color_palette("colorblind")
    fitted = cfit.predict()
    counterfactual = cfit.predict(interventions=False)
    group = cfit.frame["group"].to_numpy()
    fig, ax = new_figure(10, 4.8)
    _shade_periods(ax, cfit.design, pal[0])
    top = 1.0
    for g, colour in ((cfit.comparison, pal[2]), (cfit.treated, pal[0])):
        sel = group == g
        x = cfit.frame[DATE].to_numpy()[sel]
        observed = _shown(cfit.frame["count"].to_numpy()[sel], hide_below)
        ax.scatter(x, observed, s=8, color=colour, alpha=0.5, label=f"{g} observed", zorder=3)
        ax.plot(x, fitted[sel], color=colour, lw=1.8, label=f"{g} fitted")
        top = max(top, _max(observed), float(fitted[sel].max()))
    sel = group == cfit.treated
    ax.plot(
        cfit.frame[DATE].to_numpy()[sel],
        counterfactual[sel],
        color=pal[1],
        lw=1.8,
        ls="--",
        label=f"{cfit.treated} counterfactual (follows {cfit.comparison})",
    )
    ax.set_ylabel(ylabel)
    ax.set_xlabel("week")
    top = max(top, float(counterfactual[sel].max()))
    ax.set_ylim(0, 1.15 * top)
    fig.legend(loc="outside lower center", fontsize=8, frameon=False, ncols=3)
    heading = title or f"Controlled ITS: {cfit.treated} vs {cfit.comparison}"
    heading = f"{heading} (synthetic data)" if synthetic else heading
    ax.set_title(heading + _hidden_note(cfit.frame["count"].to_numpy(), hide_below))
    sns.despine(ax=ax)
    return fig


def plot_residual_acf(diag: ResidualDiagnostics, *, title: str = "") -> Figure:
    """Residual autocorrelation by lag with the +/- z/sqrt(n) bounds. Returns a Figure."""
    fig, ax = new_figure(7, 3.2)
    a = diag.acf
    ax.vlines(a["lag"], 0, a["acf"], color=sns.color_palette("colorblind")[0], lw=2)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.axhline(a["bound"].iloc[0], color="0.5", ls="--", lw=0.8)
    ax.axhline(-a["bound"].iloc[0], color="0.5", ls="--", lw=0.8)
    ax.set_xlabel("lag (weeks)")
    ax.set_ylabel(f"ACF of {diag.residual} residuals")
    if title:
        ax.set_title(title)
    sns.despine(ax=ax)
    return fig
