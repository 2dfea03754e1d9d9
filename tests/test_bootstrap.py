"""Known answers for the vectorised bootstrap (percentile and BCa)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from study.bootstrap import (
    _BATCH_VALUES,
    acceleration,
    bootstrap_ci,
    bootstrap_distribution,
    difference_in_means,
    jackknife_values,
    mean_statistic,
)
from study.errors import StudyInputError


@pytest.fixture
def skewed():
    """Skewed weekly cost changes (many small, a few large), like reviews of care."""
    rng = np.random.default_rng(20201130)
    return rng.gamma(0.6, 50.0, 400) - 20.0


def _se(x):
    return x.std(ddof=1) / np.sqrt(x.size)


def _mean_endpoints(ours_fn, scipy_fn, seeds=range(6)):
    """Average BCa endpoints over seeds (ours, scipy's, our percentile) to shrink MC error."""
    ours, ref, pct = [], [], []
    for s in seeds:
        res = ours_fn(s)
        ours.append(res.intervals["BCa"])
        pct.append(res.intervals["percentile"])
        ci = scipy_fn(1000 + s).confidence_interval
        ref.append((ci.low, ci.high))
    return np.mean(ours, axis=0), np.mean(ref, axis=0), np.mean(pct, axis=0)


@pytest.fixture
def small_skewed():
    """A small, very skewed sample: BCa differs clearly from the percentile interval."""
    rng = np.random.default_rng(2020)
    return rng.gamma(0.5, 50.0, 60) - 20.0, rng.gamma(0.8, 60.0, 40) - 30.0


def test_bca_matches_scipy_one_sample(small_skewed):
    x, _ = small_skewed
    ours, ref, pct = _mean_endpoints(
        lambda s: bootstrap_ci([x], n_resamples=20_000, seed=s),
        lambda s: stats.bootstrap(
            (x,), np.mean, n_resamples=20_000, method="BCa", rng=np.random.default_rng(s)
        ),
    )
    tol = 0.05 * _se(x)  # MC SD of the 6-seed average is about 0.015 SE
    np.testing.assert_allclose(ours, ref, atol=tol)
    # the test discriminates: BCa sits well away from the percentile interval here
    assert np.all(np.abs(ours - pct) > 2 * tol)


def test_bca_matches_scipy_two_sample_difference(small_skewed):
    x, y = small_skewed
    ours, ref, pct = _mean_endpoints(
        lambda s: bootstrap_ci([x, y], difference_in_means, n_resamples=20_000, seed=s),
        lambda s: stats.bootstrap(
            (x, y),
            lambda a, b, axis=-1: np.mean(a, axis=axis) - np.mean(b, axis=axis),
            n_resamples=20_000,
            method="BCa",
            rng=np.random.default_rng(s),
        ),
    )
    se = np.sqrt(_se(x) ** 2 + _se(y) ** 2)
    np.testing.assert_allclose(ours, ref, atol=0.05 * se)
    assert np.all(np.abs(ours - pct) > 0.1 * se)


def test_bca_shifts_a_right_skewed_mean_upwards(skewed):
    res = bootstrap_ci([skewed], seed=1)
    assert res.intervals["BCa"][1] > res.intervals["percentile"][1]
    assert res.acceleration > 0


def test_acceleration_of_the_mean_has_closed_form(skewed):
    """For the mean, a = sum d^3 / (6 (sum d^2)^1.5), d = x - mean (Efron & Tibshirani 14.15)."""
    d = skewed - skewed.mean()
    expected = np.sum(d**3) / (6 * np.sum(d**2) ** 1.5)
    assert acceleration(jackknife_values([skewed], mean_statistic)) == pytest.approx(expected)


def test_jackknife_leave_one_out_by_hand():
    x = np.array([1.0, 2.0, 6.0])
    (jk,) = jackknife_values([x], mean_statistic)
    np.testing.assert_allclose(jk, [4.0, 3.5, 1.5])


def test_percentile_interval_matches_normal_theory_for_a_large_sample():
    rng = np.random.default_rng(11)
    x = rng.normal(10.0, 3.0, 5000)
    res = bootstrap_ci([x], n_resamples=10_000, seed=5)
    half = 1.959964 * _se(x)
    low, high = res.intervals["percentile"]
    assert low == pytest.approx(x.mean() - half, abs=0.05 * half)
    assert high == pytest.approx(x.mean() + half, abs=0.05 * half)


def test_seeded_runs_are_identical_byte_for_byte(skewed):
    a = bootstrap_ci([skewed], seed=42)
    b = bootstrap_ci([skewed], seed=42)
    assert a.theta_boot.tobytes() == b.theta_boot.tobytes()
    assert a.intervals == b.intervals
    c = bootstrap_ci([skewed], seed=43)
    assert c.theta_boot.tobytes() != a.theta_boot.tobytes()


def test_constant_data_collapse_to_the_point():
    res = bootstrap_ci([np.full(50, 7.0)], seed=0)
    assert res.intervals["percentile"] == (7.0, 7.0)
    assert res.intervals["BCa"] == (7.0, 7.0)
    assert res.acceleration == 0.0


def test_batches_do_not_change_the_answer(skewed, monkeypatch):
    import study.bootstrap as bs

    whole = bootstrap_ci([skewed], seed=9)
    monkeypatch.setattr(bs, "_BATCH_VALUES", 4000)
    batched = bootstrap_ci([skewed], seed=9)
    assert batched.theta_boot.tobytes() == whole.theta_boot.tobytes()


def _distribution_reference(samples, statistic, n_resamples, rng, batch_values=_BATCH_VALUES):
    """The former `bootstrap_distribution`: each batch gathered and reduced in one piece."""
    largest = max(len(s) for s in samples)
    batch = max(1, batch_values // (largest * len(samples)))
    out = np.empty(n_resamples, dtype=float)
    for start in range(0, n_resamples, batch):
        b = min(batch, n_resamples - start)
        resampled = [s[rng.integers(0, len(s), size=(b, len(s)), dtype=np.int32)] for s in samples]
        out[start : start + b] = statistic(*resampled, axis=-1)
    return out


def _sum_gap(x, y, axis=-1):
    return 52 * (np.sum(y, axis=axis) - np.sum(x, axis=axis))


@pytest.mark.parametrize(
    ("sizes", "statistic"),
    [((400,), mean_statistic), ((300, 7), difference_in_means), ((2500, 2100), _sum_gap)],
)
def test_chunked_gathering_gives_the_reference_distribution(sizes, statistic):
    """Same draws, same statistic bit for bit, with one batch and with several (two samples
    of 300 and 7: batches of 6,666 resamples; of 2,500 and 2,100: 800, chunks of 13 rows)."""
    gen = np.random.default_rng(3)
    samples = [gen.gamma(0.6, 50.0, n) - 20.0 for n in sizes]
    got = bootstrap_distribution(samples, statistic, 10_000, np.random.default_rng(8))
    ref = _distribution_reference(samples, statistic, 10_000, np.random.default_rng(8))
    assert got.tobytes() == ref.tobytes()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_resamples": 999}, "n_resamples"),
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.5}, "alpha"),
    ],
)
def test_bad_arguments_name_the_parameter(skewed, kwargs, match):
    with pytest.raises(StudyInputError, match=match):
        bootstrap_ci([skewed], **kwargs)


@pytest.mark.parametrize(
    ("samples", "match"),
    [
        ([], "at least one sample"),
        ([np.array([])], "empty"),
        ([np.array([1.0])], "one value"),
        ([np.array([1.0, np.nan])], "missing"),
        ([np.ones((2, 2))], "one-dimensional"),
    ],
)
def test_bad_samples_raise_one_line(samples, match):
    with pytest.raises(StudyInputError, match=match) as err:
        bootstrap_ci(samples)
    assert "\n" not in str(err.value)
