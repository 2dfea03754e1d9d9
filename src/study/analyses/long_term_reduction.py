"""Notebook 02 (long-term reduction): how large, and how certain, were the falls in long-term care?

One function per notebook section, each returning an `AnalysisResult`: the labelled estimate
rows the notebook records, the table it shows, its computed sentence and (for the forest plot)
its figure. Each result that contributes to the "all ratios at a glance" forest plot carries
its ratio rows in `.tables["ratios"]`. The published figures
(`study.data.published.load_figures`) and the record-level episodes
(`study.analyses.episodes.read_episodes`) are loaded once by the notebook and passed in. The
estimators are `study.rates` (rate ratios of published rates, of a published reduction and of
weekly counts) and `study.proportions` (two shares compared).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from study import proportions, rates
from study.analyses import LABEL_COLUMNS, AnalysisResult, labelled
from study.analyses.episodes import (
    EpisodeData,
    day_text,
    display_view,
    empty_estimates,
    months_text,
    number_text,
    pct,
    site_label,
    stack,
)
from study.analyses.long_term_design import (
    LongTermComparison,
    check_months,
    compared_episodes,
    lt_skip_reason,
    resolved_go_live,
)
from study.data import aggregate, published
from study.errors import StudyInputError
from study.plots import intervals
from study.run import disclosure
from study.tidy import ESTIMATE_COLUMNS

REDUCTION = "reduction 1 - RR"
RATE_RATIO = "rate ratio after / before"
SHOW = ["quantity", "method", "estimate", "ci_low", "ci_high", "p_value"]
SHOW_SENSITIVITY = ["quantity", "estimate", "ci_low", "ci_high", "ci_width", "p_value"]
# published figures (data/published/figures.csv) behind each analysis: the `source` of its rows
BHAM_REDUCTION_FIGURES = ("bham_long_term_reduction",)
BHAM_REDUCTION_AREAS = "bham_long_term_reduction_areas"  # the 'two key areas' of the 36%
HARROW_REPEAT_FIGURES = ("harrow_repeat_share_before", "harrow_repeat_share_after")
HARROW_LT_FIGURES = {
    "Sep 2018": "harrow_lt_starts_2018_09",
    "Mar 2019": "harrow_lt_starts_2019_03",
    "Sep 2019": "harrow_lt_starts_2019_09",
    "Mar 2020": "harrow_lt_starts_2020_03",
    "Mar 2021": "harrow_lt_starts_2021_03",
}
HARROW_LT_COMPARISONS = [  # (before, after, what changed)
    ("Sep 2018", "Mar 2019", "restructure, before 3Cs"),
    ("Mar 2019", "Sep 2019", "first innovation site"),
    ("Sep 2019", "Mar 2020", "second half of 2019-20"),
    ("Mar 2019", "Mar 2020", "innovation year 2019-20"),
    ("Mar 2020", "Mar 2021", "Covid year"),
]
FOREST_METHODS = (rates.WALD_GLM, rates.QUASI_POISSON, rates.NEG_BINOMIAL, proportions.KATZ)


# --- text helpers ---------------------------------------------------------------------------


def ci_text(row: pd.Series, scale: float = 100, unit: str = "%") -> str:
    """'low to high' for one estimate row, scaled (default: percent with one decimal); a
    suppressed bound (`study.run.disclosure`) reads '[c]'."""
    low, high = (disclosure.value_text(scale * row[c], ".1f") for c in ("ci_low", "ci_high"))
    return f"{low}{'' if pd.isna(row['ci_low']) else unit} to {high}" + (
        "" if pd.isna(row["ci_high"]) else unit
    )


def pick(table: pd.DataFrame, what: str, method: str = rates.WALD_GLM) -> pd.Series:
    """The one row whose quantity ends with `what` and whose method is `method`."""
    hit = table[table["quantity"].str.endswith(what) & table["method"].eq(method)]
    if len(hit) != 1:
        raise StudyInputError(f"expected one row ending {what!r} by {method!r}, got {len(hit)}")
    return hit.iloc[0]


def without_garwood(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a rate table other than the exact Poisson (Garwood) rates of each side."""
    return table[~table["method"].eq(rates.GARWOOD)]


def ratio_rows(
    tables: Sequence[tuple[pd.DataFrame, str]], methods: Sequence[str] = FOREST_METHODS
) -> pd.DataFrame:
    """Rate- and risk-ratio rows of (table, data label) pairs, for a forest plot.

    Keeps rows whose quantity names a rate or risk ratio estimated by one of `methods`; adds
    `label` (the quantity without its ': rate ratio ...' suffix) and `data`.
    """
    parts = []
    for table, data in tables:
        keep = table["quantity"].str.contains("rate ratio|risk ratio") & table["method"].isin(
            list(methods)
        )
        out = table[keep].copy()
        out["label"] = out["quantity"].str.replace(r": (rate|risk) ratio.*$", "", regex=True)
        out["data"] = data
        parts.append(out)
    return pd.concat(parts, ignore_index=True)


# --- Harrow: published weekly averages of new long-term starts -------------------------------


@dataclass(frozen=True)
class RateComparisons:
    """Rate ratios for several before/after comparisons, each table keyed by (before, after)."""

    by: dict[tuple[str, str], pd.DataFrame]

    @property
    def table(self) -> pd.DataFrame:
        """All comparisons stacked, in the order computed (no rows if there are none)."""
        return stack(list(self.by.values()))


def harrow_lt_figures(figures: pd.DataFrame) -> pd.DataFrame:
    """Harrow's published weekly averages of new long-term starts, indexed by month label."""
    table = published.figure_table(HARROW_LT_FIGURES.values(), figures)
    return table.set_index(pd.Index(list(HARROW_LT_FIGURES), name="month"))


def harrow_lt_comparisons(
    figures: pd.DataFrame, weeks_per_rate: int, *, alpha: float = 0.05
) -> RateComparisons:
    """Rate ratios of Harrow's published weekly averages for HARROW_LT_COMPARISONS, each
    average taken as `weeks_per_rate` weeks of data (`rates.published_rate_ratio`)."""
    lt = harrow_lt_figures(figures)
    by = {
        (before, after): rates.published_rate_ratio(
            lt.loc[before, "value"],
            lt.loc[after, "value"],
            weeks_per_rate,
            weeks_per_rate,
            alpha=alpha,
            label=f"Harrow LT starts {before} to {after} ({what})",
        )
        for before, after, what in HARROW_LT_COMPARISONS
    }
    return RateComparisons(by)


def harrow_lt_weeks_sensitivity(
    figures: pd.DataFrame, weeks_sensitivity: Sequence[float], *, alpha: float = 0.05
) -> pd.DataFrame:
    """Mar 2019 -> Mar 2020 rate ratio across assumed weeks behind each weekly average."""
    lt = harrow_lt_figures(figures)
    return rates.published_rate_ratio_sensitivity(
        lt.loc["Mar 2019", "value"],
        lt.loc["Mar 2020", "value"],
        weeks_sensitivity,
        alpha=alpha,
        label="Harrow LT starts Mar 2019 to Mar 2020",
    )


def _harrow_lt_text(
    result: RateComparisons,
    sensitivity: pd.DataFrame,
    lt: pd.DataFrame,
    *,
    weeks_per_rate: int,
    alpha: float,
) -> str:
    """The innovation-year reduction, the Covid-year rate ratio, and how many weeks behind each
    average make the reduction's interval exclude zero."""
    red = pick(result.by[("Mar 2019", "Mar 2020")], REDUCTION)
    covid = pick(result.by[("Mar 2020", "Mar 2021")], RATE_RATIO)
    r0, r1 = lt.loc["Mar 2019", "value"], lt.loc["Mar 2020", "value"]
    reductions = sensitivity[sensitivity["quantity"].str.endswith(REDUCTION)]
    clear = reductions[reductions["ci_low"] > 0]
    needed = (
        f"at least {clear['exposure'].min():g} weeks" if len(clear) else "more weeks than any tried"
    )
    weeks = ", ".join(f"{w:g}" for w in reductions["exposure"])
    return (
        f"Harrow's fall from {r0:g} to {r1:g} new long-term starts a week is a reduction of "
        f"{pct(red['estimate'])} (1 − {r1:g}/{r0:g}, reproduced exactly). If each average covers "
        f"{weeks_per_rate} weeks, its {1 - alpha:.0%} interval is {ci_text(red)} "
        f"(p = {red['p_value']:.2g}). The Covid-year rise back to "
        f"{lt.loc['Mar 2021', 'value']:g} a week is a rate ratio of {covid['estimate']:.2f} "
        f"({covid['ci_low']:.2f} to {covid['ci_high']:.2f}). "
        f"The {pct(reductions['estimate'].iloc[0])} reduction is distinguishable from no change "
        f"at the {1 - alpha:.0%} level only if each weekly average rests on {needed} of data "
        f"(weeks tried: {weeks})."
    )


def harrow_lt_published(
    figures: pd.DataFrame,
    weeks_per_rate: int,
    weeks_sensitivity: Sequence[float],
    *,
    alpha: float = 0.05,
) -> AnalysisResult:
    """Harrow's published weekly new long-term starts 8.3 -> 7.2 -> 6.1 -> 5.5 -> 7.2 (seed
    004) as rate ratios of HARROW_LT_COMPARISONS, each average taken as `weeks_per_rate`
    weeks, then the Mar 2019 -> Mar 2020 ratio across `weeks_sensitivity`
    (`.tables["weeks_sensitivity"]`); the sentence states the innovation-year reduction, the
    Covid-year ratio and the weeks the reduction needs."""
    result = harrow_lt_comparisons(figures, weeks_per_rate, alpha=alpha)
    sensitivity = harrow_lt_weeks_sensitivity(figures, weeks_sensitivity, alpha=alpha)
    source = published.figures_source(HARROW_LT_FIGURES.values(), figures)
    table = labelled(
        stack([result.table, sensitivity]), site="harrow", data_kind="published", source=source
    )
    lt = harrow_lt_figures(figures)
    weeks_view = display_view(sensitivity, ["quantity", "exposure", *SHOW_SENSITIVITY[1:]])
    return AnalysisResult(
        table=table,
        text=_harrow_lt_text(result, sensitivity, lt, weeks_per_rate=weeks_per_rate, alpha=alpha),
        view=display_view(without_garwood(result.table), SHOW),
        tables={
            "weeks_sensitivity": weeks_view,
            "ratios": ratio_rows([(result.table, "published (assumed exposure)")]),
        },
    )


# --- Birmingham: the published 36% reduction -------------------------------------------------


def birmingham_reduction_published(
    figures: pd.DataFrame, baseline: int, baselines: Sequence[int], *, alpha: float = 0.05
) -> AnalysisResult:
    """Birmingham's published 36% reduction in long-term services (seed 000) under an assumed
    baseline count, and across `baselines` (`rates.published_reduction[_sensitivity]`; the
    reduction rows of the sensitivity in `.tables["sensitivity"]`)."""
    reduction = published.figure_value(BHAM_REDUCTION_FIGURES[0], figures) / 100
    areas = int(published.figure_value(BHAM_REDUCTION_AREAS, figures))
    label = f"Birmingham long-term services ({number_text(areas)} key areas)"
    main = rates.published_reduction(
        reduction, baseline, alpha=alpha, period="comparison periods", label=label
    )
    sensitivity = rates.published_reduction_sensitivity(
        reduction, baselines, alpha=alpha, label=label
    )
    source = published.figures_source(BHAM_REDUCTION_FIGURES, figures)
    table = labelled(
        stack([main, sensitivity]), site="birmingham", data_kind="published", source=source
    )
    reductions = sensitivity[sensitivity["quantity"].str.endswith(REDUCTION)]
    red = pick(main, REDUCTION)
    wald = reductions[reductions["method"] == rates.WALD_GLM]
    clear = wald[wald["ci_low"] > 0]
    needed = (
        f"a baseline of at least {clear['baseline_count'].min():g} people"
        if len(clear)
        else "a larger baseline than any tried"
    )
    text = (
        f"Birmingham's {pct(reduction)} reduction (reproduced: {pct(red['estimate'])}) "
        f"has a {1 - alpha:.0%} interval of {ci_text(red)} if {int(baseline)} people needed "
        f"long-term services before. The interval excludes zero only with {needed}."
    )
    columns = ["quantity", "method", "baseline_count", *SHOW_SENSITIVITY[1:]]
    return AnalysisResult(
        table=table,
        text=text,
        view=display_view(without_garwood(main), SHOW),
        tables={
            "sensitivity": display_view(reductions, columns),
            "ratios": ratio_rows([(main, "published (assumed baseline)")]),
        },
    )


# --- Harrow: published repeat-request shares ------------------------------------------------


def harrow_repeat_published(
    figures: pd.DataFrame,
    n_before: int,
    n_after: int,
    denominators: Sequence[int],
    *,
    alpha: float = 0.05,
) -> AnalysisResult:
    """Harrow's repeat-request share, innovation year (25%) against before (33%) (seed 004),
    under assumed denominators, and across equal denominators `denominators`
    (`.tables["sensitivity"]`), with the denominator the fall needs."""
    before, after = (published.figure_value(f, figures) / 100 for f in HARROW_REPEAT_FIGURES)
    label = "Harrow repeat requests"
    comparison = proportions.compare_published_shares(
        after,
        n_after,
        before,
        n_before,
        alpha=alpha,
        label=label,
        names=("innovation year", "before"),
    )
    sensitivity = proportions.comparison_denominator_sensitivity(
        after, before, [(n, n) for n in denominators], alpha=alpha, label=label
    )
    source = published.figures_source(HARROW_REPEAT_FIGURES, figures)
    table = labelled(
        stack([comparison, sensitivity]), site="harrow", data_kind="published", source=source
    )
    rd, rr = comparison.iloc[2], comparison.iloc[3]
    smallest = proportions.smallest_clear_denominator(sensitivity, direction="decrease")
    needed = (
        f"{smallest:,} requests a year or more"
        if smallest is not None
        else "more requests than any tried"
    )
    text = (
        f"With {int(n_before):,} and {int(n_after):,} requests, repeat requests fell by "
        f"{-100 * rd['estimate']:.1f} percentage points ({1 - alpha:.0%} CI "
        f"{-100 * rd['ci_high']:.1f} to {-100 * rd['ci_low']:.1f}), a risk ratio of "
        f"{rr['estimate']:.2f} ({rr['ci_low']:.2f} to {rr['ci_high']:.2f}). The fall is "
        f"distinguishable from chance with {needed}."
    )
    return AnalysisResult(
        table=table,
        text=text,
        view=display_view(comparison, SHOW),
        tables={
            "sensitivity": display_view(sensitivity, [*SHOW_SENSITIVITY, "p_fisher"]),
            "ratios": ratio_rows([(comparison, "published (assumed denominators)")]),
        },
    )


# --- the same comparisons from the record-level extract -------------------------------------


def harrow_lt_records(
    episodes: pd.DataFrame,
    figures: pd.DataFrame,
    *,
    weeks_per_rate: int,
    kind: str,
    alpha: float = 0.05,
    dispersion_alpha: float = 0.05,
) -> RateComparisons:
    """Record-level rate ratios of Harrow's weekly new long-term starts for the last two
    HARROW_LT_COMPARISONS, in the `weeks_per_rate` whole weeks ending at each published month
    end (`rates.before_after_weeks`, `rates.weekly_rate_ratio`)."""
    harrow = episodes[episodes["site"] == "harrow"]
    if harrow.empty:
        return RateComparisons({})
    lt = harrow_lt_figures(figures)
    weekly = aggregate.weekly_series(harrow, series=["new_long_term_starts"])
    by = {}
    for before, after, _ in HARROW_LT_COMPARISONS[3:]:
        window = rates.before_after_weeks(
            weekly, lt.loc[before, "period_end"], lt.loc[after, "period_end"], weeks_per_rate
        )
        by[(before, after)] = rates.weekly_rate_ratio(
            window,
            alpha=alpha,
            dispersion_alpha=dispersion_alpha,
            label=f"Harrow LT starts {before} to {after} ({kind})",
        )
    return RateComparisons(by)


def site_lt_records(
    episodes: pd.DataFrame, design: LongTermComparison, *, kind: str, alpha: float = 0.05
) -> pd.DataFrame:
    """Record-level rate ratio at one site: people going on to long-term support in the 3Cs
    `teams` (episodes starting on or after the go-live) against the comparison team (episodes
    starting before it), each over `months` months (`rates.poisson_rate_ratio`). Raises
    StudyInputError when either side's episodes span more or fewer months than that; no rows
    when the extract cannot support it (`lt_skip_reason`)."""
    months = check_months(design.months)
    sides = compared_episodes(episodes, design)
    if sides is None:
        return empty_estimates()
    after, before = sides
    return rates.poisson_rate_ratio(
        int(after["outcome"].eq("long_term_support").sum()),
        months,
        int(before["outcome"].eq("long_term_support").sum()),
        months,
        alpha=alpha,
        exposure_unit="months",
        label=f"{design.label} ({kind})",
    )


def window_months(start: pd.Timestamp, end: pd.Timestamp) -> int | None:
    """Whole calendar months from `start` to `end` inclusive (None if not whole months)."""
    stop = end + pd.Timedelta(days=1)
    months = (stop.year - start.year) * 12 + stop.month - start.month
    return months if months > 0 and start + pd.DateOffset(months=months) == stop else None


def repeat_windows(window: Sequence[str]) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    """The after window [first day, last day] and the window of the same length just before
    it (same number of calendar months, or of days)."""
    if len(window) != 2:
        raise StudyInputError(f"repeat_window must be [first day, last day], got {window!r}")
    start, end = (pd.Timestamp(d) for d in window)
    if end < start:
        raise StudyInputError(f"repeat_window ends before it starts: {list(window)!r}")
    months = window_months(start, end)
    if months is not None:
        before_start = start - pd.DateOffset(months=months)
    else:
        before_start = start - (end + pd.Timedelta(days=1) - start)
    return {"after": (start, end), "before": (before_start, start - pd.Timedelta(days=1))}


def window_text(start: pd.Timestamp, end: pd.Timestamp) -> str:
    """'12 months' (whole months) or 'N days', for a window's name."""
    months = window_months(start, end)
    return months_text(months) if months is not None else f"{(end - start).days + 1:,} days"


def _after_name(start: pd.Timestamp, end: pd.Timestamp) -> str:
    months = window_months(start, end)
    return "innovation year" if months == 12 else f"innovation {window_text(start, end)}"


def repeat_skip_reason(episodes: pd.DataFrame, site: str, window: Sequence[str]) -> str | None:
    """Why the extract cannot support the repeat-request comparison (None if it can)."""
    rows = episodes[episodes["site"] == site]
    if rows.empty:
        return f"the extract has no episodes for site {site!r} (parameter repeat_site)"
    req = pd.to_datetime(rows["request_date"])
    for side, (a, b) in repeat_windows(window).items():
        if not ((req >= a) & (req <= b)).any():
            return (
                f"no {site} requests in the {side} window {a:%Y-%m-%d} to {b:%Y-%m-%d} "
                "(parameter repeat_window)"
            )
    return None


def site_repeat_records(
    episodes: pd.DataFrame,
    *,
    site: str,
    window: Sequence[str],
    kind: str,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Record-level repeat-request share at one site, requests dated in `window` against the
    window of the same length just before it (`repeat_windows`), by request date
    (`proportions.compare_proportions`); no rows when the extract cannot support it."""
    if repeat_skip_reason(episodes, site, window) is not None:
        return empty_estimates()
    rows = episodes[episodes["site"] == site]
    windows = repeat_windows(window)
    req = pd.to_datetime(rows["request_date"])
    (a1, b1), (a0, b0) = windows["after"], windows["before"]
    in_after = (req >= a1) & (req <= b1)
    in_before = (req >= a0) & (req <= b0)
    is_repeat = rows["repeat_request"].astype("boolean").fillna(False).astype(bool)
    return proportions.compare_proportions(
        int((is_repeat & in_after).sum()),
        int(in_after.sum()),
        int((is_repeat & in_before).sum()),
        int(in_before.sum()),
        alpha=alpha,
        label=f"{site_label(site)} repeat requests ({kind})",
        names=(_after_name(a1, b1), "before"),
    )


def _records_text(
    harrow: RateComparisons,
    lt: pd.DataFrame,
    repeat: pd.DataFrame,
    *,
    design: LongTermComparison,
    go_live: pd.Timestamp | None,
    repeat_site: str,
    repeat_window: Sequence[str],
    skipped: pd.DataFrame,
    data: EpisodeData,
    alpha: float,
) -> str:
    """The record-level long-term and repeat-request comparisons (each part only if the
    extract supports it), then what was skipped and why."""
    parts = []
    if harrow.by:
        h = harrow.by[("Mar 2019", "Mar 2020")]
        h_disp, h_red = h.iloc[0], h.iloc[2]
        parts.append(
            f"Harrow's weekly starts fell by {pct(h_red['estimate'])} ({1 - alpha:.0%} CI "
            f"{ci_text(h_red)}; {h_red['method']}, dispersion X²/df = "
            f"{disclosure.value_text(h_disp['estimate'], '.2f')}, "
            f"p = {disclosure.value_text(h_disp['p_value'], '.2g')})"
        )
    if not lt.empty:
        b_red = pick(lt, REDUCTION)
        span = months_text(design.months)
        parts.append(
            f"{site_label(design.site)}'s key areas saw {pct(b_red['estimate'])} fewer "
            f"long-term starts in the {span} from {day_text(go_live)} than the comparison team "
            f"in the {span} before ({1 - alpha:.0%} CI {ci_text(b_red)})"
        )
    if not repeat.empty:
        (a1, b1), (a0, b0) = repeat_windows(repeat_window).values()
        parts.append(
            f"{site_label(repeat_site)}'s repeat requests moved from "
            f"{pct(repeat.iloc[1]['estimate'])} ({day_text(a0)} to {day_text(b0)}) to "
            f"{pct(repeat.iloc[0]['estimate'])} ({day_text(a1)} to {day_text(b1)})"
        )
    found = f": {'; '.join(parts)}." if parts else ": no comparison could be made."
    skips = "".join(
        f" Skipped, {r.analysis} at {site_label(r.site)}: {r.reason}."
        for r in skipped.itertuples(index=False)
    )
    return f"In the {data.kind} records ({data.label}){found}{skips}"


def reductions_from_records(
    data: EpisodeData,
    figures: pd.DataFrame,
    *,
    weeks_per_rate: int,
    lt: LongTermComparison,
    repeat_site: str,
    repeat_window: Sequence[str],
    alpha: float = 0.05,
    dispersion_alpha: float = 0.05,
    disclosure_threshold: int = disclosure.DEFAULT_THRESHOLD,
) -> AnalysisResult:
    """The comparisons from the record-level extract, one `site` per row: Harrow's weekly new
    long-term starts at its published month ends (`harrow_lt_records`), the long-term starts
    of `lt` before and after its go-live (`site_lt_records`), and the repeat requests of
    `repeat_site` in `repeat_window` against the window before (`site_repeat_records`). An
    analysis the extract cannot support is skipped; `.tables["skipped"]` and the sentence say
    why. User data: the disclosure rule (`study.run.disclosure`, `disclosure_threshold`)
    applies to the rows, view, sentence and the ratios the forest plot draws."""
    harrow = harrow_lt_records(
        data.episodes,
        figures,
        weeks_per_rate=weeks_per_rate,
        kind=data.kind,
        alpha=alpha,
        dispersion_alpha=dispersion_alpha,
    )
    skipped = []
    if not harrow.by:
        skipped.append(
            ("weekly long-term starts at the published month ends", "harrow",
             "the extract has no episodes for site 'harrow' (the published weekly averages "
             "compared are Harrow's)")
        )  # fmt: skip
    lt_rows = site_lt_records(data.episodes, lt, kind=data.kind, alpha=alpha)
    if (reason := lt_skip_reason(data.episodes, lt)) is not None:
        skipped.append(("long-term reduction", lt.site, reason))
    repeat = site_repeat_records(
        data.episodes, site=repeat_site, window=repeat_window, kind=data.kind, alpha=alpha
    )
    if (reason := repeat_skip_reason(data.episodes, repeat_site, repeat_window)) is not None:
        skipped.append(("repeat requests", repeat_site, reason))
    rows = stack(
        [
            harrow.table.assign(site="harrow"),
            lt_rows.assign(site=lt.site),
            repeat.assign(site=repeat_site),
        ]
    )
    table = rows.assign(data_kind=data.kind, source=data.path)
    table = disclosure.suppress(table, disclosure_threshold)
    # the sentence quotes the suppressed rows: the same tables, cut back out of `table`
    sizes = [len(t) for t in harrow.by.values()]
    ends = [int(e) for e in pd.Series([*sizes, len(lt_rows), len(repeat)]).cumsum()]
    cut = [table.iloc[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    harrow = RateComparisons(dict(zip(harrow.by, cut[: len(sizes)], strict=True)))
    lt_rows, repeat = cut[len(sizes)], cut[len(sizes) + 1]
    skipped = pd.DataFrame(skipped, columns=["analysis", "site", "reason"])
    go_live = None if lt_rows.empty else resolved_go_live(data.episodes, lt)
    text = _records_text(
        harrow,
        lt_rows,
        repeat,
        design=lt,
        go_live=go_live,
        repeat_site=repeat_site,
        repeat_window=repeat_window,
        skipped=skipped,
        data=data,
        alpha=alpha,
    )
    return AnalysisResult(
        table=table,
        text=text,
        view=display_view(without_garwood(table), [*SHOW, "note"]),
        tables={"ratios": ratio_rows([(table, data.kind)]), "skipped": skipped},
    )


# --- all ratios at a glance -----------------------------------------------------------------


def ratios_forest(results: Sequence[AnalysisResult], *, alpha: float = 0.05) -> AnalysisResult:
    """Forest plot "ratios_forest" of the ratio rows (`.tables["ratios"]`) of `results`, in
    order; records no estimates of its own (the rows are each result's)."""
    missing = [i for i, r in enumerate(results) if "ratios" not in r.tables]
    if missing:
        raise StudyInputError(f"results {missing} carry no ratio rows (.tables['ratios'])")
    forest = pd.concat([r.tables["ratios"] for r in results], ignore_index=True)
    fig = intervals.forest_plot(
        forest,
        level=1 - alpha,
        title="Long-term starts and repeat requests: ratios with intervals"
        + disclosure.figure_note(forest),
    )
    return AnalysisResult(
        table=pd.DataFrame(columns=[*ESTIMATE_COLUMNS, *LABEL_COLUMNS]),
        view=display_view(forest, ["label", "data", "method", "estimate", "ci_low", "ci_high"]),
        figures={"ratios_forest": fig},
    )
