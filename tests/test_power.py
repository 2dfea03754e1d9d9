"""Known-answer tests for study.power: closed forms against statsmodels' power functions, the
vectorised quasi-Poisson fitter against statsmodels' GLM, simulated power within Monte Carlo
error of the closed form, seeded byte-reproducible simulation, and the placebo rank-first
shift against a re-run of the placebo test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.proportion import power_proportions_2indep
from statsmodels.stats.rates import power_poisson_ratio_2indep

from study import its, power
from study import synthetic_control as sc
from study.data.synthetic import simulated_council_panel
from study.errors import StudyInputError


@pytest.mark.parametrize(
    ("rate", "ratio", "t0", "t1", "alpha", "phi"),
    [
        (7.2, 5.5 / 7.2, 13, 13, 0.05, 1.0),
        (7.7, 0.64, 26, 52, 0.1, 1.0),
        (3.0, 1.3, 52, 8, 0.01, 2.5),
    ],
)
def test_rate_ratio_power_matches_statsmodels(rate, ratio, t0, t1, alpha, phi):
    """statsmodels: rate1 = after, rate2 = before, nobs1 = T1, nobs_ratio = T0 / T1, variance
    under the alternative for both the null and the alternative (method_var='alt')."""
    expected = power_poisson_ratio_2indep(
        rate * ratio,
        rate,
        t1,
        nobs_ratio=t0 / t1,
        value=1,
        alpha=alpha,
        dispersion=phi,
        alternative="two-sided",
        method_var="alt",
        return_results=False,
    )
    got = power.rate_ratio_power(rate, ratio, t0, t1, alpha=alpha, dispersion=phi)
    assert got == pytest.approx(float(expected), rel=1e-12)


def test_rate_ratio_mde_is_the_first_root():
    mde = power.rate_ratio_mde(7.2, 26, 26, alpha=0.05, power=0.8)
    assert power.rate_ratio_power(7.2, 1 - mde, 26, 26) == pytest.approx(0.8, abs=1e-9)
    assert power.rate_ratio_power(7.2, 1 - 0.99 * mde, 26, 26) < 0.8
    # hand check: (z_.975 + z_.8)^2 (1/(7.2 T) + 1/(7.2 RR T)) = log(RR)^2 with T = 26
    rr = 1 - mde
    assert (1.959964 + 0.841621) ** 2 * (1 / (7.2 * 26) + 1 / (7.2 * rr * 26)) == pytest.approx(
        math.log(rr) ** 2, rel=2e-3
    )


def test_rate_ratio_simulation_within_monte_carlo_error():
    for weeks in (13, 26):
        p = power.rate_ratio_power(7.2, 0.764, weeks, weeks)
        sim = power.simulate_rate_ratio_power(7.2, 0.764, weeks, weeks, n_sims=20_000, seed=3)
        assert abs(sim - p) < 4 * math.sqrt(p * (1 - p) / 20_000)


@pytest.mark.parametrize(
    ("p0", "p1", "n0", "n1"), [(0.33, 0.25, 1000, 1000), (0.09, 0.16, 400, 600)]
)
def test_proportions_power_matches_statsmodels(p0, p1, n0, n1):
    expected = power_proportions_2indep(p1 - p0, p0, n1, ratio=n0 / n1, return_results=False)
    assert power.proportions_power(p0, p1, n0, n1) == pytest.approx(float(expected), rel=1e-12)
    sim = power.simulate_proportions_power(p0, p1, n0, n1, n_sims=20_000, seed=1)
    exact = float(expected)
    assert abs(sim - exact) < 4 * math.sqrt(exact * (1 - exact) / 20_000) + 0.005


def test_proportions_mde_and_n_needed():
    mde = power.proportions_mde(0.33, 1000, 1000, power=0.8, direction=-1)
    assert power.proportions_power(0.33, 0.33 - mde, 1000, 1000) == pytest.approx(0.8, abs=1e-9)
    rise = power.proportions_mde(0.09, 500, 500, power=0.8, direction=1)
    assert power.proportions_power(0.09, 0.09 + rise, 500, 500) == pytest.approx(0.8, abs=1e-9)
    n = power.proportions_n_needed(0.33, 0.25)
    assert (
        power.proportions_power(0.33, 0.25, n, n)
        >= 0.8
        > power.proportions_power(0.33, 0.25, n - 1, n - 1)
    )
    with pytest.raises(StudyInputError):
        power.proportions_mde(0.3, 100, 100, direction=0)
    with pytest.raises(StudyInputError):
        power.rate_ratio_power(-1, 0.8, 10, 10)


def test_fit_poisson_batch_matches_statsmodels_quasi_poisson():
    rng = np.random.default_rng(5)
    n = 90
    t = np.arange(n)
    X = np.column_stack([np.ones(n), t / 52, np.sin(2 * np.pi * t / 52.18), t >= 40])
    y = rng.poisson(np.exp(1.8 + 0.2 * t / 52 - 0.3 * (t >= 40)) * rng.gamma(4, 0.25, (6, n)))
    fit = power.fit_poisson_batch(y, X)
    for i in range(len(y)):
        ref = sm.GLM(y[i], X, family=sm.families.Poisson()).fit(scale="X2")
        np.testing.assert_allclose(fit.params[i], ref.params, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(fit.se[i], ref.bse, rtol=1e-8)
        assert fit.scale[i] == pytest.approx(ref.scale, rel=1e-8)
    assert fit.converged.all()
    with pytest.raises(StudyInputError):
        power.fit_poisson_batch(y[:, :3], X[:3])


def _flat_model(**kw) -> power.ITSPowerModel:
    base = {
        "log_level": math.log(7.0),
        "trend": 0.0,
        "seasonal": (),
        "go_live_index": 52,
        "weeks_before": 52,
        "dispersion": 1.0,
        "autocorrelation": 0.0,
        "latent_sd": 0.0,
        "latent_rho": 0.0,
        "achieved_autocorrelation": 0.0,
        "fit_trend": False,
    }
    return power.ITSPowerModel(**{**base, **kw})


def test_its_simulation_power_within_monte_carlo_error_of_the_rate_ratio_closed_form():
    """Without trend and seasonality the ITS level coefficient is log(mean after / mean
    before): the Poisson rate-ratio closed form applies (quasi-Poisson scale estimated)."""
    n_sims = 4000
    table = power.its_power(_flat_model(), [26, 52], [0.0, 0.2], n_sims=n_sims, seed=11)
    for weeks in (26, 52):
        row = table[(table["weeks_after"] == weeks) & (table["reduction"] == 0.2)].iloc[0]
        p = power.rate_ratio_power(7.0, 0.8, 52, weeks)
        assert abs(row["power"] - p) < 4 * math.sqrt(p * (1 - p) / n_sims)
        assert row["mc_low"] < row["power"] < row["mc_high"]
        size = table[(table["weeks_after"] == weeks) & (table["reduction"] == 0.0)].iloc[0]
        assert abs(size["power"] - 0.05) < 4 * math.sqrt(0.05 * 0.95 / n_sims)


def test_its_mde_reaches_the_target_power():
    model = _flat_model()
    mde = power.its_mde(model, 52, power=0.8, n_sims=2000, seed=4)
    closed = power.rate_ratio_mde(7.0, 52, 52, power=0.8)
    assert mde["mc_low"] < mde["mde"] < mde["mc_high"]
    assert mde["mde"] == pytest.approx(closed, abs=0.02)
    check = power.its_power(model, [52], [mde["mde"]], n_sims=4000, seed=9)["power"].iloc[0]
    assert abs(check - 0.8) < 4 * math.sqrt(0.16 / 4000) + 0.01


def test_simulation_is_seeded_and_byte_reproducible():
    model = _flat_model(dispersion=1.5, latent_sd=0.2, latent_rho=0.3, fit_trend=True)
    a = power.its_power(model, [26, 39], [0.0, 0.3], n_sims=300, seed=7).to_csv()
    b = power.its_power(model, [26, 39], [0.0, 0.3], n_sims=300, seed=7).to_csv()
    c = power.its_power(model, [26, 39], [0.0, 0.3], n_sims=300, seed=8).to_csv()
    assert a == b and a != c
    m1 = power.its_mde(model, 39, n_sims=300, seed=2)
    assert m1 == power.its_mde(model, 39, n_sims=300, seed=2)


def test_latent_ar1_gives_the_target_dispersion_and_autocorrelation():
    mean, phi, r = 8.0, 1.6, 0.25
    sd, rho, achieved = power.latent_ar1(phi, r, mean)
    assert achieved == pytest.approx(r)
    model = _flat_model(log_level=math.log(mean), latent_sd=sd, latent_rho=rho, weeks_before=1)
    y = power.simulate_series(model, 4000, [0.0], n_sims=50, rng=np.random.default_rng(0))[0]
    resid = (y - mean) / np.sqrt(mean)
    assert np.mean(resid**2) == pytest.approx(phi, rel=0.03)
    lag1 = np.mean(resid[:, 1:] * resid[:, :-1]) / np.mean(resid**2)
    assert lag1 == pytest.approx(r, abs=0.02)
    assert power.latent_ar1(1.0, 0.3, mean) == (0.0, 0.0, 0.0)


def test_its_power_model_reads_the_fit():
    """Series with a known log level 2.0 at go-live, trend 0.002 a week, sine amplitude 0.1."""
    periods = {"site": {"start": "2019-06-03", "kind": "intervention"}}
    data = its.simulate_its_counts(
        260,
        first_week="2017-06-05",
        baseline_per_week=math.exp(2.0 - 0.002 * 104),
        trend_log_per_week=0.002,
        periods=periods,
        level_log={"site": -0.3},
        season_amplitude_log=0.1,
        seed=1,
    )
    fit = its.fit_its(data, periods, harmonics=1)
    model = power.its_power_model(fit, weeks_before=52)
    assert model.go_live_index == 104
    assert model.log_level == pytest.approx(2.0, abs=0.1)
    assert model.trend == pytest.approx(0.002, abs=0.001)
    assert model.seasonal[0][0] == pytest.approx(0.1, abs=0.05)
    np.testing.assert_allclose(
        model.log_mean(0)[-52:] - model.log_level,
        np.asarray(
            model.trend * np.arange(-52, 0)
            + model.seasonal[0][0]
            * np.sin(2 * np.pi * (np.arange(-52, 0) + 104) / its.FOURIER_PERIOD_WEEKS)
            + model.seasonal[0][1]
            * np.cos(2 * np.pi * (np.arange(-52, 0) + 104) / its.FOURIER_PERIOD_WEEKS)
        ),
        atol=1e-12,
    )
    other = power.its_power_model(
        fit, weeks_before=52, baseline_per_week=3.0, dispersion=2.0, autocorrelation=0.1
    )
    assert other.baseline_per_week == pytest.approx(3.0) and other.dispersion == 2.0


def test_weeks_needed_interpolates():
    curve = pd.DataFrame({"weeks_after": [26, 52, 78], "power": [0.5, 0.7, 0.9]})
    assert power.weeks_needed(curve, power=0.8) == pytest.approx(65.0)
    assert power.weeks_needed(curve, power=0.4) == 26
    assert math.isnan(power.weeks_needed(curve, power=0.95))


def test_placebo_rank_first_shift_against_a_rerun_of_the_placebo_test():
    """Adding the computed shift (x 1.02) to the treated unit's post-period values ranks it
    first; x 0.98 does not (placebos and the treated weights do not depend on those values)."""
    data = simulated_council_panel(30, 8, 4, effect=0.0, seed=3)
    kw = {"treated": "E00000000", "treatment_start": "2019-20", "penalty": 1.0}
    res = sc.synthetic_control_placebo(data, **kw)
    path = res.fit.path
    gaps = path.loc[path["post"], "gap"].to_numpy()
    eff = power.placebo_rank_first_effect(res.placebos, treated_post_gaps=gaps)
    assert res.rank > 1 and eff["shift"] > 0
    target = eff["largest_placebo_ratio"] * eff["treated_pre_rmspe"]
    m, v = gaps.mean(), gaps.var()
    signed = min((-m + math.sqrt(target**2 - v), -m - math.sqrt(target**2 - v)), key=abs)
    assert abs(signed) == pytest.approx(eff["shift"])
    post_years = set(path.loc[path["post"], "time"])
    for factor, first in ((1.02, True), (0.98, False)):
        shifted = data.copy()
        hit = (shifted["geography_code"] == kw["treated"]) & shifted["year"].isin(post_years)
        shifted.loc[hit, "value"] += factor * signed
        again = sc.synthetic_control_placebo(shifted, **kw)
        assert (again.rank == 1) is first
    design = power.placebo_rank_first_effect(res.placebos)
    assert design["shift"] == pytest.approx(target)
    assert design["min_p_value"] == pytest.approx(1 / 30)
    with pytest.raises(StudyInputError):
        power.placebo_rank_first_effect(res.placebos.drop(columns="ratio"))
