"""Notebook 01 (conversation split): where do conversations end?

One function per notebook section, each returning an `AnalysisResult`: the labelled estimate
rows the notebook records, the table it shows, its figure and its computed sentence. The
published figures (`study.data.published.load_figures`), the dated events (`load_events`) and
the record-level episodes (`study.analyses.episodes.read_episodes`) are loaded once by the
notebook and passed in. The estimators are `study.proportions.shares_to_counts`,
`multinomial_ci`, `compare_published_shares`, `comparison_denominator_sensitivity` and
`compare_proportions`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from study import proportions
from study.analyses import AnalysisResult, labelled
from study.analyses.episodes import (
    EpisodeData,
    display_view,
    empty_estimates,
    pct,
    site_label,
    stack,
)
from study.data import aggregate, published
from study.plots import intervals
from study.run import disclosure

SHOW = ["quantity", "method", "estimate", "ci_low", "ci_high", "n"]
SHOW_SENSITIVITY = ["quantity", "estimate", "ci_low", "ci_high", "ci_width", "p_value", "p_fisher"]
# published figures (data/published/figures.csv) behind each analysis: the `source` of its rows
BHAM_SPLIT_FIGURES = ("bham_conversations_6m", "bham_share_c1", "bham_share_c2", "bham_share_c3")
HARROW_C3_FIGURES = (
    "harrow_c3_share_pre_covid",
    "harrow_c3_share_covid",
    "harrow_requests_increase_2020_21",
)


# --- Birmingham: the published split ------------------------------------------------------


@dataclass(frozen=True)
class PublishedSplit:
    """Counts rebuilt from published shares and their multinomial intervals."""

    total: int
    counts: pd.DataFrame
    table: pd.DataFrame


def published_split(
    shares: Mapping[str, float],
    total: int,
    *,
    rounding_unit: float = 0.01,
    alpha: float = 0.05,
    label: str = "",
    name: str = "shares",
) -> PublishedSplit:
    """Largest-remainder counts behind published shares, then Wilson, Goodman and Sison-Glaz
    intervals (`proportions.shares_to_counts`, `proportions.multinomial_ci`)."""
    counts = proportions.shares_to_counts(shares, total, rounding_unit=rounding_unit, name=name)
    table = proportions.multinomial_ci(
        dict(zip(counts["category"], counts["count"], strict=True)), alpha=alpha, label=label
    )
    return PublishedSplit(int(total), counts, table)


def birmingham_shares(figures: pd.DataFrame) -> tuple[int, dict[str, float]]:
    """Birmingham's published total and C1/C2/C3 shares (fractions) from the figures table."""
    total_id, *share_ids = BHAM_SPLIT_FIGURES
    total = int(published.figure_value(total_id, figures))
    shares = {
        f"C{i}": published.figure_value(fid, figures) / 100 for i, fid in enumerate(share_ids, 1)
    }
    return total, shares


def _split_text(split: PublishedSplit, *, alpha: float) -> str:
    """Goodman intervals of C1 and C3, width ratios of the simultaneous to the Wilson
    intervals, and the counts compatible with the rounded C1 share."""
    t = split.table
    width = (t["ci_high"] - t["ci_low"]).groupby(t["method"]).mean()
    good = t[t["method"] == proportions.GOODMAN].set_index("category")
    c1_min, c1_max = split.counts.loc[0, ["count_min", "count_max"]]
    c1_share = split.counts.loc[0, "share"]
    return (
        f"With {split.total:,} conversations the published shares are precise: Conversation 1's "
        f"{pct(good.loc['C1', 'estimate'])} has a {1 - alpha:.0%} Goodman simultaneous interval "
        f"of {pct(good.loc['C1', 'ci_low'])} to {pct(good.loc['C1', 'ci_high'])}, and "
        f"Conversation 3's {pct(good.loc['C3', 'estimate'])} one of "
        f"{pct(good.loc['C3', 'ci_low'])} to {pct(good.loc['C3', 'ci_high'])}. Simultaneous "
        f"intervals are on average "
        f"{width[proportions.GOODMAN] / width[proportions.WILSON]:.2f} times (Goodman) and "
        f"{width[proportions.SISON_GLAZ] / width[proportions.WILSON]:.2f} times (Sison–Glaz) "
        f"as wide as the per-category Wilson intervals. Rounding alone leaves "
        f"{c1_min:,}–{c1_max:,} conversations compatible with '{c1_share:.0%} at Conversation 1'."
        f" Sison–Glaz is designed for seven or more categories, so with three it is indicative;"
        f" Goodman is the one to quote."
    )


def birmingham_published(
    figures: pd.DataFrame, *, rounding_unit: float = 0.01, alpha: float = 0.05
) -> AnalysisResult:
    """Birmingham's published 70 / 10 / 20 split of 1,497 conversations (seed 000): counts
    rebuilt from the rounded shares (`.tables["counts"]`), Wilson, Goodman and Sison-Glaz
    intervals, figure "birmingham_split"."""
    total, shares = birmingham_shares(figures)
    split = published_split(
        shares,
        total,
        rounding_unit=rounding_unit,
        alpha=alpha,
        label="Birmingham conversation split",
        name="Birmingham shares",
    )
    table = labelled(
        split.table,
        site="birmingham",
        data_kind="published",
        source=published.figures_source(BHAM_SPLIT_FIGURES, figures),
    )
    title = f"Birmingham, published split of {split.total:,} conversations"
    return AnalysisResult(
        table=table,
        text=_split_text(split, alpha=alpha),
        view=display_view(table, SHOW),
        figures={"birmingham_split": intervals.split_plot(split.table, title, level=1 - alpha)},
        tables={"counts": split.counts},
    )


# --- Harrow: the published C3 shares --------------------------------------------------------


def _harrow_c3_text(
    comparison: pd.DataFrame, sensitivity: pd.DataFrame, *, nobs1: int, nobs0: int, alpha: float
) -> str:
    """Interpretation of the Harrow C3 comparison and of its denominator sensitivity."""
    main, ratio = comparison.iloc[2], comparison.iloc[3]
    smallest = proportions.smallest_clear_denominator(sensitivity, direction="increase")
    if smallest is None:
        verdict = (
            "no assumed denominator in the list makes the interval exclude zero, so the "
            "published percentages alone do not show a change"
        )
    elif smallest == int(sensitivity["nobs0"].min()):
        verdict = "the interval excludes zero for every denominator tried"
    else:
        verdict = (
            f"the interval excludes zero only from about {smallest:,} pre-Covid conversations "
            "upwards; with fewer, the published percentages alone cannot settle it"
        )
    return (
        f"Assuming {nobs0:,} conversations before and {nobs1:,} during the "
        f"Covid year, the Conversation 3 share rose by {100 * main['estimate']:.1f} percentage "
        f"points ({1 - alpha:.0%} CI {100 * main['ci_low']:.1f} to {100 * main['ci_high']:.1f}; "
        f"chi-square p = {main['p_value']:.2g}), a risk ratio of {ratio['estimate']:.2f} "
        f"({ratio['ci_low']:.2f} to {ratio['ci_high']:.2f}). Across the denominators tried, "
        f"{verdict}."
    )


def harrow_c3_published(
    figures: pd.DataFrame,
    n_pre_covid: int,
    denominators: Sequence[int],
    *,
    alpha: float = 0.05,
) -> AnalysisResult:
    """Harrow's Conversation 3 share, Covid year (16%) against pre-Covid (9%) (seed 004).

    Assumed denominators: `n_pre_covid` before, grown by the published rise in requests in the
    Covid year (rounded); the sensitivity rows (`.tables["sensitivity"]`, figure
    "harrow_c3_denominator_sensitivity") repeat this for each of `denominators`.
    """
    c3_pre, c3_covid, increase = (
        published.figure_value(f, figures) / 100 for f in HARROW_C3_FIGURES
    )
    growth = 1 + increase
    n_covid = round(n_pre_covid * growth)
    comparison = proportions.compare_published_shares(
        c3_covid,
        n_covid,
        c3_pre,
        n_pre_covid,
        alpha=alpha,
        label="Harrow C3 share",
        names=("Covid year", "pre-Covid"),
    )
    pairs = [(round(n * growth), n) for n in denominators]
    sensitivity = proportions.comparison_denominator_sensitivity(
        c3_covid, c3_pre, pairs, alpha=alpha, label="Harrow C3 share"
    )
    source = published.figures_source(HARROW_C3_FIGURES, figures)
    table = labelled(
        stack([comparison, sensitivity]), site="harrow", data_kind="published", source=source
    )
    fig = intervals.difference_sensitivity_plot(
        sensitivity,
        level=1 - alpha,
        xlabel=f"assumed pre-Covid conversations (Covid year: +{increase:.0%})",
        ylabel="C3 share, Covid year − pre-Covid",
        title="Harrow: how the verdict depends on the denominator",
    )
    text = _harrow_c3_text(
        comparison, sensitivity, nobs1=n_covid, nobs0=int(n_pre_covid), alpha=alpha
    )
    return AnalysisResult(
        table=table,
        text=text,
        view=display_view(comparison, [*SHOW, "p_value"]),
        figures={"harrow_c3_denominator_sensitivity": fig},
        tables={"sensitivity": display_view(sensitivity, SHOW_SENSITIVITY)},
    )


# --- the split from the record-level extract ------------------------------------------------


def records_split_by_site(split: pd.DataFrame, *, kind: str, alpha: float = 0.05) -> pd.DataFrame:
    """Multinomial intervals of each site's record-level split (from
    `aggregate.conversation_split(..., by=("site",))`), stacked with a `site` column."""
    tables = []
    for site, grp in split.groupby("site", sort=True):
        t = proportions.multinomial_ci(
            {f"C{c}": n for c, n in zip(grp["conversation"], grp["count"], strict=True)},
            alpha=alpha,
            label=f"{site_label(site)} conversation split ({kind})",
        )
        tables.append(t.assign(site=site))
    return pd.concat(tables, ignore_index=True)


def harrow_c3_by_period(
    episodes: pd.DataFrame, events: pd.DataFrame, *, kind: str, alpha: float = 0.05
) -> pd.DataFrame:
    """Harrow's record-level C3 share, Covid demand window against pre-Covid (from the first
    innovation site's start), by request date; periods dated in `events` (events.csv)."""
    harrow = episodes[episodes["site"] == "harrow"]
    if harrow.empty:
        return empty_estimates()
    site1_start, _ = published.event_dates("harrow_site1_start", events)
    covid_start, covid_end = published.event_dates("harrow_covid_demand_window", events)
    periods = {
        "pre-Covid": (site1_start, covid_start - pd.Timedelta(days=1)),
        "Covid year": (covid_start, covid_end),
    }
    split = aggregate.conversation_split(harrow, periods=periods, by=("site",))
    c3 = split[split["conversation"] == 3].set_index("period")
    return proportions.compare_proportions(
        int(c3.loc["Covid year", "count"]),
        int(c3.loc["Covid year", "total"]),
        int(c3.loc["pre-Covid", "count"]),
        int(c3.loc["pre-Covid", "total"]),
        alpha=alpha,
        label=f"Harrow C3 share ({kind})",
        names=("Covid year", "pre-Covid"),
    )


def _records_text(
    by_site: pd.DataFrame,
    harrow_c3: pd.DataFrame,
    published_shares: Sequence[float],
    *,
    published_site: str,
    data: EpisodeData,
    alpha: float,
) -> str:
    """The record-level split against the published Birmingham split, and Harrow's
    record-level C3 comparison (each part only if the extract holds that site)."""
    parts = []
    for site in by_site["site"].unique():
        b = by_site[(by_site["site"] == site) & (by_site["method"] == proportions.GOODMAN)]
        split = (
            f"{site_label(site)}'s split is "
            + " / ".join(pct(v) for v in b["estimate"])
            + f" of {disclosure.value_text(b['n'].max(), ',.0f')} completed episodes"
        )
        if site == published_site:  # the site whose split figures.csv holds
            split += ", against the published " + " / ".join(pct(v) for v in published_shares)
        parts.append(split)
    if data.has("harrow"):
        covid, pre, rd = harrow_c3.iloc[0], harrow_c3.iloc[1], harrow_c3.iloc[2]
        points = [
            disclosure.value_text(100 * rd[c], ".1f") for c in ("estimate", "ci_low", "ci_high")
        ]
        parts.append(
            f"Harrow's Conversation 3 share moves from {pct(pre['estimate'])} "
            f"({pre['note']}) to {pct(covid['estimate'])} ({covid['note']}), a difference of "
            f"{points[0]} points ({1 - alpha:.0%} CI {points[1]} to {points[2]})"
        )
    return (
        f"From the {data.kind} records ({data.label}): "
        + "; ".join(parts)
        + "."
        + data.missing_note()
    )


def split_from_records(
    data: EpisodeData,
    figures: pd.DataFrame,
    events: pd.DataFrame,
    *,
    alpha: float = 0.05,
    disclosure_threshold: int = disclosure.DEFAULT_THRESHOLD,
) -> AnalysisResult:
    """The split of completed episodes by site (multinomial intervals, one `site` per row;
    counts in `.tables["counts"]`, figure "birmingham_split_records" if the extract holds
    Birmingham) and Harrow's C3 share by period (`.tables["harrow_c3"]`), with a sentence
    against the published Birmingham split. User data: the disclosure rule
    (`study.run.disclosure`, `disclosure_threshold`) applies to every row, count, sentence and
    figure; suppressed values show `[c]` and are not drawn."""
    counts = aggregate.conversation_split(data.episodes, by=("site",))
    by_site = records_split_by_site(counts, kind=data.kind, alpha=alpha)
    harrow_c3 = harrow_c3_by_period(data.episodes, events, kind=data.kind, alpha=alpha)
    table = stack([by_site, harrow_c3.assign(site="harrow")])
    table = table.assign(data_kind=data.kind, source=data.path)
    table = disclosure.suppress(table, disclosure_threshold)
    by_site, harrow_c3 = (
        table.iloc[: len(by_site)],
        table.iloc[len(by_site) :].reset_index(drop=True),
    )
    counts = counts.round(4)
    if data.kind == "user":
        counts = disclosure.suppress_counts(counts, disclosure_threshold, by=("period", "site"))
    figs = {}
    if data.has("birmingham"):
        bham = by_site[by_site["site"] == "birmingham"]
        figs["birmingham_split_records"] = intervals.split_plot(
            bham,
            f"Birmingham, conversation split from the record-level extract ({data.kind})"
            + disclosure.figure_note(bham),
            level=1 - alpha,
        )
    _, shares = birmingham_shares(figures)
    return AnalysisResult(
        table=table,
        text=_records_text(
            by_site,
            harrow_c3,
            list(shares.values()),
            published_site=published.figure_table(BHAM_SPLIT_FIGURES[:1], figures)["site"].iloc[0],
            data=data,
            alpha=alpha,
        ),
        view=display_view(by_site, SHOW),
        figures=figs,
        tables={
            "counts": counts,
            "harrow_c3": display_view(harrow_c3, [*SHOW, "p_value", "note"]),
        },
    )
