"""Notebook 04 (cost avoidance): each section's estimates, tables, figure and sentence.

A section is one call that returns an `AnalysisResult`: `published_inputs` (the figures costed,
quoted), `unit_costs` (a council's weekly cost per long-term client from its ASC-FR/SALT rows),
`harrow_its` (the avoided starts of an interrupted time series in £, and its pre-period trend),
`harrow_rates` (published weekly rates in £ under one reading, against the published £, with
the tornado), `harrow_readings` (every reading side by side) and `birmingham_reduction` (a
published relative reduction over an assumed baseline and window). Sites are parameters.
Every £ figure is a `study.costs` route (`cost_avoidance`: avoided starts x weeks counted x
unit cost, Monte Carlo percentile interval with the MC SE of its limits); sensitivity values
are points (`study.costs.point_cost_avoidance`); sentences are computed from the results.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from study import avoided_starts, costs, its
from study.analyses import LABEL_COLUMNS, AnalysisResult, labelled
from study.analyses.cost_readings import READING as READING  # the sensitivity's readings assumption
from study.analyses.cost_readings import (
    PreTrend,
    costing_summary,
    its_pre_trend,
    its_rate_checks,
    its_trend_reading,
    rates_sensitivity,
    readings_summary,
)
from study.avoided_starts import (
    ALL_READINGS,
    ITS_ROUTE,
    ITS_SLOPE,
    ITS_TREND,
    AvoidedStarts,
    Reading,
    day_text,
    flat_path,
)
from study.config import data_kind
from study.costs import CostAvoidance, CostModel
from study.data import national, published
from study.errors import StudyInputError
from study.plots.costs import plot_tornado
from study.tidy import ESTIMATE_COLUMNS, WEEKS_PER_YEAR, gbp

harrow_rates_sensitivity = rates_sensitivity  # the name notebook 04's tests know

# published figures (data/published/figures.csv) behind each section
HARROW_RATE_FIGURES = {
    "pre": "harrow_lt_starts_2018_09",  # 8.3 a week, before the September 2018 restructure
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
ITS_FAMILIES = ("poisson", "quasi_poisson", "negative_binomial", "ols_hac")
SYNTHETIC_NOTE = (
    "synthetic data calibrated to the published figures — this shows the machinery, not a finding"
)


DEFAULT_NOTE = "default reading (harrow_reading)"  # the note of the chosen reading's rows


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


def _costings_table(results: Iterable[CostAvoidance]) -> pd.DataFrame:
    """The `table()` rows of several costings, stacked."""
    return pd.concat([r.table() for r in results], ignore_index=True)


def _view(table: pd.DataFrame) -> pd.DataFrame:
    """The estimate columns of a labelled table, £ rounded to one decimal."""
    return table[ESTIMATE_COLUMNS].round(GBP_DIGITS)


# --------------------------------------------------------------------------- sensitivity


# --------------------------------------------------------------------------- readings


def harrow_rate_inputs(
    figures: pd.DataFrame, exposure_weeks: tuple[float, float]
) -> tuple[dict[str, float], dict[str, str], dict[str, tuple[float, float]]]:
    """(rates, dates, rates with exposures) of Harrow's published weekly rates (figures.csv).

    Dates are each figure's `period_end` (8.3 by 30 Sep 2018, 7.2 by 31 Mar 2019, 6.1 at
    30 Sep 2019, 5.5 at 31 Mar 2020). Exposures (not published): the 7.2 over
    `exposure_weeks[0]`, the point-in-time 8.3, 6.1 and 5.5 each over `exposure_weeks[1]`.
    """
    rows = _figure_rows(figures, HARROW_RATE_FIGURES)
    rate = rows["value"].astype(float).to_dict()
    dates = {k: f"{pd.Timestamp(v):%Y-%m-%d}" for k, v in rows["period_end"].items()}
    before, after = exposure_weeks
    exposure = {"pre": after, "before": before, "midyear": after, "after": after}
    return rate, dates, {k: (rate[k], exposure[k]) for k in ("pre", "before", "midyear", "after")}


# --------------------------------------------------------------------------- tables and text


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


def reduction_summary(
    costings: Mapping[str, CostAvoidance],
    grid: pd.DataFrame,
    *,
    relative_reduction: float,
    baseline_per_week: float,
    n_weeks: int,
    site: str,
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


def site_label(site: str) -> str:
    """A site identifier as a label: 'harrow' -> 'Harrow', 'north_field' -> 'North Field'."""
    if not isinstance(site, str) or not site:
        raise StudyInputError(f"site must be a non-empty identifier, got {site!r}")
    return site.replace("_", " ").title()


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


def published_inputs(figures: pd.DataFrame) -> AnalysisResult:
    """The published figures the sections cost, quoted from figures.csv: one line per site and
    quotation, naming the figures it holds (`.text`; nothing recorded)."""
    ids = [*HARROW_RATE_FIGURES.values(), *HARROW_COST_FIGURES.values(), *BHAM_FIGURES.values()]
    rows = published.figure_table(ids, figures)
    lines = []
    for (site, quote, doc), sub in rows.groupby(["site", "quote", "source_file"], sort=False):
        held = "; ".join(
            f"{r['measure']}, {r['period']}: {r['value']:,.10g}" for _, r in sub.iterrows()
        )
        lines.append(f"- **{site_label(site)}** ({doc}): \u201c{quote}\u201d ({held})")
    return AnalysisResult(table=pd.DataFrame(columns=[*ESTIMATE_COLUMNS, *LABEL_COLUMNS]),
                          text="\n".join(lines))  # fmt: skip


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
    `site`: the site identifier (`site_label` names it). `.view`: the derived measures;
    `.text`: "<site> unit cost: <the mix>".
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
        text=f"{site_label(site)} unit cost: {mix.describe()}",
        view=units.round(4),
        cost=mix,
        units=units,
        cost_cv=cost_cv,
        cost_source=f"unit costs: {national.cited_source(cost_rows, via=via)}",
    )


@dataclass(frozen=True)
class Costings(AnalysisResult):
    """A costing section's result with its `CostAvoidance` objects by name (for the readings
    table, which sets the ITS route beside the readings of the published rates).

    The ITS section also carries its fit (`fit`, a `study.its.ITSFit`, for the rate checks),
    the window's avoided starts (`avoided`) and the pre-period trend (`pre_trend`, None with the
    reason in `pre_trend_note` when the pre-period cannot be fitted); `data_kind` and `source`
    are those of its table.
    """

    costings: Mapping[str, CostAvoidance] = field(default_factory=dict)
    fit: object | None = None
    avoided: AvoidedStarts | None = None
    pre_trend: PreTrend | None = None
    pre_trend_note: str = ""

    @property
    def data_kind(self) -> str:
        return str(self.table["data_kind"].iloc[0])

    @property
    def source(self) -> str:
        return str(self.table["source"].iloc[0])


def _check_reading(reading: str, its_route: Costings | None) -> None:
    """`reading` is one of `ALL_READINGS`, and an ITS reading has the ITS section it needs."""
    if reading not in ALL_READINGS:
        raise StudyInputError(f"reading must be one of {ALL_READINGS}, got {reading!r}")
    if reading in (ITS_TREND, ITS_ROUTE):
        if its_route is None or its_route.avoided is None:
            raise StudyInputError(f"reading {reading!r} needs the ITS section (its_route)")
        if reading == ITS_TREND and its_route.pre_trend is None:
            raise StudyInputError(f"reading {ITS_TREND!r}: {its_route.pre_trend_note}")


@dataclass(frozen=True)
class _Harrow:
    """What both Harrow sections read from the figures: the rates (`harrow_rate_inputs`), the
    readings (`harrow_readings_of`, and `ITS_TREND` with its slope draws `given` when the ITS
    section has a pre-period trend), the published £ figures and the whole-year reading."""

    rate: dict
    dates: dict
    rates: dict
    readings: dict
    given: dict
    money: tuple[float, float, str, str]  # part-year £, full-year £ and their texts
    effect_start: str
    year: str
    whole: Reading


def _harrow(figures, its_route, *, periods, fy_start, full_effect, exposure_weeks) -> _Harrow:
    rate, dates, rates = harrow_rate_inputs(figures, exposure_weeks)
    effect_start = first_intervention(periods)
    readings = avoided_starts.harrow_readings_of(
        rate, dates, fy_start=fy_start, effect_start=effect_start, full_effect=full_effect
    )
    given: dict[str, tuple[float, np.ndarray]] = {}
    if its_route is not None and its_route.pre_trend is not None:
        trend = its_route.pre_trend
        readings[ITS_TREND] = its_trend_reading(rate, dates, effect_start=effect_start, trend=trend)
        given[ITS_SLOPE] = (trend.log_slope, trend.draws)
    money = _figure_rows(figures, HARROW_COST_FIGURES)
    part_gbp, full_gbp = (float(v) for v in money["value"])
    part_text, full_text = (_as_published(r) for _, r in money.iterrows())
    whole = Reading(
        "whole_fy",
        "the new rate for the whole financial year",
        flat_path(fy_start, "after"),
        flat_path(fy_start),
    )
    year = _financial_year(fy_start)[0]
    money_t = (part_gbp, full_gbp, part_text, full_text)
    return _Harrow(rate, dates, rates, readings, given, money_t, effect_start, year, whole)


def first_intervention(periods: Mapping) -> str:
    """The start (YYYY-MM-DD) of the earliest intervention period: the go-live date."""
    starts = [p.start for p in its.make_periods(periods) if p.kind == "intervention"]
    if not starts:
        raise StudyInputError("periods has no intervention period (no go-live date)")
    return f"{min(starts):%Y-%m-%d}"


def harrow_rates(
    figures: pd.DataFrame,
    unit_cost: UnitCosts,
    *,
    periods: Mapping,
    fy_start: str,
    full_effect: str | None,
    exposure_weeks: tuple[float, float],
    reading: str,
    n_draws: int,
    alpha: float,
    seed: int,
    its_route: Costings | None = None,
    site: str = "harrow",
) -> Costings:
    """Harrow's published weekly rates in £ under one reading, against the published £ figures.

    The rates of `figures` (figures.csv), read as `harrow_readings_of(...)[reading]` from the
    start of the first intervention period (`periods`), each rate Poisson over its exposure
    (`harrow_rate_inputs`), costed by `study.costs.path_cost_avoidance` over the financial year
    from `fy_start`: part-year and full-year counting, and a whole financial year at the new
    rate (part-year). `reading` may also be `ITS_TREND` (the published path against the ITS
    pre-period trend of `its_route`) or `ITS_ROUTE` (the ITS section's costings of the weekly
    series, relabelled; their rows take the series' data kind). `.table`: their nine labelled
    rows; `.tables`: "published_comparison", "decomposition" (interval width by source),
    "sensitivity" (`harrow_rates_sensitivity`); `.figures["tornado_harrow_rates"]`; `.text`:
    `harrow_summary`.
    """
    _check_reading(reading, its_route)
    name = site_label(site)
    h = _harrow(figures, its_route, periods=periods, fy_start=fy_start, full_effect=full_effect,
                exposure_weeks=exposure_weeks)  # fmt: skip
    dates, rates, readings, given = h.dates, h.rates, h.readings, h.given
    part_gbp, full_gbp, part_text, full_text = h.money
    effect_start, year, whole = h.effect_start, h.year, h.whole
    draws = dict(unit_cost=unit_cost.cost, first_week=fy_start, n_draws=n_draws, alpha=alpha)
    costings = {}
    for rule in RULE_LABELS:
        label = f"{name} {year} {RULE_LABELS[rule]}"
        if reading == ITS_ROUTE:
            costings[rule] = replace(its_route.costings[rule], label=label)
        else:
            costings[rule] = costs.path_cost_avoidance(
                readings[reading], rates, rule=rule, seed=seed, label=label, given=given, **draws
            )
    costings["whole_fy"] = costs.path_cost_avoidance(
        whole, rates, seed=seed, label=f"{name}, a whole financial year at the new rate", **draws
    )
    later = sorted(  # the later intervention periods' starts, labelled by period name
        (f"{p.start:%Y-%m-%d}", p.name.removeprefix("innovation_").replace("_", " "))
        for p in its.make_periods(periods)
        if p.kind == "intervention" and f"{p.start:%Y-%m-%d}" != effect_start
    )
    sensitivity = harrow_rates_sensitivity(
        readings,
        rates,
        dates,
        reading=reading if reading in readings else "step",
        base_path=its_route.avoided if reading == ITS_ROUTE else None,
        base=costings["part_year"],
        unit_costs=unit_cost.units,
        published_gbp=part_gbp,
        fy_start=fy_start,
        effect_starts={
            day_text(fy_start): fy_start,
            day_text(effect_start): effect_start,
            **{f"{n} ({d})": d for d, n in later},
        },
        alpha=alpha,
        seed=seed,
        given={k: v for k, (v, _) in given.items()},
    )
    source = published.figures_source(
        [HARROW_RATE_FIGURES[k] for k in ("pre", "before", "midyear", "after")], figures
    )
    kind, where = "published", f"{source}; {unit_cost.cost_source}"
    if reading in (ITS_TREND, ITS_ROUTE):
        kind = its_route.data_kind
        where = f"{source}; {its_route.source}" if reading == ITS_TREND else its_route.source
    table = pd.concat(
        [
            labelled(
                _costings_table([costings[r] for r in RULE_LABELS]),
                site=site,
                data_kind=kind,
                source=where,
            ),
            labelled(
                costings["whole_fy"].table(),
                site=site,
                data_kind="published",
                source=f"{source}; {unit_cost.cost_source}",
            ),
        ],
        ignore_index=True,
    )
    comparison = costs.published_comparison(
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
        title=f"{name} {year} cost avoidance, reading {reading} (part-year base)",
        reference={
            f"published {part_text} part-year": part_gbp,
            f"published {full_text}": full_gbp,
        },
    )
    reading_label = (
        f"ITS route: {costings['part_year'].source}"
        if reading == ITS_ROUTE
        else readings[reading].label
    )
    text = costing_summary(
        costings,
        sensitivity,
        reading_label=f"reading {reading}: {reading_label}",
        published_part_gbp=part_gbp,
        published_full_gbp=full_gbp,
        full_text=full_text,
        exposure_weeks=exposure_weeks,
        unit_cost_cv=unit_cost.cost_cv,
        site_label=name,
    )
    return Costings(
        table=table,
        text=text,
        view=_view(table),
        figures={"tornado_harrow_rates": tornado},
        tables={
            "published_comparison": comparison,
            "decomposition": decomposition,
            "sensitivity": sensitivity.table(),
        },
        costings=costings,
    )


def harrow_readings(
    figures: pd.DataFrame,
    unit_cost: UnitCosts,
    its_route: Costings,
    *,
    periods: Mapping,
    fy_start: str,
    full_effect: str | None,
    exposure_weeks: tuple[float, float],
    reading: str,
    full_year_tolerance_gbp: float,
    n_draws: int,
    alpha: float,
    seed: int,
    site: str = "harrow",
) -> AnalysisResult:
    """Every reading of Harrow's published path side by side, with the ITS route beside them.

    Each reading of `harrow_readings_of` costed part-year by `study.costs.path_cost_avoidance`
    (as `harrow_rates`, same seed), and the `ITS_TREND` reading (the published path against the
    ITS pre-period trend continued; its interval also carries the ITS coefficient draws of the
    slope); the ITS route is `its_route.costings["part_year"]`. For each: avoided starts,
    person-weeks, £ with its interval and Monte Carlo SE, the weekly cost the published
    part-year £ implies with its interval (`CostAvoidance.implied_cost_interval`), and
    `reading_checks` against the published rates and £ figures (the ITS route's rate checks:
    `its_rate_checks`, the published rate inside the fitted weekly count's interval). `reading`
    (any of `ALL_READINGS`) is marked as the default. `.table`: £, starts, person-weeks and
    implied cost per reading, and the weekly cost the published full-year £ implies for a whole
    financial year at the new rate; `.view`: the readings table; `.text`: `readings_summary`.
    """
    _check_reading(reading, its_route)
    name = site_label(site)
    h = _harrow(figures, its_route, periods=periods, fy_start=fy_start, full_effect=full_effect,
                exposure_weeks=exposure_weeks)  # fmt: skip
    rate, dates, rates, readings, given = h.rate, h.dates, h.rates, h.readings, h.given
    part_gbp, full_gbp, part_text, full_text = h.money
    effect_start, year, whole = h.effect_start, h.year, h.whole
    draws = dict(unit_cost=unit_cost.cost, first_week=fy_start, n_draws=n_draws, alpha=alpha)

    def label(n: str) -> str:
        return f"{name} {year} part-year, reading {n}"  # the default is marked in the note

    costings = {
        n: costs.path_cost_avoidance(r, rates, seed=seed, label=label(n), given=given, **draws)
        for n, r in readings.items()
    }
    whole = costs.path_cost_avoidance(
        whole,
        rates,
        seed=seed,
        label=f"{name}, a whole financial year at the new rate",
        **draws,
    )
    check = dict(
        rate=rate,
        dates=dates,
        effect_start=effect_start,
        published_gbp=part_gbp,
        full_year=whole,
        full_year_gbp=full_gbp,
        full_year_tolerance_gbp=full_year_tolerance_gbp,
    )
    checks = {n: costs.reading_checks(readings[n], costings[n], **check) for n in readings}
    its_part = its_route.costings["part_year"]
    checks[ITS_ROUTE] = {  # the £ checks, and the rates against the fit (n/a without one)
        **costs.reading_checks(readings["step"], its_part, **check),
        **(
            dict.fromkeys(costs.RATE_CHECKS)
            if its_route.fit is None
            else its_rate_checks(
                its_route.fit,
                rate,
                dates,
                effect_start=effect_start,
                n_draws=n_draws,
                alpha=alpha,
                seed=seed,
            )
        ),
    }
    source = published.figures_source(
        [
            *(HARROW_RATE_FIGURES[k] for k in ("pre", "before", "midyear", "after")),
            *HARROW_COST_FIGURES.values(),
        ],
        figures,
    )
    its_kind, its_source = its_route.data_kind, its_route.source
    rates_names = [n for n in readings if n != ITS_TREND]
    parts = [
        labelled(
            pd.concat(
                [
                    *(costings[n].table() for n in rates_names),
                    *(
                        costs.implied_cost_table(costings[n], part_gbp, part_text)
                        for n in rates_names
                    ),
                    costs.implied_cost_table(whole, full_gbp, full_text),
                ],
                ignore_index=True,
            ),
            site=site,
            data_kind="published",
            source=f"{source}; {unit_cost.cost_source}",
        )
    ]
    if ITS_TREND in readings:
        parts.append(
            labelled(
                pd.concat(
                    [
                        costings[ITS_TREND].table(),
                        costs.implied_cost_table(costings[ITS_TREND], part_gbp, part_text),
                    ],
                    ignore_index=True,
                ),
                site=site,
                data_kind=its_kind,
                source=f"{source}; {its_source}",
            )
        )
    parts.append(
        labelled(
            costs.implied_cost_table(its_part, part_gbp, part_text),
            site=site,
            data_kind=its_kind,
            source=its_source,
        )
    )
    table = pd.concat(parts, ignore_index=True)
    chosen = table["quantity"].str.startswith(f"{label(reading)}:")
    table.loc[chosen, "note"] = [f"{DEFAULT_NOTE}; {n}" if n else DEFAULT_NOTE
                                 for n in table.loc[chosen, "note"]]  # fmt: skip
    labels = {n: r.label for n, r in readings.items()}
    labels[ITS_ROUTE] = f"ITS counterfactual ({its_kind} weekly series); rate checks: " + (
        "n/a, no ITS fit given"
        if its_route.fit is None
        else f"the published rate inside the fitted weekly count's {its_part.level:.0%} interval"
    )
    if its_route.fit is not None and None in [checks[ITS_ROUTE][k] for k in costs.RATE_CHECKS]:
        labels[ITS_ROUTE] += " (n/a: the rate's date is outside the weekly series)"
    view = costs.readings_view(
        {**costings, ITS_ROUTE: its_part},
        checks,
        labels=labels,
        published_gbp=part_gbp,
        published_text=part_text,
        default=reading,
        column_names={
            "rate_before": f"{rate['before']:g} until {day_text(effect_start)}",
            "rate_midyear": f"{rate['midyear']:g} by {day_text(dates['midyear'])}",
            "rate_after": f"{rate['after']:g} by {day_text(dates['after'])}",
            "published_inside": f"{part_text} in CI",
            "ascfr_inside_implied": f"ASC-FR £{unit_cost.cost.mean_gbp:,.0f}/wk in £/wk CI",
            "shares_full_year_cost": f"one £/wk with {full_text}",
        },
    )
    text = readings_summary(
        {**costings, ITS_ROUTE: its_part},
        checks,
        readings,
        default=reading,
        published_text=part_text,
        full_year_text=full_text,
        published_gbp=part_gbp,
        effect_start=effect_start,
    )
    implied_full = whole.implied_cost_interval(full_gbp)
    text += (
        f" A whole financial year at the new rate needs £{implied_full['estimate']:,.0f} a week "
        f"({whole.level:.0%} interval £{implied_full['ci_low']:,.0f} to "
        f"£{implied_full['ci_high']:,.0f}) to give {full_text}. The ITS route "
        f"({its_kind} series) is set beside them, not ranked: it costs a weekly series, not the "
        "published rates."
    )
    if ITS_TREND in readings:
        text += (
            f" Reading {ITS_TREND} takes its counterfactual's trend from the {its_kind} series "
            f"({its_route.pre_trend.method}); its rows are labelled {its_kind}."
        )
    elif its_route.pre_trend_note:
        text += f" Reading {ITS_TREND} is left out: {its_route.pre_trend_note}."
    return AnalysisResult(table=table, text=text, view=view)


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
    site: str = "harrow",
    series_name: str = "new_long_term_starts",
) -> Costings:
    """A site's avoided starts from an interrupted time series of the weekly series, in £.

    `weekly` (read from `weekly_path`) is cut at `last_week` (`study.its.data_up_to`: later
    periods are left out); the site's `series_name` counts over the financial year from
    `fy_start` are fitted by `study.its.fit_its` and costed by `study.costs.cost_avoidance` of
    the fit's avoided-start draws (`avoided_starts_of_fit`, `seed`; unit costs `seed + 1`: as
    `study.costs.its_cost_avoidance`) under both counting rules. The pre-period trend
    (`its_pre_trend`, the same model on the weeks before the first intervention, `seed + 2`)
    is carried for the readings table. `.table`: six labelled rows (data kind from
    `weekly_path`); `.tables["sensitivity"]` and `.figures["tornado_harrow_its_synthetic"]`:
    `its_sensitivity`; `.text`: the data, what was left out, the pre-period trend and
    `cost_avoidance_summary` of the part-year costing.
    """
    name = site_label(site)
    cut = its.data_up_to(weekly, periods, {}, last_week)
    rows = cut.weekly.query("site == @site and series == @series_name")
    if rows.empty:
        raise StudyInputError(f"weekly has no {series_name!r} rows for site {site!r}")
    series = rows[["week_start", "count"]]
    year, fy_end = _financial_year(fy_start)
    model = dict(family=family, harmonics=harmonics, transition_weeks=transition_weeks)
    fit = its.fit_its(series, cut.periods, **model)
    avoided = avoided_starts.avoided_starts_of_fit(
        fit, fy_start, fy_end, n_model_draws=n_draws, seed=seed
    )
    costings = {
        rule: costs.cost_avoidance(
            avoided,
            unit_cost.cost,
            rule=rule,
            n_draws=n_draws,
            alpha=alpha,
            seed=seed + 1,
            label=f"{name} ITS {year} {RULE_LABELS[rule]}",
        )
        for rule in RULE_LABELS
    }
    try:
        pre_trend = its_pre_trend(
            series,
            cut.periods,
            go_live=first_intervention(cut.periods),
            n_draws=n_draws,
            seed=seed + 2,
            **model,
        )
        pre_note = ""
    except StudyInputError as exc:
        pre_trend, pre_note = None, f"the ITS pre-period cannot be fitted ({exc})"
    kind = data_kind(weekly_path)
    sensitivity = costs.its_sensitivity(
        series,
        cut.periods,
        unit_cost_gbp=unit_cost.cost.mean_gbp,
        seed=seed,
        kind=kind,
        window_start=fy_start,
        window_end=fy_end,
        **model,
    )
    source = f"{weekly_path}; {unit_cost.cost_source}"
    table = labelled(_costings_table(costings.values()), site=site, data_kind=kind, source=source)
    tornado = sensitivity.tornado()
    figure = plot_tornado(tornado, title=f"{name} ITS route ({kind.upper()} series): model choices")
    lines = [f"Data: `{weekly_path}` ({SYNTHETIC_NOTE if kind == 'synthetic' else kind})."]
    if cut.dropped:
        lines.append(f"After last_week {last_week}, left out: {'; '.join(cut.dropped)}.")
    if pre_trend is not None:
        level = costings["part_year"].level
        change = np.expm1(pre_trend.draws * WEEKS_PER_YEAR)
        low, high = np.percentile(change, [50 * (1 - level), 50 * (1 + level)])
        lines.append(
            f"Trend before {day_text(pre_trend.go_live)} ({pre_trend.method}): "
            f"{pre_trend.yearly_change():+.1%} a year ({level:.0%} interval {low:+.1%} to "
            f"{high:+.1%}); reading {ITS_TREND} continues it as the counterfactual."
        )
    else:
        lines.append(f"Reading {ITS_TREND} is not available: {pre_note}.")
    lines.append(costs.cost_avoidance_summary(costings["part_year"], tornado=tornado))
    return Costings(
        table=table,
        text="\n\n".join(lines),
        view=_view(table),
        figures={"tornado_harrow_its_synthetic": figure},
        tables={"sensitivity": sensitivity.table()},
        costings=costings,
        fit=fit,
        avoided=avoided,
        pre_trend=pre_trend,
        pre_trend_note=pre_note,
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
    site: str = "birmingham",
) -> AnalysisResult:
    """A published relative reduction (Birmingham's 36%) in £ over an assumed baseline and
    window.

    Baseline rate = `baseline_long_term` starts over the published comparison period
    (`figures`: its months x 52 / 12 weeks); avoided starts a week = baseline x the reduction
    over `window_weeks` weeks from `window_start`, both rates Poisson over the comparison
    period; costed by `study.costs.rates_cost_avoidance` under both counting rules. `.table`:
    six labelled rows; `.tables["grid"]`: £ thousand over `baseline_sensitivity` x (low, mean,
    high) unit cost (`reduction_grid`); `.tables["readings"]`: the baseline and window
    alternatives with intervals; `.text`: `reduction_summary`.
    """
    name = site_label(site)
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
            label=f"{name} evaluation window, {RULE_LABELS[rule]}",
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
        site=site,
        data_kind="published",
        source=f"{source}; {unit_cost.cost_source}",
    )
    text = reduction_summary(
        costings,
        grid,
        relative_reduction=reduction,
        baseline_per_week=baseline,
        n_weeks=window_weeks,
        site=name,
    )
    options = {f"baseline {b:g}": (b, window_weeks) for b in baseline_sensitivity}
    windows = sorted({window_weeks, round(comparison_weeks), WEEKS_PER_YEAR})
    options |= {f"window {w} weeks": (baseline_long_term, w) for w in windows}
    readings = {
        n: costs.rates_cost_avoidance(
            b / comparison_weeks,
            b / comparison_weeks * (1 - reduction),
            unit_cost=unit_cost.cost,
            first_week=window_start,
            n_weeks=w,
            exposure_weeks_before=float(comparison_weeks),
            exposure_weeks_after=float(comparison_weeks),
            n_draws=n_draws,
            alpha=alpha,
            seed=seed,
        )
        for n, (b, w) in options.items()
    }
    labels = {
        n: f"{b:g} people over {f['months']:g} months, {w} weeks from {day_text(window_start)}"
        for n, (b, w) in options.items()
    }
    default = next(n for n, o in options.items() if o == (baseline_long_term, window_weeks))
    view = costs.readings_view(readings, {}, labels=labels, default=default)
    return AnalysisResult(
        table=table,
        text=text,
        view=_view(table),
        tables={"grid": grid_thousands(grid), "readings": view},
    )
