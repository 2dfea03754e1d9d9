"""Figures of the reviews of existing care (notebook 05)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from study.errors import StudyInputError
from study.plots import new_figure


def plot_review_changes(table: pd.DataFrame, *, method: str = "BCa", title: str = "") -> Figure:
    """Forest plot of mean weekly change per completed review (and the team difference) by stratum.

    `table` is `study.reviews.review_cost_change_bootstrap` output; rows of the chosen interval
    `method`.
    """
    sub = table[
        table["method"].str.contains(method, regex=False)
        & table["quantity"].str.contains("mean weekly change", regex=False)
    ].reset_index(drop=True)
    if sub.empty:
        raise StudyInputError(f"table has no mean-change rows with method {method!r}")
    import seaborn as sns

    colours = sns.color_palette("deep", 3)
    fig, ax = new_figure(8, 0.45 * len(sub) + 1.2)
    ys = np.arange(len(sub))[::-1]
    for y, (_, r) in zip(ys, sub.iterrows(), strict=True):
        q = r["quantity"]
        c = colours[2] if "difference" in q else colours[0] if "innovation" in q else colours[1]
        ax.errorbar(
            r["estimate"],
            y,
            xerr=[[r["estimate"] - r["ci_low"]], [r["ci_high"] - r["estimate"]]],
            fmt="o",
            color=c,
            capsize=3,
        )
    labels = [
        q.replace("mean weekly change per completed review (GBP), ", "").replace(
            "difference in mean weekly change (GBP), ", "difference: "
        )
        for q in sub["quantity"]
    ]
    ax.set_yticks(ys, labels)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(f"change in weekly care cost per completed review (£), {method} interval")
    ax.set_title(title or "Mean change in weekly cost per completed review")
    return fig
