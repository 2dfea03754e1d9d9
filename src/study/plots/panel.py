"""Figures of the comparative panel estimators (`study.panel`, `study.synthetic_control`).

`study.plots.new_figure` convention: unregistered Figures with constrained layout; the notebook
sets the seaborn theme, these functions only draw.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from study.checks import check_positive
from study.panel import EventStudyResult
from study.plots import new_figure
from study.synthetic_control import SyntheticControlFit, SyntheticControlPlacebo

WIDTH, HEIGHT = 7.5, 4.2  # inches, every panel figure


def _label(ax: Axes, title: str, ylabel: str, xlabel: str = "") -> None:
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize=8, frameon=False)


def _time_axis(ax, times: Sequence[Hashable], start: Hashable) -> None:
    ax.set_xticks(range(len(times)), [str(t) for t in times], rotation=45, ha="right")
    ax.axvline(
        times.index(start) - 0.5, color="0.3", ls="--", lw=1, label=f"treatment from {start}"
    )


def plot_event_study(
    result: EventStudyResult, *, title: str = "Event study", ylabel: str = "effect"
) -> Figure:
    """Event-study coefficients with their placebo-in-space intervals by period; the dashed
    line marks the treatment start, the reference period is the hollow point at 0."""
    table = result.table
    rows = table[table["method"].str.startswith("placebo") & table["ci_low"].notna()]
    rows = rows[rows["rel_time"].notna()]
    colour = sns.color_palette("colorblind")[0]
    fig, ax = new_figure(WIDTH, HEIGHT)
    ax.axhline(0, color="black", lw=0.8)
    ax.errorbar(
        rows["rel_time"].to_numpy(int) + result.times.index(result.treatment_start),
        rows["estimate"],
        yerr=[rows["estimate"] - rows["ci_low"], rows["ci_high"] - rows["estimate"]],
        fmt="o",
        capsize=4,
        color=colour,
        label=f"{1 - result.alpha:.0%} placebo-in-space interval",
    )
    ref = result.times.index(result.reference)
    ax.plot([ref], [0], "o", mfc="white", color=colour, label="reference period")
    _time_axis(ax, result.times, result.treatment_start)
    _label(ax, title, ylabel)
    return fig


def plot_synthetic_control(
    fit: SyntheticControlFit, *, title: str = "Synthetic control", ylabel: str = "outcome"
) -> Figure:
    """Treated and synthetic outcome paths; the dashed line marks the treatment start."""
    pal = sns.color_palette("colorblind")
    x = np.arange(len(fit.times))
    fig, ax = new_figure(WIDTH, HEIGHT)
    ax.plot(x, fit.path["treated"], "o-", color=pal[0], label=f"{fit.treated}")
    ax.plot(x, fit.path["synthetic"], "s--", color=pal[1], label=f"synthetic {fit.treated}")
    _time_axis(ax, fit.times, fit.treatment_start)
    _label(ax, title, ylabel)
    return fig


def plot_placebo_gaps(
    placebo: SyntheticControlPlacebo,
    *,
    title: str = "Placebo gaps",
    ylabel: str = "gap (treated - synthetic)",
    pre_rmspe_multiple: float | None = None,
) -> Figure:
    """Gap paths of every placebo (grey) and of the treated unit (colour); with
    `pre_rmspe_multiple` = m, only placebos whose pre-RMSPE is at most m x the treated's (as in
    `synthetic_control_placebo`)."""
    fit, p = placebo.fit, placebo.placebos
    keep = p["unit"]
    if pre_rmspe_multiple is not None:
        m = check_positive(pre_rmspe_multiple, "pre_rmspe_multiple")
        keep = p.loc[p["pre_rmspe"] <= m * max(fit.pre_rmspe, fit.exact_fit_tol), "unit"]
    gaps = placebo.gaps[~placebo.gaps["is_treated"] & placebo.gaps["unit"].isin(keep)]
    x = np.arange(len(fit.times))
    fig, ax = new_figure(WIDTH, HEIGHT)
    ax.axhline(0, color="black", lw=0.8)
    # one LineCollection for every placebo path: one artist to draw, not one line per placebo
    paths = [
        np.column_stack([x, g.to_numpy(float)]) for _, g in gaps.groupby("unit", sort=False)["gap"]
    ]
    lines = LineCollection(paths, colors="0.6", linewidths=0.7, alpha=0.6,
                           label=f"placebos ({gaps['unit'].nunique()})")  # fmt: skip
    ax.add_collection(lines)
    colour = sns.color_palette("colorblind")[3]
    ax.plot(x, fit.path["gap"], color=colour, lw=2.2, label=f"{fit.treated}")
    _time_axis(ax, fit.times, fit.treatment_start)
    _label(ax, title, ylabel)
    return fig


def plot_rmspe_ratios(
    placebo: SyntheticControlPlacebo, *, title: str = "Post/pre RMSPE ratios"
) -> Figure:
    """Post/pre RMSPE ratio of every unit by rank (1 = largest, log scale), the treated unit in
    colour; exact pre-period fits (infinite ratio) cannot be drawn and are counted in the
    legend."""
    p = placebo.placebos
    finite = np.isfinite(p["ratio"])
    shown, treated = p[finite & ~p["is_treated"]], p[finite & p["is_treated"]]
    colour = sns.color_palette("colorblind")[3]
    fig, ax = new_figure(WIDTH, HEIGHT)
    ax.scatter(shown["rank"], shown["ratio"], s=14, color="0.55", label="placebos")
    ax.scatter(
        treated["rank"],
        treated["ratio"],
        s=60,
        color=colour,
        zorder=3,
        label=f"{placebo.fit.treated}: rank {placebo.rank}, p = {placebo.p_value:.3f}",
    )
    if finite.any():
        ax.set_yscale("log")
    ax.plot([], [], " ", label=f"exact pre-period fits not shown: {(~finite).sum()}")
    _label(ax, title, "post/pre RMSPE ratio (log scale)", "rank (1 = largest ratio)")
    return fig


__all__ = [
    "plot_event_study",
    "plot_placebo_gaps",
    "plot_rmspe_ratios",
    "plot_synthetic_control",
]
