"""Cost avoidance in £: unit costs, avoided starts, and Monte Carlo intervals.

£ avoided = sum over weeks of avoided long-term starts x weeks of cost counted x weekly unit
cost. The pieces, in the order an estimate is built:

- unit costs (`UnitCost`, `CareMixCost`), from the NHS Digital ASC-FR/SALT 2021-22 cells that
  `study.data.national.cost_figures` reads (`ascfr_unit_costs`, `care_mix_from_ascfr`);
- weekly avoided starts (`study.avoided_starts.AvoidedStarts`) from two published rates
  (`avoided_starts_from_rates`), a relative reduction (`avoided_starts_from_reduction`) or an
  interrupted time series (`its_avoided_starts`);
- the counting rule (`weeks_counted`): ``part_year`` counts each avoided person from the week
  they would have started to 31 March (a start in financial-year week w counts 53 - w weeks),
  ``full_year`` counts 52 weeks each (the annualised cost of the people avoided);
- the Monte Carlo (`cost_avoidance`): draw i pairs one resampled draw of the avoided-start model
  with one unit-cost draw; percentile interval of the products, and the share of the interval
  due to each source (`CostAvoidance.decomposition`).

`rates_cost_avoidance` and `its_cost_avoidance` are the two routes end to end; the notebook-level
assembly (scenarios, sensitivity, sentences) is `study.analyses.cost_avoidance`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from study.avoided_starts import AvoidedStarts
from study.bootstrap import percentile_interval
from study.checks import (
    check_alpha,
    check_count,
    check_nonnegative,
    check_positive,
    check_proportion,
)
from study.errors import StudyInputError
from study.tidy import WEEKS_PER_YEAR, confidence_level, estimate_table, label_quantity

RULES = ("part_year", "full_year")
DISTRIBUTIONS = ("fixed", "normal", "gamma", "lognormal", "uniform")
MC_PERCENTILE = "Monte Carlo percentile"


def _check_n_draws(n_draws: int, name: str = "n_draws") -> int:
    n = check_count(n_draws, name)
    if n < 1000:
        raise StudyInputError(f"{name} must be at least 1000, got {n_draws!r}")
    return n


def _check_rule(rule: str) -> str:
    if rule not in RULES:
        raise StudyInputError(f"rule must be one of {RULES}, got {rule!r}")
    return rule


# --------------------------------------------------------------------------- financial year


def _to_days(dates, name: str = "week_dates") -> np.ndarray:
    try:
        arr = np.asarray(pd.to_datetime(np.asarray(dates).ravel())).astype("datetime64[D]")
    except (ValueError, TypeError) as exc:
        raise StudyInputError(f"{name} must be dates (YYYY-MM-DD), got {dates!r:.60}") from exc
    if np.isnat(arr).any():
        raise StudyInputError(f"{name} contains missing dates")
    return arr


def financial_year_start(dates) -> np.ndarray:
    """1 April of the financial year (1 April - 31 March) that holds each date."""
    d = _to_days(dates)
    year = d.astype("datetime64[Y]").astype(int) + 1970
    month = d.astype("datetime64[M]").astype(int) % 12 + 1
    fy_year = year - (month < 4)
    return ((fy_year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + 3).astype(
        "datetime64[D]"
    )


def financial_year_week(dates) -> np.ndarray:
    """Week of the financial year, 1..52: 1 + whole weeks since 1 April (days 364-365 -> 52)."""
    d = _to_days(dates)
    days = (d - financial_year_start(d)).astype(int)
    return np.minimum(days // 7 + 1, WEEKS_PER_YEAR)


def weeks_counted(dates, rule: str = "part_year") -> np.ndarray:
    """Weeks of cost counted for one avoided start in the week of each date.

    part_year: 53 - financial-year week (to 31 March, the start week included); full_year: 52.
    """
    _check_rule(rule)
    if rule == "full_year":
        return np.full(_to_days(dates).shape, float(WEEKS_PER_YEAR))
    return (WEEKS_PER_YEAR + 1 - financial_year_week(dates)).astype(float)


def weekly_dates(start: str, n_weeks: int) -> np.ndarray:
    """`n_weeks` consecutive week-start dates from `start` (datetime64[D])."""
    n = check_count(n_weeks, "n_weeks")
    if n == 0:
        raise StudyInputError("n_weeks must be at least 1")
    return _to_days([start], "start")[0] + 7 * np.arange(n)


# --------------------------------------------------------------------------- unit costs


@dataclass(frozen=True)
class UnitCost:
    """Mean weekly cost per long-term client (£/week) and the uncertainty about that mean.

    distribution: "fixed" (no uncertainty), "normal", "gamma" (shape (m/s)^2, scale s^2/m),
    "lognormal" (moments matched to mean m and SD s) or "uniform" (m +/- sqrt(3) s). With
    sd_gbp = 0 every distribution is the fixed value.
    """

    mean_gbp: float
    sd_gbp: float = 0.0
    distribution: str = "gamma"
    source: str = ""

    def __post_init__(self) -> None:
        check_positive(self.mean_gbp, "mean_gbp")
        check_nonnegative(self.sd_gbp, "sd_gbp")
        if self.distribution not in DISTRIBUTIONS:
            raise StudyInputError(
                f"distribution must be one of {DISTRIBUTIONS}, got {self.distribution!r}"
            )
        if self.distribution == "uniform" and self.mean_gbp - math.sqrt(3) * self.sd_gbp < 0:
            raise StudyInputError("sd_gbp too large for a uniform unit cost (lower end below £0)")

    @classmethod
    def from_range(cls, low_gbp: float, high_gbp: float, source: str = "") -> UnitCost:
        """Uniform on [low_gbp, high_gbp] (mean (l+h)/2, SD (h-l)/sqrt(12))."""
        low = check_positive(low_gbp, "low_gbp")
        high = check_positive(high_gbp, "high_gbp")
        if high < low:
            raise StudyInputError(f"high_gbp ({high_gbp}) must be >= low_gbp ({low_gbp})")
        return cls((low + high) / 2, (high - low) / math.sqrt(12), "uniform", source)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` draws of the mean weekly cost."""
        m, s = self.mean_gbp, self.sd_gbp
        if self.distribution == "fixed" or s == 0:
            return np.full(n, m)
        if self.distribution == "normal":
            return rng.normal(m, s, n)
        if self.distribution == "gamma":
            return rng.gamma((m / s) ** 2, s**2 / m, n)
        if self.distribution == "lognormal":
            sigma2 = math.log1p((s / m) ** 2)
            return rng.lognormal(math.log(m) - sigma2 / 2, math.sqrt(sigma2), n)
        half = math.sqrt(3) * s
        return rng.uniform(m - half, m + half, n)

    def describe(self) -> str:
        """One line: "£462/week (gamma, SD £92)"."""
        if self.distribution == "fixed" or self.sd_gbp == 0:
            return f"£{self.mean_gbp:,.0f}/week (fixed)"
        return f"£{self.mean_gbp:,.0f}/week ({self.distribution}, SD £{self.sd_gbp:,.0f})"


@dataclass(frozen=True)
class CareMixCost:
    """Weekly cost of a mix of residential/nursing and community long-term clients.

    cost = share x residential + (1 - share) x community; the share has a beta distribution with
    mean `residential_share` and SD `residential_share_sd` (fixed if 0); the two costs are drawn
    independently from their own UnitCost distributions.
    """

    residential: UnitCost
    community: UnitCost
    residential_share: float
    residential_share_sd: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        p = check_proportion(self.residential_share, "residential_share")
        sd = check_nonnegative(self.residential_share_sd, "residential_share_sd")
        if sd > 0 and sd**2 >= p * (1 - p):
            raise StudyInputError(
                f"residential_share_sd ({sd}) must be below sqrt(p(1-p)) = "
                f"{math.sqrt(p * (1 - p)):.4g}"
            )

    @property
    def mean_gbp(self) -> float:
        p = self.residential_share
        return p * self.residential.mean_gbp + (1 - p) * self.community.mean_gbp

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` draws of the mix's mean weekly cost."""
        p, sd = self.residential_share, self.residential_share_sd
        if sd > 0:
            nu = p * (1 - p) / sd**2 - 1
            share = rng.beta(p * nu, (1 - p) * nu, n)
        else:
            share = np.full(n, p)
        res = self.residential.draw(n, rng)
        com = self.community.draw(n, rng)
        return share * res + (1 - share) * com

    def describe(self) -> str:
        return (
            f"£{self.mean_gbp:,.0f}/week: {self.residential_share:.1%} residential/nursing at "
            f"{self.residential.describe()}, the rest community at {self.community.describe()}"
        )


CostModel = UnitCost | CareMixCost


def unit_cost_interval(cost: CostModel, alpha: float = 0.05, seed: int = 0) -> tuple[float, float]:
    """Percentile interval of 100,000 draws of a unit cost (`np.random.default_rng(seed)`)."""
    alpha = check_alpha(alpha)
    return percentile_interval(cost.draw(100_000, np.random.default_rng(seed)), alpha)


# --------------------------------------------------------------------------- ASC-FR unit costs


def ascfr_unit_costs(figures: pd.DataFrame) -> pd.DataFrame:
    """Weekly unit costs and the care mix of new long-term clients derived from ASC-FR figures.

    `figures` is `study.data.national.cost_figures` output (one geography):
    - residential/nursing £/week: T52 "Residential and Nursing" (per year and age band);
    - community £/week: T43 + T44 community spend (supported accommodation, direct payments,
      home care, supported living, other) / community clients / 52, with clients at
      31 March (T38; the point value) or during the year (T34; a lower value, since people
      who left during the year count as whole clients);
    - residential share of new long-term clients: (nursing + residential) / all long-term
      outcomes of new-client requests (T10 + T11; counts rounded to 5), with its binomial SD.
    Suppressed cells ([c], fewer than 5) count as 0. Returns columns measure, value, unit,
    source (file, sheet and row of every input).
    """
    f = figures.set_index("measure")
    edition = Path(str(figures["source"].iloc[0])).stem

    def cite(measures: Sequence[str]) -> str:
        sub = f.loc[list(measures)]
        parts = sorted(
            {f"{s} row {r}" for s, r in zip(sub["sheet"], sub["excel_row"], strict=True)}
        )
        return f"{edition} " + ", ".join(parts)

    def year_of(measures: Sequence[str]) -> str:
        return "/".join(sorted(set(f.loc[list(measures), "year"])))

    geo = str(figures["geography"].iloc[0])
    rows = []
    for m in f.index:
        if m.startswith(("res_nursing_", "home_care_")):
            rows.append(
                {
                    "measure": m,
                    "value": float(f.loc[m, "value"]),
                    "unit": f.loc[m, "unit"],
                    "source": f"{edition} {f.loc[m, 'cell']}, {f.loc[m, 'label']}, "
                    f"{f.loc[m, 'year']} ({geo})",
                }
            )
    spend = [m for m in f.index if m.startswith("spend_")]
    total_spend = float(f.loc[spend, "value"].sum()) * 1000
    for when, label in (
        ("end", "clients at 31 March (T38)"),
        ("during", "clients during year (T34)"),
    ):
        clients = [m for m in f.index if m.startswith(f"clients_{when}_")]
        n_clients = float(f.loc[clients, "value"].sum())
        rows.append(
            {
                "measure": f"community_weekly_{when}",
                "value": total_spend / n_clients / WEEKS_PER_YEAR,
                "unit": "GBP/week",
                "source": f"community spend {year_of(spend)} / {label} / 52: "
                f"{cite(spend + clients)} ({geo})",
            }
        )
    new = [m for m in f.index if m.startswith("new_lt_")]
    res = [m for m in new if m.endswith(("Nursing", "Residential"))]
    n_new = float(f.loc[new, "value"].sum())
    share = float(f.loc[res, "value"].sum()) / n_new
    rows.append(
        {
            "measure": "residential_share_new_lt",
            "value": share,
            "unit": "share",
            "source": f"new-client requests to long-term nursing+residential / all long-term, "
            f"{year_of(new)}, n={n_new:.0f}: {cite(new)} ({geo})",
        }
    )
    rows.append(
        {
            "measure": "residential_share_new_lt_sd",
            "value": math.sqrt(share * (1 - share) / n_new),
            "unit": "share",
            "source": "binomial SD sqrt(p(1-p)/n) of the share above",
        }
    )
    return pd.DataFrame(rows)


def care_mix_from_ascfr(
    unit_costs: pd.DataFrame,
    *,
    residential_measure: str = "res_nursing_total_2020_21",
    community_measure: str = "community_weekly_end",
    cost_cv: float = 0.2,
    distribution: str = "gamma",
) -> CareMixCost:
    """A CareMixCost from `ascfr_unit_costs` output.

    Each component cost gets SD = cost_cv x mean (a stated judgement: the avoided clients need
    not cost the borough average); the residential share gets its binomial SD.
    """
    cv = check_nonnegative(cost_cv, "cost_cv")
    u = unit_costs.set_index("measure")
    for m in (residential_measure, community_measure, "residential_share_new_lt"):
        if m not in u.index:
            raise StudyInputError(f"unit_costs has no measure {m!r}")
    r = float(u.loc[residential_measure, "value"])
    c = float(u.loc[community_measure, "value"])
    return CareMixCost(
        residential=UnitCost(r, cv * r, distribution, str(u.loc[residential_measure, "source"])),
        community=UnitCost(c, cv * c, distribution, str(u.loc[community_measure, "source"])),
        residential_share=float(u.loc["residential_share_new_lt", "value"]),
        residential_share_sd=float(u.loc["residential_share_new_lt_sd", "value"]),
        source=str(u.loc["residential_share_new_lt", "source"]),
    )


# --------------------------------------------------------------------------- avoided starts


def person_weeks(avoided: AvoidedStarts, rule: str = "part_year") -> tuple[float, np.ndarray]:
    """(point, per-draw) avoided person-weeks: each week's avoided starts x `weeks_counted`."""
    w = weeks_counted(avoided.week_start, rule)
    return float(avoided.estimate @ w), avoided.draws @ w


def effect_ramp(
    week_dates,
    effect_start: str | None,
    full_effect: str | None,
    anchors: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Share of the full effect reached in each week.

    Linear from `effect_start` (0) to `full_effect` (1); a step at `effect_start` when the two
    dates are equal or `full_effect` is None; the full effect throughout if both are None.
    `anchors` ({date: share}) overrides both: linear interpolation between the anchors, flat
    before the first and after the last (e.g. a published path 7.2 -> 6.1 -> 5.5 a week).
    """
    d = _to_days(week_dates)
    if anchors is not None:
        if not isinstance(anchors, Mapping) or len(anchors) == 0:
            raise StudyInputError("anchors must map at least one date to a share of the effect")
        when = _to_days(list(anchors), "anchors")
        share = np.array([float(v) for v in anchors.values()])
        if not np.all(np.isfinite(share)):
            raise StudyInputError("anchors must have finite shares")
        if np.any(np.diff(when.astype(int)) <= 0):
            raise StudyInputError("anchors dates must be strictly increasing")
        return np.interp(d.astype(int).astype(float), when.astype(int).astype(float), share)
    if effect_start is None:
        if full_effect is not None:
            raise StudyInputError("full_effect needs effect_start")
        return np.ones(d.size)
    s = _to_days([effect_start], "effect_start")[0]
    if full_effect is None:
        return (d >= s).astype(float)
    e = _to_days([full_effect], "full_effect")[0]
    if e < s:
        raise StudyInputError(
            f"full_effect ({full_effect}) is before effect_start ({effect_start})"
        )
    if e == s:
        return (d >= s).astype(float)
    return np.clip((d - s).astype(float) / float((e - s).astype(int)), 0.0, 1.0)


def _rate_draws(rate: float, exposure: float | None, n: int, rng, name: str) -> np.ndarray:
    if exposure is None:
        return np.full(n, rate)
    t = check_positive(exposure, name)
    if rate == 0:
        return np.zeros(n)
    return rng.gamma(rate * t, 1.0 / t, n)


def avoided_starts_from_rates(
    rate_before_per_week: float,
    rate_after_per_week: float,
    week_dates,
    *,
    exposure_weeks_before: float | None = None,
    exposure_weeks_after: float | None = None,
    effect_start: str | None = None,
    full_effect: str | None = None,
    anchors: Mapping[str, float] | None = None,
    n_draws: int = 10_000,
    seed: int = 0,
) -> AvoidedStarts:
    """Weekly avoided starts from two aggregate rates (e.g. Harrow 7.2 -> 5.5 per week).

    avoided(w) = (rate_before - rate_after) x ramp(w) (see `effect_ramp`). Sampling uncertainty:
    each rate is a Poisson count over its exposure, drawn as Gamma(shape = rate x weeks,
    scale = 1 / weeks) (the posterior of a Poisson rate under the 1/lambda prior, mean = the
    published rate); exposure None = the rate is taken as known.
    """
    r0 = check_nonnegative(rate_before_per_week, "rate_before_per_week")
    r1 = check_nonnegative(rate_after_per_week, "rate_after_per_week")
    n = _check_n_draws(n_draws)
    ramp = effect_ramp(week_dates, effect_start, full_effect, anchors)
    rng = np.random.default_rng(seed)
    l0 = _rate_draws(r0, exposure_weeks_before, n, rng, "exposure_weeks_before")
    l1 = _rate_draws(r1, exposure_weeks_after, n, rng, "exposure_weeks_after")
    draws = (l0 - l1)[:, None] * ramp[None, :]
    src = f"rates {r0:g} -> {r1:g} a week"
    if exposure_weeks_before is not None or exposure_weeks_after is not None:
        weeks = [
            "known" if t is None else f"{t:g} weeks"
            for t in (exposure_weeks_before, exposure_weeks_after)
        ]
        src += f", Poisson over {weeks[0]} / {weeks[1]}"
    return AvoidedStarts(_to_days(week_dates), (r0 - r1) * ramp, draws, src)


def avoided_starts_from_reduction(
    baseline_per_week: float,
    relative_reduction: float,
    week_dates,
    *,
    exposure_weeks: float | None = None,
    effect_start: str | None = None,
    full_effect: str | None = None,
    n_draws: int = 10_000,
    seed: int = 0,
) -> AvoidedStarts:
    """Avoided starts from a baseline rate and a relative reduction (Birmingham: 36%).

    rate_after = baseline x (1 - reduction); both rates Poisson over `exposure_weeks`
    (see `avoided_starts_from_rates`).
    """
    b = check_nonnegative(baseline_per_week, "baseline_per_week")
    r = check_proportion(relative_reduction, "relative_reduction")
    return avoided_starts_from_rates(
        b,
        b * (1 - r),
        week_dates,
        exposure_weeks_before=exposure_weeks,
        exposure_weeks_after=exposure_weeks,
        effect_start=effect_start,
        full_effect=full_effect,
        n_draws=n_draws,
        seed=seed,
    )


def its_avoided_starts(
    data: pd.DataFrame,
    periods,
    *,
    window_start: str,
    window_end: str,
    family: str = "quasi_poisson",
    harmonics: int = 1,
    transition_weeks: int = 0,
    exposure: str | None = None,
    n_model_draws: int = 2000,
    seed: int = 0,
) -> AvoidedStarts:
    """Fit `study.its.fit_its` to a weekly series and return the window's avoided starts.

    Weeks whose Monday lies in [window_start, window_end]; draws from the ITS coefficients'
    normal sampling distribution (`study.its.avoided_starts_draws`).
    """
    from study import its

    fit = its.fit_its(
        data,
        periods,
        family=family,
        harmonics=harmonics,
        transition_weeks=transition_weeks,
        exposure=exposure,
    )
    res = its.avoided_starts_draws(fit, window_start, window_end, n_draws=n_model_draws, seed=seed)
    note = f"{family}, {harmonics} harmonic(s), {transition_weeks} transition week(s)"
    return replace(res, method=f"ITS counterfactual ({note})")


# --------------------------------------------------------------------------- Monte Carlo


@dataclass(frozen=True, eq=False)
class CostAvoidance:
    """Cost avoidance in £ with its Monte Carlo draws, split into model and unit-cost parts."""

    label: str
    rule: str
    alpha: float
    n_draws: int
    point_gbp: float
    draws_gbp: np.ndarray
    starts_point: float
    starts_draws: np.ndarray
    person_weeks_point: float
    person_weeks_draws: np.ndarray
    unit_cost_mean_gbp: float
    unit_cost_draws: np.ndarray
    unit_cost: CostModel
    source: str = ""

    @property
    def level(self) -> float:
        return confidence_level(self.alpha)

    @property
    def interval(self) -> tuple[float, float]:
        """Percentile interval of the £ draws (`study.bootstrap.percentile_interval`)."""
        return percentile_interval(self.draws_gbp, self.alpha)

    def implied_weekly_cost(self, published_gbp: float) -> float:
        """Weekly cost per client that reproduces a published £ figure: £ / point person-weeks."""
        total = check_positive(published_gbp, "published_gbp")
        if self.person_weeks_point <= 0:
            raise StudyInputError("avoided starts give no positive person-weeks; no implied cost")
        return total / self.person_weeks_point

    def table(self) -> pd.DataFrame:
        """Tidy estimates: £ avoided, avoided starts and person-weeks (percentile intervals)."""
        method = f"{MC_PERCENTILE} ({self.n_draws} draws: model + unit cost)"
        rule = "part-year to 31 March" if self.rule == "part_year" else "full year (52 weeks each)"
        rows = []
        for qty, pt, draws, m, note in (
            (
                "cost avoided (GBP)",
                self.point_gbp,
                self.draws_gbp,
                method,
                f"{rule}; unit cost {self.unit_cost.describe()}; avoided starts: {self.source}",
            ),
            (
                "avoided long-term starts",
                self.starts_point,
                self.starts_draws,
                f"{MC_PERCENTILE} ({self.n_draws} draws: model)",
                self.source,
            ),
            (
                "avoided person-weeks of care",
                self.person_weeks_point,
                self.person_weeks_draws,
                f"{MC_PERCENTILE} ({self.n_draws} draws: model)",
                rule,
            ),
        ):
            low, high = percentile_interval(draws, self.alpha)
            rows.append(
                {
                    "quantity": label_quantity(self.label, qty),
                    "estimate": pt,
                    "ci_low": low,
                    "ci_high": high,
                    "level": self.level,
                    "method": m,
                    "n": self.n_draws,
                    "note": note,
                }
            )
        return estimate_table(rows)

    def decomposition(self) -> pd.DataFrame:
        """Interval width with only model, only unit-cost, and both uncertainties.

        model only: person-weeks draws x mean unit cost; unit cost only: point person-weeks x
        unit-cost draws; both: the products. share_of_variance = Var(part) / Var(both); the
        remainder (1 - sum) is the interaction of the two sources.
        """
        parts = {
            "model only": self.person_weeks_draws * self.unit_cost_mean_gbp,
            "unit cost only": self.person_weeks_point * self.unit_cost_draws,
            "both": self.draws_gbp,
        }
        var_both = float(np.var(self.draws_gbp))
        rows = []
        for name, x in parts.items():
            low, high = percentile_interval(x, self.alpha)
            share = float(np.var(x)) / var_both if var_both > 0 else float("nan")
            rows.append(
                {
                    "quantity": label_quantity(self.label, "cost avoided (GBP)"),
                    "uncertainty": name,
                    "ci_low": low,
                    "ci_high": high,
                    "width_gbp": high - low,
                    "share_of_variance": share,
                    "level": self.level,
                }
            )
        return pd.DataFrame(rows)


def cost_avoidance(
    avoided: AvoidedStarts,
    unit_cost: CostModel,
    *,
    rule: str = "part_year",
    n_draws: int = 10_000,
    alpha: float = 0.05,
    seed: int = 0,
    label: str = "",
) -> CostAvoidance:
    """£ avoided = sum over weeks of avoided starts x weeks counted (rule) x weekly unit cost.

    Point: the avoided-start point path x mean unit cost. Interval: Monte Carlo with
    `np.random.default_rng(seed)`: `n_draws` rows resampled with replacement from the model's
    draws, each multiplied by an independent unit-cost draw; percentile interval.
    """
    _check_rule(rule)
    n = _check_n_draws(n_draws)
    alpha = check_alpha(alpha)
    if not isinstance(unit_cost, UnitCost | CareMixCost):
        raise StudyInputError(f"unit_cost must be a UnitCost or CareMixCost, got {unit_cost!r:.60}")
    rng = np.random.default_rng(seed)
    pw_point, pw_all = person_weeks(avoided, rule)
    idx = rng.integers(0, avoided.draws.shape[0], n)
    pw = pw_all[idx]
    starts = avoided.draws.sum(axis=1)[idx]
    costs = unit_cost.draw(n, rng)
    mean_cost = unit_cost.mean_gbp
    return CostAvoidance(
        label=label,
        rule=rule,
        alpha=alpha,
        n_draws=n,
        point_gbp=pw_point * mean_cost,
        draws_gbp=pw * costs,
        starts_point=float(avoided.estimate.sum()),
        starts_draws=starts,
        person_weeks_point=pw_point,
        person_weeks_draws=pw,
        unit_cost_mean_gbp=mean_cost,
        unit_cost_draws=costs,
        unit_cost=unit_cost,
        source=avoided.method,
    )


def rates_cost_avoidance(
    rate_before_per_week: float,
    rate_after_per_week: float,
    *,
    unit_cost: CostModel,
    first_week: str,
    n_weeks: int = WEEKS_PER_YEAR,
    exposure_weeks_before: float | None = None,
    exposure_weeks_after: float | None = None,
    effect_start: str | None = None,
    full_effect: str | None = None,
    anchors: Mapping[str, float] | None = None,
    rule: str = "part_year",
    n_draws: int = 10_000,
    alpha: float = 0.05,
    seed: int = 0,
    label: str = "",
) -> CostAvoidance:
    """£ avoided by a drop from one weekly rate to another, with a Monte Carlo interval.

    Avoided starts in each of the `n_weeks` weeks from `first_week`: (rate_before - rate_after)
    x the share of the drop reached that week (`effect_ramp`: a step at `effect_start`, linear
    to `full_effect`, or the `anchors` path). Each rate is a Poisson rate over its exposure,
    drawn as Gamma(rate x weeks, 1 / weeks) (`avoided_starts_from_rates`, `seed`). £ = avoided
    starts x weeks counted (`rule`) x weekly unit cost; interval: `n_draws` rate draws paired
    with independent unit-cost draws (`cost_avoidance`, `seed + 1`), percentile interval
    (alpha/2, 1 - alpha/2) of the products.
    """
    av = avoided_starts_from_rates(
        rate_before_per_week,
        rate_after_per_week,
        weekly_dates(first_week, n_weeks),
        exposure_weeks_before=exposure_weeks_before,
        exposure_weeks_after=exposure_weeks_after,
        effect_start=effect_start,
        full_effect=full_effect,
        anchors=anchors,
        n_draws=n_draws,
        seed=seed,
    )
    return cost_avoidance(
        av, unit_cost, rule=rule, n_draws=n_draws, alpha=alpha, seed=seed + 1, label=label
    )


def its_cost_avoidance(
    data: pd.DataFrame,
    periods,
    *,
    unit_cost: CostModel,
    window_start: str,
    window_end: str,
    family: str = "quasi_poisson",
    harmonics: int = 1,
    transition_weeks: int = 0,
    exposure: str | None = None,
    rule: str = "part_year",
    n_model_draws: int = 2000,
    n_draws: int = 10_000,
    alpha: float = 0.05,
    seed: int = 0,
    label: str = "",
) -> CostAvoidance:
    """£ avoided by the weeks of an interrupted time series, with a Monte Carlo interval.

    Avoided starts: counterfactual - fitted weekly counts of `study.its.fit_its` over the weeks
    in [window_start, window_end], `n_model_draws` draws from the coefficients' normal sampling
    distribution (`its_avoided_starts`, `seed`). £ and its percentile interval as in
    `rates_cost_avoidance` (`cost_avoidance`, `seed + 1`).
    """
    av = its_avoided_starts(
        data,
        periods,
        window_start=window_start,
        window_end=window_end,
        family=family,
        harmonics=harmonics,
        transition_weeks=transition_weeks,
        exposure=exposure,
        n_model_draws=n_model_draws,
        seed=seed,
    )
    return cost_avoidance(
        av, unit_cost, rule=rule, n_draws=n_draws, alpha=alpha, seed=seed + 1, label=label
    )


def point_cost_avoidance(avoided: AvoidedStarts, weekly_cost_gbp: float, rule: str) -> float:
    """Point £ avoided: point person-weeks x weekly cost (no simulation)."""
    c = check_positive(weekly_cost_gbp, "weekly_cost_gbp")
    return person_weeks(avoided, rule)[0] * c


# --------------------------------------------------------------------------- sensitivity


def cost_sensitivity_grid(
    baselines_per_week: Sequence[float],
    weekly_costs_gbp: Sequence[float],
    *,
    relative_reduction: float,
    week_dates,
    rules: Sequence[str] = RULES,
    effect_start: str | None = None,
    full_effect: str | None = None,
) -> pd.DataFrame:
    """Point £ avoided over a grid of unknown baselines x unit costs x counting rules.

    For sites that publish only a relative reduction (Birmingham: 36%): avoided starts per week
    = baseline x reduction over `week_dates` (ramp as in `effect_ramp`).
    """
    if len(baselines_per_week) == 0 or len(weekly_costs_gbp) == 0:
        raise StudyInputError("baselines_per_week and weekly_costs_gbp must not be empty")
    rows = []
    for b in baselines_per_week:
        av = avoided_starts_from_reduction(
            b,
            relative_reduction,
            week_dates,
            effect_start=effect_start,
            full_effect=full_effect,
            n_draws=1000,
        )
        for rule in rules:
            pw = person_weeks(av, rule)[0]
            for c in weekly_costs_gbp:
                rows.append(
                    {
                        "baseline_per_week": float(b),
                        "weekly_cost_gbp": check_positive(c, "weekly_costs_gbp"),
                        "rule": rule,
                        "avoided_starts": float(av.estimate.sum()),
                        "person_weeks": pw,
                        "cost_avoided_gbp": pw * float(c),
                    }
                )
    return pd.DataFrame(rows)
