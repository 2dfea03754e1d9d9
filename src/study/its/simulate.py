"""Simulated regular (weekly by default) counts with known effects (tests, coverage benchmark)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from study.checks import check_count, check_positive
from study.its.design import DATE, PeriodsLike, as_frequency, make_periods
from study.its.windows import _as_date


def simulate_its_counts(
    n_weeks: int,
    *,
    first_week: str = "2017-09-04",
    baseline_per_week: float = 7.0,
    trend_log_per_week: float = 0.0,
    periods: PeriodsLike = (),
    level_log: Mapping[str, float] | None = None,
    slope_log: Mapping[str, float] | None = None,
    season_amplitude_log: float = 0.0,
    ar1_rho: float = 0.0,
    ar1_sd: float = 0.0,
    nb_alpha: float = 0.0,
    seed: int = 0,
    freq: Any = "weekly",
    seasonal_period: float | None = None,
) -> pd.DataFrame:
    """Simulated weekly counts with known log-scale level/slope changes (seeded).

    mean_t = baseline * exp(trend t + amplitude sin(2 pi t/P) + sum level + slope (t - t_p)+), P
    the seasonal period of `freq` (weekly 52.18; see `study.its.as_frequency`), t in observations
    (`n_weeks` of them at that frequency; `baseline_per_week` is the baseline per observation);
    count_t ~ Poisson(mean_t * exp(u_t) * g_t), u stationary AR(1) on the log scale with marginal
    sd `ar1_sd`, g_t ~ Gamma(1/nb_alpha, nb_alpha) when nb_alpha > 0. Returns week_start, count,
    mean (the noise-free mean whose log-linear coefficients are the truth).
    """
    n_weeks = check_count(n_weeks, "n_weeks")
    check_positive(baseline_per_week, "baseline_per_week")
    rng = np.random.default_rng(check_count(seed, "seed"))
    f = as_frequency(freq, seasonal_period)
    weeks = f.grid(_as_date(first_week, "first_week"), n_weeks)
    t = np.arange(n_weeks, dtype=float)
    eta = math.log(baseline_per_week) + trend_log_per_week * t
    eta = eta + season_amplitude_log * np.sin(2 * np.pi * t / f.seasonal_period)
    specs = make_periods(periods)
    level_log, slope_log = dict(level_log or {}), dict(slope_log or {})
    for p in specs:
        j = int(np.searchsorted(weeks.to_numpy(), p.start.to_datetime64(), side="right") - 1)
        eta = eta + level_log.get(p.name, 0.0) * (t >= j)
        eta = eta + slope_log.get(p.name, 0.0) * np.maximum(t - j, 0.0)
    mean = np.exp(eta)
    u = np.zeros(n_weeks)
    if ar1_sd > 0:
        e = rng.standard_normal(n_weeks)
        u[0] = ar1_sd * e[0]
        innov = ar1_sd * math.sqrt(1 - ar1_rho**2)
        for i in range(1, n_weeks):
            u[i] = ar1_rho * u[i - 1] + innov * e[i]
    lam = mean * np.exp(u)
    if nb_alpha > 0:
        lam = lam * rng.gamma(1 / nb_alpha, nb_alpha, size=n_weeks)
    return pd.DataFrame({DATE: weeks, "count": rng.poisson(lam), "mean": mean})
