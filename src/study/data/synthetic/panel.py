"""A simulated council panel (no published calibration) for the panel estimators' tests and
benchmarks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def simulated_council_panel(
    n_units: int, n_years: int, n_pre: int, *, effect: float, seed: int
) -> pd.DataFrame:
    """A simulated council x year panel for testing and timing `study.panel` (calibrated to
    nothing): unit levels N(50, 10) + unit trends N(0, 0.5) a year + common year shocks N(0, 2)
    + noise N(0, 1.5); unit 'E00000000' gains `effect` from period `n_pre` on. Columns
    geography_code, year ('2015-16', ...), value; deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_years)
    values = (
        rng.normal(50, 10, (n_units, 1))
        + rng.normal(0, 0.5, (n_units, 1)) * t
        + rng.normal(0, 2, (1, n_years))
        + rng.normal(0, 1.5, (n_units, n_years))
    )
    values[0, n_pre:] += effect
    years = [f"{2015 + k}-{(16 + k) % 100:02d}" for k in t]
    return pd.DataFrame(
        {
            "geography_code": np.repeat([f"E{i:08d}" for i in range(n_units)], n_years),
            "year": np.tile(years, n_units),
            "value": values.ravel(),
        }
    )
