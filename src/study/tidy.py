"""The tidy estimate table every estimator returns (one row per estimate)."""

from __future__ import annotations

import pandas as pd

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
