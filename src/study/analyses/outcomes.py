"""Notebook-level assembly for notebooks 01 (conversation split) and 02 (long-term reduction).

Each function turns the notebook parameters into the labelled estimate tables the notebook
records, or into the interpretation sentence it displays (computed from the results, never
typed). The estimators themselves live in `study.proportions` and `study.rates`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from study import proportions, rates
from study.config import data_kind, resolve_path
from study.data import aggregate, published, records
from study.errors import StudyInputError
from study.tidy import ESTIMATE_COLUMNS

SYNTHETIC_LABEL = "synthetic data calibrated to the published figures — not a finding"
USER_LABEL = "user-supplied records"
REDUCTION = "reduction 1 - RR"
RATE_RATIO = "rate ratio after / before"
# published figures (data/published/figures.csv) behind each analysis: the `source` of its rows
BHAM_SPLIT_FIGURES = ("bham_conversations_6m", "bham_share_c1", "bham_share_c2", "bham_share_c3")
HARROW_C3_FIGURES = (
    "harrow_c3_share_pre_covid",
    "harrow_c3_share_covid",
    "harrow_requests_increase_2020_21",
)
BHAM_REDUCTION_FIGURES = ("bham_long_term_reduction",)
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
BHAM_KEY_AREAS = ("innovation_site_1", "innovation_site_2")
FOREST_METHODS = (rates.WALD_GLM, rates.QUASI_POISSON, rates.NEG_BINOMIAL, proportions.KATZ)


# --- display and text helpers -------------------------------------------------------------


def display_view(table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Rounded view of `columns` for display (4 decimals); p_* columns as two significant digits."""
    columns = list(columns)
    if table.empty:
        return table.reindex(columns=columns)
    out = table[columns].round(4)
    for col in [c for c in columns if c.startswith("p_")]:
        out[col] = table[col].map(lambda p: f"{p:.2g}")
    return out


def pct(x: float) -> str:
    """A fraction as a percentage with one decimal: 0.7 -> '70.0%'."""
    return f"{100 * x:.1f}%"


def ci_text(row: pd.Series, scale: float = 100, unit: str = "%") -> str:
    """'low to high' for one estimate row, scaled (default: percent with one decimal)."""
    return f"{scale * row['ci_low']:.1f}{unit} to {scale * row['ci_high']:.1f}{unit}"


def pick(table: pd.DataFrame, what: str, method: str = rates.WALD_GLM) -> pd.Series:
    """The one row whose quantity ends with `what` and whose method is `method`."""
    hit = table[table["quantity"].str.endswith(what) & table["method"].eq(method)]
    if len(hit) != 1:
        raise StudyInputError(f"expected one row ending {what!r} by {method!r}, got {len(hit)}")
    return hit.iloc[0]


def empty_estimates() -> pd.DataFrame:
    """An estimate table with no rows (a site the extract does not hold)."""
    return pd.DataFrame(columns=[*ESTIMATE_COLUMNS, "note"])


# --- record-level input ---------------------------------------------------------------------


@dataclass(frozen=True)
class EpisodeData:
    """Validated record-level conversation episodes with their provenance label."""

    path: str
    kind: str
    episodes: pd.DataFrame

    @property
    def label(self) -> str:
        """Plain statement of what the records are (synthetic: 'not a finding')."""
        return SYNTHETIC_LABEL if self.kind == "synthetic" else USER_LABEL

    @property
    def sites(self) -> list[str]:
        """Sites with at least one episode in the extract (sorted)."""
        return sorted(self.episodes["site"].astype(str).unique())

    def has(self, site: str) -> bool:
        """True if the extract holds episodes for `site` (a council's own extract may not)."""
        return site in self.sites

    @property
    def description(self) -> str:
        """Markdown line naming the file, its kind, the number of episodes and the sites."""
        return (
            f"**Data:** `{self.path}` ({self.kind}: {self.label}); {len(self.episodes):,} "
            f"episodes; sites: {', '.join(self.sites) or 'none'}."
        )


def read_episodes(conversations_path: str) -> EpisodeData:
    """Read and validate the conversation episodes (`study.data.records`), labelled by data kind."""
    episodes = records.read_records(resolve_path(conversations_path), "conversations")
    return EpisodeData(conversations_path, data_kind(conversations_path), episodes)


# --- 01: conversation split -----------------------------------------------------------------


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


def birmingham_published_split(
    *, rounding_unit: float = 0.01, alpha: float = 0.05
) -> PublishedSplit:
    """Birmingham's published 70 / 10 / 20 split of 1,497 conversations (seed 000)."""
    total_id, *share_ids = BHAM_SPLIT_FIGURES
    total = int(published.figure_value(total_id))
    shares = {f"C{i}": published.figure_value(fid) / 100 for i, fid in enumerate(share_ids, 1)}
    return published_split(
        shares,
        total,
        rounding_unit=rounding_unit,
        alpha=alpha,
        label="Birmingham conversation split",
        name="Birmingham shares",
    )


def split_sentence(split: PublishedSplit, *, alpha: float = 0.05) -> str:
    """Interpretation of a published split: Goodman intervals of C1 and C3, width ratios of the
    simultaneous to the Wilson intervals, and the counts compatible with the rounded C1 share."""
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


@dataclass(frozen=True)
class ShareComparison:
    """Two published shares compared under assumed denominators, with a sensitivity table."""

    nobs1: int
    nobs0: int
    comparison: pd.DataFrame
    sensitivity: pd.DataFrame


def harrow_c3_published(
    n_pre_covid: int, denominators: Sequence[int], *, alpha: float = 0.05
) -> ShareComparison:
    """Harrow's Conversation 3 share, Covid year (16%) against pre-Covid (9%) (seed 004).

    Assumed denominators: `n_pre_covid` before, grown by the published rise in requests in the
    Covid year (rounded); the sensitivity table repeats this for each of `denominators`.
    """
    c3_pre, c3_covid, increase = (published.figure_value(f) / 100 for f in HARROW_C3_FIGURES)
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
    return ShareComparison(n_covid, int(n_pre_covid), comparison, sensitivity)


def smallest_clear_denominator(sensitivity: pd.DataFrame, *, direction: str) -> int | None:
    """Smallest `nobs0` whose Newcombe interval of the difference excludes zero on the side
    `direction` ("increase": ci_low > 0, "decrease": ci_high < 0); None if there is none."""
    if direction not in ("increase", "decrease"):
        raise StudyInputError(f"direction must be 'increase' or 'decrease', got {direction!r}")
    diff = sensitivity[sensitivity["method"] == proportions.NEWCOMBE]
    clear = diff[diff["ci_low"] > 0] if direction == "increase" else diff[diff["ci_high"] < 0]
    return int(clear["nobs0"].min()) if len(clear) else None


def harrow_c3_sentence(result: ShareComparison, *, alpha: float = 0.05) -> str:
    """Interpretation of the Harrow C3 comparison and of its denominator sensitivity."""
    main, ratio = result.comparison.iloc[2], result.comparison.iloc[3]
    smallest = smallest_clear_denominator(result.sensitivity, direction="increase")
    if smallest is None:
        verdict = (
            "no assumed denominator in the list makes the interval exclude zero, so the "
            "published percentages alone do not show a change"
        )
    elif smallest == int(result.sensitivity["nobs0"].min()):
        verdict = "the interval excludes zero for every denominator tried"
    else:
        verdict = (
            f"the interval excludes zero only from about {smallest:,} pre-Covid conversations "
            "upwards; with fewer, the published percentages alone cannot settle it"
        )
    return (
        f"Assuming {result.nobs0:,} conversations before and {result.nobs1:,} during the "
        f"Covid year, the Conversation 3 share rose by {100 * main['estimate']:.1f} percentage "
        f"points ({1 - alpha:.0%} CI {100 * main['ci_low']:.1f} to {100 * main['ci_high']:.1f}; "
        f"chi-square p = {main['p_value']:.2g}), a risk ratio of {ratio['estimate']:.2f} "
        f"({ratio['ci_low']:.2f} to {ratio['ci_high']:.2f}). Across the denominators tried, "
        f"{verdict}."
    )


def records_split_by_site(split: pd.DataFrame, *, kind: str, alpha: float = 0.05) -> pd.DataFrame:
    """Multinomial intervals of each site's record-level split (from
    `aggregate.conversation_split(..., by=("site",))`), stacked with a `site` column."""
    tables = []
    for site, grp in split.groupby("site", sort=True):
        t = proportions.multinomial_ci(
            {f"C{c}": n for c, n in zip(grp["conversation"], grp["count"], strict=True)},
            alpha=alpha,
            label=f"{site.title()} conversation split ({kind})",
        )
        tables.append(t.assign(site=site))
    return pd.concat(tables, ignore_index=True)


def harrow_c3_by_period(episodes: pd.DataFrame, *, kind: str, alpha: float = 0.05) -> pd.DataFrame:
    """Harrow's record-level C3 share, Covid demand window against pre-Covid (from the first
    innovation site's start), by request date; periods dated in data/published/events.csv."""
    site1_start, _ = published.event_dates("harrow_site1_start")
    covid_start, covid_end = published.event_dates("harrow_covid_demand_window")
    periods = {
        "pre-Covid": (site1_start, covid_start - pd.Timedelta(days=1)),
        "Covid year": (covid_start, covid_end),
    }
    harrow = episodes[episodes["site"] == "harrow"]
    if harrow.empty:
        return empty_estimates()
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


def records_split_sentence(
    records_split: pd.DataFrame,
    harrow_c3: pd.DataFrame,
    published_counts: pd.DataFrame,
    *,
    data: EpisodeData,
    alpha: float = 0.05,
) -> str:
    """Interpretation of the record-level split against the published Birmingham split and of
    Harrow's record-level C3 comparison (each part only if the extract holds that site)."""
    parts = []
    if data.has("birmingham"):
        b = records_split[
            (records_split["site"] == "birmingham")
            & (records_split["method"] == proportions.GOODMAN)
        ]
        parts.append(
            "Birmingham's split is "
            + " / ".join(pct(v) for v in b["estimate"])
            + f" of {int(b['n'].iloc[0]):,} completed episodes, against the published "
            + " / ".join(pct(v) for v in published_counts["share"])
        )
    if data.has("harrow"):
        covid, pre, rd = harrow_c3.iloc[0], harrow_c3.iloc[1], harrow_c3.iloc[2]
        parts.append(
            f"Harrow's Conversation 3 share moves from {pct(pre['estimate'])} "
            f"({pre['note']}) to {pct(covid['estimate'])} ({covid['note']}), a difference of "
            f"{100 * rd['estimate']:.1f} points ({1 - alpha:.0%} CI {100 * rd['ci_low']:.1f} to "
            f"{100 * rd['ci_high']:.1f})"
        )
    missing = [s.title() for s in ("birmingham", "harrow") if not data.has(s)]
    note = f" The extract has no {' or '.join(missing)} episodes." if missing else ""
    return f"From the {data.kind} records ({data.label}): " + "; ".join(parts) + "." + note


# --- 02: long-term reduction ----------------------------------------------------------------


@dataclass(frozen=True)
class RateComparisons:
    """Rate ratios for several before/after comparisons, each table keyed by (before, after)."""

    by: dict[tuple[str, str], pd.DataFrame]

    @property
    def table(self) -> pd.DataFrame:
        """All comparisons stacked, in the order computed (no rows if there are none)."""
        if not self.by:
            return empty_estimates()
        return pd.concat(self.by.values(), ignore_index=True)


def harrow_lt_figures() -> pd.DataFrame:
    """Harrow's published weekly averages of new long-term starts, indexed by month label."""
    table = published.figure_table(HARROW_LT_FIGURES.values())
    return table.set_index(pd.Index(list(HARROW_LT_FIGURES), name="month"))


def harrow_lt_published(weeks_per_rate: int, *, alpha: float = 0.05) -> RateComparisons:
    """Rate ratios of Harrow's published weekly averages for HARROW_LT_COMPARISONS, each
    average taken as `weeks_per_rate` weeks of data (`rates.published_rate_ratio`)."""
    lt = harrow_lt_figures()
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


def harrow_lt_sentence(result: RateComparisons, *, weeks_per_rate: int, alpha: float = 0.05) -> str:
    """Interpretation of the innovation-year reduction and the Covid-year rate ratio."""
    lt = harrow_lt_figures()
    red = pick(result.by[("Mar 2019", "Mar 2020")], REDUCTION)
    covid = pick(result.by[("Mar 2020", "Mar 2021")], RATE_RATIO)
    r0, r1 = lt.loc["Mar 2019", "value"], lt.loc["Mar 2020", "value"]
    return (
        f"Harrow's fall from {r0:g} to {r1:g} new long-term starts a week is a reduction of "
        f"{pct(red['estimate'])} (1 − {r1:g}/{r0:g}, reproduced exactly). If each average covers "
        f"{weeks_per_rate} weeks, its {1 - alpha:.0%} interval is {ci_text(red)} "
        f"(p = {red['p_value']:.2g}). The Covid-year rise back to "
        f"{lt.loc['Mar 2021', 'value']:g} a week is a rate ratio of {covid['estimate']:.2f} "
        f"({covid['ci_low']:.2f} to {covid['ci_high']:.2f})."
    )


def harrow_lt_weeks_sensitivity(
    weeks_sensitivity: Sequence[float], *, alpha: float = 0.05
) -> pd.DataFrame:
    """Mar 2019 -> Mar 2020 rate ratio across assumed weeks behind each weekly average."""
    lt = harrow_lt_figures()
    return rates.published_rate_ratio_sensitivity(
        lt.loc["Mar 2019", "value"],
        lt.loc["Mar 2020", "value"],
        weeks_sensitivity,
        alpha=alpha,
        label="Harrow LT starts Mar 2019 to Mar 2020",
    )


def weeks_sensitivity_sentence(sensitivity: pd.DataFrame, *, alpha: float = 0.05) -> str:
    """How many weeks behind each average make the reduction's interval exclude zero."""
    red = sensitivity[sensitivity["quantity"].str.endswith(REDUCTION)]
    clear = red[red["ci_low"] > 0]
    needed = (
        f"at least {clear['exposure'].min():g} weeks" if len(clear) else "more weeks than any tried"
    )
    weeks = ", ".join(f"{w:g}" for w in red["exposure"])
    return (
        f"The {pct(red['estimate'].iloc[0])} reduction is distinguishable from no change at the "
        f"{1 - alpha:.0%} level only if each weekly average rests on {needed} of data "
        f"(weeks tried: {weeks})."
    )


@dataclass(frozen=True)
class PublishedReduction:
    """A published relative reduction under an assumed baseline, with a baseline sensitivity."""

    reduction: float
    baseline: int
    table: pd.DataFrame
    sensitivity: pd.DataFrame

    @property
    def sensitivity_reductions(self) -> pd.DataFrame:
        """The reduction rows of the sensitivity table."""
        return self.sensitivity[self.sensitivity["quantity"].str.endswith(REDUCTION)]


def birmingham_reduction_published(
    baseline: int, baselines: Sequence[int], *, alpha: float = 0.05
) -> PublishedReduction:
    """Birmingham's published 36% reduction in long-term services (seed 000) under an assumed
    baseline count, and across `baselines` (`rates.published_reduction[_sensitivity]`)."""
    reduction = published.figure_value(BHAM_REDUCTION_FIGURES[0]) / 100
    label = "Birmingham long-term services (two key areas)"
    table = rates.published_reduction(
        reduction, baseline, alpha=alpha, period="comparison periods", label=label
    )
    sensitivity = rates.published_reduction_sensitivity(
        reduction, baselines, alpha=alpha, label=label
    )
    return PublishedReduction(reduction, int(baseline), table, sensitivity)


def birmingham_reduction_sentence(result: PublishedReduction, *, alpha: float = 0.05) -> str:
    """Interpretation of the Birmingham reduction and the baseline it needs to exclude zero."""
    main = pick(result.table, REDUCTION)
    wald = result.sensitivity_reductions
    wald = wald[wald["method"] == rates.WALD_GLM]
    clear = wald[wald["ci_low"] > 0]
    needed = (
        f"a baseline of at least {clear['baseline_count'].min():g} people"
        if len(clear)
        else "a larger baseline than any tried"
    )
    return (
        f"Birmingham's {pct(result.reduction)} reduction (reproduced: {pct(main['estimate'])}) "
        f"has a {1 - alpha:.0%} interval of {ci_text(main)} if {result.baseline} people needed "
        f"long-term services before. The interval excludes zero only with {needed}."
    )


def harrow_repeat_published(
    n_before: int, n_after: int, denominators: Sequence[int], *, alpha: float = 0.05
) -> ShareComparison:
    """Harrow's repeat-request share, innovation year (25%) against before (33%) (seed 004),
    under assumed denominators, and across equal denominators `denominators`."""
    before, after = (published.figure_value(f) / 100 for f in HARROW_REPEAT_FIGURES)
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
    return ShareComparison(int(n_after), int(n_before), comparison, sensitivity)


def harrow_repeat_sentence(result: ShareComparison, *, alpha: float = 0.05) -> str:
    """Interpretation of the repeat-request fall and the denominator it needs."""
    rd, rr = result.comparison.iloc[2], result.comparison.iloc[3]
    smallest = smallest_clear_denominator(result.sensitivity, direction="decrease")
    needed = (
        f"{smallest:,} requests a year or more"
        if smallest is not None
        else "more requests than any tried"
    )
    return (
        f"With {result.nobs0:,} and {result.nobs1:,} requests, repeat requests fell by "
        f"{-100 * rd['estimate']:.1f} percentage points ({1 - alpha:.0%} CI "
        f"{-100 * rd['ci_high']:.1f} to {-100 * rd['ci_low']:.1f}), a risk ratio of "
        f"{rr['estimate']:.2f} ({rr['ci_low']:.2f} to {rr['ci_high']:.2f}). The fall is "
        f"distinguishable from chance with {needed}."
    )


def harrow_lt_records(
    episodes: pd.DataFrame,
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
    lt = harrow_lt_figures()
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


DAYS_PER_MONTH = 365.25 / 12


def _check_months_spanned(bham: pd.DataFrame, months: int) -> None:
    """Raise if the 3Cs or the usual-care episodes start over a span longer than `months`
    (half a month's slack) or more than a month shorter, so rates per month are not computed
    on the wrong exposure."""
    for name, rows in (
        ("3Cs", bham[bham["team"] != "usual_care"]),
        ("usual-care", bham[bham["team"] == "usual_care"]),
    ):
        start = pd.to_datetime(rows["start_date"])
        if start.empty:
            continue
        spanned = (start.max() - start.min()).days / DAYS_PER_MONTH
        if not months - 1 <= spanned <= months + 0.5:
            raise StudyInputError(
                f"the Birmingham {name} episodes start over {spanned:.1f} months "
                f"({start.min():%Y-%m-%d} to {start.max():%Y-%m-%d}), "
                f"{'longer' if spanned > months else 'shorter'} than "
                f"bham_extract_months = {months}; set bham_extract_months to the months the "
                "extract covers"
            )


def birmingham_lt_records(
    episodes: pd.DataFrame, *, kind: str, months: int | None = None, alpha: float = 0.05
) -> pd.DataFrame:
    """Record-level Birmingham rate ratio: people going on to long-term support in the two key
    areas during the `months`-month evaluation against usual care in the same number of months
    before (`poisson_rate_ratio`; default: the published six months). Raises StudyInputError
    when the extract's episodes span more months than that."""
    bham = episodes[episodes["site"] == "birmingham"]
    if bham.empty:
        return empty_estimates()
    if months is None:
        months = int(published.figure_value("bham_evaluation_months"))
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise StudyInputError(f"bham_extract_months must be a whole number >= 1, got {months!r}")
    _check_months_spanned(bham, months)
    long_term = bham["outcome"] == "long_term_support"
    return rates.poisson_rate_ratio(
        int((long_term & bham["team"].isin(BHAM_KEY_AREAS)).sum()),
        months,
        int((long_term & (bham["team"] == "usual_care")).sum()),
        months,
        alpha=alpha,
        exposure_unit="months",
        label=f"Birmingham long-term services, two key areas ({kind})",
    )


def harrow_repeat_records(
    episodes: pd.DataFrame, *, kind: str, alpha: float = 0.05
) -> pd.DataFrame:
    """Record-level Harrow repeat-request share, innovation year (dated as the published
    'after' figure) against the year before, by request date (`compare_proportions`)."""
    harrow = episodes[episodes["site"] == "harrow"]
    if harrow.empty:
        return empty_estimates()
    period = published.figure_table(["harrow_repeat_share_after"]).iloc[0]
    after_start, after_end = period["period_start"], period["period_end"]
    before_start = after_start - pd.DateOffset(years=1)
    req = pd.to_datetime(harrow["request_date"])
    in_after = (req >= after_start) & (req <= after_end)
    in_before = (req >= before_start) & (req < after_start)
    is_repeat = harrow["repeat_request"].astype("boolean").fillna(False).astype(bool)
    return proportions.compare_proportions(
        int((is_repeat & in_after).sum()),
        int(in_after.sum()),
        int((is_repeat & in_before).sum()),
        int(in_before.sum()),
        alpha=alpha,
        label=f"Harrow repeat requests ({kind})",
        names=("innovation year", "before"),
    )


def records_lt_sentence(
    harrow: RateComparisons,
    bham: pd.DataFrame,
    repeat: pd.DataFrame,
    *,
    data: EpisodeData,
    alpha: float = 0.05,
) -> str:
    """Interpretation of the record-level long-term and repeat-request comparisons (each part
    only if the extract holds that site)."""
    parts = []
    if data.has("harrow"):
        h = harrow.by[("Mar 2019", "Mar 2020")]
        h_disp, h_red = h.iloc[0], h.iloc[2]
        parts.append(
            f"Harrow's weekly starts fell by {pct(h_red['estimate'])} ({1 - alpha:.0%} CI "
            f"{ci_text(h_red)}; {h_red['method']}, dispersion X²/df = "
            f"{h_disp['estimate']:.2f}, p = {h_disp['p_value']:.2g})"
        )
    if data.has("birmingham"):
        b_red = pick(bham, REDUCTION)
        parts.append(
            f"Birmingham's key areas saw {pct(b_red['estimate'])} fewer long-term starts "
            f"({1 - alpha:.0%} CI {ci_text(b_red)})"
        )
    if data.has("harrow"):
        parts.append(
            f"Harrow's repeat requests moved from {pct(repeat.iloc[1]['estimate'])} to "
            f"{pct(repeat.iloc[0]['estimate'])}"
        )
    missing = [s.title() for s in ("birmingham", "harrow") if not data.has(s)]
    note = f" The extract has no {' or '.join(missing)} episodes." if missing else ""
    return f"In the {data.kind} records ({data.label}): " + "; ".join(parts) + "." + note


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
