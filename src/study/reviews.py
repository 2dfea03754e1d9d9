"""Reviews of existing care (Harrow innovation site 3, Tables 1a/1b): what the published saving is
made of, and the record-level change in weekly care cost per completed review.

The published arithmetic (budget impact = completed x average weekly change x 52, the £550k /
£100k / £450k bounds, rows vs totals) is checked by
``study.data.published.check_published_arithmetic``; this module adds the volume part of the
saving, what the 460-vs-462 gap could move, risk ratios of the share of increases
(``study.proportions``), and record-level mean changes with percentile and BCa bootstrap
intervals (``study.bootstrap``). Every function takes the loaded tables (`tables`: Tables 1a/1b
as `study.data.published.load_review_tables` returns them; `records`: validated review records);
none reads a file. The notebook-level assembly is `study.analyses.reviews_existing_care`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from study.bootstrap import (
    bootstrap_ci,
    check_n_resamples,
    difference_in_means,
    mean_statistic,
)
from study.checks import check_alpha
from study.errors import StudyInputError
from study.tidy import WEEKS_PER_YEAR, confidence_level, estimate_table, full_year_impact_gbp

BLOCK_COLUMNS = ("covid_status", "team", "outcome_sum", "completed")


def _review_blocks(tables: pd.DataFrame) -> pd.DataFrame:
    """Tables 1a/1b, one row per block, from `study.data.published.review_blocks` (`tables`
    already in blocks, as `review_blocks` returns them, are taken as they are)."""
    from study.data.published import review_blocks

    if not isinstance(tables, pd.DataFrame):
        raise StudyInputError(
            "tables must be the loaded review tables (study.data.published.load_review_tables)"
        )
    if set(BLOCK_COLUMNS) <= set(tables.columns) and "quantity" not in tables.columns:
        return tables
    return review_blocks(tables)


def published_saving(tables: pd.DataFrame, *, claim_gbp: float) -> pd.DataFrame:
    """The "full year equivalent saving of more than £450k": how much of it is volume.

    The published arithmetic itself (rows sum to totals, impact = completed x average x 52, the
    £550k / £100k / £450k bounds) is checked by `study.data.published.check_published_arithmetic`.
    This adds what it does not: each impact is completed x mean weekly change x 52, so the
    saving (old-team impact - innovation-site impact, Covid + non-Covid) mixes a difference
    in the mean change per completed review with a difference in how many reviews were
    completed in the four months (the innovation site had far more still ongoing). Rows:
    published impacts; recomputed from counts and averages; and recomputed at equal volume
    (each team's pooled mean change applied to the old team's, then the innovation site's,
    completed count).
    """
    b = _review_blocks(tables).copy()
    b["recomputed_gbp"] = full_year_impact_gbp(b["completed"], b["avg_weekly_change_gbp"])
    tot = b.groupby("team")[["completed", "recomputed_gbp", "full_year_budget_impact_gbp"]].sum()
    if not {"innovation_site", "old_locality_team"} <= set(tot.index):
        raise StudyInputError("review tables need teams innovation_site and old_locality_team")
    new, old = tot.loc["innovation_site"], tot.loc["old_locality_team"]
    mean_new = new["recomputed_gbp"] / (new["completed"] * WEEKS_PER_YEAR)
    mean_old = old["recomputed_gbp"] / (old["completed"] * WEEKS_PER_YEAR)
    rows = [
        (
            "published impacts",
            new["full_year_budget_impact_gbp"],
            old["full_year_budget_impact_gbp"],
            np.nan,
        ),
        ("recomputed impacts", new["recomputed_gbp"], old["recomputed_gbp"], np.nan),
    ]
    for who, n in (("old team's", old["completed"]), ("innovation site's", new["completed"])):
        rows.append(
            (
                f"equal volume: {who} {int(n)} completed reviews",
                full_year_impact_gbp(n, mean_new),
                full_year_impact_gbp(n, mean_old),
                n,
            )
        )
    out = pd.DataFrame(rows, columns=["basis", "innovation_gbp", "old_gbp", "completed_each"])
    out["saving_gbp"] = out["old_gbp"] - out["innovation_gbp"]
    out["claim"] = f"> £{claim_gbp:,.0f}"
    out["claim_holds"] = out["saving_gbp"] > claim_gbp
    out["mean_weekly_change_innovation_gbp"] = mean_new
    out["mean_weekly_change_old_gbp"] = mean_old
    return out


def review_gap_impact(tables: pd.DataFrame) -> pd.DataFrame:
    """For blocks whose outcome rows do not sum to the printed total: what the gap could move.

    `study.data.published.check_published_arithmetic` flags the gap (Old Locality Team non-Covid:
    rows 460, total 462). This adds the budget impact if the missing conversations had been
    completed with the block's published average change (impact_if_gap_completed_gbp),
    beside the recomputed impact from the rows.
    """
    b = _review_blocks(tables)
    gap = b[b["outcome_sum"] != b["total"]].copy()
    gap["gap"] = gap["total"] - gap["outcome_sum"]
    gap["impact_from_rows_gbp"] = full_year_impact_gbp(
        gap["completed"], gap["avg_weekly_change_gbp"]
    )
    gap["impact_if_gap_completed_gbp"] = full_year_impact_gbp(
        gap["completed"] + gap["gap"], gap["avg_weekly_change_gbp"]
    )
    cols = [
        "table",
        "covid_status",
        "team",
        "period",
        "total",
        "outcome_sum",
        "gap",
        "completed",
        "full_year_budget_impact_gbp",
        "impact_from_rows_gbp",
        "impact_if_gap_completed_gbp",
    ]
    return gap[cols].reset_index(drop=True)


ONGOING_RULES = ("exclude", "as_increase", "as_no_increase")


def review_increase_risk_ratios(
    tables: pd.DataFrame, *, alpha: float = 0.05, ongoing: str = "exclude"
) -> pd.DataFrame:
    """Share of completed reviews ending in an increase, compared as risk ratios (published counts).

    Innovation site vs old locality team (within Covid, within non-Covid, pooled) and Covid vs
    non-Covid (within each team); `study.proportions.compare_proportions` (Wilson proportions,
    Newcombe difference, Katz log risk ratio; no odds ratio). `ongoing` is a bound for the
    reviews still ongoing: "exclude" (the published basis), "as_increase" (every ongoing review
    ends in an increase) or "as_no_increase" (none does). `tables`: the loaded review tables,
    or their blocks (`study.data.published.review_blocks`), to build them once for several
    calls.
    """
    from study.proportions import compare_proportions

    alpha = check_alpha(alpha)
    if ongoing not in ONGOING_RULES:
        raise StudyInputError(f"ongoing must be one of {ONGOING_RULES}, got {ongoing!r}")
    w = _review_blocks(tables).set_index(["covid_status", "team"])

    def cell(covid: Sequence[str], team: Sequence[str]) -> tuple[int, int]:
        sub = w.loc[[(c, t) for c in covid for t in team]]
        k, n = int(sub["increases"].sum()), int(sub["completed"].sum())
        if ongoing != "exclude":
            n += int(sub["ongoing"].sum())
        if ongoing == "as_increase":
            k += int(sub["ongoing"].sum())
        return k, n

    both = ("covid", "non_covid")
    comparisons = [
        (
            "Covid: innovation vs old",
            cell(["covid"], ["innovation_site"]),
            cell(["covid"], ["old_locality_team"]),
            ("innovation", "old"),
        ),
        (
            "non-Covid: innovation vs old",
            cell(["non_covid"], ["innovation_site"]),
            cell(["non_covid"], ["old_locality_team"]),
            ("innovation", "old"),
        ),
        (
            "all: innovation vs old",
            cell(both, ["innovation_site"]),
            cell(both, ["old_locality_team"]),
            ("innovation", "old"),
        ),
        (
            "innovation site: Covid vs non-Covid",
            cell(["covid"], ["innovation_site"]),
            cell(["non_covid"], ["innovation_site"]),
            ("Covid", "non-Covid"),
        ),
        (
            "old locality team: Covid vs non-Covid",
            cell(["covid"], ["old_locality_team"]),
            cell(["non_covid"], ["old_locality_team"]),
            ("Covid", "non-Covid"),
        ),
    ]
    base = "completed" if ongoing == "exclude" else "completed + ongoing"
    parts = []
    for label, (k1, n1), (k0, n0), names in comparisons:
        t = compare_proportions(
            k1,
            n1,
            k0,
            n0,
            alpha=alpha,
            label=f"share of {base} reviews with an increase, {label}",
            names=names,
            odds_ratio=False,
        )
        if ongoing != "exclude":
            basis = f"ongoing reviews counted {ongoing.replace('_', ' ')} (bound)"
            t["note"] = [f"{n}; {basis}" if n else basis for n in t["note"]]
        parts.append(t)
    return pd.concat(parts, ignore_index=True)


def _budget_saving(innovation: np.ndarray, old: np.ndarray, axis: int = -1) -> np.ndarray:
    """52 x (sum of old-team weekly changes - sum of innovation-site weekly changes)."""
    return WEEKS_PER_YEAR * (np.sum(old, axis=axis) - np.sum(innovation, axis=axis))


RECORD_TEAMS = {"innovation_site_3": "innovation site", "old_locality_team": "old locality team"}


def review_cost_change_bootstrap(
    records: pd.DataFrame,
    *,
    n_resamples: int = 10_000,
    alpha: float = 0.05,
    seed: int = 0,
    strata: Sequence[str] = ("all", "covid", "non_covid"),
) -> pd.DataFrame:
    """Mean change in weekly cost per completed review, by team, with bootstrap intervals.

    Completed reviews only (status == "completed"); change = weekly_cost_after_gbp -
    weekly_cost_before_gbp. Per stratum (all / Covid-positive / not) and team: mean change,
    full-year budget impact = completed x mean x 52 (the count taken as fixed, so its interval
    is the mean's interval x completed x 52), the difference innovation site minus old
    team, and the full-year saving = old-team impact - innovation-site impact (two-sample
    stratified bootstrap). Each estimate has a percentile row and a BCa row
    (`study.bootstrap.bootstrap_ci`, one seed per estimate derived from `seed`).
    """
    need = {"team", "status", "covid_positive", "weekly_cost_before_gbp", "weekly_cost_after_gbp"}
    missing = sorted(need - set(records.columns))
    if missing:
        raise StudyInputError(f"review records lack column(s) {missing}")
    n_resamples = check_n_resamples(n_resamples)
    alpha = check_alpha(alpha)
    done = records[records["status"] == "completed"]
    change = (done["weekly_cost_after_gbp"] - done["weekly_cost_before_gbp"]).to_numpy(float)
    flag = done["covid_positive"].astype("boolean")
    is_covid = flag.fillna(False).to_numpy(bool)
    not_covid = (~flag).fillna(False).to_numpy(bool)
    team = done["team"].to_numpy()
    level = confidence_level(alpha)
    rows: list[dict] = []
    seq = np.random.SeedSequence(seed)
    seeds = iter(seq.generate_state(64))

    def add(qty: str, res, n: int, note: str, scale: float = 1.0) -> None:
        for method in ("percentile", "BCa"):
            low, high = res.intervals[method]
            rows.append(
                {
                    "quantity": f"{stratum}: {qty}",
                    "estimate": res.estimate * scale,
                    "ci_low": low * scale,
                    "ci_high": high * scale,
                    "level": level,
                    "method": f"bootstrap {method} ({res.n_resamples} resamples)",
                    "n": n,
                    "note": note,
                }
            )

    def boot(samples: list[np.ndarray], statistic: Callable):
        return bootstrap_ci(
            samples, statistic, n_resamples=n_resamples, alpha=alpha, seed=int(next(seeds))
        )

    two_sample = (
        (
            "difference in mean weekly change (GBP), innovation site - old team",
            difference_in_means,
            "two-sample stratified bootstrap",
        ),
        (
            "full-year saving (GBP), old team impact - innovation site impact",
            _budget_saving,
            "52 x (sum of old-team changes - sum of innovation-site changes); counts fixed; "
            "two-sample stratified bootstrap",
        ),
    )
    for stratum in strata:
        if stratum not in ("all", "covid", "non_covid"):
            raise StudyInputError(f"strata must be among all/covid/non_covid, got {stratum!r}")
        mask = {"all": np.ones(change.size, bool), "covid": is_covid, "non_covid": not_covid}[
            stratum
        ]
        groups = {}
        for code, name in RECORD_TEAMS.items():
            x = change[mask & (team == code)]
            if x.size < 2:
                raise StudyInputError(
                    f"records: team {code!r} ({stratum}) has {x.size} completed reviews; need >= 2"
                )
            groups[code] = x
            res = boot([x], mean_statistic)
            add(
                f"mean weekly change per completed review (GBP), {name}",
                res,
                x.size,
                "weekly_cost_after_gbp - weekly_cost_before_gbp",
            )
            add(
                f"full-year budget impact (GBP), {name}",
                res,
                x.size,
                f"{x.size} completed x mean change x 52; count taken as fixed",
                scale=float(full_year_impact_gbp(x.size, 1)),  # impact of £1 a week
            )
        pair = [groups["innovation_site_3"], groups["old_locality_team"]]
        n_pair = sum(len(g) for g in groups.values())
        for qty, statistic, note in two_sample:
            add(qty, boot(pair, statistic), n_pair, note)
    return estimate_table(rows)
