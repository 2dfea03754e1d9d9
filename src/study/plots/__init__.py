"""Figures: one module per analysis family; each function takes tables or result objects and
returns a matplotlib `Figure`.

One convention: `new_figure` makes a Figure that is not registered with pyplot (no global
state, nothing to close, no figure shown twice); a notebook shows it by ending a cell with it,
and `Recorder.record` / `Recorder.figure` save it. The notebook sets the seaborn theme; these
functions only draw.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure


def new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A `width` x `height` inch Figure with one Axes and constrained layout, outside pyplot."""
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()
