"""Interrupted time series (segmented regression) of regular series (weekly by default; any
frequency via `freq`), with Covid-19 as context.

The design (what is compared) is kept apart from the model that fits it, as in CausalPy:

- `design`: periods (`PeriodSpec`, `make_periods`), the weekly-series check
  (`check_weekly_series`) and the design matrix (`ITSDesign`, `build_design`; the model
  equation is in its docstring);
- `autocorrelation`: the latent AR(1) covariance of `quasi_poisson_ar1` (Zeger 1988, REML);
- `hac_ar1`: family `poisson_hac_ar1`, HAC standard errors with critical values simulated
  from the fitted latent AR(1) model (`poisson_hac_ar1`, `hac_t_statistics`, `hac_ar1_lags`);
- `models`: the families (`FAMILIES`), Newey-West HAC, `ITSFit`, `fit_design`, `fit_its`;
- `diagnostics`: residual autocorrelation and dispersion (`residual_diagnostics`);
- `counterfactual`: intervention terms set to zero, context kept (`counterfactual_effect`,
  `avoided_starts_draws`, `effect_summary`), with coefficient-draw intervals;
- `controlled`: controlled ITS against a comparison series (`fit_controlled_its`);
- `robustness`: placebo interruptions and the harmonics x family table (`placebo_tests`,
  `sensitivity_table`);
- `simulate`: seeded series with known effects (`simulate_its_counts`);
- `windows`: evaluation windows and the cut at the last week an evaluation had (`data_up_to`).

Every public name is re-exported here (`from study import its; its.fit_its(...)`). The figures
are in `study.plots.its`.
"""

from study.avoided_starts import AvoidedStarts
from study.its.autocorrelation import LatentAR1, latent_ar1_covariance
from study.its.controlled import ControlledITSFit, fit_controlled_its
from study.its.counterfactual import (
    CounterfactualResult,
    avoided_starts_draws,
    counterfactual_effect,
    effect_summary,
    quantile_mc_se,
)
from study.its.design import (
    DATE,
    FOURIER_PERIOD_WEEKS,
    FREQUENCIES,
    KINDS,
    MIN_SEGMENT_WEEKS,
    Frequency,
    ITSDesign,
    PeriodsLike,
    PeriodSpec,
    as_frequency,
    build_design,
    check_series,
    check_weekly_series,
    make_periods,
)
from study.its.diagnostics import ResidualDiagnostics, residual_diagnostics
from study.its.hac_ar1 import HACAR1Fit, hac_ar1_lags, hac_t_statistics, poisson_hac_ar1
from study.its.models import (
    CONTINUOUS_FAMILIES,
    COUNT_FAMILIES,
    FAMILIES,
    NB_ALPHA_SHOWN_MIN,
    POISSON_POINT_FAMILIES,
    ITSFit,
    fit_design,
    fit_its,
    newey_west_lags,
)
from study.its.robustness import PlaceboPrePeriodTooShort, placebo_tests, sensitivity_table
from study.its.simulate import simulate_its_counts
from study.its.windows import DataUpTo, data_up_to

__all__ = [
    "HACAR1Fit",
    "hac_ar1_lags",
    "hac_t_statistics",
    "poisson_hac_ar1",
    "CONTINUOUS_FAMILIES",
    "COUNT_FAMILIES",
    "FREQUENCIES",
    "Frequency",
    "LatentAR1",
    "as_frequency",
    "check_series",
    "latent_ar1_covariance",
    "DATE",
    "FAMILIES",
    "POISSON_POINT_FAMILIES",
    "FOURIER_PERIOD_WEEKS",
    "KINDS",
    "MIN_SEGMENT_WEEKS",
    "NB_ALPHA_SHOWN_MIN",
    "AvoidedStarts",
    "ControlledITSFit",
    "CounterfactualResult",
    "DataUpTo",
    "ITSDesign",
    "ITSFit",
    "PeriodSpec",
    "PeriodsLike",
    "ResidualDiagnostics",
    "avoided_starts_draws",
    "build_design",
    "check_weekly_series",
    "counterfactual_effect",
    "data_up_to",
    "effect_summary",
    "fit_controlled_its",
    "fit_design",
    "fit_its",
    "make_periods",
    "newey_west_lags",
    "PlaceboPrePeriodTooShort",
    "placebo_tests",
    "quantile_mc_se",
    "residual_diagnostics",
    "sensitivity_table",
    "simulate_its_counts",
]
