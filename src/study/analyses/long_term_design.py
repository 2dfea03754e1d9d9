"""What notebook 02's before/after comparison of long-term starts at one site compares.

`LongTermComparison` is the design (site, 3Cs teams, comparison team, go-live, months of the
extract); `compared_episodes` selects the 3Cs episodes starting on or after the go-live and the
comparison team's starting before it, after checking that each side spans the months
(`check_months_spanned`), or returns None with `lt_skip_reason` saying why the extract cannot
support the comparison. It needs only pandas, so a run's preflight (`study.run.pipeline`)
checks `bham_extract_months` the way notebook 02 will, without importing its estimators
(`study.analyses.long_term_reduction`, which uses them and where notebook 02 finds
`LongTermComparison`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from study.analyses.episodes import number_text, site_label
from study.data.schema import USUAL_CARE
from study.errors import StudyInputError

DAYS_PER_MONTH = 365.25 / 12
__all__ = [
    "DAYS_PER_MONTH",
    "LongTermComparison",
    "check_months",
    "check_months_spanned",
    "compared_episodes",
    "lt_skip_reason",
    "resolved_go_live",
]


def check_months(months: object) -> int:
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise StudyInputError(f"bham_extract_months must be a whole number >= 1, got {months!r}")
    return months


def check_months_spanned(
    rows: pd.DataFrame, months: int, *, comparison_team: str = USUAL_CARE
) -> None:
    """Raise if the 3Cs or the comparison-team episodes of one site start over a span longer
    than `months` (half a month's slack) or more than a month shorter, so rates per month are
    not computed on the wrong exposure."""
    site = site_label(rows["site"].iloc[0]) if len(rows) else ""
    for name, group in (
        ("3Cs", rows[rows["team"] != comparison_team]),
        (f"{comparison_team.replace('_', '-')}", rows[rows["team"] == comparison_team]),
    ):
        start = pd.to_datetime(group["start_date"])
        if start.empty:
            continue
        spanned = (start.max() - start.min()).days / DAYS_PER_MONTH
        if not months - 1 <= spanned <= months + 0.5:
            raise StudyInputError(
                f"the {site} {name} episodes start over {spanned:.1f} months "
                f"({start.min():%Y-%m-%d} to {start.max():%Y-%m-%d}), "
                f"{'longer' if spanned > months else 'shorter'} than "
                f"bham_extract_months = {months}; set bham_extract_months to the months the "
                "extract covers"
            )


@dataclass(frozen=True)
class LongTermComparison:
    """What the before/after comparison of long-term starts at one site compares."""

    site: str
    teams: tuple[str, ...]
    comparison_team: str = USUAL_CARE
    go_live: str = ""  # 'YYYY-MM-DD'; empty: the first start_date of the `teams` episodes
    months: int = 6

    def __post_init__(self) -> None:
        object.__setattr__(self, "teams", tuple(self.teams))

    @property
    def label(self) -> str:
        """'Birmingham long-term services, two key areas'."""
        n = len(self.teams)
        return f"{site_label(self.site)} long-term services, {number_text(n)} key area" + (
            "s" if n != 1 else ""
        )


def lt_skip_reason(episodes: pd.DataFrame, design: LongTermComparison) -> str | None:
    """Why the extract cannot support the long-term comparison of `design` (None if it can):
    names the site, team or date that is missing and the parameter that sets it."""
    rows = episodes[episodes["site"] == design.site]
    if rows.empty:
        return f"the extract has no episodes for site {design.site!r} (parameter lt_site)"
    missing = [t for t in design.teams if not rows["team"].eq(t).any()]
    if missing:
        return (
            f"the extract has no {design.site} episodes of team {', '.join(missing)} "
            "(parameter lt_teams)"
        )
    if not rows["team"].eq(design.comparison_team).any():
        return (
            f"the extract has no {design.site} episodes of the comparison team "
            f"{design.comparison_team!r} (parameter lt_comparison_team)"
        )
    go_live = resolved_go_live(episodes, design)
    start = pd.to_datetime(rows["start_date"])
    if not (rows["team"].isin(design.teams) & (start >= go_live)).any():
        return f"no {design.site} 3Cs episodes start on or after lt_go_live = {go_live:%Y-%m-%d}"
    if not (rows["team"].eq(design.comparison_team) & (start < go_live)).any():
        return (
            f"no {design.site} {design.comparison_team} episodes start before lt_go_live = "
            f"{go_live:%Y-%m-%d}"
        )
    return None


def resolved_go_live(episodes: pd.DataFrame, design: LongTermComparison) -> pd.Timestamp:
    """`design.go_live`, or (empty) the first start_date of the site's `teams` episodes."""
    if design.go_live:
        return pd.Timestamp(design.go_live)
    rows = episodes[(episodes["site"] == design.site) & episodes["team"].isin(design.teams)]
    return pd.to_datetime(rows["start_date"]).min()


def compared_episodes(
    episodes: pd.DataFrame, design: LongTermComparison
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The 3Cs episodes (`design.teams`, starting on or after the go-live) and the comparison
    team's (starting before it) that `site_lt_records` compares, after checking that each side
    spans `design.months` (`check_months_spanned`); None when the extract cannot support the
    comparison (`lt_skip_reason`)."""
    if lt_skip_reason(episodes, design) is not None:
        return None
    rows = episodes[episodes["site"] == design.site]
    go_live = resolved_go_live(episodes, design)
    start = pd.to_datetime(rows["start_date"])
    after = rows[rows["team"].isin(design.teams) & (start >= go_live)]
    before = rows[rows["team"].eq(design.comparison_team) & (start < go_live)]
    check_months_spanned(
        pd.concat([after, before]), design.months, comparison_team=design.comparison_team
    )
    return after, before
