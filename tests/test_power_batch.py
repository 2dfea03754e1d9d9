"""The fast routes of study.power's ITS simulation against the straightforward ones they
replaced (kept here as references): `fit_poisson_batch` (Newton steps from moment sums,
Cholesky solves) against working-response IRLS with LU solves, and `simulate_series`
(week-major AR(1), one exp before go-live) against the series-major loop, draw for draw."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from study import power
from study.errors import StudyInputError


def _irls_reference(y, X, *, quasi=True, max_iter=50, tol=1e-10):
    """The former `fit_poisson_batch`: IRLS on the working response z = eta + (y - mu) / mu,
    X'WX from the n x p^2 table of column products, np.linalg.solve / inv."""
    y = np.asarray(y, dtype=float)
    n, p = X.shape
    table = (X[:, :, None] * X[:, None, :]).reshape(n, p * p)
    mu = y + 0.5
    eta = np.log(mu)
    positive = y > 0
    ylogy = np.where(positive, y * np.log(np.where(positive, y, 1.0)), 0.0)
    dev_old = np.full(y.shape[0], np.inf)
    for _ in range(max_iter):
        z = eta + (y - mu) / mu
        beta = np.linalg.solve((mu @ table).reshape(-1, p, p), ((mu * z) @ X)[..., None])[..., 0]
        eta = beta @ X.T
        mu = np.exp(eta)
        dev = 2 * np.sum(ylogy - y * eta - (y - mu), axis=1)
        converged = np.abs(dev - dev_old) <= tol * (np.abs(dev) + 0.1)
        if converged.all():
            break
        dev_old = dev
    cov_diag = np.diagonal(np.linalg.inv((mu @ table).reshape(-1, p, p)), axis1=1, axis2=2)
    scale = np.sum((y - mu) ** 2 / mu, axis=1) / (n - p) if quasi else np.ones(y.shape[0])
    return power.BatchFit(beta, np.sqrt(cov_diag * scale[:, None]), scale, converged)


def _simulate_reference(model, weeks_after, reductions, *, n_sims, rng):
    """The former `simulate_series`: the AR(1) loop over the columns of a series x week array."""
    red = np.asarray(reductions, dtype=float)
    n = model.weeks_before + weeks_after
    u = np.zeros((n_sims, n))
    if model.latent_sd > 0:
        e = rng.standard_normal((n_sims, n))
        rho, sd = model.latent_rho, model.latent_sd
        u[:, 0] = sd * e[:, 0]
        innov = sd * math.sqrt(1 - rho**2)
        for i in range(1, n):
            u[:, i] = rho * u[:, i - 1] + innov * e[:, i]
    post = model.weeks(weeks_after) >= 0
    log_mu = model.log_mean(weeks_after) + u - model.latent_sd**2 / 2
    step = np.log1p(-red)[:, None, None] * post[None, None, :]
    return rng.poisson(np.exp(log_mu[None] + step))


def _model(**kw) -> power.ITSPowerModel:
    base = {
        "log_level": math.log(7.5),
        "trend": -0.002,
        "seasonal": ((0.08, -0.05),),
        "go_live_index": 60,
        "weeks_before": 52,
        "dispersion": 1.3,
        "autocorrelation": 0.2,
        "latent_sd": 0.15,
        "latent_rho": 0.4,
        "achieved_autocorrelation": 0.2,
    }
    return power.ITSPowerModel(**{**base, **kw})


MODELS = {
    "ar1": _model(),
    "anti": _model(latent_sd=0.03, latent_rho=-0.95, log_level=math.log(2.0)),
    "poisson": _model(latent_sd=0.0, latent_rho=0.0, seasonal=(), fit_trend=False),
}


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("weeks_after", [0, 1, 26, 104])
def test_simulate_series_draws_what_the_reference_draws(name, weeks_after):
    model = MODELS[name]
    reductions = [0.0, 0.1, 0.236, 0.5]
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    ref = _simulate_reference(model, weeks_after, reductions, n_sims=200, rng=a)
    new = power.simulate_series(model, weeks_after, reductions, n_sims=200, rng=b)
    assert new.dtype == ref.dtype and np.array_equal(new, ref)
    assert a.random() == b.random()  # the generator is left in the same state


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("weeks_after", [13, 156])
def test_fit_poisson_batch_matches_the_working_response_irls(name, weeks_after):
    """Same iterations (same convergence rule), estimates equal to rounding: coefficients
    within 1e-10 standard errors, SEs and scale to 1e-11, identical detections."""
    model = MODELS[name]
    y = power.simulate_series(
        model, weeks_after, [0.0, 0.2], n_sims=200, rng=np.random.default_rng(11)
    ).reshape(400, -1)
    X = model.design(weeks_after)
    ref, new = _irls_reference(y, X), power.fit_poisson_batch(y, X)
    assert np.abs(new.params - ref.params).max() < 1e-10 * ref.se.min()
    np.testing.assert_allclose(new.se, ref.se, rtol=1e-11)
    np.testing.assert_allclose(new.scale, ref.scale, rtol=1e-11)
    assert np.array_equal(new.converged, ref.converged) and new.converged.all()
    z = 1.959963984540054
    detected = [fit.params[:, -1] + z * fit.se[:, -1] < 0 for fit in (ref, new)]
    assert np.array_equal(*detected)


def test_fit_poisson_batch_stops_where_the_reference_stops():
    """An early stop (max_iter) and quasi=False give the reference's unconverged iterate and
    unit scale; the input array is left untouched."""
    model = dataclasses.replace(MODELS["ar1"], log_level=math.log(0.8))
    y = power.simulate_series(model, 26, [0.3], n_sims=300, rng=np.random.default_rng(2))[0]
    X = model.design(26)
    kept = y.copy()
    for kw in ({"max_iter": 1}, {"max_iter": 2, "quasi": False}, {"tol": 1e-14}):
        ref, new = _irls_reference(y, X, **kw), power.fit_poisson_batch(y, X, **kw)
        np.testing.assert_allclose(new.params, ref.params, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(new.se, ref.se, rtol=1e-9)
        np.testing.assert_allclose(new.scale, ref.scale, rtol=1e-9)
        assert np.array_equal(new.converged, ref.converged)
    assert np.array_equal(y, kept)
    with pytest.raises(StudyInputError):
        power.fit_poisson_batch(y, X, max_iter=0)
