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

- `families`: the family names (`FAMILIES`, `COUNT_FAMILIES`, ...; no statsmodels import, so
  the run's parameters can name them without loading the models).

Every public name is re-exported here (`from study import its; its.fit_its(...)`), lazily: a
name's module is imported when the name is first used, so `import study.its.families` or a
design-only use does not import statsmodels. The figures are in `study.plots.its`.
"""

from __future__ import annotations

import importlib

# public name -> the module that defines it
_EXPORTS = {
    "CONTINUOUS_FAMILIES": "study.its.families",
    "COUNT_FAMILIES": "study.its.families",
    "FAMILIES": "study.its.families",
    "POISSON_POINT_FAMILIES": "study.its.families",
    "AvoidedStarts": "study.avoided_starts",
    "LatentAR1": "study.its.autocorrelation",
    "latent_ar1_covariance": "study.its.autocorrelation",
    "ControlledITSFit": "study.its.controlled",
    "fit_controlled_its": "study.its.controlled",
    "CounterfactualResult": "study.its.counterfactual",
    "avoided_starts_draws": "study.its.counterfactual",
    "counterfactual_effect": "study.its.counterfactual",
    "effect_summary": "study.its.counterfactual",
    "quantile_mc_se": "study.its.counterfactual",
    "DATE": "study.its.design",
    "FOURIER_PERIOD_WEEKS": "study.its.design",
    "FREQUENCIES": "study.its.design",
    "KINDS": "study.its.design",
    "MIN_SEGMENT_WEEKS": "study.its.design",
    "Frequency": "study.its.design",
    "ITSDesign": "study.its.design",
    "PeriodsLike": "study.its.design",
    "PeriodSpec": "study.its.design",
    "as_frequency": "study.its.design",
    "build_design": "study.its.design",
    "check_series": "study.its.design",
    "check_weekly_series": "study.its.design",
    "make_periods": "study.its.design",
    "ResidualDiagnostics": "study.its.diagnostics",
    "residual_diagnostics": "study.its.diagnostics",
    "HACAR1Fit": "study.its.hac_ar1",
    "hac_ar1_lags": "study.its.hac_ar1",
    "hac_t_statistics": "study.its.hac_ar1",
    "poisson_hac_ar1": "study.its.hac_ar1",
    "NB_ALPHA_SHOWN_MIN": "study.its.models",
    "ITSFit": "study.its.models",
    "fit_design": "study.its.models",
    "fit_its": "study.its.models",
    "newey_west_lags": "study.its.models",
    "PlaceboPrePeriodTooShort": "study.its.robustness",
    "placebo_tests": "study.its.robustness",
    "sensitivity_table": "study.its.robustness",
    "simulate_its_counts": "study.its.simulate",
    "DataUpTo": "study.its.windows",
    "data_up_to": "study.its.windows",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    """Import a public name's module on first use (PEP 562) and keep the name here."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'study.its' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
