"""What a notebook hands to its run folder: tidy estimates and figures.

Each notebook creates one `Recorder(run_dir, notebook)`. With `run_dir=""` (interactive use,
nbval) nothing is written; under `study run` the pipeline passes the run folder and the
recorder writes `estimates/<notebook>.csv` and `figures/<notebook>__<name>.{png,svg}`, which the
pipeline gathers into the run's `estimates.csv`.
"""

from __future__ import annotations

import base64
import io
import struct
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import pandas as pd

from study.errors import StudyInputError
from study.run.disclosure import read_threshold, suppress
from study.run.keys import KEY_COLUMN, with_keys
from study.tidy import ESTIMATE_COLUMNS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

REPORT_COLUMNS = ["site", "notebook", *ESTIMATE_COLUMNS, "p_value", "data_kind", "source", "note"]
OPTIONAL_REPORT_COLUMNS = ("p_value",)  # empty where no test applies
RUN_COLUMNS = [KEY_COLUMN, *REPORT_COLUMNS]  # the run's estimates.csv: a stable key per row
DATA_KINDS = ("published", "synthetic", "user")
PNG_DPI = 120  # the run folder's PNG figures

# Figures this kernel's recorders saved, and their PNG: shown inline from it (below).
_SAVED_PNG: weakref.WeakKeyDictionary[Figure, bytes] = weakref.WeakKeyDictionary()


def saved_png(fig: Figure) -> tuple[str, dict[str, int]] | None:
    """A figure's saved run-folder PNG as IPython's PNG formatter returns it (base64 text, and
    the width and height at which the inline backend would show the figure), or None."""
    png = _SAVED_PNG.get(fig)
    if png is None:
        return None
    width, height = struct.unpack(">II", png[16:24])  # the PNG header's IHDR chunk
    scale = fig.dpi / PNG_DPI
    size = {"width": round(width * scale), "height": round(height * scale)}
    return base64.b64encode(png).decode("ascii"), size


def show_saved_pngs() -> None:
    """In an IPython kernel that shows figures as PNG (`%matplotlib inline`), show a figure a
    recorder has saved from the PNG it wrote, at the inline size, instead of rendering it a
    third time (PNG and SVG files, then inline); other figures render as before."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebook stack
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    formatter = shell.display_formatter.formatters["image/png"]
    try:
        default = formatter.lookup_by_type(Figure)
    except KeyError:  # figures are not shown as PNG here
        return
    if getattr(default, "shows_saved_png", False):
        return

    def show(fig: Figure):
        return saved_png(fig) or default(fig)

    show.shows_saved_png = True
    formatter.for_type(Figure, show)


@dataclass(frozen=True)
class Recorder:
    """Writes a notebook's estimates and figures into the run folder (if one is given)."""

    run_dir: str
    notebook: str

    def __post_init__(self) -> None:
        if self.run_dir:
            show_saved_pngs()

    @property
    def _root(self) -> Path | None:
        return Path(self.run_dir) if self.run_dir else None

    def estimates(
        self, table: pd.DataFrame, *, site: str, data_kind: str, source: str
    ) -> pd.DataFrame:
        """Label a tidy estimate table with site, notebook, data kind and source; append it to
        the run.

        `source` says where the numbers come from: the data file, or the cited figures
        (`published.figures_source`, `national.cited_source`). Returns the labelled table
        (columns REPORT_COLUMNS) so the notebook can display it.
        """
        if data_kind not in DATA_KINDS:
            raise StudyInputError(f"data_kind must be one of {DATA_KINDS}, got {data_kind!r}")
        if not isinstance(source, str) or not source.strip():
            raise StudyInputError("source must name the data behind the estimates")
        out = table.copy()
        out["site"] = site
        out["notebook"] = self.notebook
        out["data_kind"] = data_kind
        out["source"] = source
        if "note" not in out:
            out["note"] = ""
        for column in OPTIONAL_REPORT_COLUMNS:
            if column not in out:
                out[column] = float("nan")
        out = out[REPORT_COLUMNS]
        self._append(out)
        return out

    def record(self, result) -> None:
        """Append an `AnalysisResult`'s estimates (already labelled with site, data kind and
        source) to the run, and save each of its figures under its name."""
        table = result.table
        if not table.empty:
            for column in ("site", "data_kind", "source"):
                if column not in table.columns:
                    raise StudyInputError(f"result table lacks the run label {column!r}")
            out = table.copy()
            out["notebook"] = self.notebook
            if "note" not in out:
                out["note"] = ""
            for column in OPTIONAL_REPORT_COLUMNS:
                if column not in out:
                    out[column] = float("nan")
            bad = sorted(set(out["data_kind"]) - set(DATA_KINDS))
            if bad:
                raise StudyInputError(f"data_kind must be one of {DATA_KINDS}, got {bad}")
            if not out["source"].map(lambda s: isinstance(s, str) and bool(s.strip())).all():
                raise StudyInputError("source must name the data behind every estimate")
            self._append(out[REPORT_COLUMNS])
        for name, fig in result.figures.items():
            self.figure(fig, name)

    def _append(self, out: pd.DataFrame) -> None:
        if self._root is not None:
            threshold = read_threshold(self._root)  # set by study run: study.run.disclosure
            if threshold is not None:
                out = suppress(out, threshold)
            path = self._root / "estimates" / f"{self.notebook}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            out.to_csv(path, mode="a", header=not path.exists(), index=False)

    def figure(self, fig, name: str) -> None:
        """Save a matplotlib figure as PNG and SVG, byte-identical from run to run; in a kernel the
        figure is then shown from that PNG (`show_saved_pngs`)."""
        if self._root is None:
            return
        folder = self._root / "figures"
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"{self.notebook}__{name}"
        png = figure_png(fig)
        stem.with_suffix(".png").write_bytes(png)
        _SAVED_PNG[fig] = png
        stem.with_suffix(".svg").write_bytes(figure_svg(fig, salt=self.notebook))


def figure_png(fig: Figure) -> bytes:
    """A figure as the run folder's PNG: PNG_DPI, tight bounding box, no software metadata."""
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=PNG_DPI, bbox_inches="tight", metadata={"Software": None})
    return png.getvalue()


def figure_svg(fig: Figure, salt: str) -> bytes:
    """A figure as the run folder's SVG: tight bounding box, no date, element ids salted with
    `salt` (the notebook) so they are the same from run to run."""
    svg = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
    return svg.getvalue()


def gather_estimates(run_dir: Path, notebooks: set[str] | None = None) -> pd.DataFrame:
    """Concatenate every notebook's estimates in a run folder, in notebook order (only those
    of `notebooks` if given: an interrupted run leaves out the unfinished ones), each row with
    its stable `key` (`study.run.keys`) first (columns RUN_COLUMNS)."""
    files = sorted((run_dir / "estimates").glob("*.csv"))
    if notebooks is not None:
        files = [f for f in files if f.stem in notebooks]
    if not files:
        return pd.DataFrame(columns=RUN_COLUMNS)
    table = pd.concat([pd.read_csv(f, keep_default_na=False) for f in files], ignore_index=True)
    return with_keys(table)
