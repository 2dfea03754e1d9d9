"""Figures of the cost-avoidance analysis (notebook 04)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from study.plots import new_figure


def plot_tornado(
    table: pd.DataFrame,
    *,
    title: str = "",
    reference: Mapping[str, float] | None = None,
) -> Figure:
    """Tornado plot of a `Sensitivity.tornado()` table (bars from the base to low and high), £k.

    `reference` adds labelled vertical lines (e.g. {"published £696k part-year": 696000}).
    """
    import seaborn as sns

    n = len(table)
    fig, ax = new_figure(8, 1.0 + 0.6 * n)
    colours = sns.color_palette("deep", 2)
    base = float(table["base_gbp"].iloc[0]) / 1000
    ys = np.arange(n)[::-1]
    for y, (_, r) in zip(ys, table.iterrows(), strict=True):
        lo, hi = r["low_gbp"] / 1000, r["high_gbp"] / 1000
        ax.barh(y, lo - base, left=base, color=colours[0], height=0.6)
        ax.barh(y, hi - base, left=base, color=colours[1], height=0.6)
        ax.text(lo, y, f"{r['low_label']}  ", va="center", ha="right", fontsize=8)
        ax.text(hi, y, f"  {r['high_label']}", va="center", ha="left", fontsize=8)
    ax.axvline(base, color="black", lw=1)
    for i, (lab, v) in enumerate((reference or {}).items()):
        ax.axvline(v / 1000, color="grey", ls="--" if i == 0 else ":", lw=1, label=lab)
    if reference:
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_yticks(ys, table["assumption"])
    ax.set_xlabel("cost avoided (£ thousand)")
    lo_all = min(table["low_gbp"].min() / 1000, base)
    hi_all = max(table["high_gbp"].max() / 1000, base)
    pad = 0.35 * (hi_all - lo_all or 1)
    ax.set_xlim(lo_all - pad, hi_all + pad)
    ax.set_title(title or f"Sensitivity of the estimate (base £{base:,.0f}k)")
    return fig
