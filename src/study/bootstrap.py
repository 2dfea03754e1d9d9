"""Vectorised nonparametric bootstrap: percentile and BCa intervals.

Resampling is stratified by sample (each sample is resampled with replacement on its own, as in
a two-group comparison). The BCa interval follows Efron & Tibshirani (1993), *An Introduction to
the Bootstrap*, ch. 14.3 (bias correction z0 from the share of resampled statistics below the
estimate) and eq. 14.15 / 15.36 (acceleration from the jackknife), with the multi-sample
acceleration used by `scipy.stats.bootstrap`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr, ndtri

from study.checks import check_alpha, check_count
from study.errors import StudyInputError

MIN_RESAMPLES = 1000
# Resample in batches so a batch never holds more than this many values (memory bound).
_BATCH_VALUES = 4_000_000
# Resampled values gathered and reduced at once inside a batch (fits in a CPU cache).
_CHUNK_VALUES = 65_536

Statistic = Callable[..., np.ndarray]


def mean_statistic(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Sample mean along `axis` (vectorised statistic for `bootstrap_ci`)."""
    return np.mean(x, axis=axis)


def difference_in_means(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """mean(x) - mean(y) along `axis` (vectorised two-sample statistic)."""
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """A bootstrap estimate: the statistic, its resampled distribution and the intervals.

    `intervals` maps a method name ("percentile", "BCa") to (low, high).
    """

    estimate: float
    theta_boot: np.ndarray
    intervals: dict[str, tuple[float, float]]
    level: float
    n_resamples: int
    n: tuple[int, ...]
    z0: float = float("nan")
    acceleration: float = float("nan")
    jackknife: list[np.ndarray] = field(default_factory=list)


def check_samples(samples: Sequence[np.ndarray], name: str = "samples") -> list[np.ndarray]:
    """1-d float arrays, each with at least 2 finite values (needed by the jackknife)."""
    if len(samples) == 0:
        raise StudyInputError(f"{name} must hold at least one sample")
    out = []
    for j, s in enumerate(samples):
        arr = np.asarray(s, dtype=float)
        if arr.ndim != 1:
            raise StudyInputError(f"{name}[{j}] must be one-dimensional, got shape {arr.shape}")
        if arr.size < 2:
            raise StudyInputError(
                f"{name}[{j}] is empty or has one value ({arr.size}); need at least 2 to bootstrap"
            )
        if not np.all(np.isfinite(arr)):
            raise StudyInputError(f"{name}[{j}] contains missing or infinite values")
        out.append(arr)
    return out


def check_n_resamples(n_resamples: int, name: str = "n_resamples") -> int:
    """Whole number of resamples, at least MIN_RESAMPLES."""
    n = check_count(n_resamples, name)
    if n < MIN_RESAMPLES:
        raise StudyInputError(f"{name} must be at least {MIN_RESAMPLES}, got {n_resamples!r}")
    return n


def bootstrap_distribution(
    samples: Sequence[np.ndarray],
    statistic: Statistic,
    n_resamples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Statistic over `n_resamples` stratified resamples, computed in vectorised batches.

    Each sample is resampled with replacement to its own size; `statistic(*resampled, axis=-1)`
    receives arrays of shape (rows, n_j), one resample per row. The indices of a batch are
    drawn at once (sample by sample); the resampled values are gathered and reduced a few
    rows at a time, so they stay in cache.
    """
    largest = max(len(s) for s in samples)
    batch = max(1, _BATCH_VALUES // (largest * len(samples)))
    rows = max(1, _CHUNK_VALUES // (largest * len(samples)))
    out = np.empty(n_resamples, dtype=float)
    for start in range(0, n_resamples, batch):
        b = min(batch, n_resamples - start)
        drawn = [rng.integers(0, len(s), size=(b, len(s)), dtype=np.int32) for s in samples]
        for first in range(0, b, rows):
            chunk = slice(first, min(first + rows, b))
            resampled = [np.take(s, i[chunk]) for s, i in zip(samples, drawn, strict=True)]
            out[start + chunk.start : start + chunk.stop] = statistic(*resampled, axis=-1)
    return out


def jackknife_values(samples: Sequence[np.ndarray], statistic: Statistic) -> list[np.ndarray]:
    """Leave-one-out statistics, one array per sample (leaving out each of its observations)."""
    result = []
    for j, s in enumerate(samples):
        n = len(s)
        batch = max(1, _BATCH_VALUES // n)
        values = np.empty(n, dtype=float)
        for start in range(0, n, batch):
            b = min(batch, n - start)
            keep = np.ones((b, n), dtype=bool)
            keep[np.arange(b), start + np.arange(b)] = False
            loo = np.broadcast_to(s, (b, n))[keep].reshape(b, n - 1)
            args = [np.broadcast_to(o, (b, len(o))) for o in samples]
            args[j] = loo
            values[start : start + b] = statistic(*args, axis=-1)
        result.append(values)
    return result


def acceleration(jackknife: Sequence[np.ndarray]) -> float:
    """BCa acceleration a-hat from jackknife values (Efron & Tibshirani 1993, eq. 14.15).

    For several samples, the per-sample sums are combined as in scipy.stats.bootstrap:
    a = sum_j sum_i U_ji^3 / n_j^3 / (6 (sum_j sum_i U_ji^2 / n_j^2)^(3/2)),
    U_ji = (n_j - 1) (mean_i theta_(ji) - theta_(ji)).
    """
    num = 0.0
    den = 0.0
    for values in jackknife:
        n = float(len(values))
        u = (n - 1) * (values.mean() - values)
        num += float(np.sum(u**3)) / n**3
        den += float(np.sum(u**2)) / n**2
    if den == 0.0:
        return 0.0
    return num / (6.0 * den**1.5)


def bias_correction(theta_boot: np.ndarray, theta_hat: float) -> float:
    """BCa z0-hat: inverse normal of the share of resamples below the estimate (ties count 1/2)."""
    share = (
        np.count_nonzero(theta_boot < theta_hat) + np.count_nonzero(theta_boot <= theta_hat)
    ) / (2.0 * theta_boot.size)
    return float(ndtri(share))


def percentile_interval(theta_boot: np.ndarray, alpha: float) -> tuple[float, float]:
    """Percentile interval: the alpha/2 and 1 - alpha/2 quantiles (linear interpolation)."""
    alpha = check_alpha(alpha)
    low, high = np.percentile(theta_boot, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(low), float(high)


def bca_interval(
    theta_boot: np.ndarray, theta_hat: float, a_hat: float, alpha: float
) -> tuple[float, float, float]:
    """BCa interval (Efron & Tibshirani 1993, eq. 14.10); returns (low, high, z0)."""
    alpha = check_alpha(alpha)
    z0 = bias_correction(theta_boot, theta_hat)
    if not np.isfinite(z0):
        # every resample on one side of the estimate: BCa undefined, fall back to the extremes
        return float(theta_boot.min()), float(theta_boot.max()), z0
    qs = []
    for z_a in (ndtri(alpha / 2), ndtri(1 - alpha / 2)):
        num = z0 + z_a
        qs.append(float(ndtr(z0 + num / (1 - a_hat * num))))
    low, high = np.percentile(theta_boot, [100 * qs[0], 100 * qs[1]])
    return float(low), float(high), z0


def bootstrap_ci(
    samples: Sequence[np.ndarray],
    statistic: Statistic = mean_statistic,
    *,
    n_resamples: int = 10_000,
    alpha: float = 0.05,
    seed: int = 0,
) -> BootstrapResult:
    """Percentile and BCa bootstrap intervals for a vectorised statistic of one or more samples.

    Method: stratified nonparametric bootstrap with `n_resamples` resamples drawn by
    `np.random.default_rng(seed)`; percentile interval and BCa interval with jackknife
    acceleration (Efron & Tibshirani 1993, ch. 14).
    """
    samples = check_samples(samples)
    n_resamples = check_n_resamples(n_resamples)
    alpha = check_alpha(alpha)
    rng = np.random.default_rng(seed)
    theta_hat = float(statistic(*samples, axis=-1))
    theta_boot = bootstrap_distribution(samples, statistic, n_resamples, rng)
    jack = jackknife_values(samples, statistic)
    a_hat = acceleration(jack)
    low, high, z0 = bca_interval(theta_boot, theta_hat, a_hat, alpha)
    return BootstrapResult(
        estimate=theta_hat,
        theta_boot=theta_boot,
        intervals={"percentile": percentile_interval(theta_boot, alpha), "BCa": (low, high)},
        level=1 - alpha,
        n_resamples=n_resamples,
        n=tuple(len(s) for s in samples),
        z0=z0,
        acceleration=a_hat,
        jackknife=jack,
    )
