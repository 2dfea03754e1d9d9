"""Reviews of existing care (notebook 05): Harrow innovation site 3 against the old Locality Team,
Tables 1a (Covid+) and 1b (non-Covid).

One function per notebook section, each taking the loaded tables and returning an
`AnalysisResult` (`.table` the labelled estimates the run records, `.view` what the section
shows, `.text` its computed sentence, `.figures`, `.tables`):

- `published_arithmetic`: the tables' arithmetic and the text's bounds reproduced
  (`study.data.published.check_published_arithmetic`); its text lists the flagged checks;
- `publication_gaps`: blocks whose rows do not sum to the printed total, and what the gap
  could move (`study.reviews.review_gap_impact`);
- `volume_of_saving`: how much of the published full-year saving is volume
  (`study.reviews.published_saving`);
- `increase_risk_ratios`: share of completed reviews with an increase, as risk ratios, with the
  ongoing-review bounds (`study.reviews.review_increase_risk_ratios`);
- `cost_change_bootstrap`: record-level mean change in weekly cost with bootstrap intervals and
  its forest plot (`study.reviews.review_cost_change_bootstrap`);
- `interpretation`: the closing paragraphs, the sections' sentences in reading order.

The estimators are `study.reviews`; nothing here reads a file except `read_reviews`, which the
notebook calls once.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from study import reviews
from study.analyses import LABEL_COLUMNS, AnalysisResult, labelled
from study.config import data_kind, resolve_path
from study.data.published import (
    check_published_arithmetic,
    figure_value,
    review_blocks,
    review_tables_source,
)
from study.data.records import read_records
from study.errors import StudyInputError
from study.plots.reviews import plot_review_changes
from study.run import disclosure
from study.tidy import ESTIMATE_COLUMNS, gbp

SITE = "harrow"
SHOW = ESTIMATE_COLUMNS  # columns of an estimate table the notebook shows
CHECK_COLUMNS = ["check", "published", "recomputed", "difference", "tolerance", "status"]
REVIEW_CHECKS = "Table 1|Harrow reviews"  # the checks of check_published_arithmetic about 1a/1b
POOLED_RISK_RATIO = "all: innovation vs old: risk ratio"
INTERVAL = "BCa"  # bootstrap interval of the figure and the sentence


def _no_estimates() -> pd.DataFrame:
    """An estimate table with no rows: a section that shows numbers but records none."""
    return pd.DataFrame(columns=[*ESTIMATE_COLUMNS, "note", *LABEL_COLUMNS])


def _one(table: pd.DataFrame, quantity: str, *, method: str = "", note: str = "") -> pd.Series:
    """The one row whose quantity contains `quantity` (and method / note contain `method` /
    `note`); any other number of matches is an error."""
    hit = table["quantity"].str.contains(quantity, regex=False)
    if method:
        hit &= table["method"].str.contains(method, regex=False)
    if note:
        hit &= table["note"].str.contains(note, regex=False)
    if hit.sum() != 1:
        raise StudyInputError(
            f"expected one row with {quantity!r} (method {method!r}, note {note!r}), got "
            f"{int(hit.sum())}"
        )
    return table[hit].iloc[0]


# --- record-level input ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewRecords:
    """Validated record-level reviews of existing care with their provenance."""

    path: str
    kind: str
    records: pd.DataFrame

    @property
    def completed(self) -> int:
        """Number of completed reviews (the ones the changes and impacts refer to)."""
        return int((self.records["status"] == "completed").sum())

    @property
    def description(self) -> str:
        """'data_kind: SYNTHETIC (1042 reviews, 707 completed)'."""
        return self.describe()

    def describe(self, disclosure_threshold: int = disclosure.DEFAULT_THRESHOLD) -> str:
        """`description`; for user data both counts read `[c]` when either, or the number not
        completed, is 1 to `disclosure_threshold` - 1."""
        n, done = len(self.records), self.completed
        small = [disclosure.count_text(v, disclosure_threshold, kind=self.kind) for v in
                 (n, done, n - done)]  # fmt: skip
        total, completed = (
            (disclosure.MARK, disclosure.MARK) if disclosure.MARK in small else (n, done)
        )
        return f"data_kind: {self.kind.upper()} ({total} reviews, {completed} completed)"


def read_reviews(reviews_path: str) -> ReviewRecords:
    """Read and validate the review records (`study.data.records`), labelled by data kind
    ('synthetic' under data/synthetic/, else 'user'); `path` is kept as given (the run's source)."""
    file = resolve_path(reviews_path)
    return ReviewRecords(reviews_path, data_kind(file), read_records(file, "reviews"))


# --- published tables -----------------------------------------------------------------------


def published_arithmetic(tables: pd.DataFrame, figures: pd.DataFrame) -> AnalysisResult:
    """The arithmetic of Tables 1a/1b and the text's £550k / £100k / £450k bounds, reproduced.

    The checks of `study.data.published.check_published_arithmetic` that concern the review
    tables (each block: rows sum to the total, impact = completed x average x 52 within
    rounding; the three bounds; the stated claims). `.view`: those checks, rounded; `.text`: one
    line per flagged check, "check: note"; `.tables["checks"]`: the checks unrounded. Nothing
    is recorded (`.table` is empty).
    """
    checks = check_published_arithmetic(figures=figures, tables=tables)
    review_checks = checks[checks["check"].str.contains(REVIEW_CHECKS)].reset_index(drop=True)
    flags = review_checks[review_checks["status"] != "ok"]
    text = "\n".join(f"{r.check}: {r.note}" for r in flags.itertuples(index=False))
    return AnalysisResult(
        table=_no_estimates(),
        text=text or "No check of Tables 1a/1b or of the text's bounds is flagged.",
        view=review_checks[CHECK_COLUMNS].round(2),
        tables={"checks": review_checks},
    )


def publication_gaps(tables: pd.DataFrame) -> AnalysisResult:
    """Blocks whose outcome rows do not sum to the printed total, and what the gap could move.

    `.view`: `study.reviews.review_gap_impact` (impact from the rows, and if the missing
    conversations had been completed at the block's average change); `.text`: the blocks
    flagged. Nothing is recorded.
    """
    gap = reviews.review_gap_impact(tables)
    if gap.empty:
        text = "Discrepancies flagged: none (every block's rows sum to its printed total)."
    else:
        blocks = "; ".join(
            f"{r.team} {r.covid_status}: rows {r.outcome_sum:.0f} vs total {r.total:.0f}"
            for r in gap.itertuples(index=False)
        )
        text = (
            f"Discrepancies flagged: {len(gap)} block(s) whose rows do not sum to the printed "
            f"total: {blocks}."
        )
    return AnalysisResult(table=_no_estimates(), text=text, view=gap, tables={"gaps": gap})


SAVING_CLAIM = "harrow_reviews_full_year_saving"  # the published "more than £450k"
SAVING_MONTHS = "harrow_reviews_saving_months_summary"  # the months behind it


def volume_of_saving(
    tables: pd.DataFrame, figures: pd.DataFrame, *, claim_gbp: float | None = None
) -> AnalysisResult:
    """How much of the published full-year equivalent saving (`SAVING_CLAIM` in `figures`,
    or `claim_gbp`) is volume.

    `study.reviews.published_saving`: the saving from the published impacts, recomputed from
    counts and averages, and at equal volume (each team's pooled mean change applied to the old
    team's, then the innovation site's, completed count). `.text` states the published and
    recomputed saving, whether the claim holds on the published basis, and the saving at the
    old team's volume. Nothing is recorded.
    """
    if claim_gbp is None:
        claim_gbp = figure_value(SAVING_CLAIM, figures)
    months = figure_value(SAVING_MONTHS, figures)
    saving = reviews.published_saving(tables, claim_gbp=claim_gbp)
    by_basis = saving.set_index("basis")
    published = by_basis.loc["published impacts"]
    basis = saving["basis"]
    at_old_volume = saving[basis.str.startswith("equal volume: old team's")].iloc[0]
    at_new_volume = saving[basis.str.startswith("equal volume: innovation site's")].iloc[0]
    holds = "holds" if published["claim_holds"] else "does not hold"
    fewer = "fewer" if at_new_volume["completed_each"] < at_old_volume["completed_each"] else "more"
    text = (
        f"Published: the tables' impacts give a saving of £{published['saving_gbp']:,.0f} "
        f"(recomputed from counts and averages "
        f"£{by_basis.loc['recomputed impacts', 'saving_gbp']:,.0f}), so the "
        f"'more than {gbp(claim_gbp)}' {holds} on the published basis; at equal volume "
        f"({int(at_old_volume['completed_each'])} completed reviews each) it would be "
        f"£{at_old_volume['saving_gbp']:,.0f}, because the innovation site completed {fewer} "
        f"reviews in its {months:g} months."
    )
    return AnalysisResult(
        table=_no_estimates(), text=text, view=saving.round(2), tables={"saving": saving}
    )


def increase_risk_ratios(tables: pd.DataFrame, *, alpha: float = 0.05) -> AnalysisResult:
    """Share of completed reviews ending in an increase, innovation site vs old team: risk ratios.

    `.table`: `study.reviews.review_increase_risk_ratios` on the published basis (ongoing
    reviews excluded), labelled (harrow, published, the review tables); `.tables
    ["ongoing_bounds"]`: the innovation-vs-old risk ratios if every ongoing review ended in an
    increase, then if none did (shown, not recorded); `.text`: the pooled risk ratio and its
    bound with every ongoing review an increase.
    """
    blocks = review_blocks(tables)  # once for the three bases
    table = labelled(
        reviews.review_increase_risk_ratios(blocks, alpha=alpha),
        site=SITE,
        data_kind="published",
        source=review_tables_source(tables),
    )
    bounds = pd.concat(
        [
            reviews.review_increase_risk_ratios(blocks, alpha=alpha, ongoing=rule)
            for rule in ("as_increase", "as_no_increase")
        ],
        ignore_index=True,
    )
    bounds = bounds[bounds["quantity"].str.contains("innovation vs old: risk ratio")]
    pooled = _one(table, POOLED_RISK_RATIO)
    worst = _one(bounds, POOLED_RISK_RATIO, note="as increase")
    text = (
        f"Completed reviews ending in an increase: risk ratio innovation / old "
        f"{pooled['estimate']:.2f} ({pooled['level']:.0%} CI {pooled['ci_low']:.2f} to "
        f"{pooled['ci_high']:.2f}); if every ongoing review ended in an increase it would be "
        f"{worst['estimate']:.2f} ({worst['ci_low']:.2f} to {worst['ci_high']:.2f})."
    )
    return AnalysisResult(
        table=table,
        text=text,
        view=table[SHOW].round(4),
        tables={"ongoing_bounds": bounds[SHOW].round(4)},
    )


# --- record-level reviews -------------------------------------------------------------------


def cost_change_bootstrap(
    reviews_data: ReviewRecords,
    *,
    n_resamples: int = 10_000,
    alpha: float = 0.05,
    seed: int = 0,
    disclosure_threshold: int = disclosure.DEFAULT_THRESHOLD,
    site: str = SITE,
) -> AnalysisResult:
    """Mean change in weekly cost per completed review, by team, with bootstrap intervals.

    `.table`: `study.reviews.review_cost_change_bootstrap` (percentile and BCa rows per
    estimate), labelled (`site`, the records' data kind, their path); `.figures
    ["review_changes_<kind>"]`: the forest plot of the BCa mean changes; `.text`: the pooled
    difference in mean change and the full-year saving, BCa intervals, prefixed by the data kind
    (SYNTHETIC by default: an illustration of the method, not a finding). User data: the
    disclosure rule (`study.run.disclosure`, `disclosure_threshold`) applies to the rows, view,
    figure (suppressed values not drawn) and sentence.
    """
    table = labelled(
        reviews.review_cost_change_bootstrap(
            reviews_data.records, n_resamples=n_resamples, alpha=alpha, seed=seed
        ),
        site=site,
        data_kind=reviews_data.kind,
        source=reviews_data.path,
    )
    table = disclosure.suppress(table, disclosure_threshold)
    kind = reviews_data.kind.upper()
    figure = plot_review_changes(
        table,
        method=INTERVAL,
        title=f"Mean change in weekly cost per completed review ({kind} data)"
        + disclosure.figure_note(table),
    )
    v = disclosure.value_text
    difference = _one(table, "all: difference in mean weekly change", method=INTERVAL)
    saving = _one(table, "all: full-year saving", method=INTERVAL)
    text = (
        f"{kind} record-level data: mean weekly change innovation - old "
        f"{v(difference['estimate'], '+.2f')} GBP ({INTERVAL} {difference['level']:.0%} CI "
        f"{v(difference['ci_low'], '+.2f')} to {v(difference['ci_high'], '+.2f')}); full-year "
        f"saving £{v(saving['estimate'], ',.0f')} ({INTERVAL} CI £{v(saving['ci_low'], ',.0f')} "
        f"to £{v(saving['ci_high'], ',.0f')})."
    )
    return AnalysisResult(
        table=table,
        text=text,
        view=disclosure.marked(table[SHOW].round(2), table),
        figures={f"review_changes_{reviews_data.kind}": figure},
    )


def interpretation(
    saving: AnalysisResult,
    risk: AnalysisResult,
    gaps: AnalysisResult,
    costs: AnalysisResult,
) -> str:
    """The notebook's closing interpretation: the sentences of `volume_of_saving`,
    `increase_risk_ratios`, `publication_gaps` and `cost_change_bootstrap`, one paragraph each."""
    return "\n\n".join(r.text for r in (saving, risk, gaps, costs))
