"""Power figures of notebook 07: power against the length (or size) of the planned evaluation,
one line per effect, the published effect drawn bold, the target power as a dashed line.
Returns a `study.plots.new_figure` Figure; the notebook sets the seaborn theme."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from study.errors import StudyInputError
from study.plots import new_figure


def plot_power_curves(
    curves: pd.DataFrame,
    *,
    x: str,
    xlabel: str,
    title: str,
    target_power: float,
    highlight: str = "",
) -> Figure:
    """Lines of `curves` (columns `x`, curve, power[, mc_low, mc_high]) against `x`; the curve
    named `highlight` (the published effect) bold; Monte Carlo bands where given."""
    missing = [c for c in (x, "curve", "power") if c not in curves.columns]
    if missing or curves.empty:
        raise StudyInputError(f"power curves: no rows or no column(s) {missing}")
    fig, ax = new_figure(7.5, 4.2)
    for name, sub in curves.groupby("curve", sort=False):
        sub = sub.sort_values(x)
        bold = name == highlight
        (line,) = ax.plot(
            sub[x],
            sub["power"],
            marker="o",
            ms=3,
            lw=2.6 if bold else 1.2,
            label=name,
            zorder=3 if bold else 2,
        )
        if {"mc_low", "mc_high"} <= set(sub.columns) and sub["mc_low"].notna().all():
            ax.fill_between(
                sub[x], sub["mc_low"], sub["mc_high"], color=line.get_color(), alpha=0.15, lw=0
            )
    ax.axhline(target_power, ls="--", color="grey", lw=1, label=f"target power {target_power:.0%}")
    ax.set(xlabel=xlabel, ylabel="power", title=title, ylim=(0, 1.02))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.legend(fontsize=8)
    return fig
