"""Analyses: one module per notebook, assembling the estimators into what a notebook section shows.

Each analysis function takes loaded tables and parameters and returns an `AnalysisResult`:
`.table` (the tidy estimates, labelled with site, data kind and source, ready for the run's
`estimates.csv`), `.text` (the computed interpretation), `.view` (the table the notebook
shows), `.figures` (name -> matplotlib Figure) and `.tables` (supporting tables that are shown
but not recorded). A notebook section is then: one call, `rec.record(result)`, its view, its
figure, its sentence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from study.errors import StudyInputError
from study.tidy import ESTIMATE_COLUMNS

if TYPE_CHECKING:  # figures are made by study.plots; this module only carries them
    from matplotlib.figure import Figure

LABEL_COLUMNS = ["site", "data_kind", "source"]


def labelled(table: pd.DataFrame, *, site: str, data_kind: str, source: str) -> pd.DataFrame:
    """`table` with the run labels every recorded estimate carries (site, data kind, source)."""
    out = table.copy()
    out["site"] = site
    out["data_kind"] = data_kind
    out["source"] = source
    return out


@dataclass(frozen=True)
class AnalysisResult:
    """What one notebook section computes: estimates, their interpretation and figures."""

    table: pd.DataFrame
    text: str = ""
    view: pd.DataFrame | None = None
    figures: Mapping[str, Figure] = field(default_factory=dict)
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in [*ESTIMATE_COLUMNS, *LABEL_COLUMNS] if c not in self.table.columns]
        if missing and not self.table.empty:
            raise StudyInputError(f"analysis table lacks column(s) {missing}")

    def show(self, columns: Sequence[str], digits: int = 4) -> pd.DataFrame:
        """The estimate table's `columns` (those present), numbers rounded for display."""
        present = [c for c in columns if c in self.table.columns]
        return self.table[present].round(digits)


def combine(*results: AnalysisResult, text: str = "") -> AnalysisResult:
    """One result from several: tables stacked in order, figures and supporting tables merged."""
    tables = [r.table for r in results if not r.table.empty]
    table = pd.concat(tables, ignore_index=True) if tables else results[0].table
    figures: dict[str, Figure] = {}
    extra: dict[str, pd.DataFrame] = {}
    for r in results:
        figures.update(r.figures)
        extra.update(r.tables)
    return AnalysisResult(
        table=table,
        text=text or "\n\n".join(r.text for r in results if r.text),
        figures=figures,
        tables=extra,
    )
