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
- the Monte Carlo (`cost_avoidance`): draw i pairs draw i of the avoided-start model (each used
  once, never resampled) with one unit-cost draw; percentile interval of the products with the
  Monte Carlo standard error of each limit (`mc_percentile_interval`, with
  `study.its.quantile_mc_se`), and the share of the interval due to each source
  (`CostAvoidance.decomposition`);
- the inverse question (`CostAvoidance.implied_cost_interval`): the weekly unit cost that a
  published £ figure implies, with its interval from the model's draws.

`rates_cost_avoidance`, `path_cost_avoidance` (a `study.avoided_starts.Reading` of published
rates) and `its_cost_avoidance` are the routes end to end; `readings_view` sets readings side
by side, `cost_avoidance_summary` is a costing's computed sentence; the notebook-level
assembly (readings, sensitivity, sentences) is `study.analyses.cost_avoidance`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from study.avoided_starts import (  # re-exported: the routes' avoided starts and weeks
    RATE_CHECKS as RATE_CHECKS,
)
from study.avoided_starts import (
    RULES,
    AvoidedStarts,
    Reading,
    avoided_starts_from_path,
    person_weeks,
)
from study.avoided_starts import Sensitivity as Sensitivity
from study.avoided_starts import (
    avoided_starts_from_rates as avoided_starts_from_rates,
)
from study.avoided_starts import (
    avoided_starts_from_reduction as avoided_starts_from_reduction,
)
from study.avoided_starts import check_n_draws as _check_n_draws
from study.avoided_starts import check_rule as _check_rule
from study.avoided_starts import effect_ramp as effect_ramp
from study.avoided_starts import financial_year_start as financial_year_start
from study.avoided_starts import financial_year_week as financial_year_week
from study.avoided_starts import its_avoided_starts as its_avoided_starts
from study.avoided_starts import reading_checks as reading_checks
from study.avoided_starts import weekly_dates as weekly_dates
from study.avoided_starts import weeks_counted as weeks_counted
from study.bootstrap import percentile_interval
from study.checks import (
    check_alpha,
    check_nonnegative,
    check_positive,
    check_proportion,
)
from study.errors import StudyInputError
from study.its import quantile_mc_se
from study.tidy import (
    ESTIMATE_COLUMNS,
    WEEKS_PER_YEAR,
    confidence_level,
    estimate_table,
    gbp,
    label_quantity,
)

DISTRIBUTIONS = ("fixed", "normal", "gamma", "lognormal", "uniform")
MC_PERCENTILE = "Monte Carlo percentile"


# --------------------------------------------------------------------------- financial year


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


# --------------------------------------------------------------------------- Monte Carlo


def mc_percentile_interval(draws: np.ndarray, alpha: float) -> tuple[float, float, float, float]:
    """Percentile interval (alpha/2, 1 - alpha/2) (`study.bootstrap.percentile_interval`) and the
    Monte Carlo SE of each limit (`study.its.quantile_mc_se`, the order-statistic method, the
    same as the ITS counterfactuals report): (low, high, se_low, se_high)."""
    alpha = check_alpha(alpha)
    x = np.asarray(draws, dtype=float).ravel()
    if x.size < 2 or not np.all(np.isfinite(x)):
        raise StudyInputError("draws must hold at least two finite values")
    low, high = percentile_interval(x, alpha)
    return low, high, quantile_mc_se(x, alpha / 2), quantile_mc_se(x, 1 - alpha / 2)


def _mc_note(se_low: float, se_high: float, gbp_units: bool) -> str:
    fmt = (lambda v: f"£{v:,.0f}") if gbp_units else (lambda v: f"{v:,.2f}")
    return f"Monte Carlo SE of the limits {fmt(se_low)} / {fmt(se_high)}"


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

    @property
    def interval_mc_se(self) -> tuple[float, float]:
        """Monte Carlo SE of the £ interval's two limits (`mc_percentile_interval`)."""
        return mc_percentile_interval(self.draws_gbp, self.alpha)[2:]

    def implied_weekly_cost(self, published_gbp: float) -> float:
        """Weekly cost per client that reproduces a published £ figure: £ / point person-weeks."""
        total = check_positive(published_gbp, "published_gbp")
        if self.person_weeks_point <= 0:
            raise StudyInputError("avoided starts give no positive person-weeks; no implied cost")
        return total / self.person_weeks_point

    def implied_cost_interval(self, published_gbp: float) -> dict[str, float]:
        """The weekly cost a published £ implies, with an interval from the model's draws.

        c = £ / person-weeks is decreasing in person-weeks, so its percentile limits are £ over
        the person-weeks limits (high, low): exact for the percentile interval; an upper limit
        is infinite when the person-weeks' lower limit is not positive (some draws avoid no
        one). Monte Carlo SE by the delta method, £ / pw^2 x SE(pw limit). Keys: estimate,
        ci_low, ci_high, mc_se_low, mc_se_high.
        """
        point = self.implied_weekly_cost(published_gbp)
        total = float(published_gbp)
        pw_low, pw_high, se_low, se_high = mc_percentile_interval(
            self.person_weeks_draws, self.alpha
        )
        inf = float("inf")
        return {
            "estimate": point,
            "ci_low": total / pw_high if pw_high > 0 else inf,
            "ci_high": total / pw_low if pw_low > 0 else inf,
            "mc_se_low": total / pw_high**2 * se_high if pw_high > 0 else float("nan"),
            "mc_se_high": total / pw_low**2 * se_low if pw_low > 0 else float("nan"),
        }

    def table(self) -> pd.DataFrame:
        """Tidy estimates: £ avoided, avoided starts and person-weeks (percentile intervals),
        with the Monte Carlo SE of each limit (columns mc_se_low, mc_se_high; also in `note`)."""
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
            low, high, se_low, se_high = mc_percentile_interval(draws, self.alpha)
            mc = _mc_note(se_low, se_high, qty.endswith("(GBP)"))
            rows.append(
                {
                    "quantity": label_quantity(self.label, qty),
                    "estimate": pt,
                    "ci_low": low,
                    "ci_high": high,
                    "level": self.level,
                    "method": m,
                    "n": self.n_draws,
                    "note": f"{note}; {mc}",
                    "mc_se_low": se_low,
                    "mc_se_high": se_high,
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
    n_draws: int | None = None,
    alpha: float = 0.05,
    seed: int = 0,
    label: str = "",
) -> CostAvoidance:
    """£ avoided = sum over weeks of avoided starts x weeks counted (rule) x weekly unit cost.

    Point: the avoided-start point path x mean unit cost. Interval: Monte Carlo with
    `np.random.default_rng(seed)`: each of the model's draws is used once (none resampled),
    multiplied by its own independent unit-cost draw; percentile interval, with the Monte Carlo
    SE of each limit (`mc_percentile_interval`). `n_draws`, if given, must equal the number of
    model draws (draw the model as many times as the Monte Carlo needs).
    """
    _check_rule(rule)
    n = _check_n_draws(avoided.draws.shape[0], "the model's draws")
    if n_draws is not None and _check_n_draws(n_draws) != n:
        raise StudyInputError(
            f"n_draws ({n_draws}) must equal the model's {n} draws: each is used once"
        )
    alpha = check_alpha(alpha)
    if not isinstance(unit_cost, UnitCost | CareMixCost):
        raise StudyInputError(f"unit_cost must be a UnitCost or CareMixCost, got {unit_cost!r:.60}")
    rng = np.random.default_rng(seed)
    pw_point, pw = person_weeks(avoided, rule)
    starts = avoided.draws.sum(axis=1)
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
    n_draws: int = 10_000,
    alpha: float = 0.05,
    seed: int = 0,
    label: str = "",
) -> CostAvoidance:
    """£ avoided by the weeks of an interrupted time series, with a Monte Carlo interval.

    Avoided starts: counterfactual - fitted weekly counts of `study.its.fit_its` over the weeks
    in [window_start, window_end], `n_draws` draws from the coefficients' normal sampling
    distribution (`its_avoided_starts`, `seed`: as many model draws as the Monte Carlo uses).
    £ and its percentile interval as in `rates_cost_avoidance` (`cost_avoidance`, `seed + 1`).
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
        n_model_draws=n_draws,
        seed=seed,
    )
    return cost_avoidance(
        av, unit_cost, rule=rule, n_draws=n_draws, alpha=alpha, seed=seed + 1, label=label
    )


def path_cost_avoidance(
    reading: Reading,
    rates: Mapping[str, tuple[float, float | None]],
    *,
    unit_cost: CostModel,
    first_week: str,
    n_weeks: int = WEEKS_PER_YEAR,
    rule: str = "part_year",
    n_draws: int = 10_000,
    alpha: float = 0.05,
    seed: int = 0,
    label: str = "",
    given: Mapping[str, tuple[float, np.ndarray]] | None = None,
) -> CostAvoidance:
    """£ avoided under a `Reading` of published rates, with a Monte Carlo interval.

    Avoided starts in each of the `n_weeks` weeks from `first_week`: counterfactual - observed
    rate of the reading, each rate Poisson over its exposure (`avoided_starts_from_path`,
    `seed`; `given`: quantities drawn elsewhere, such as an ITS pre-period slope); £ and its
    percentile interval as in `rates_cost_avoidance` (`seed + 1`).
    """
    av = avoided_starts_from_path(
        reading, rates, weekly_dates(first_week, n_weeks), n_draws=n_draws, seed=seed, given=given
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
    families: Sequence[str] = ("poisson", "quasi_poisson", "negative_binomial", "ols_hac"),
    transition_options: Sequence[int] = (0, 2, 4),
    harmonic_options: Sequence[int] = (0, 1, 2),
) -> Sensitivity:
    """Point £ of the ITS route (part-year, a fixed unit cost) by family, transition, seasonality.

    Each value is `study.point_cost_avoidance` of `study.its_avoided_starts` (the
    fitted counterfactual - fitted counts in the window), one model choice changed at a time.
    Families in `study.its.POISSON_POINT_FAMILIES` share the Poisson GLM's point, so it is
    fitted as ``poisson`` for each of them (without their interval machinery).
    """
    from study.its import POISSON_POINT_FAMILIES

    def point(family: str, **model) -> float:
        same = "poisson" if family in POISSON_POINT_FAMILIES else family
        avoided = its_avoided_starts(
            weekly,
            periods,
            window_start=window_start,
            window_end=window_end,
            seed=seed,
            family=same,
            **model,
        )
        return point_cost_avoidance(avoided, unit_cost_gbp, "part_year")

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
                "implied_weekly_cost_gbp": r.implied_weekly_cost(value)
                if r.person_weeks_point > 0
                else float("nan"),
            }
            for name, value, r in published_figures
        ]
    )


def yes_no(value) -> str:
    return "n/a" if value is None or pd.isna(value) else ("yes" if value else "no")


def readings_view(
    costings: Mapping[str, CostAvoidance],
    checks: Mapping[str, Mapping[str, object]],
    *,
    labels: Mapping[str, str],
    published_gbp: float | None = None,
    published_text: str = "",
    column_names: Mapping[str, str] | None = None,
    default: str = "",
) -> pd.DataFrame:
    """One row per reading: avoided starts, person-weeks, £ with its interval and the Monte
    Carlo SE of the limits, the weekly cost the published £ implies (with its interval), and
    each check of `reading_checks` ("yes", "no", "n/a") under `column_names`."""
    rows = []
    for name, c in costings.items():
        low, high = c.interval
        se_low, se_high = c.interval_mc_se
        row = {
            "reading": name + (" (default)" if name == default else ""),
            "what it assumes": labels[name],
            "avoided starts": round(c.starts_point, 1),
            "person-weeks": round(c.person_weeks_point, 0),
            "£k": round(c.point_gbp / 1000, 0),
            f"{c.level:.0%} CI £k": f"{low / 1000:,.0f} to {high / 1000:,.0f}",
            "MC SE of limits £k": f"{se_low / 1000:.1f} / {se_high / 1000:.1f}",
        }
        if published_gbp is not None:
            implied = c.implied_cost_interval(published_gbp) if c.person_weeks_point > 0 else None
            row[f"£/wk {published_text} needs"] = (
                "none (no one avoided)" if implied is None else f"{implied['estimate']:,.0f}"
            )
            row["its CI £/wk"] = (
                "" if implied is None else f"{implied['ci_low']:,.0f} to {implied['ci_high']:,.0f}"
            )
        for key, title in (column_names or {}).items():
            row[title] = yes_no(checks.get(name, {}).get(key))
        rows.append(row)
    return pd.DataFrame(rows)


def implied_cost_table(costing: CostAvoidance, published_gbp: float, text: str) -> pd.DataFrame:
    """The estimate row of the weekly cost `published_gbp` implies (none if no one avoided)."""
    if costing.person_weeks_point <= 0:
        return pd.DataFrame(columns=[*ESTIMATE_COLUMNS, "note"])
    c = costing.implied_cost_interval(published_gbp)
    return estimate_table(
        [
            {
                "quantity": label_quantity(
                    costing.label, f"weekly unit cost implied by {text} (GBP/week)"
                ),
                "estimate": c["estimate"],
                "ci_low": c["ci_low"],
                "ci_high": c["ci_high"],
                "level": costing.level,
                "method": f"{MC_PERCENTILE} of £ / person-weeks ({costing.n_draws} draws: model)",
                "n": costing.n_draws,
                "note": f"{text} / avoided person-weeks; Monte Carlo SE of the limits "
                f"£{c['mc_se_low']:,.2f} / £{c['mc_se_high']:,.2f}",
            }
        ]
    )


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
