"""Argument checks shared by every estimator: each failure names the parameter."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from study.errors import StudyInputError


def check_alpha(alpha: float, name: str = "alpha") -> float:
    """Significance level strictly between 0 and 1."""
    if not isinstance(alpha, int | float) or isinstance(alpha, bool) or not 0 < alpha < 1:
        raise StudyInputError(f"{name} must be a number strictly between 0 and 1, got {alpha!r}")
    return float(alpha)


def check_count(value: float, name: str) -> int:
    """A non-negative whole number (counts of people, conversations, events)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise StudyInputError(f"{name} must be a non-negative whole number, got {value!r}")
    if not math.isfinite(float(value)) or value < 0 or float(value) != int(value):
        raise StudyInputError(f"{name} must be a non-negative whole number, got {value!r}")
    return int(value)


def check_counts(values: Iterable[float], name: str) -> np.ndarray:
    """An array of non-negative whole numbers."""
    arr = np.asarray(list(values), dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise StudyInputError(f"{name} must be a non-empty list of counts")
    for i, v in enumerate(arr):
        check_count(v, f"{name}[{i}]")
    return arr.astype(np.int64)


def check_positive(value: float, name: str) -> float:
    """A finite number > 0 (exposure, person-weeks, denominators)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise StudyInputError(f"{name} must be a positive number, got {value!r}")
    if not math.isfinite(float(value)) or value <= 0:
        raise StudyInputError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def check_nonnegative(value: float, name: str) -> float:
    """A finite number >= 0 (expected counts rebuilt from published rates need not be whole)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise StudyInputError(f"{name} must be a non-negative number, got {value!r}")
    if not math.isfinite(float(value)) or value < 0:
        raise StudyInputError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


def check_proportion(value: float, name: str) -> float:
    """A number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise StudyInputError(f"{name} must be a proportion in [0, 1], got {value!r}")
    if not 0 <= float(value) <= 1:
        raise StudyInputError(f"{name} must be a proportion in [0, 1], got {value!r}")
    return float(value)
