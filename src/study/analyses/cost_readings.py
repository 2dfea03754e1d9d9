"""Notebook 04's readings of the published rates with an interrupted time series beside them, and
their text (used by `study.analyses.cost_avoidance`).

- `its_pre_trend` (`PreTrend`): the trend of a weekly series before go-live, from an ITS fitted
  to the pre-period only (`study.its.fit_its`), with coefficient draws; `its_trend_reading`
  continues it from the published rate before as the counterfactual of a `Reading`;
- `its_rate_checks`: the published rates against an ITS fit (inside the fitted weekly count's
  interval at their dates), the ITS route's counterpart of `reading_checks`;
- `rates_sensitivity`: point £ of a reading with one assumption changed at a time (the
  tornado of notebook 04's rates section);
- `readings_summary` and `costing_summary`: the computed paragraphs of the readings table and
  of the chosen reading's costing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from study import costs
from study.avoided_starts import (
    ITS_ROUTE,
    ITS_SLOPE,
    ITS_TREND,
    RATE_CHECKS,
    AvoidedStarts,
    RatePath,
    Reading,
    _check_days,
    check_n_draws,
    day_text,
    step_reading,
)
from study.costs import CostAvoidance
from study.tidy import WEEKS_PER_YEAR, gbp

READING = "reading of the published rates"
# the ASC-FR measures of the extreme care mixes in the sensitivity (`ascfr_unit_costs` names)
EXTREME_MIX_MEASURES = ("community_weekly_during", "res_nursing_total_2021_22")


@dataclass(frozen=True, eq=False)
class PreTrend:
    """The pre-intervention trend of an ITS fitted to the weeks before go-live: the log slope
    a week of the last pre-period segment (trend + every slope term of the periods before
    go-live), its point value and `draws` from the coefficients' normal sampling distribution."""

    log_slope: float
    draws: np.ndarray
    go_live: str
    n_weeks: int
    method: str

    def yearly_change(self, weeks: float = WEEKS_PER_YEAR) -> float:
        """Relative change over `weeks` weeks at the point slope (exp(slope x weeks) - 1)."""
        return float(np.expm1(self.log_slope * weeks))


def its_pre_trend(
    data: pd.DataFrame,
    periods,
    *,
    go_live: str,
    family: str = "quasi_poisson",
    harmonics: int = 1,
    transition_weeks: int = 0,
    exposure: str | None = None,
    n_draws: int = 10_000,
    seed: int = 0,
) -> PreTrend:
    """The trend of the weekly series before `go_live`, as an ITS pre-period estimates it.

    `study.its.fit_its` on the weeks before `go_live` (`study.its.data_up_to` the day before:
    periods starting later are left out), the same family, seasonality and transition as the
    ITS route. Log slope a week = trend + the slope terms of the periods kept (the slope of the
    last pre-period segment; count families, log link). For a continuous family (`ols_hac`) the
    slope is divided by the fitted level of the last pre-period week (relative change a week).
    `n_draws` draws from N(beta-hat, V-hat) with `np.random.default_rng(seed)`, each used once.
    """
    from study import its

    n = check_n_draws(n_draws)
    eve = pd.Timestamp(go_live) - pd.Timedelta(days=1)
    cut = its.data_up_to(data, periods, {}, f"{eve:%Y-%m-%d}")
    fit = its.fit_its(
        cut.weekly,
        cut.periods,
        family=family,
        harmonics=harmonics,
        transition_weeks=transition_weeks,
        exposure=exposure,
    )
    cols = list(fit.design.X.columns)
    idx = [cols.index(c) for c in cols if c == "trend" or c.startswith("slope_")]
    beta_hat = fit.params.to_numpy()
    rng = np.random.default_rng(seed)
    beta = rng.multivariate_normal(beta_hat, fit.cov.to_numpy(), size=n, method="eigh")
    point, draws = float(beta_hat[idx].sum()), beta[:, idx].sum(axis=1)
    if family in its.CONTINUOUS_FAMILIES:
        x_last = fit.design.X.to_numpy()[-1]
        point, draws = point / float(beta_hat @ x_last), draws / (beta @ x_last)
    weeks = int(fit.design.fit_mask.sum())
    kept = ", ".join(cut.periods) or "none"
    return PreTrend(
        log_slope=point,
        draws=draws,
        go_live=f"{pd.Timestamp(go_live):%Y-%m-%d}",
        n_weeks=weeks,
        method=f"ITS pre-period trend ({family}, {harmonics} harmonic(s), {transition_weeks} "
        f"transition week(s); {weeks} weeks before {day_text(go_live)}, periods kept: {kept}; "
        f"{n} coefficient draws)",
    )


def its_rate_checks(
    fit,
    rate: Mapping[str, float],
    dates: Mapping[str, str],
    *,
    effect_start: str,
    n_draws: int,
    alpha: float,
    seed: int = 0,
) -> dict[str, object]:
    """The rate checks of `reading_checks` for an ITS route: is each published rate inside the
    (alpha/2, 1 - alpha/2) percentile interval of the fitted weekly count (`fit`, an
    `study.its.ITSFit`; `n_draws` coefficient draws, `np.random.default_rng(seed)`) in the week
    that holds the day before the rate's date (the rate before: the day before `effect_start`)?
    None for a date outside the series."""
    n = check_n_draws(n_draws)
    weeks = pd.DatetimeIndex(fit.design.week_start)
    rng = np.random.default_rng(seed)
    beta = rng.multivariate_normal(fit.params.to_numpy(), fit.cov.to_numpy(), size=n, method="eigh")
    found: dict[str, int | None] = {}
    for key, day in _check_days(dates, effect_start):
        eve = pd.Timestamp(day) - pd.Timedelta(days=1)
        j = int(np.searchsorted(weeks.to_numpy(), eve.to_datetime64(), side="right")) - 1
        inside = j >= 0 and eve < weeks[-1] + pd.Timedelta(days=7)
        found[key] = j if inside else None
    checked = [j for j in found.values() if j is not None]
    fitted = fit.predict(beta, weeks=np.array(checked, dtype=int))  # only the checked weeks
    out: dict[str, object] = {}
    for key, j in found.items():
        if j is None:
            out[f"rate_{key}"] = None
            continue
        low, high = np.percentile(fitted[:, checked.index(j)], [50 * alpha, 100 - 50 * alpha])
        out[f"rate_{key}"] = bool(low <= rate[key] <= high)
    return out


def its_trend_reading(
    rate: Mapping[str, float], dates: Mapping[str, str], *, effect_start: str, trend: PreTrend
) -> Reading:
    """The published path (as `harrow_readings_of`'s "published_path") against a
    counterfactual that continues the ITS pre-period trend (`its_pre_trend`) log-linearly from
    the rate before at its date; the slope is the `given` name `ITS_SLOPE`."""
    b, m, a = (f"{rate[k]:g}" for k in ("before", "midyear", "after"))
    return Reading(
        ITS_TREND,
        f"published path {b} -> {m} -> {a} from {day_text(effect_start)} against the ITS "
        f"pre-period trend ({trend.yearly_change():+.1%} a year) continued",
        RatePath(
            ((effect_start, "before"), (dates["midyear"], "midyear"), (dates["after"], "after"))
        ),
        RatePath(((dates["before"], "before"),), "slope", slope=ITS_SLOPE),
    )


def rates_sensitivity(
    readings: Mapping[str, Reading],
    rates: Mapping[str, tuple[float, float | None]],
    dates: Mapping[str, str],
    *,
    reading: str,
    base: CostAvoidance,
    unit_costs: pd.DataFrame,
    published_gbp: float,
    fy_start: str,
    effect_starts: Mapping[str, str],
    alpha: float,
    seed: int,
    given: Mapping[str, float] | None = None,
    base_path: AvoidedStarts | None = None,
) -> costs.Sensitivity:
    """Point £ of the published rates over the 52 weeks from `fy_start`, one change at a time.

    Each value is `study.costs.point_cost_avoidance` (point person-weeks x weekly cost) of the
    avoided starts `study.costs.avoided_starts_from_path` gives at the published rates (`given`:
    point values of further named quantities, the ITS pre-period slope). Base:
    `readings[reading]` (or `base_path`, the point path of the ITS route), part-year, at the
    mean unit cost of `base` (`dates`: the published rates' dates, as
    `study.analyses.cost_avoidance.harrow_rate_inputs` gives them). Alternatives: unit cost
    (the (alpha/2, 1 - alpha/2) quantiles of `base.unit_cost`, the cost `published_gbp` implies
    for `base`, the extreme ASC-FR mixes in `unit_costs`, `ascfr_unit_costs` output); counting
    rule; every reading; a step on each of `effect_starts` ({label: date}).
    """
    weeks = costs.weekly_dates(fy_start, WEEKS_PER_YEAR)
    known = {k: (v, None) for k, (v, _) in rates.items()}
    fixed = {k: (v, np.full(1000, float(v))) for k, v in (given or {}).items()}

    def point(unit_cost_gbp, rule, path) -> float:
        avoided = (
            path
            if isinstance(path, AvoidedStarts)
            else costs.avoided_starts_from_path(path, known, weeks, n_draws=1000, given=fixed)
        )
        return costs.point_cost_avoidance(avoided, unit_cost_gbp, rule)

    cost_low, cost_high = costs.unit_cost_interval(base.unit_cost, alpha=alpha, seed=seed)
    u = unit_costs.set_index("measure")["value"]
    community_measure, residential_measure = EXTREME_MIX_MEASURES
    community, residential = u[community_measure], u[residential_measure]
    res_year = residential_measure.removeprefix("res_nursing_total_").replace("_", "-")
    others = {
        f"all community, T34 denominator: £{community:,.0f}/wk": {"unit_cost_gbp": community},
        f"all residential/nursing {res_year}: £{residential:,.0f}/wk": {
            "unit_cost_gbp": residential
        },
    }
    if base.person_weeks_point > 0:
        implied = base.implied_weekly_cost(published_gbp)
        label = f"implied by {gbp(published_gbp)}: £{implied:,.0f}/wk"
        others = {label: {"unit_cost_gbp": implied}, **others}
    rate = {k: v for k, (v, _) in rates.items()}
    return costs.Sensitivity.over(
        point,
        dict(
            unit_cost_gbp=base.unit_cost_mean_gbp,
            rule="part_year",
            path=readings[reading] if base_path is None else base_path,
        ),
        {
            "unit cost (ASC-FR mix interval)": {
                f"£{cost_low:,.0f}/wk": {"unit_cost_gbp": cost_low},
                f"£{cost_high:,.0f}/wk": {"unit_cost_gbp": cost_high},
            },
            "unit cost (other sources, extreme mixes)": others,
            "counting rule": {"part-year": {}, "full year (52 weeks)": {"rule": "full_year"}},
            READING: {r.label: {"path": r} for r in readings.values()},
            "effect start (a step)": {
                label: {"path": step_reading(rate, dates, day)}
                for label, day in effect_starts.items()
            },
        },
    )


def readings_summary(
    costings: Mapping[str, CostAvoidance],
    checks: Mapping[str, Mapping[str, object]],
    readings: Mapping[str, Reading],
    *,
    default: str,
    published_text: str,
    full_year_text: str,
    published_gbp: float,
    effect_start: str,
) -> str:
    """Computed paragraph: why the default reading, the range across readings, which readings
    each published £ figure agrees with, and the weekly costs the published £ implies.

    `readings` are the readings of the published rates; `costings` and `checks` may also hold
    the ITS route (`ITS_ROUTE`), which can be the default but is not one of the readings."""
    names = list(readings)
    points = {n: costings[n].point_gbp for n in names}
    lo, hi = min(points, key=points.get), max(points, key=points.get)
    rates_ok = [n for n in names if all(checks[n][k] for k in RATE_CHECKS)]
    c = costings[default]
    failed = [k.removeprefix("rate_") for k in RATE_CHECKS if checks[default][k] is False]
    if default == ITS_ROUTE:
        inside = [k.removeprefix("rate_") for k in RATE_CHECKS if checks[default][k]]
        why = (
            "it costs the weekly series through the interrupted time series (counterfactual "
            "minus fitted counts) instead of a path between the published rates; the published "
            f"rate(s) {', '.join(inside) or 'none'} lie inside the fitted weekly count's "
            f"{c.level:.0%} interval at their dates"
        )
        chosen_label = f"ITS route, {c.source}"
    else:
        chosen = readings[default]
        chosen_label = chosen.label
        why = (
            f"it is one of the {len(rates_ok)} of {len(names)} readings ({', '.join(rates_ok)}) "
            f"whose observed path has no change before the first intervention period "
            f"({day_text(effect_start)}) and meets the published mid-year and end rates at their "
            "dates"
            + (
                ", and it joins the published rates by straight lines rather than jumps"
                if chosen.observed.shape == "linear"
                else ""
            )
            if not failed
            else f"it does not meet the published rate(s) {', '.join(failed)} at their dates"
        )
    inside = [n for n in names if checks[n]["published_inside"]]
    shared = [n for n in names if checks[n]["shares_full_year_cost"]]
    positive = [n for n in names if costings[n].person_weeks_point > 0]
    implied = {n: costings[n].implied_weekly_cost(published_gbp) for n in positive}
    none = [n for n in names if n not in positive]
    text = (
        f"Default reading `{default}` ({chosen_label}; parameter `harrow_reading`): {why}. "
        f"Across the {len(names)} readings of the published rates the part-year cost avoidance "
        f"at {c.unit_cost.describe()} runs from {gbp(points[lo])} ({lo}) to {gbp(points[hi])} "
        f"({hi}); the default gives {gbp(c.point_gbp)} ({c.level:.0%} interval "
        f"{gbp(c.interval[0])} to {gbp(c.interval[1])}). "
        f"{published_text} lies inside the interval of: {', '.join(inside) or 'none'}; "
        f"{published_text} and {full_year_text} share one weekly unit cost only under: "
        f"{', '.join(shared) or 'none'}."
    )
    if implied:
        cheap, dear = min(implied, key=implied.get), max(implied, key=implied.get)
        text += (
            f" The weekly cost {published_text} implies runs from £{implied[cheap]:,.0f} "
            f"({cheap}) to £{implied[dear]:,.0f} ({dear}), against the ASC-FR mix's "
            f"£{c.unit_cost_mean_gbp:,.0f}."
        )
    if none:
        text += (
            f" Under {', '.join(none)} the counterfactual avoids no starts over the year "
            f"({', '.join(f'{costings[n].starts_point:.1f}' for n in none)}): no unit cost "
            f"reproduces {published_text}."
        )
    return text


def costing_summary(
    costings: Mapping[str, CostAvoidance],
    sensitivity: costs.Sensitivity,
    *,
    reading_label: str,
    published_part_gbp: float,
    published_full_gbp: float,
    full_text: str,
    exposure_weeks: tuple[float, float],
    unit_cost_cv: float,
    site_label: str,
) -> str:
    """Computed paragraph: `cost_avoidance_summary` of the part-year costing of the chosen
    reading, and the weekly costs that the published £ figures imply."""
    part, whole_fy = costings["part_year"], costings["whole_fy"]
    summary = costs.cost_avoidance_summary(
        part,
        published_gbp=published_part_gbp,
        published_label=f"{site_label}'s published part-year figure",
        tornado=sensitivity.tornado(),
        assumptions={
            "avoided starts": reading_label,
            "rate exposures": (
                f"{exposure_weeks[0]:g} weeks behind the rate before and {exposure_weeks[1]:g} "
                "behind each later one (not published)"
            ),
            "unit cost": f"ASC-FR mix with SD {unit_cost_cv:.0%} of each mean (judgement)",
            "interval": f"{part.n_draws} Monte Carlo draws, percentile",
        },
    )
    se_low, se_high = part.interval_mc_se
    lines = [
        summary,
        f"Monte Carlo standard errors of the interval's limits: {gbp(se_low)} and "
        f"{gbp(se_high)} ({max(se_low, se_high) / part.point_gbp:.1%} of the estimate at most)."
        if part.point_gbp > 0
        else "",
    ]
    if part.person_weeks_point > 0:
        lines.append(
            f"Under this reading the published {gbp(published_part_gbp)} implies "
            f"£{part.implied_weekly_cost(published_part_gbp):,.0f} a week per avoided client and "
            f"the '{full_text}' (a whole financial year at the new rate) "
            f"£{whole_fy.implied_weekly_cost(published_full_gbp):,.0f}; the ASC-FR mix "
            f"gives £{part.unit_cost_mean_gbp:,.0f}."
        )
    return "\n".join(line for line in lines if line)
