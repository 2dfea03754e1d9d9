"""Notebook 04 (cost avoidance): each section's estimates, tables, figure and sentence.

A section is one call that returns an `AnalysisResult`:

- `unit_costs`: one council's weekly cost per long-term client from its ASC-FR/SALT rows (a
  `UnitCosts`, which the other sections take);
- `harrow_rates`: Harrow's published rates (7.2 -> 5.5 a week) in £, beside the published £696k
  and "up to £1m", with the one-at-a-time sensitivity behind the tornado plot;
- `harrow_its`: the same costing of the avoided starts of an interrupted time series;
- `birmingham_reduction`: Birmingham's 36% reduction in £ over an assumed baseline and window.

Every £ figure is `study.costs.rates_cost_avoidance` or `study.costs.its_cost_avoidance`,
whose docstrings state the method (avoided starts x weeks counted x unit cost, Monte Carlo
percentile interval). The sensitivity scenarios are point values
(`study.costs.point_cost_avoidance`); the sentences are computed from the results.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from study import costs, its
from study.analyses import LABEL_COLUMNS, AnalysisResult, labelled
from study.config import data_kind
from study.costs import CostAvoidance, CostModel
from study.data import national, published
from study.errors import StudyInputError
from study.plots.costs import plot_tornado
from study.tidy import ESTIMATE_COLUMNS, WEEKS_PER_YEAR, gbp

# published figures (data/published/figures.csv) behind each section
HARROW_RATE_FIGURES = {
    "before": "harrow_lt_starts_2019_03",  # 7.2 a week
    "midyear": "harrow_lt_starts_2019_09",  # 6.1 a week
    "after": "harrow_lt_starts_2020_03",  # 5.5 a week
}
HARROW_COST_FIGURES = {
    "part_year": "harrow_cost_avoided_2019_20",  # £696k
    "full_year": "harrow_cost_avoided_full_year",  # up to £1m
}
BHAM_FIGURES = {"reduction": "bham_long_term_reduction", "months": "bham_evaluation_months"}
QUALIFIER_TEXT = {"up_to": "up to ", "approx": "approximately "}  # figures.csv `qualifier`
RULE_LABELS = {"part_year": "part-year", "full_year": "full year (52 weeks each)"}
GBP_DIGITS = {"estimate": 1, "ci_low": 1, "ci_high": 1}  # views: numbers to one decimal
TRANSITION = "transition to the new rate"
ITS_FAMILIES = ("poisson", "quasi_poisson", "negative_binomial", "ols_hac")
SYNTHETIC_NOTE = (
    "synthetic data calibrated to the published figures — this shows the machinery, not a finding"
)


# --------------------------------------------------------------------------- helpers


def _figure_rows(figures: pd.DataFrame, ids: Mapping[str, str]) -> pd.DataFrame:
    """The figures.csv rows of `ids` (key -> figure_id), indexed by key."""
    rows = published.figure_table(ids.values(), figures)
    return rows.set_index(pd.Index(list(ids), name="key"))


def _as_published(row: pd.Series) -> str:
    """A published £ figure as text from its value and qualifier: '£696k', 'up to £1.00m'."""
    return QUALIFIER_TEXT.get(str(row["qualifier"]), "") + gbp(float(row["value"]))


def _financial_year(fy_start: str) -> tuple[str, str]:
    """('2019-20', '2020-03-31'): the label and the last day of the financial year of a date."""
    first = pd.Timestamp(costs.financial_year_start([fy_start])[0])
    last = first + pd.DateOffset(years=1) - pd.Timedelta(days=1)
    return f"{first.year}-{(first.year + 1) % 100:02d}", f"{last:%Y-%m-%d}"


def _day(date: str) -> str:
    """'2019-06-03' -> '3 Jun 2019'."""
    t = pd.Timestamp(date)
    return f"{t.day} {t:%b %Y}"


def _costings_table(results: Iterable[CostAvoidance]) -> pd.DataFrame:
    """The `table()` rows of several costings, stacked."""
    return pd.concat([r.table() for r in results], ignore_index=True)


def _view(table: pd.DataFrame) -> pd.DataFrame:
    """The estimate columns of a labelled table, £ rounded to one decimal."""
    return table[ESTIMATE_COLUMNS].round(GBP_DIGITS)


# --------------------------------------------------------------------------- sensitivity


@dataclass(frozen=True)
class Sensitivity:
    """Point £ at the base case and {assumption: {alternative: point £}} (one change at a time)."""

    base_gbp: float
    scenarios: dict[str, dict[str, float]]

    @classmethod
    def over(
        cls,
        fn: Callable[..., float],
        base: Mapping[str, object],
        alternatives: Mapping[str, Mapping[str, Mapping[str, object]]],
    ) -> Sensitivity:
        """Evaluate fn(**base) and fn(**{**base, **override}) for each alternative.

        `alternatives` maps an assumption to {label: keyword overrides}.
        """
        scenarios = {
            name: {label: float(fn(**{**base, **over})) for label, over in alts.items()}
            for name, alts in alternatives.items()
        }
        return cls(float(fn(**base)), scenarios)

    def tornado(self) -> pd.DataFrame:
        """One row per assumption: its lowest and highest alternative, largest swing first."""
        if not self.scenarios:
            raise StudyInputError("scenarios must name at least one assumption")
        rows = []
        for name, alts in self.scenarios.items():
            if not alts:
                raise StudyInputError(f"scenarios[{name!r}] has no alternatives")
            items = sorted(alts.items(), key=lambda kv: kv[1])
            (lo_label, lo), (hi_label, hi) = items[0], items[-1]
            rows.append(
                {
                    "assumption": name,
                    "low_label": lo_label,
                    "low_gbp": float(lo),
                    "high_label": hi_label,
                    "high_gbp": float(hi),
                    "swing_gbp": float(hi) - float(lo),
                    "base_gbp": float(self.base_gbp),
                }
            )
        return (
            pd.DataFrame(rows)
            .sort_values("swing_gbp", ascending=False, kind="stable")
            .reset_index(drop=True)
        )

    def table(self) -> pd.DataFrame:
        """Every alternative, long: assumption, alternative, estimate, change from the base.

        Changes smaller than 1e-9 of the base (floating-point noise) are reported as 0.
        """
        base = float(self.base_gbp)

        def change(v: float) -> float:
            d = float(v) - base
            return 0.0 if abs(d) <= 1e-9 * max(1.0, abs(base)) else d

        rows = [
            {
                "assumption": name,
                "alternative": label,
                "estimate_gbp": float(v),
                "change_vs_base_gbp": change(v),
            }
            for name, alts in self.scenarios.items()
            for label, v in alts.items()
        ]
        if not rows:
            raise StudyInputError("scenarios must name at least one assumption")
        return pd.DataFrame(rows)


def published_path_label(rate_before: float, rate_midyear: float, rate_after: float) -> str:
    """Scenario label of the published path, e.g. 'published path 7.2 -> 6.1 -> 5.5'."""
    return f"published path {rate_before:g} -> {rate_midyear:g} -> {rate_after:g}"


def published_path_anchors(
    rate_before: float,
    rate_midyear: float,
    rate_after: float,
    *,
    effect_start: str,
    midyear: str = "2019-09-30",
    year_end: str = "2020-03-30",
) -> dict[str, float]:
    """Share of the drop reached on each date: 0 at `effect_start`, the mid-year rate, 1 at the end.

    For `study.costs.effect_ramp(anchors=...)`; Harrow: 7.2 -> 6.1 by September -> 5.5 by March.
    """
    drop = rate_before - rate_after
    if drop == 0:
        raise StudyInputError("rate_before equals rate_after: no drop to share out")
    return {effect_start: 0.0, midyear: (rate_before - rate_midyear) / drop, year_end: 1.0}


def harrow_rates_sensitivity(
    rate_before: float,
    rate_midyear: float,
    rate_after: float,
    *,
    base: CostAvoidance,
    unit_costs: pd.DataFrame,
    published_gbp: float,
    fy_start: str,
    effect_start: str,
    full_effect: str | None,
    site2_start: str,
    alpha: float,
    seed: int,
    midyear: str = "2019-09-30",
    year_end: str = "2020-03-30",
) -> Sensitivity:
    """Point £ of the published rates over the 52 weeks from `fy_start`, one change at a time.

    Each value is `study.costs.point_cost_avoidance` (point person-weeks x weekly cost) of the
    avoided starts `study.costs.avoided_starts_from_rates` gives. Base: the part-year costing
    `base` (its mean unit cost, a step at `effect_start` or a ramp to `full_effect`).
    Alternatives: unit cost (the (alpha/2, 1 - alpha/2) quantiles of `base.unit_cost`, the cost
    `published_gbp` implies for `base`, the extreme ASC-FR mixes in `unit_costs`, which is
    `ascfr_unit_costs` output); counting rule; transition (linear to `midyear` / `year_end`, the
    published path via `published_path_anchors`); effect start (financial year, site 1, site 2).
    """
    weeks = costs.weekly_dates(fy_start, WEEKS_PER_YEAR)

    def point(unit_cost_gbp, rule, effect_start, full_effect, anchors=None) -> float:
        avoided = costs.avoided_starts_from_rates(
            rate_before,
            rate_after,
            weeks,
            effect_start=effect_start,
            full_effect=full_effect,
            anchors=anchors,
            n_draws=1000,
        )
        return costs.point_cost_avoidance(avoided, unit_cost_gbp, rule)

    implied = base.implied_weekly_cost(published_gbp)
    cost_low, cost_high = costs.unit_cost_interval(base.unit_cost, alpha=alpha, seed=seed)
    u = unit_costs.set_index("measure")["value"]
    community, residential = u["community_weekly_during"], u["res_nursing_total_2021_22"]
    path = published_path_anchors(
        rate_before,
        rate_midyear,
        rate_after,
        effect_start=effect_start,
        midyear=midyear,
        year_end=year_end,
    )
    return Sensitivity.over(
        point,
        dict(
            unit_cost_gbp=base.unit_cost_mean_gbp,
            rule="part_year",
            effect_start=effect_start,
            full_effect=full_effect,
        ),
        {
            "unit cost (ASC-FR mix interval)": {
                f"£{cost_low:,.0f}/wk": {"unit_cost_gbp": cost_low},
                f"£{cost_high:,.0f}/wk": {"unit_cost_gbp": cost_high},
            },
            "unit cost (other sources, extreme mixes)": {
                f"implied by {gbp(published_gbp)}: £{implied:,.0f}/wk": {"unit_cost_gbp": implied},
                f"all community, T34 denominator: £{community:,.0f}/wk": {
                    "unit_cost_gbp": community
                },
                f"all residential/nursing 2021-22: £{residential:,.0f}/wk": {
                    "unit_cost_gbp": residential
                },
            },
            "counting rule": {"part-year": {}, "full year (52 weeks)": {"rule": "full_year"}},
            TRANSITION: {
                f"step in {pd.Timestamp(effect_start):%B %Y}": {},
                f"linear to {_day(midyear)}": {"full_effect": midyear},
                f"linear to {_day(year_end)}": {"full_effect": year_end},
                published_path_label(rate_before, rate_midyear, rate_after): {"anchors": path},
            },
            "effect start": {
                _day(fy_start): {"effect_start": fy_start, "full_effect": None},
                _day(effect_start): {},
                f"site 2 ({site2_start})": {"effect_start": site2_start, "full_effect": None},
            },
        },
    )


def its_sensitivity(
    weekly: pd.DataFrame,
    periods: Mapping,
    *,
    unit_cost_gbp: float,
    window_start: str,
    window_end: str,
    family: str,
    harmonics: int,
    transition_weeks: int,
    seed: int,
    kind: str = "synthetic",
    families: Sequence[str] = ITS_FAMILIES,
    transition_options: Sequence[int] = (0, 2, 4),
    harmonic_options: Sequence[int] = (0, 1, 2),
) -> Sensitivity:
    """Point £ of the ITS route (part-year, a fixed unit cost) by family, transition, seasonality.

    Each value is `study.costs.point_cost_avoidance` of `study.costs.its_avoided_starts` (the
    fitted counterfactual - fitted counts in the window), one model choice changed at a time.
    """

    def point(**model) -> float:
        avoided = costs.its_avoided_starts(
            weekly, periods, window_start=window_start, window_end=window_end, seed=seed, **model
        )
        return costs.point_cost_avoidance(avoided, unit_cost_gbp, "part_year")

    return Sensitivity.over(
        point,
        dict(family=family, harmonics=harmonics, transition_weeks=transition_weeks),
        {
            f"ITS model family ({kind})": {f: {"family": f} for f in families},
            f"ITS transition weeks ({kind})": {
                f"{w} weeks": {"transition_weeks": w} for w in transition_options
            },
            f"ITS seasonality ({kind})": {
                f"{k} harmonics": {"harmonics": k} for k in harmonic_options
            },
        },
    )


# --------------------------------------------------------------------------- tables and text


def published_comparison(
    published_figures: Sequence[tuple[str, float, CostAvoidance]],
) -> pd.DataFrame:
    """Published £ beside our estimate: inside the interval? implied £/week = £ / person-weeks.

    `published_figures` holds (label, published £, the costing it is compared with).
    """
    return pd.DataFrame(
        [
            {
                "published": name,
                "published_gbp": value,
                "estimate_gbp": r.point_gbp,
                "ci_low_gbp": r.interval[0],
                "ci_high_gbp": r.interval[1],
                "inside_interval": r.interval[0] <= value <= r.interval[1],
                "implied_weekly_cost_gbp": r.implied_weekly_cost(value),
            }
            for name, value, r in published_figures
        ]
    )


def reduction_grid(
    baselines_per_week: Sequence[float],
    relative_reduction: float,
    *,
    unit_cost: CostModel,
    first_week: str,
    n_weeks: int,
    alpha: float,
    seed: int,
) -> pd.DataFrame:
    """`study.costs.cost_sensitivity_grid` over baselines x (low, mean, high) unit cost x rules.

    Low/high: the (alpha/2, 1 - alpha/2) quantiles of `unit_cost` (`unit_cost_interval`).
    """
    low, high = costs.unit_cost_interval(unit_cost, alpha=alpha, seed=seed)
    return costs.cost_sensitivity_grid(
        baselines_per_week,
        [low, unit_cost.mean_gbp, high],
        relative_reduction=relative_reduction,
        week_dates=costs.weekly_dates(first_week, n_weeks),
    )


def grid_thousands(grid: pd.DataFrame) -> pd.DataFrame:
    """`reduction_grid` as a (rule, baseline) x unit cost (£/week, rounded) table of £ thousand."""
    g = grid.assign(weekly_cost_gbp=grid["weekly_cost_gbp"].round(0))
    wide = g.pivot_table(
        index=["rule", "baseline_per_week"], columns="weekly_cost_gbp", values="cost_avoided_gbp"
    )
    return wide / 1000


def cost_avoidance_summary(
    result: CostAvoidance,
    *,
    published_gbp: float | None = None,
    published_label: str = "the published figure",
    assumptions: Mapping[str, str] | None = None,
    tornado: pd.DataFrame | None = None,
) -> str:
    """One computed paragraph: estimate, interval, uncertainty sources, comparison, assumptions."""
    low, high = result.interval
    dec = result.decomposition().set_index("uncertainty")
    rule = (
        "each avoided person counted from their would-be start week to 31 March"
        if result.rule == "part_year"
        else "each avoided person counted for 52 weeks"
    )
    text = (
        f"{result.label or 'Cost avoidance'}: {gbp(result.point_gbp)} "
        f"({result.level:.0%} interval {gbp(low)} to {gbp(high)}; {rule}), from "
        f"{result.starts_point:.1f} avoided long-term starts ({result.source}) at "
        f"{result.unit_cost.describe()}. "
        f"Model uncertainty alone gives an interval "
        f"{gbp(dec.loc['model only', 'width_gbp'])} wide "
        f"and unit-cost uncertainty alone {gbp(dec.loc['unit cost only', 'width_gbp'])} "
        f"(together {gbp(dec.loc['both', 'width_gbp'])}; "
        f"{dec.loc['model only', 'share_of_variance']:.0%} / "
        f"{dec.loc['unit cost only', 'share_of_variance']:.0%} of the variance)."
    )
    if published_gbp is not None:
        inside = low <= published_gbp <= high
        text += (
            f" {published_label.capitalize()} ({gbp(published_gbp)}) is "
            f"{'inside' if inside else 'outside'} this interval."
        )
    if tornado is not None and len(tornado):
        top = tornado.iloc[0]
        text += (
            f" The assumption that moves the estimate most is {top['assumption']} "
            f"({gbp(top['low_gbp'])} with {top['low_label']} to {gbp(top['high_gbp'])} with "
            f"{top['high_label']})."
        )
    if assumptions:
        text += " Assumed: " + "; ".join(f"{k}: {v}" for k, v in assumptions.items()) + "."
    return text


def harrow_summary(
    costings: Mapping[str, CostAvoidance],
    sensitivity: Sensitivity,
    *,
    rate_before: float,
    rate_midyear: float,
    rate_after: float,
    published_part_gbp: float,
    published_full_gbp: float,
    effect_start: str,
    exposure_weeks: tuple[float, float],
    unit_cost_cv: float,
) -> str:
    """Computed paragraph: `cost_avoidance_summary` of the part-year costing, the published
    path scenario, and the weekly costs that the published £ figures imply."""
    part, whole_fy = costings["part_year"], costings["whole_fy"]
    summary = cost_avoidance_summary(
        part,
        published_gbp=published_part_gbp,
        published_label="Harrow's published part-year figure",
        tornado=sensitivity.tornado(),
        assumptions={
            "avoided starts": (
                f"a step of {rate_before - rate_after:.1f} fewer a week from {effect_start}"
            ),
            "rate exposures": (
                f"{exposure_weeks[0]:g} and {exposure_weeks[1]:g} weeks (not published)"
            ),
            "unit cost": f"ASC-FR mix with SD {unit_cost_cv:.0%} of each mean (judgement)",
            "interval": f"{part.n_draws} Monte Carlo draws, percentile",
        },
    )
    path_value = sensitivity.scenarios[TRANSITION][
        published_path_label(rate_before, rate_midyear, rate_after)
    ]
    return "\n".join(
        [
            summary,
            f"Following the published path instead of a step ({rate_before:g} -> "
            f"{rate_midyear:g} by 30 Sep -> {rate_after:g} by March) the same unit cost gives "
            f"£{path_value / 1000:,.0f}k: the published £{published_part_gbp / 1000:,.0f}k "
            "needs the whole drop from site 1's start.",
            f"Under the same step, the published {gbp(published_part_gbp)} implies "
            f"£{part.implied_weekly_cost(published_part_gbp):,.0f} a week per avoided client and "
            f"the 'up to £{published_full_gbp / 1e6:g}m' (a whole financial year at the new "
            f"rate) £{whole_fy.implied_weekly_cost(published_full_gbp):,.0f}; the ASC-FR mix "
            f"gives £{part.unit_cost_mean_gbp:,.0f}.",
        ]
    )


def reduction_summary(
    costings: Mapping[str, CostAvoidance],
    grid: pd.DataFrame,
    *,
    relative_reduction: float,
    baseline_per_week: float,
    n_weeks: int,
    site: str = "Birmingham",
) -> str:
    """Computed sentence: the part-year costing of a relative reduction and its range over
    the `reduction_grid` (part-year rows)."""
    part = costings["part_year"]
    lo, hi = part.interval
    rows = grid[grid["rule"] == "part_year"]
    part_grid, baselines = rows["cost_avoided_gbp"], rows["baseline_per_week"]
    return (
        f"{site} (published {relative_reduction:.0%}, assumed baseline {baseline_per_week:.1f} "
        f"starts a week over {n_weeks} weeks): {part.starts_point:.0f} avoided starts, "
        f"£{part.point_gbp / 1000:,.0f}k part-year ({part.level:.0%} interval "
        f"£{lo / 1000:,.0f}k to £{hi / 1000:,.0f}k, unit cost {part.unit_cost.describe()}); "
        f"across baselines {baselines.min():g}-{baselines.max():g} a week and the unit-cost "
        f"interval the part-year figure spans £{part_grid.min() / 1000:,.0f}k to "
        f"£{part_grid.max() / 1000:,.0f}k."
    )


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class UnitCosts(AnalysisResult):
    """`unit_costs` result: nothing recorded; the cost model the costing sections use.

    `cost`: weekly cost per long-term client; `units`: the `study.costs.ascfr_unit_costs` table
    (every derived measure with its cells); `cost_cv`: SD / mean of each component cost;
    `cost_source`: the `source` label part of every estimate that uses the cost.
    """

    cost: CostModel | None = None
    units: pd.DataFrame | None = None
    cost_cv: float = 0.0
    cost_source: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.cost is None or self.units is None or not self.cost_source:
            raise StudyInputError("UnitCosts needs a cost, its units table and a cost_source")


def unit_costs(
    cost_rows: pd.DataFrame,
    *,
    site: str,
    residential_measure: str,
    community_measure: str,
    cost_cv: float,
    via: str | None = None,
) -> UnitCosts:
    """One council's weekly cost per long-term client from its ASC-FR/SALT cells.

    `cost_rows`: `study.data.national.cost_figures` output; `study.costs.ascfr_unit_costs`
    derives the weekly costs and the care mix, `study.costs.care_mix_from_ascfr` the mix of
    `residential_measure` and `community_measure` (each SD = `cost_cv` x mean). `via`: the
    cited table the rows were read from (None: the official workbook), for the source label.
    `.view`: the derived measures; `.text`: "<site> unit cost: <the mix>".
    """
    units = costs.ascfr_unit_costs(cost_rows)
    mix = costs.care_mix_from_ascfr(
        units,
        residential_measure=residential_measure,
        community_measure=community_measure,
        cost_cv=cost_cv,
    )
    return UnitCosts(
        table=pd.DataFrame(columns=[*ESTIMATE_COLUMNS, *LABEL_COLUMNS]),
        text=f"{site} unit cost: {mix.describe()}",
        view=units.round(4),
        cost=mix,
        units=units,
        cost_cv=cost_cv,
        cost_source=f"unit costs: {national.cited_source(cost_rows, via=via)}",
    )


def harrow_rates(
    figures: pd.DataFrame,
    unit_cost: UnitCosts,
    *,
    periods: Mapping,
    fy_start: str,
    full_effect: str | None,
    exposure_weeks: tuple[float, float],
    n_draws: int,
    alpha: float,
    seed: int,
) -> AnalysisResult:
    """Harrow's published weekly rates in £, against the published £696k and up to £1m.

    The drop 7.2 -> 5.5 a week (`figures`, figures.csv) from the start of innovation site 1
    (`periods`), each rate Poisson over its `exposure_weeks` (before, after), costed by
    `study.costs.rates_cost_avoidance` over the financial year from `fy_start`: part-year and
    full-year counting, and a whole financial year at the new rate (a step at `fy_start`,
    part-year). `.table`: their nine labelled rows; `.tables`: "published_comparison",
    "decomposition" (interval width by source), "sensitivity" (`harrow_rates_sensitivity`);
    `.figures["tornado_harrow_rates"]`; `.text`: `harrow_summary`.
    """
    rate = _figure_rows(figures, HARROW_RATE_FIGURES)["value"].astype(float).to_dict()
    money = _figure_rows(figures, HARROW_COST_FIGURES)
    part_gbp, full_gbp = (float(v) for v in money["value"])
    part_text, full_text = (_as_published(r) for _, r in money.iterrows())
    effect_start = periods["innovation_site_1"]["start"]
    year, _ = _financial_year(fy_start)
    readings = {  # name: (label, counting rule, effect start, full effect)
        rule: (f"Harrow {year} {RULE_LABELS[rule]}", rule, effect_start, full_effect)
        for rule in RULE_LABELS
    }
    readings["whole_fy"] = (
        "Harrow, a whole financial year at the new rate",
        "part_year",
        fy_start,
        None,
    )
    costings = {
        name: costs.rates_cost_avoidance(
            rate["before"],
            rate["after"],
            unit_cost=unit_cost.cost,
            first_week=fy_start,
            exposure_weeks_before=exposure_weeks[0],
            exposure_weeks_after=exposure_weeks[1],
            effect_start=start,
            full_effect=full,
            rule=rule,
            n_draws=n_draws,
            alpha=alpha,
            seed=seed,
            label=label,
        )
        for name, (label, rule, start, full) in readings.items()
    }
    sensitivity = harrow_rates_sensitivity(
        rate["before"],
        rate["midyear"],
        rate["after"],
        base=costings["part_year"],
        unit_costs=unit_cost.units,
        published_gbp=part_gbp,
        fy_start=fy_start,
        effect_start=effect_start,
        full_effect=full_effect,
        site2_start=periods["innovation_site_2"]["start"],
        alpha=alpha,
        seed=seed,
    )
    source = published.figures_source(
        [HARROW_RATE_FIGURES["before"], HARROW_RATE_FIGURES["after"]], figures
    )
    table = labelled(
        _costings_table(costings.values()),
        site="harrow",
        data_kind="published",
        source=f"{source}; {unit_cost.cost_source}",
    )
    comparison = published_comparison(
        [
            (f"{part_text} part-year", part_gbp, costings["part_year"]),
            (f"{full_text} full year (whole FY at new rate)", full_gbp, costings["whole_fy"]),
            (f"{full_text} full year (52 weeks each)", full_gbp, costings["full_year"]),
        ]
    )
    decomposition = pd.concat(
        [costings[k].decomposition() for k in ("part_year", "full_year")], ignore_index=True
    )
    tornado = plot_tornado(
        sensitivity.tornado(),
        title=f"Harrow {year} cost avoidance, published rates route (part-year base)",
        reference={
            f"published {part_text} part-year": part_gbp,
            f"published {full_text}": full_gbp,
        },
    )
    text = harrow_summary(
        costings,
        sensitivity,
        rate_before=rate["before"],
        rate_midyear=rate["midyear"],
        rate_after=rate["after"],
        published_part_gbp=part_gbp,
        published_full_gbp=full_gbp,
        effect_start=effect_start,
        exposure_weeks=exposure_weeks,
        unit_cost_cv=unit_cost.cost_cv,
    )
    return AnalysisResult(
        table=table,
        text=text,
        view=_view(table),
        figures={"tornado_harrow_rates": tornado},
        tables={
            "published_comparison": comparison,
            "decomposition": decomposition,
            "sensitivity": sensitivity.table(),
        },
    )


def harrow_its(
    weekly: pd.DataFrame,
    unit_cost: UnitCosts,
    *,
    weekly_path: str,
    periods: Mapping,
    last_week: str,
    fy_start: str,
    family: str,
    harmonics: int,
    transition_weeks: int,
    n_draws: int,
    alpha: float,
    seed: int,
) -> AnalysisResult:
    """Harrow's avoided starts from an interrupted time series of the weekly series, in £.

    `weekly` (read from `weekly_path`) is cut at `last_week` (`study.its.data_up_to`: later
    periods are left out); Harrow's new long-term starts over the financial year from
    `fy_start` are costed by `study.costs.its_cost_avoidance` under both counting rules.
    `.table`: six labelled rows (data kind from `weekly_path`); `.tables["sensitivity"]` and
    `.figures["tornado_harrow_its_synthetic"]`: `its_sensitivity`; `.text`: the data, what was
    left out, and `cost_avoidance_summary` of the part-year costing.
    """
    cut = its.data_up_to(weekly, periods, {}, last_week)
    harrow = cut.weekly.query("site == 'harrow' and series == 'new_long_term_starts'")
    series = harrow[["week_start", "count"]]
    year, fy_end = _financial_year(fy_start)
    model = dict(
        window_start=fy_start,
        window_end=fy_end,
        family=family,
        harmonics=harmonics,
        transition_weeks=transition_weeks,
    )
    costings = {
        rule: costs.its_cost_avoidance(
            series,
            cut.periods,
            unit_cost=unit_cost.cost,
            rule=rule,
            n_draws=n_draws,
            alpha=alpha,
            seed=seed,
            label=f"Harrow ITS {year} {RULE_LABELS[rule]}",
            **model,
        )
        for rule in RULE_LABELS
    }
    kind = data_kind(weekly_path)
    sensitivity = its_sensitivity(
        series, cut.periods, unit_cost_gbp=unit_cost.cost.mean_gbp, seed=seed, kind=kind, **model
    )
    table = labelled(
        _costings_table(costings.values()),
        site="harrow",
        data_kind=kind,
        source=f"{weekly_path}; {unit_cost.cost_source}",
    )
    tornado = sensitivity.tornado()
    figure = plot_tornado(tornado, title=f"Harrow ITS route ({kind.upper()} series): model choices")
    lines = [f"Data: `{weekly_path}` ({SYNTHETIC_NOTE if kind == 'synthetic' else kind})."]
    if cut.dropped:
        lines.append(f"After last_week {last_week}, left out: {'; '.join(cut.dropped)}.")
    lines.append(cost_avoidance_summary(costings["part_year"], tornado=tornado))
    return AnalysisResult(
        table=table,
        text="\n\n".join(lines),
        view=_view(table),
        figures={"tornado_harrow_its_synthetic": figure},
        tables={"sensitivity": sensitivity.table()},
    )


def birmingham_reduction(
    figures: pd.DataFrame,
    unit_cost: UnitCosts,
    *,
    baseline_long_term: float,
    baseline_sensitivity: Sequence[float],
    window_start: str,
    window_weeks: int,
    n_draws: int,
    alpha: float,
    seed: int,
) -> AnalysisResult:
    """Birmingham's published 36% reduction in £ over an assumed baseline and window.

    Baseline rate = `baseline_long_term` starts over the published six-month comparison
    (`figures`: months x 52 / 12 weeks); avoided starts a week = baseline x 36% over
    `window_weeks` weeks from `window_start`, both rates Poisson over the six months; costed by
    `study.costs.rates_cost_avoidance` under both counting rules. `.table`: six labelled rows;
    `.tables["grid"]`: £ thousand over `baseline_sensitivity` x (low, mean, high) unit cost
    (`reduction_grid`); `.text`: `reduction_summary`.
    """
    f = _figure_rows(figures, BHAM_FIGURES)["value"].astype(float).to_dict()
    reduction = f["reduction"] / 100
    comparison_weeks = f["months"] * WEEKS_PER_YEAR / 12
    baseline = baseline_long_term / comparison_weeks
    costings = {
        rule: costs.rates_cost_avoidance(
            baseline,
            baseline * (1 - reduction),
            unit_cost=unit_cost.cost,
            first_week=window_start,
            n_weeks=window_weeks,
            exposure_weeks_before=float(comparison_weeks),
            exposure_weeks_after=float(comparison_weeks),
            rule=rule,
            n_draws=n_draws,
            alpha=alpha,
            seed=seed,
            label=f"Birmingham evaluation window, {RULE_LABELS[rule]}",
        )
        for rule in RULE_LABELS
    }
    grid = reduction_grid(
        [b / comparison_weeks for b in baseline_sensitivity],
        reduction,
        unit_cost=unit_cost.cost,
        first_week=window_start,
        n_weeks=window_weeks,
        alpha=alpha,
        seed=seed,
    )
    source = published.figures_source(BHAM_FIGURES.values(), figures)
    table = labelled(
        _costings_table(costings.values()),
        site="birmingham",
        data_kind="published",
        source=f"{source}; {unit_cost.cost_source}",
    )
    text = reduction_summary(
        costings,
        grid,
        relative_reduction=reduction,
        baseline_per_week=baseline,
        n_weeks=window_weeks,
    )
    return AnalysisResult(
        table=table, text=text, view=_view(table), tables={"grid": grid_thousands(grid)}
    )
