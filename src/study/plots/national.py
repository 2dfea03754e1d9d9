"""Figures of the national comparison (notebook 06): long-term sequel shares by area."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from study.plots import new_figure


def plot_long_term_shares(shares: pd.DataFrame, *, level: float, title: str) -> Figure:
    """Long-term sequel shares with their intervals (a `long_term_shares` table), one group of
    points per area, one point per age band."""
    labels = list(dict.fromkeys(shares["label"]))
    bands = list(dict.fromkeys(shares["age_band"]))
    fig, ax = new_figure(8, 0.5 + 0.45 * len(labels) * 3)
    for k, band in enumerate(bands):
        sub = shares[shares["age_band"] == band].set_index("label").loc[labels]
        y = [i * (len(bands) + 1) + k for i in range(len(labels))]
        ax.errorbar(
            100 * sub["estimate"],
            y,
            xerr=[
                100 * (sub["estimate"] - sub["ci_low"]),
                100 * (sub["ci_high"] - sub["estimate"]),
            ],
            fmt="o",
            capsize=3,
            label=band,
        )
    ax.set_yticks([i * (len(bands) + 1) + 1 for i in range(len(labels))], labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"% of requests from new clients ending in long-term support ({level:.0%} CI)")
    ax.set_title(title)
    ax.legend(title="age band", loc="lower right")
    return fig


def plot_care_home_deaths(weekly: pd.DataFrame, periods: dict, *, title: str) -> Figure:
    """Weekly care-home resident deaths (a `read_care_home_deaths` frame, one or more
    councils), all causes and involving COVID-19, one panel per council, with a vertical line
    at each of `periods`' starts (name -> {'start': date, ...}) inside the weeks shown."""
    names = list(dict.fromkeys(weekly["name"]))
    fig, first = new_figure(4.5 * len(names), 3.8)
    fig.delaxes(first)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    lo = weekly["week_ending"].min() - pd.Timedelta(days=6)
    hi = weekly["week_ending"].max()
    for ax, name in zip(axes, names, strict=True):
        sub = weekly[weekly["name"] == name]
        for cause, rows in sub.groupby("cause", sort=False):
            ax.plot(rows["week_ending"], rows["deaths"], marker="o", label=cause)
        for period, spec in periods.items():
            day = pd.Timestamp(spec["start"])
            if lo <= day <= hi:
                ax.axvline(day, color="grey", linestyle="--")
                ax.annotate(period, (day, ax.get_ylim()[0]), rotation=90, va="bottom", ha="right")
        ax.set_title(name)
        ax.set_xlabel("week ending (ONS, Saturday to Friday)")
        ax.set_ylabel("deaths of care-home residents")
        ax.tick_params(axis="x", labelrotation=45)
        ax.legend(loc="upper left")
    fig.suptitle(title)
    return fig


__all__ = ["plot_long_term_shares", "plot_care_home_deaths"]
