"""Scenario sets for the front-door cost avoidance (notebook 04), built from parameters.

The Harrow costings of the published rates (7.2 -> 5.5 a week) and of the interrupted time
series, the Birmingham costing of a relative reduction (36%), the one-at-a-time sensitivity
scenarios behind the tornado plots (`study.costs.sensitivity_over`, `tornado_table`), the
published-vs-estimate comparison (implied weekly cost = published £ / point person-weeks) and
the Birmingham baseline x unit-cost grid, plus the computed summary sentences. The costing
itself (Monte Carlo, counting rules) is `study.costs`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from study.costs import (
    CostAvoidance,
    CostModel,
    UnitCost,
    cost_avoidance_summary,
    cost_sensitivity_grid,
    its_cost_avoidance,
    rates_cost_avoidance,
    scenario_table,
    sensitivity_over,
    tornado_table,
    unit_cost_interval,
    weekly_dates,
)
from study.errors import StudyInputError
from study.tidy import gbp

TRANSITION = "transition to the new rate"
ITS_FAMILIES = ("poisson", "quasi_poisson", "negative_binomial", "ols_hac")


@dataclass(frozen=True)
class Sensitivity:
    """Point £ at the base case and {assumption: {alternative: point £}} (one change at a time)."""

    base_gbp: float
    scenarios: dict[str, dict[str, float]]

    def tornado(self) -> pd.DataFrame:
        """`study.costs.tornado_table`: lowest and highest alternative per assumption."""
        return tornado_table(self.base_gbp, self.scenarios)

    def table(self) -> pd.DataFrame:
        """`study.costs.scenario_table`: every alternative and its change from the base."""
        return scenario_table(self.base_gbp, self.scenarios)


def fixed_cost(weekly_gbp: float) -> UnitCost:
    """A unit cost without uncertainty (for point scenarios)."""
    return UnitCost(float(weekly_gbp), 0.0, "fixed")


def _day(date: str) -> str:
    """'2019-06-03' -> '3 Jun 2019'."""
    t = pd.Timestamp(date)
    return f"{t.day} {t:%b %Y}"


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


def costings_table(results: Iterable[CostAvoidance]) -> pd.DataFrame:
    """The `table()` rows of several costings, stacked."""
    return pd.concat([r.table() for r in results], ignore_index=True)


def harrow_rates_costings(
    rate_before: float,
    rate_after: float,
    *,
    unit_cost: CostModel,
    fy_start: str,
    effect_start: str,
    full_effect: str | None,
    exposure_weeks_before: float,
    exposure_weeks_after: float,
    n_draws: int,
    alpha: float,
    seed: int,
    site: str = "Harrow",
    period: str = "2019-20",
) -> dict[str, CostAvoidance]:
    """`rates_cost_avoidance` over the financial year from `fy_start`, three readings.

    "part_year" and "full_year": the drop from `effect_start` under each counting rule;
    "whole_fy": a step at `fy_start` (a whole financial year at the new rate), part-year rule.
    """
    args = dict(
        unit_cost=unit_cost,
        first_week=fy_start,
        exposure_weeks_before=exposure_weeks_before,
        exposure_weeks_after=exposure_weeks_after,
        effect_start=effect_start,
        full_effect=full_effect,
        n_draws=n_draws,
        alpha=alpha,
        seed=seed,
    )
    label = f"{site} {period}"
    return {
        "part_year": rates_cost_avoidance(
            rate_before, rate_after, rule="part_year", label=f"{label} part-year", **args
        ),
        "full_year": rates_cost_avoidance(
            rate_before,
            rate_after,
            rule="full_year",
            label=f"{label} full year (52 weeks each)",
            **args,
        ),
        "whole_fy": rates_cost_avoidance(
            rate_before,
            rate_after,
            rule="part_year",
            label=f"{site}, a whole financial year at the new rate",
            **{**args, "effect_start": fy_start, "full_effect": None},
        ),
    }


def its_costings(
    weekly: pd.DataFrame,
    periods: Mapping,
    *,
    unit_cost: CostModel,
    window_start: str,
    window_end: str,
    family: str,
    harmonics: int,
    transition_weeks: int,
    n_draws: int,
    alpha: float,
    seed: int,
    label: str = "Harrow ITS 2019-20",
) -> dict[str, CostAvoidance]:
    """`its_cost_avoidance` under both counting rules ("part_year", "full_year")."""
    args = dict(
        unit_cost=unit_cost,
        window_start=window_start,
        window_end=window_end,
        family=family,
        harmonics=harmonics,
        transition_weeks=transition_weeks,
        n_draws=n_draws,
        alpha=alpha,
        seed=seed,
    )
    return {
        "part_year": its_cost_avoidance(
            weekly, periods, rule="part_year", label=f"{label} part-year", **args
        ),
        "full_year": its_cost_avoidance(
            weekly, periods, rule="full_year", label=f"{label} full year (52 weeks each)", **args
        ),
    }


def reduction_costings(
    baseline_per_week: float,
    relative_reduction: float,
    *,
    unit_cost: CostModel,
    first_week: str,
    n_weeks: int,
    n_draws: int,
    alpha: float,
    seed: int,
    exposure_weeks: float | None = None,
    label: str = "Birmingham evaluation window,",
) -> dict[str, CostAvoidance]:
    """A relative reduction of a baseline rate, costed over `n_weeks`, both counting rules.

    Rates baseline -> baseline x (1 - reduction), each Poisson over `exposure_weeks` (the weeks
    the rates were observed over; default `n_weeks`). Costing a 12-month window from six-month
    rates keeps `exposure_weeks` = 26, so the interval stays as wide as the data behind it.
    """
    exposure = float(n_weeks if exposure_weeks is None else exposure_weeks)
    rates = (baseline_per_week, baseline_per_week * (1 - relative_reduction))
    args = dict(
        unit_cost=unit_cost,
        first_week=first_week,
        n_weeks=n_weeks,
        exposure_weeks_before=exposure,
        exposure_weeks_after=exposure,
        n_draws=n_draws,
        alpha=alpha,
        seed=seed,
    )
    return {
        "part_year": rates_cost_avoidance(
            *rates, rule="part_year", label=f"{label} part-year", **args
        ),
        "full_year": rates_cost_avoidance(
            *rates, rule="full_year", label=f"{label} full year (52 weeks each)", **args
        ),
    }


def published_comparison(
    published: Sequence[tuple[str, float, CostAvoidance]],
) -> pd.DataFrame:
    """Published £ beside our estimate: inside the interval? implied £/week = £ / person-weeks.

    `published` holds (label, published £, the costing it is compared with).
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
                "implied_weekly_cost_gbp": value / r.person_weeks_point,
            }
            for name, value, r in published
        ]
    )


def harrow_rates_sensitivity(
    rate_before: float,
    rate_midyear: float,
    rate_after: float,
    *,
    unit_cost: CostModel,
    unit_costs: pd.DataFrame,
    published_gbp: float,
    fy_start: str,
    effect_start: str,
    full_effect: str | None,
    site2_start: str,
    exposure_weeks_before: float,
    exposure_weeks_after: float,
    n_draws: int,
    alpha: float,
    seed: int,
    midyear: str = "2019-09-30",
    year_end: str = "2020-03-30",
) -> Sensitivity:
    """Point £ (part-year, fixed mean unit cost) changing one assumption at a time.

    Unit cost: the (alpha/2, 1 - alpha/2) quantiles of `unit_cost`, the cost implied by
    `published_gbp`, and the extreme ASC-FR mixes in `unit_costs` (`ascfr_unit_costs` output);
    counting rule; transition (step, linear to `midyear` / `year_end`, the published path via
    `published_path_anchors`); effect start (financial-year start, site 1, site 2).
    """
    rates = (rate_before, rate_after)
    base_args = dict(
        unit_cost=fixed_cost(unit_cost.mean_gbp),
        first_week=fy_start,
        exposure_weeks_before=exposure_weeks_before,
        exposure_weeks_after=exposure_weeks_after,
        effect_start=effect_start,
        full_effect=full_effect,
        n_draws=n_draws,
        alpha=alpha,
        seed=seed,
        rule="part_year",
    )
    implied = published_gbp / rates_cost_avoidance(*rates, **base_args).person_weeks_point
    cost_low, cost_high = unit_cost_interval(unit_cost, alpha=alpha, seed=seed)
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
    base, scenarios = sensitivity_over(
        lambda **kw: rates_cost_avoidance(*rates, **kw).point_gbp,
        base_args,
        {
            "unit cost (ASC-FR mix interval)": {
                f"£{cost_low:,.0f}/wk": {"unit_cost": fixed_cost(cost_low)},
                f"£{cost_high:,.0f}/wk": {"unit_cost": fixed_cost(cost_high)},
            },
            "unit cost (other sources, extreme mixes)": {
                f"implied by {gbp(published_gbp)}: £{implied:,.0f}/wk": {
                    "unit_cost": fixed_cost(implied)
                },
                f"all community, T34 denominator: £{community:,.0f}/wk": {
                    "unit_cost": fixed_cost(community)
                },
                f"all residential/nursing 2021-22: £{residential:,.0f}/wk": {
                    "unit_cost": fixed_cost(residential)
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
    return Sensitivity(base, scenarios)


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
    alpha: float,
    seed: int,
    n_draws: int = 1000,
    families: Sequence[str] = ITS_FAMILIES,
    transition_options: Sequence[int] = (0, 2, 4),
    harmonic_options: Sequence[int] = (0, 1, 2),
) -> Sensitivity:
    """Point £ of the ITS route (part-year, fixed unit cost) by family, transition, seasonality."""
    base_args = dict(
        unit_cost=fixed_cost(unit_cost_gbp),
        window_start=window_start,
        window_end=window_end,
        family=family,
        harmonics=harmonics,
        transition_weeks=transition_weeks,
        n_draws=n_draws,
        alpha=alpha,
        seed=seed,
        rule="part_year",
    )
    base, scenarios = sensitivity_over(
        lambda **kw: its_cost_avoidance(weekly, periods, **kw).point_gbp,
        base_args,
        {
            "ITS model family (synthetic)": {f: {"family": f} for f in families},
            "ITS transition weeks (synthetic)": {
                f"{w} weeks": {"transition_weeks": w} for w in transition_options
            },
            "ITS seasonality (synthetic)": {
                f"{k} harmonics": {"harmonics": k} for k in harmonic_options
            },
        },
    )
    return Sensitivity(base, scenarios)


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
    """`cost_sensitivity_grid` over baselines x (low, mean, high) unit cost x counting rules.

    Low/high: the (alpha/2, 1 - alpha/2) quantiles of `unit_cost` (`unit_cost_interval`).
    """
    low, high = unit_cost_interval(unit_cost, alpha=alpha, seed=seed)
    return cost_sensitivity_grid(
        baselines_per_week,
        [low, unit_cost.mean_gbp, high],
        relative_reduction=relative_reduction,
        week_dates=weekly_dates(first_week, n_weeks),
    )


def grid_thousands(grid: pd.DataFrame) -> pd.DataFrame:
    """`reduction_grid` as a (rule, baseline) x unit cost (£/week, rounded) table of £ thousand."""
    g = grid.assign(weekly_cost_gbp=grid["weekly_cost_gbp"].round(0))
    wide = g.pivot_table(
        index=["rule", "baseline_per_week"], columns="weekly_cost_gbp", values="cost_avoided_gbp"
    )
    return wide / 1000


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
    implied = published_part_gbp / part.person_weeks_point
    return "\n".join(
        [
            summary,
            f"Following the published path instead of a step ({rate_before:g} -> "
            f"{rate_midyear:g} by 30 Sep -> {rate_after:g} by March) the same unit cost gives "
            f"£{path_value / 1000:,.0f}k: the published £{published_part_gbp / 1000:,.0f}k "
            "needs the whole drop from site 1's start.",
            f"Under the same step, the published {gbp(published_part_gbp)} implies "
            f"£{implied:,.0f} a week per avoided client and the "
            f"'up to £{published_full_gbp / 1e6:g}m' (a whole financial year at the new rate) "
            f"£{published_full_gbp / whole_fy.person_weeks_point:,.0f}; the ASC-FR mix gives "
            f"£{part.unit_cost_mean_gbp:,.0f}.",
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
