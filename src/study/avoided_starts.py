"""Weekly avoided long-term starts: the quantity every cost-avoidance route estimates.

The interrupted time series (`study.its.avoided_starts_draws`: counterfactual - fitted weekly
counts), the published rates (`study.costs.avoided_starts_from_rates`) and a relative reduction
(`study.costs.avoided_starts_from_reduction`) each return one `AvoidedStarts`: the Mondays of
the weeks, a point path and model draws, which `study.costs.cost_avoidance` turns into £.

A `Reading` of published rates (`RatePath` of the observed rate and of the counterfactual:
a step, a linear path through dated rates, or a continuing log-linear trend) gives its avoided
starts through `avoided_starts_from_path`, each rate drawn as a Poisson rate (`rate_draws`);
`harrow_readings_of` names Harrow's readings (`READINGS`) and `reading_checks` tests a reading
against the published rates and £. Also here: the financial-year weeks and counting rule
(`weeks_counted`, `person_weeks`, re-exported by `study.costs`) and `Sensitivity` (point values
with one assumption changed at a time, for the tornado plots).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from study.checks import check_count, check_nonnegative, check_positive, check_proportion
from study.errors import StudyInputError
from study.tidy import WEEKS_PER_YEAR

if TYPE_CHECKING:
    from study.costs import CostAvoidance

RULES = ("part_year", "full_year")


@dataclass(frozen=True, eq=False)
class AvoidedStarts:
    """Weekly avoided starts for a window: point path and draws (n_draws, n_weeks).

    A positive value is a start that the counterfactual expected and that did not happen.
    `week_start` are the Mondays of the weeks; `method` says which model made the draws.
    """

    week_start: pd.DatetimeIndex
    estimate: np.ndarray
    draws: np.ndarray
    method: str = ""

    def __post_init__(self) -> None:
        weeks = pd.DatetimeIndex(self.week_start)
        object.__setattr__(self, "week_start", weeks)
        draws = np.asarray(self.draws, dtype=float)
        estimate = np.asarray(self.estimate, dtype=float).ravel()
        if draws.ndim != 2 or draws.shape[1] != weeks.size or estimate.size != weeks.size:
            raise StudyInputError(
                f"avoided starts: {weeks.size} weeks, but draws {draws.shape} and "
                f"estimate {estimate.shape}"
            )
        object.__setattr__(self, "draws", draws)
        object.__setattr__(self, "estimate", estimate)

    @property
    def n_weeks(self) -> int:
        return int(self.week_start.size)


# --------------------------------------------------------------------------- shared checks


def to_days(dates, name: str = "week_dates") -> np.ndarray:
    """Dates as datetime64[D]; bad or missing dates raise one line naming `name`."""
    try:
        arr = np.asarray(pd.to_datetime(np.asarray(dates).ravel())).astype("datetime64[D]")
    except (ValueError, TypeError) as exc:
        raise StudyInputError(f"{name} must be dates (YYYY-MM-DD), got {dates!r:.60}") from exc
    if np.isnat(arr).any():
        raise StudyInputError(f"{name} contains missing dates")
    return arr


def check_n_draws(n_draws: int, name: str = "n_draws") -> int:
    """A Monte Carlo draw count of at least 1000."""
    n = check_count(n_draws, name)
    if n < 1000:
        raise StudyInputError(f"{name} must be at least 1000, got {n_draws!r}")
    return n


def rate_draws(rate: float, exposure: float | None, n: int, rng, name: str) -> np.ndarray:
    """`n` draws of a Poisson rate a week over `exposure` weeks: Gamma(rate x T, 1 / T) (the
    posterior under the 1/lambda prior, mean = the rate); exposure None = the rate is known."""
    if exposure is None:
        return np.full(n, float(rate))
    t = check_positive(exposure, name)
    if rate == 0:
        return np.zeros(n)
    return rng.gamma(rate * t, 1.0 / t, n)


# --------------------------------------------------------------------------- rate paths

SHAPES = ("step", "linear", "trend", "slope")


@dataclass(frozen=True)
class RatePath:
    """A weekly rate through dated anchors ((date, name of a rate), ...).

    shape "step": each anchor's rate from its date on (the first rate before it); "linear":
    linear between anchors, flat before the first and after the last; "trend": log-linear
    through the first and last anchors, extrapolated both ways (a rate that keeps falling at
    the same relative pace); "slope": log-linear through its one anchor with the log slope per
    week named by `slope` (e.g. the pre-period trend of an ITS, `its_pre_trend`).
    """

    anchors: tuple[tuple[str, str], ...]
    shape: str = "linear"
    slope: str = ""

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise StudyInputError(f"shape must be one of {SHAPES}, got {self.shape!r}")
        if len(self.anchors) == 0 or (self.shape == "trend" and len(self.anchors) < 2):
            raise StudyInputError(f"a {self.shape} rate path needs anchors (trend: two)")
        if (self.shape == "slope") != bool(self.slope) or (
            self.shape == "slope" and len(self.anchors) != 1
        ):
            raise StudyInputError("a slope rate path needs one anchor and a slope name (only it)")
        days = to_days([d for d, _ in self.anchors], "anchors").astype(int)
        if np.any(np.diff(days) <= 0):
            raise StudyInputError("anchors dates must be strictly increasing")

    @property
    def rate_names(self) -> tuple[str, ...]:
        return tuple(name for _, name in self.anchors) + ((self.slope,) if self.slope else ())

    def weekly(self, week_dates, rates: Mapping[str, np.ndarray]) -> np.ndarray:
        """The rate in each week, (n_draws, n_weeks), from `rates` {name: (n_draws,) draws}."""
        missing = [n for n in self.rate_names if n not in rates]
        if missing:
            raise StudyInputError(f"rates lacks {missing} (anchors of the rate path)")
        d = to_days(week_dates).astype(int).astype(float)
        t = to_days([a for a, _ in self.anchors], "anchors").astype(int).astype(float)
        r = np.column_stack([np.atleast_1d(np.asarray(rates[n], float)) for n in self.rate_names])
        if self.shape == "slope":
            return r[:, [0]] * np.exp(r[:, [1]] * (d[None, :] - t[0]) / 7.0)
        if self.shape == "step":
            return r[:, np.clip(np.searchsorted(t, d, side="right") - 1, 0, None)]
        if self.shape == "linear":
            basis = np.array([np.interp(d, t, np.eye(t.size)[j]) for j in range(t.size)])
            return r @ basis
        if np.any(r[:, [0, -1]] <= 0):
            raise StudyInputError("a trend rate path needs positive rates at its anchors")
        slope = (np.log(r[:, -1]) - np.log(r[:, 0])) / (t[-1] - t[0])
        return np.exp(np.log(r[:, [0]]) + slope[:, None] * (d[None, :] - t[0]))


@dataclass(frozen=True)
class Reading:
    """One reading of published rates: the observed path and the counterfactual path.

    Avoided starts a week = counterfactual rate - observed rate (see `avoided_starts_from_path`).
    `name` is the key a parameter names; `label` says what the reading assumes.
    """

    name: str
    label: str
    observed: RatePath
    counterfactual: RatePath

    @property
    def rate_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.observed.rate_names + self.counterfactual.rate_names))


def avoided_starts_from_path(
    reading: Reading,
    rates: Mapping[str, tuple[float, float | None]],
    week_dates,
    *,
    n_draws: int = 10_000,
    seed: int = 0,
    given: Mapping[str, tuple[float, np.ndarray]] | None = None,
) -> AvoidedStarts:
    """Weekly avoided starts = counterfactual - observed rate path of a `Reading`.

    `rates` maps each rate name to (published rate a week, exposure weeks or None). Each rate is
    drawn once per Monte Carlo draw (`rate_draws`, in the order of `rates`, with
    `np.random.default_rng(seed)`) and shared by both paths; the point path uses the published
    rates themselves. `given` maps further names (e.g. the log slope of `its_pre_trend`) to
    (point, `n_draws` draws made elsewhere), each draw used once, paired in order.
    """
    n = check_n_draws(n_draws)
    given = dict(given or {})
    missing = [r for r in reading.rate_names if r not in rates and r not in given]
    if missing:
        raise StudyInputError(f"rates lacks {missing} (named by reading {reading.name!r})")
    rng = np.random.default_rng(seed)
    point, draws = {}, {}
    for name, (rate, exposure) in rates.items():
        point[name] = np.array([check_nonnegative(rate, f"rates[{name!r}]")])
        draws[name] = rate_draws(rate, exposure, n, rng, f"rates[{name!r}] exposure")
    for name, (value, sample) in given.items():
        sample = np.asarray(sample, dtype=float).ravel()
        if sample.size != n:
            raise StudyInputError(
                f"given[{name!r}] has {sample.size} draws; the Monte Carlo uses {n} (each once)"
            )
        point[name], draws[name] = np.array([float(value)]), sample
    days = to_days(week_dates)

    def avoided(values: Mapping[str, np.ndarray]) -> np.ndarray:
        return reading.counterfactual.weekly(days, values) - reading.observed.weekly(days, values)

    return AvoidedStarts(days, avoided(point)[0], avoided(draws), f"reading: {reading.label}")


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
    d = to_days(week_dates)
    if anchors is not None:
        if not isinstance(anchors, Mapping) or len(anchors) == 0:
            raise StudyInputError("anchors must map at least one date to a share of the effect")
        when = to_days(list(anchors), "anchors")
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
    s = to_days([effect_start], "effect_start")[0]
    if full_effect is None:
        return (d >= s).astype(float)
    e = to_days([full_effect], "full_effect")[0]
    if e < s:
        raise StudyInputError(
            f"full_effect ({full_effect}) is before effect_start ({effect_start})"
        )
    if e == s:
        return (d >= s).astype(float)
    return np.clip((d - s).astype(float) / float((e - s).astype(int)), 0.0, 1.0)


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
    n = check_n_draws(n_draws)
    ramp = effect_ramp(week_dates, effect_start, full_effect, anchors)
    rng = np.random.default_rng(seed)
    l0 = rate_draws(r0, exposure_weeks_before, n, rng, "exposure_weeks_before")
    l1 = rate_draws(r1, exposure_weeks_after, n, rng, "exposure_weeks_after")
    draws = (l0 - l1)[:, None] * ramp[None, :]
    src = f"rates {r0:g} -> {r1:g} a week"
    if exposure_weeks_before is not None or exposure_weeks_after is not None:
        weeks = [
            "known" if t is None else f"{t:g} weeks"
            for t in (exposure_weeks_before, exposure_weeks_after)
        ]
        src += f", Poisson over {weeks[0]} / {weeks[1]}"
    return AvoidedStarts(to_days(week_dates), (r0 - r1) * ramp, draws, src)


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
    return avoided_starts_of_fit(
        fit, window_start, window_end, n_model_draws=n_model_draws, seed=seed
    )


def avoided_starts_of_fit(
    fit, window_start: str, window_end: str, *, n_model_draws: int = 2000, seed: int = 0
) -> AvoidedStarts:
    """`study.its.avoided_starts_draws` of a fitted `study.its.ITSFit` over the weeks in
    [window_start, window_end], its method naming the family, harmonics and transition."""
    from study import its

    res = its.avoided_starts_draws(fit, window_start, window_end, n_draws=n_model_draws, seed=seed)
    d = fit.design
    note = f"{fit.family}, {d.harmonics} harmonic(s), {d.transition_weeks} transition week(s)"
    return replace(res, method=f"ITS counterfactual ({note})")


def _check_days(dates: Mapping[str, str], effect_start: str) -> tuple[tuple[str, str], ...]:
    """(rate name, date) of the rate checks: the rate before at `effect_start`, then the
    mid-year and end rates at their published dates."""
    return (("before", effect_start), ("midyear", dates["midyear"]), ("after", dates["after"]))


READINGS = ("step", "published_path", "published_path_april", "two_steps", "trend")
ITS_TREND = "its_trend"  # the published path against the ITS pre-period trend continued
ITS_ROUTE = "its"  # the ITS route: counterfactual - fitted counts of the weekly series
ALL_READINGS = (*READINGS, ITS_TREND, ITS_ROUTE)
ITS_SLOPE = "its_pre_trend_log_slope"  # the `given` name of the pre-trend slope draws


def flat_path(date: str, rate: str = "before") -> RatePath:
    return RatePath(((date, rate),), "step")


def step_reading(rate: Mapping[str, float], dates: Mapping[str, str], start: str) -> Reading:
    """A step from the rate before to the rate after on `start` (counterfactual flat)."""
    first = min(dates["before"], str(pd.Timestamp(start) - pd.Timedelta(days=1))[:10])
    return Reading(
        "step",
        f"step of {rate['before'] - rate['after']:.1f} fewer a week from {day_text(start)}",
        RatePath(((first, "before"), (start, "after")), "step"),
        flat_path(first),
    )


def harrow_readings_of(
    rate: Mapping[str, float],
    dates: Mapping[str, str],
    *,
    fy_start: str,
    effect_start: str,
    full_effect: str | None,
) -> dict[str, Reading]:
    """The named readings of Harrow's published path (`READINGS`), each a
    `study.avoided_starts.Reading`; counterfactual flat at the rate before unless "trend".

    step: the whole drop from `effect_start` (linear to `full_effect` when later); published
    path: linear 7.2 (effect_start) -> 6.1 (its date) -> 5.5 (its date); the same from
    `fy_start`; two steps: the mid-year rate from effect_start, the end rate from the mid-year
    date; trend: the published path against the 8.3 -> 7.2 fall continued log-linearly.
    """
    b, m, a = (f"{rate[k]:g}" for k in ("before", "midyear", "after"))
    flat = flat_path(dates["before"])
    path = RatePath(
        ((effect_start, "before"), (dates["midyear"], "midyear"), (dates["after"], "after"))
    )
    april = RatePath(
        ((fy_start, "before"), (dates["midyear"], "midyear"), (dates["after"], "after"))
    )
    step = step_reading(rate, dates, effect_start)
    if full_effect is not None and full_effect > effect_start:
        step = Reading(
            "step",
            f"{rate['before'] - rate['after']:.1f} fewer a week, linear from "
            f"{day_text(effect_start)} to {day_text(full_effect)}",
            RatePath(((effect_start, "before"), (full_effect, "after"))),
            flat,
        )
    return {
        "step": step,
        "published_path": Reading(
            "published_path",
            f"published path {b} -> {m} -> {a} from {day_text(effect_start)}",
            path,
            flat,
        ),
        "published_path_april": Reading(
            "published_path_april",
            f"published path {b} -> {m} -> {a} from {day_text(fy_start)}",
            april,
            flat,
        ),
        "two_steps": Reading(
            "two_steps",
            f"two steps: {m} from {day_text(effect_start)}, {a} from {day_text(dates['midyear'])}",
            RatePath(
                (
                    (dates["before"], "before"),
                    (effect_start, "midyear"),
                    (dates["midyear"], "after"),
                ),
                "step",
            ),
            flat,
        ),
        "trend": Reading(
            "trend",
            f"published path from {day_text(effect_start)} against the pre-3Cs fall "
            f"{rate['pre']:g} -> {b} continued",
            path,
            RatePath(((dates["pre"], "pre"), (dates["before"], "before")), "trend"),
        ),
    }


def check_rule(rule: str) -> str:
    if rule not in RULES:
        raise StudyInputError(f"rule must be one of {RULES}, got {rule!r}")
    return rule


def financial_year_start(dates) -> np.ndarray:
    """1 April of the financial year (1 April - 31 March) that holds each date."""
    d = to_days(dates)
    year = d.astype("datetime64[Y]").astype(int) + 1970
    month = d.astype("datetime64[M]").astype(int) % 12 + 1
    fy_year = year - (month < 4)
    return ((fy_year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + 3).astype(
        "datetime64[D]"
    )


def financial_year_week(dates) -> np.ndarray:
    """Week of the financial year, 1..52: 1 + whole weeks since 1 April (days 364-365 -> 52)."""
    d = to_days(dates)
    days = (d - financial_year_start(d)).astype(int)
    return np.minimum(days // 7 + 1, WEEKS_PER_YEAR)


def weeks_counted(dates, rule: str = "part_year") -> np.ndarray:
    """Weeks of cost counted for one avoided start in the week of each date.

    part_year: 53 - financial-year week (to 31 March, the start week included); full_year: 52.
    """
    check_rule(rule)
    if rule == "full_year":
        return np.full(to_days(dates).shape, float(WEEKS_PER_YEAR))
    return (WEEKS_PER_YEAR + 1 - financial_year_week(dates)).astype(float)


def weekly_dates(start: str, n_weeks: int) -> np.ndarray:
    """`n_weeks` consecutive week-start dates from `start` (datetime64[D])."""
    n = check_count(n_weeks, "n_weeks")
    if n == 0:
        raise StudyInputError("n_weeks must be at least 1")
    return to_days([start], "start")[0] + 7 * np.arange(n)


def person_weeks(avoided: AvoidedStarts, rule: str = "part_year") -> tuple[float, np.ndarray]:
    """(point, per-draw) avoided person-weeks: each week's avoided starts x `weeks_counted`."""
    w = weeks_counted(avoided.week_start, rule)
    return float(avoided.estimate @ w), avoided.draws @ w


def _half_unit(value: float) -> float:
    """Half a unit of a published figure's last digit: 6.1 -> 0.05 (its rounding)."""
    text = f"{value:g}"
    return 0.5 * 10.0 ** -(len(text.split(".")[1]) if "." in text else 0)


def reading_checks(
    reading: Reading,
    costing: CostAvoidance,
    *,
    rate: Mapping[str, float],
    dates: Mapping[str, str],
    effect_start: str,
    published_gbp: float,
    full_year: CostAvoidance,
    full_year_gbp: float,
    full_year_tolerance_gbp: float,
) -> dict[str, object]:
    """Which published figures a reading agrees with, each computed from the reading.

    Rates: the observed path on the day before `effect_start` equals the rate before, and on
    the day before the mid-year and end dates (a rate "by" that date) the published 6.1 and
    5.5, each within half a unit of the published figure's last digit. £: `published_gbp`
    inside the costing's interval; the mean unit cost inside the interval of the cost
    `published_gbp` implies; and "shares one unit cost with the full year": `full_year` (a
    whole financial year at the new rate) at that implied cost is within
    `full_year_tolerance_gbp` of `full_year_gbp`.
    """
    known = {k: np.array([v]) for k, v in rate.items()}

    def eve(day: str) -> str:
        return f"{pd.Timestamp(day) - pd.Timedelta(days=1):%Y-%m-%d}"

    out: dict[str, object] = {}
    for key, day in _check_days(dates, effect_start):
        got = float(reading.observed.weekly([eve(day)], known)[0, 0])
        out[f"rate_{key}"] = abs(got - rate[key]) <= _half_unit(rate[key]) + 1e-9
    low, high = costing.interval
    out["published_inside"] = bool(low <= published_gbp <= high)
    if costing.person_weeks_point > 0:
        implied = costing.implied_cost_interval(published_gbp)
        out["ascfr_inside_implied"] = bool(
            implied["ci_low"] <= costing.unit_cost_mean_gbp <= implied["ci_high"]
        )
        at_implied = full_year.person_weeks_point * implied["estimate"]
        out["shares_full_year_cost"] = bool(
            abs(at_implied - full_year_gbp) <= full_year_tolerance_gbp
        )
    else:
        out["ascfr_inside_implied"] = out["shares_full_year_cost"] = False
    return out


RATE_CHECKS = ("rate_before", "rate_midyear", "rate_after")


def day_text(date: str) -> str:
    """'2019-06-03' -> '3 Jun 2019'."""
    t = pd.Timestamp(date)
    return f"{t.day} {t:%b %Y}"


def _same(a: object, b: object) -> bool:
    """The same object, or equal numbers or strings (never compares arrays or records)."""
    scalar = (int, float, str, np.integer, np.floating)
    return a is b or (isinstance(a, scalar) and isinstance(b, scalar) and a == b)


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

        `alternatives` maps an assumption to {label: keyword overrides}. An alternative that
        leaves every keyword as in `base` (or as in an earlier alternative) is evaluated once.
        """
        done: list[tuple[dict, float]] = []

        def value(kwargs: dict) -> float:
            for seen, v in done:
                if seen.keys() == kwargs.keys() and all(_same(seen[k], kwargs[k]) for k in seen):
                    return v
            v = float(fn(**kwargs))
            done.append((kwargs, v))
            return v

        base_value = value(dict(base))
        scenarios = {
            name: {label: value({**base, **over}) for label, over in alts.items()}
            for name, alts in alternatives.items()
        }
        return cls(base_value, scenarios)

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
