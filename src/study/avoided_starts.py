"""Weekly avoided long-term starts: the quantity every cost-avoidance route estimates.

The interrupted time series (`study.its.avoided_starts_draws`: counterfactual - fitted weekly
counts), the published rates (`study.costs.avoided_starts_from_rates`) and a relative reduction
(`study.costs.avoided_starts_from_reduction`) each return one `AvoidedStarts`: the Mondays of
the weeks, a point path and model draws, which `study.costs.cost_avoidance` turns into £.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from study.errors import StudyInputError


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
