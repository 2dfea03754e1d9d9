"""The tidy estimate table every estimator returns (one row per estimate), and the helpers
that name and format its rows."""

from __future__ import annotations

import pandas as pd

WEEKS_PER_YEAR = 52  # budget years and annualised costs count 52 weeks
ESTIMATE_COLUMNS = ["quantity", "estimate", "ci_low", "ci_high", "level", "method", "n"]


def estimate_table(rows: list[dict]) -> pd.DataFrame:
    """Build a tidy estimate table; each row needs the ESTIMATE_COLUMNS keys (extra keys kept).

    `level` is the confidence level (0.95), `method` names the interval method, `n` the sample
    size or denominator behind the estimate.
    """
    missing = [c for c in ESTIMATE_COLUMNS for r in rows if c not in r]
    if missing:
        raise KeyError(f"estimate rows lack columns: {sorted(set(missing))}")
    df = pd.DataFrame(rows)
    extra = [c for c in df.columns if c not in ESTIMATE_COLUMNS]
    return df[ESTIMATE_COLUMNS + extra].reset_index(drop=True)


def label_quantity(label: str, quantity: str) -> str:
    """Prefix a quantity with a label ("Harrow 7.2 -> 5.5: rate ratio"); no label, no prefix."""
    return f"{label}: {quantity}" if label else quantity


def confidence_level(alpha: float) -> float:
    """The `level` column: 1 - alpha, rounded so that 0.95 prints as 0.95."""
    return round(1 - alpha, 10)


def gbp(x: float) -> str:
    """£ in thousands or millions, minus sign before the £ ("-£126k", "£1.02m")."""
    sign = "-" if x < 0 else ""
    if abs(x) >= 1e6:
        return f"{sign}£{abs(x) / 1e6:,.2f}m"
    return f"{sign}£{abs(x) / 1e3:,.0f}k"


def gbp_pounds(x: float, *, plus: bool = False) -> str:
    """Whole pounds with the sign before the £, as tables print them ("-£24", "£1,200";
    "+£74" with `plus`)."""
    sign = "-" if x < 0 else ("+" if plus else "")
    return f"{sign}£{abs(x):,.0f}"


def full_year_impact_gbp(completed, avg_weekly_change_gbp):
    """Full-year budget impact (£) = completed x average weekly change x `WEEKS_PER_YEAR`: the
    rule behind Harrow Tables 1a/1b; numbers, arrays or Series alike."""
    return completed * avg_weekly_change_gbp * WEEKS_PER_YEAR
