"""Interval figures of notebooks 01 and 02: a split with its intervals, a difference across
assumed denominators, a forest of ratios. Each function returns a `study.plots.new_figure`
Figure; the notebook sets the seaborn theme, these functions only draw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator

from study import proportions
from study.errors import StudyInputError
from study.plots import new_figure


def _require(table: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise StudyInputError(f"{what} has no column(s) {missing}")
    if table.empty:
        raise StudyInputError(f"{what} has no rows")


def split_plot(table: pd.DataFrame, title: str, *, level: float = 0.95) -> Figure:
    """Bars at the observed shares of a `multinomial_ci` table, whiskers for each interval
    method (offset side by side, in the order the methods first appear). Missing values (a
    suppressed share, `study.run.disclosure`) are left out; their category keeps its place."""
    _require(table, ["category", "method", "estimate", "ci_low", "ci_high"], "split table")
    methods = list(dict.fromkeys(table["method"]))
    categories = list(dict.fromkeys(table["category"]))
    point = table[table["method"] == methods[0]]
    fig, ax = new_figure(7.5, 4.2)
    if point["estimate"].notna().all():
        sns.barplot(data=point, x="category", y="estimate", color="#c6dbef", ax=ax)
    else:  # seaborn would close the gap a missing category leaves
        shown = point[point["estimate"].notna()]
        ax.bar([categories.index(c) for c in shown["category"]], shown["estimate"], 0.8,
               color="#c6dbef")  # fmt: skip
        ax.set_xticks(range(len(categories)), categories)
        ax.set_xlim(-0.5, len(categories) - 0.5)
    palette = sns.color_palette("dark", len(methods))
    offsets = np.linspace(-0.22, 0.22, len(methods))
    for offset, method, colour in zip(offsets, methods, palette, strict=True):
        sub = table[(table["method"] == method) & table["estimate"].notna()]
        ax.errorbar(
            np.array([categories.index(c) for c in sub["category"]]) + offset,
            sub["estimate"],
            yerr=[sub["estimate"] - sub["ci_low"], sub["ci_high"] - sub["estimate"]],
            fmt="o",
            ms=4,
            capsize=4,
            color=colour,
            label=method,
        )
    ax.set(xlabel="conversation at which the episode was completed", ylabel="share", title=title)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.legend(title=f"{level:.0%} interval", fontsize=8, title_fontsize=8)
    return fig


def difference_sensitivity_plot(
    sensitivity: pd.DataFrame,
    *,
    level: float = 0.95,
    xlabel: str = "assumed denominator",
    ylabel: str = "difference in shares",
    title: str = "",
) -> Figure:
    """Newcombe difference and its interval band against the assumed denominator `nobs0` (log
    scale), from `proportions.comparison_denominator_sensitivity`."""
    _require(sensitivity, ["method", "nobs0", "estimate", "ci_low", "ci_high"], "sensitivity")
    diff = sensitivity[sensitivity["method"] == proportions.NEWCOMBE].reset_index(drop=True)
    fig, ax = new_figure(7.5, 3.8)
    ax.fill_between(
        diff["nobs0"],
        diff["ci_low"],
        diff["ci_high"],
        alpha=0.3,
        label=f"{level:.0%} Newcombe interval",
    )
    sns.lineplot(
        x=diff["nobs0"],
        y=diff["estimate"],
        marker="o",
        ax=ax,
        label="difference (counts rounded)",
    )
    ax.axhline(0, color="black", lw=0.8)
    ax.set(xscale="log", xlabel=xlabel, ylabel=ylabel, title=title)
    ax.yaxis.set_major_locator(MultipleLocator(0.05))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:+.0%}"))
    ticks = [int(n) for n in diff["nobs0"]]
    ax.set_xticks(ticks, [f"{n:,}" for n in ticks])
    ax.minorticks_off()
    return fig


def forest_plot(
    forest: pd.DataFrame,
    *,
    level: float = 0.95,
    title: str = "Ratios with intervals",
    ticks: tuple[float, ...] = (0.5, 0.75, 1, 1.5, 2),
) -> Figure:
    """Forest plot of ratios (log scale, reference line at 1): one row per row of `forest`
    (`study.analyses.long_term_reduction.ratio_rows`), top to bottom, marker by `data`."""
    _require(forest, ["label", "data", "estimate", "ci_low", "ci_high"], "forest table")
    fig, ax = new_figure(11, 0.42 * len(forest) + 1.4)
    y = list(range(len(forest)))[::-1]
    ax.hlines(y, forest["ci_low"], forest["ci_high"], color="grey", lw=1.5)
    sns.scatterplot(
        x=forest["estimate"].to_numpy(),
        y=y,
        hue=forest["data"].to_numpy(),
        style=forest["data"].to_numpy(),
        s=60,
        ax=ax,
        zorder=3,
    )
    ax.axvline(1, color="black", lw=0.8, ls="--")
    ax.set_yticks(y, forest["label"])
    ax.set(
        xscale="log",
        xlabel=f"ratio after / before ({level:.0%} CI, log scale)",
        ylabel="",
        title=title,
    )
    ax.set_xticks(list(ticks), [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.legend(
        title="data", loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, title_fontsize=8
    )
    return fig
