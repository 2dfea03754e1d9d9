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


__all__ = ["plot_long_term_shares"]
