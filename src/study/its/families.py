"""The ITS model families by name (fitted in `study.its.models`; each one's method is in that
module's docstring). Plain names only: importing this module imports nothing heavy."""

FAMILIES = (
    "poisson",
    "quasi_poisson",
    "negative_binomial",
    "poisson_hac",
    "ols_hac",
    "quasi_poisson_ar1",
    "poisson_hac_ar1",
)
COUNT_FAMILIES = (
    "poisson",
    "quasi_poisson",
    "negative_binomial",
    "poisson_hac",
    "quasi_poisson_ar1",
    "poisson_hac_ar1",
)
CONTINUOUS_FAMILIES = ("ols_hac",)
# families whose coefficients are the Poisson GLM's (maximum likelihood under the Poisson
# mean model); they differ only in their covariance, so a point estimate is the same for each
POISSON_POINT_FAMILIES = (
    "poisson",
    "quasi_poisson",
    "poisson_hac",
    "quasi_poisson_ar1",
    "poisson_hac_ar1",
)
