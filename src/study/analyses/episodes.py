"""Record-level conversation episodes shared by notebooks 01 and 02, and their display helpers.

`read_episodes` is the one loader: the notebook reads and validates the extract once
(`study.data.records`) and passes the `EpisodeData` on to the analyses, which never read files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from study.config import data_kind, resolve_path
from study.data import records
from study.run import disclosure
from study.tidy import ESTIMATE_COLUMNS

SYNTHETIC_LABEL = "synthetic data calibrated to the published figures — not a finding"
USER_LABEL = "user-supplied records"
SITES = ("birmingham", "harrow")  # the sites whose record-level analyses the notebooks run


@dataclass(frozen=True)
class EpisodeData:
    """Validated record-level conversation episodes with their provenance label."""

    path: str
    kind: str
    episodes: pd.DataFrame
    synthetic_label: str = ""  # what a synthetic file is, from its sidecar (default: calibrated)

    @property
    def label(self) -> str:
        """Plain statement of what the records are (synthetic: 'not a finding')."""
        if self.kind == "synthetic":
            return self.synthetic_label or SYNTHETIC_LABEL
        return USER_LABEL

    @property
    def sites(self) -> list[str]:
        """Sites with at least one episode in the extract (sorted)."""
        return sorted(self.episodes["site"].astype(str).unique())

    def has(self, site: str) -> bool:
        """True if the extract holds episodes for `site` (a council's own extract may not)."""
        return site in self.sites

    def site(self, site: str) -> pd.DataFrame:
        """The episodes of one site (no rows if the extract has none)."""
        return self.episodes[self.episodes["site"] == site]

    @property
    def description(self) -> str:
        """Markdown line naming the file, its kind, the number of episodes and the sites."""
        return self.describe()

    def describe(self, disclosure_threshold: int = disclosure.DEFAULT_THRESHOLD) -> str:
        """`description`, the number of episodes of user data marked `[c]` when under
        `disclosure_threshold` (`study.run.disclosure.count_text`)."""
        n = disclosure.count_text(len(self.episodes), disclosure_threshold, kind=self.kind)
        return (
            f"**Data:** `{self.path}` ({self.kind}: {self.label}); {n} "
            f"episodes; sites: {', '.join(self.sites) or 'none'}."
        )

    def missing_note(self, sites: Sequence[str] = SITES) -> str:
        """' The extract has no Harrow episodes.' for the `sites` it lacks ('' if none)."""
        missing = [s.title() for s in sites if not self.has(s)]
        return f" The extract has no {' or '.join(missing)} episodes." if missing else ""


def read_episodes(conversations_path: str) -> EpisodeData:
    """Read and validate the conversation episodes (`study.data.records`), labelled by data kind
    (a synthetic file's sidecar may say what it is: `label`)."""
    path = resolve_path(conversations_path)
    episodes = records.read_records(path, "conversations")
    kind = data_kind(conversations_path)
    return EpisodeData(conversations_path, kind, episodes, _sidecar_label(path, kind))


def _sidecar_label(path: Path, kind: str) -> str:
    """The `label` of a synthetic file's .meta.json sidecar ('' if none: the default label)."""
    meta = path.with_name(path.name.removesuffix(".csv") + ".meta.json")
    if kind != "synthetic" or not meta.is_file():
        return ""
    try:
        return str(json.loads(meta.read_text(encoding="utf-8")).get("label", ""))
    except (json.JSONDecodeError, OSError, UnicodeDecodeError):
        return ""


def display_view(table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Rounded view of `columns` for display (4 decimals); p_* columns as two significant digits;
    rows hidden by `study.run.disclosure.suppress` show its marker (`disclosure.marked`)."""
    columns = list(columns)
    if table.empty:
        return table.reindex(columns=columns)
    out = table[columns].round(4)
    for col in [c for c in columns if c.startswith("p_")]:
        out[col] = table[col].map(lambda p: f"{p:.2g}")
    return disclosure.marked(out, table)


def pct(x: float) -> str:
    """A fraction as a percentage with one decimal: 0.7 -> '70.0%' (suppressed, NaN: '[c]')."""
    return disclosure.value_text(100 * x, ".1f") + ("" if pd.isna(x) else "%")


NUMBER_WORDS = (
    "no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve",
)  # fmt: skip


def number_text(n: int) -> str:
    """A count in words up to twelve ('six'), else in digits ('18')."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else f"{n:,}"


def months_text(months: int) -> str:
    """'six months', 'one month', '18 months'."""
    return f"{number_text(months)} month{'' if months == 1 else 's'}"


def day_text(day: pd.Timestamp) -> str:
    """'2 April 2018'."""
    return f"{day.day} {day:%B %Y}"


def site_label(site: str) -> str:
    """How a site identifier reads in a sentence or label: 'north_field' -> 'North Field'."""
    return str(site).replace("_", " ").title()


def empty_estimates() -> pd.DataFrame:
    """An estimate table with no rows (a site the extract does not hold)."""
    return pd.DataFrame(columns=[*ESTIMATE_COLUMNS, "note"])


def stack(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Tables stacked in order, empty ones left out (no rows at all: `empty_estimates()`)."""
    parts = [t for t in tables if not t.empty]
    return pd.concat(parts, ignore_index=True) if parts else empty_estimates()
