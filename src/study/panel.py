"""The design of a comparative panel study and its event-study difference in differences.

Data: a long table, one row per (unit, time), e.g. the OFLOG "ASC6 requests resulting in a
service" measure for about 150 councils, financial years "2015-16" ... "2022-23" (labels that
sort chronologically). One treated unit from `treatment_start` on; the donors are all other
units or a given subset. Donors with any missing outcome in the analysis window are dropped
(and reported); a missing outcome of the treated unit is an error.

* `PanelDesign`: what is compared (data, treated unit, treatment start, donors, window),
  validated once and turned into the balanced panel every estimator uses; the split between
  design and estimator follows CausalPy's experiments.
* `event_study_did`: two-way fixed-effects event study (unit and time fixed effects,
  treated x relative-time dummies, reference = last pre-treatment period), OLS by the two-way
  within transformation (the same numbers as the dense dummy design in statsmodels, which
  `EventStudyResult.ols` fits on demand).
  With one treated unit, cluster-robust standard errors are not valid; intervals and p-values
  come from placebos in space (Conley & Taber 2011, Rev Econ Stat 93:113-125): the same event
  study with each donor as the pseudo-treated unit.

The synthetic control on the same design: `study.synthetic_control`. Figures: `study.plots.panel`.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from study.checks import check_alpha
from study.errors import StudyInputError
from study.tidy import confidence_level, estimate_table, label_quantity

UNIT = "geography_code"
TIME = "year"
OUTCOME = "value"
CLUSTER_METHOD = "cluster-robust by council, t(G-1) (unreliable with one treated unit)"
TIE_TOL = 1e-10  # relative tolerance: placebo statistics this close to the treated one tie
PLACEBO_MIN_DONORS = 2  # placebo-in-space inference needs a donor pool for every placebo


# --------------------------------------------------------------------------------------------
# The design
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PanelDesign:
    """One treated unit against donor units in a long panel, validated once.

    `data`: long table with columns `unit`, `time`, `outcome` (numeric, finite; one row per
    unit and time). `treated`: the treated unit, observed in every period of the window.
    `treatment_start`: the first treated `time` label (at least 2 periods before it).
    `donors`: the donor pool (None: every other unit; the treated unit is ignored if listed).
    `window`: (first, last) `time` labels of the analysis (None: every label in `data`).

    Construction checks all of this and raises one `StudyInputError` naming the first problem.
    The balanced panel it builds is read-only: `times` (the window's labels), `n_pre` (periods
    before `treatment_start`), `treated_y` (T,), `donor_y` (J, T) for the `donors_used`
    (complete in the window, in pool order) and `dropped_donors` (incomplete, dropped). Every
    estimator works on that panel, so one design serves several (changing `data` afterwards
    changes nothing)::

        design = PanelDesign(asc6, treated="E09000015", treatment_start="2019-20")
        event_study_did(design)
        synthetic_control_placebo(design, penalty=choose_penalty(design).penalty)
    """

    data: pd.DataFrame = field(repr=False)
    _: KW_ONLY
    treated: Hashable
    treatment_start: Hashable
    donors: Sequence[Hashable] | None = None
    window: tuple[Hashable, Hashable] | None = None
    unit: str = UNIT
    time: str = TIME
    outcome: str = OUTCOME
    times: tuple[Hashable, ...] = field(init=False)
    n_pre: int = field(init=False)
    treated_y: np.ndarray = field(init=False, repr=False)
    donor_y: np.ndarray = field(init=False, repr=False)
    donors_used: tuple[Hashable, ...] = field(init=False, repr=False)
    dropped_donors: tuple[Hashable, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name, value in _balanced_panel(self).items():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def reference(self) -> Hashable:
        """The last pre-treatment period (the event study's reference)."""
        return self.times[self.n_pre - 1]

    def require_placebo_donors(self) -> None:
        """Placebo-in-space inference needs at least `PLACEBO_MIN_DONORS` complete donors."""
        if len(self.donors_used) < PLACEBO_MIN_DONORS:
            raise StudyInputError(
                f"placebo inference needs at least {PLACEBO_MIN_DONORS} donors with complete "
                f"data, got {len(self.donors_used)}"
            )


def as_design(design: PanelDesign | pd.DataFrame, design_args: Mapping[str, Any]) -> PanelDesign:
    """`design` itself, or the `PanelDesign` of a long table and the design keywords (treated,
    treatment_start, donors, window, unit, time, outcome) an estimator was called with."""
    if isinstance(design, PanelDesign):
        if design_args:
            raise StudyInputError(
                f"pass either a PanelDesign or data with the design keywords, not both "
                f"(got {sorted(design_args)})"
            )
        return design
    keywords = {f.name for f in fields(PanelDesign) if f.init and f.name != "data"}
    unknown = sorted(set(design_args) - keywords)
    if unknown:
        raise StudyInputError(f"unknown design keyword(s) {unknown}")
    missing = [k for k in ("treated", "treatment_start") if k not in design_args]
    if missing:
        raise StudyInputError(f"a panel design needs {' and '.join(missing)}")
    return PanelDesign(design, **design_args)


def _balanced_panel(design: PanelDesign) -> dict[str, Any]:
    """Validate the long table and return the balanced wide panel of the analysis window."""
    data, unit, time, outcome = design.data, design.unit, design.time, design.outcome
    treated, treatment_start = design.treated, design.treatment_start
    donors, window = design.donors, design.window
    if not isinstance(data, pd.DataFrame):
        raise StudyInputError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in (unit, time, outcome) if c not in data.columns]
    if missing:
        raise StudyInputError(f"data: missing column(s) {missing}")
    y = data[outcome]
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        bad = np.flatnonzero(pd.to_numeric(y, errors="coerce").isna().to_numpy() & y.notna())
        example = f"; row {bad[0]} holds {y.iloc[bad[0]]!r}" if bad.size else ""
        raise StudyInputError(
            f"data: column '{outcome}' must be numeric (dtype {y.dtype}){example}"
        )
    inf = np.flatnonzero(np.isinf(y.to_numpy(dtype=float)))
    if inf.size:
        raise StudyInputError(f"data: column '{outcome}' is infinite in row {inf[0]}")
    for col in (unit, time):
        null = np.flatnonzero(data[col].isna().to_numpy())
        if null.size:
            raise StudyInputError(f"data: column '{col}' is empty in row {null[0]}")
    dup = np.flatnonzero(data.duplicated([unit, time]).to_numpy())
    if dup.size:
        u, t = data[unit].iloc[dup[0]], data[time].iloc[dup[0]]
        raise StudyInputError(f"data: ({unit}={u!r}, {time}={t!r}) appears more than once")
    try:
        all_times = sorted(pd.unique(data[time]))
    except TypeError:
        raise StudyInputError(f"data: column '{time}' mixes labels that cannot be sorted") from None
    units = set(data[unit])
    if treated not in units:
        raise StudyInputError(f"treated unit {treated!r} is not in column '{unit}'")

    times = all_times
    if window is not None:
        if len(window) != 2:
            raise StudyInputError(f"window must be a pair (first, last) of '{time}' labels")
        for label in window:
            if label not in all_times:
                raise StudyInputError(f"window: {label!r} is not a '{time}' label in data")
        lo, hi = (all_times.index(label) for label in window)
        if lo > hi:
            raise StudyInputError(f"window: {window[0]!r} comes after {window[1]!r}")
        times = all_times[lo : hi + 1]
    if treatment_start not in times:
        raise StudyInputError(
            f"treatment_start {treatment_start!r} is not a '{time}' label in the analysis "
            f"window ({times[0]!r} to {times[-1]!r})"
        )
    n_pre = times.index(treatment_start)
    if n_pre < 2:
        raise StudyInputError(
            f"treatment_start {treatment_start!r}: at least 2 pre-treatment periods are needed, "
            f"the analysis window has {n_pre}"
        )

    if donors is None:
        candidates = [u for u in sorted(units, key=str) if u != treated]
    else:
        if isinstance(donors, str):
            raise StudyInputError("donors must be a list of unit ids, not one string")
        unknown = [d for d in donors if d not in units]
        if unknown:
            raise StudyInputError(
                f"donors: {len(unknown)} not in column '{unit}', e.g. {unknown[0]!r}"
            )
        candidates = [d for d in dict.fromkeys(donors) if d != treated]
    if not candidates:
        raise StudyInputError("donors: no donors left (the pool holds only the treated unit)")

    wide = (
        data.loc[data[time].isin(times), [unit, time, outcome]]
        .pivot(index=unit, columns=time, values=outcome)
        .reindex(index=[treated, *candidates], columns=times)
        .astype(float)
    )
    gaps = [t for t, v in zip(times, wide.loc[treated], strict=True) if np.isnan(v)]
    if gaps:
        raise StudyInputError(
            f"treated unit {treated!r} has no '{outcome}' for {gaps}; choose a window without "
            "missing years"
        )
    donor_y = wide.loc[candidates].to_numpy()
    complete = ~np.isnan(donor_y).any(axis=1)
    if not complete.any():
        raise StudyInputError(
            f"no donors left: all {len(candidates)} donors have missing '{outcome}' between "
            f"{times[0]!r} and {times[-1]!r}"
        )
    return {
        "donors": None if donors is None else tuple(donors),
        "times": tuple(times),
        "n_pre": n_pre,
        "treated_y": wide.loc[treated].to_numpy(),
        "donor_y": donor_y[complete],
        "donors_used": tuple(d for d, ok in zip(candidates, complete, strict=True) if ok),
        "dropped_donors": tuple(d for d, ok in zip(candidates, complete, strict=True) if not ok),
    }


# --------------------------------------------------------------------------------------------
# Event-study difference in differences
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventStudyResult:
    """Event-study DiD for one treated unit.

    `table`: tidy estimates (one row per relative time and interval method, plus the post-period
    average), extra columns p_value, rel_time, time, note. `placebo`: the donors' placebo
    coefficients (unit, quantity, rel_time, time, estimate). `ols`: the dense statsmodels fit
    (dummy design, cluster-robust covariance), computed on first use; the table comes from the
    within transformation, which gives the same numbers (`tests/test_panel.py`).
    """

    table: pd.DataFrame
    placebo: pd.DataFrame
    treated: Hashable
    treatment_start: Hashable
    reference: Hashable
    times: tuple[Hashable, ...]
    donors: tuple[Hashable, ...]
    dropped_donors: tuple[Hashable, ...]
    alpha: float
    _panel: tuple[np.ndarray, np.ndarray, int] = field(repr=False)

    @functools.cached_property
    def ols(self):
        """The statsmodels OLS of the dummy design with cluster-robust covariance."""
        return _twfe_ols(*self._panel)


def event_coefficients(treated_y: np.ndarray, donor_y: np.ndarray, ref: int) -> np.ndarray:
    """Closed form of the one-treated-unit TWFE event study on a balanced panel.

    beta_k = (Y_T,k - mean_C Y_C,k) - (Y_T,ref - mean_C Y_C,ref); the treated unit's dummies
    fit it exactly, so the time effects come from the donors alone.
    """
    gap = np.asarray(treated_y, float) - np.asarray(donor_y, float).mean(axis=0)
    return gap - gap[ref]


def _placebo_coefficients(donor_y: np.ndarray, ref: int) -> np.ndarray:
    """Row j: `event_coefficients` with donor j as pseudo-treated and the other donors as
    controls (mean of the others = (sum - Y_j) / (J - 1))."""
    J = donor_y.shape[0]
    gap = donor_y - (donor_y.sum(axis=0) - donor_y) / (J - 1)
    return gap - gap[:, [ref]]


def _twfe_ols(treated_y: np.ndarray, donor_y: np.ndarray, ref: int):
    """OLS of Y on unit dummies, time dummies (first dropped) and treated x time dummies
    (reference dropped, last in the design); covariance clustered by unit, t with G - 1 df.
    The dense statsmodels route (`EventStudyResult.ols`); `_twfe_within` gives its numbers."""
    import statsmodels.api as sm  # only here: the event study itself does not need statsmodels

    Y = np.vstack([treated_y, donor_y])
    n_units, T = Y.shape
    unit_idx = np.repeat(np.arange(n_units), T)
    time_idx = np.tile(np.arange(T), n_units)
    event_cols = [k for k in range(T) if k != ref]
    X = np.hstack(
        [
            (unit_idx[:, None] == np.arange(n_units)).astype(float),
            (time_idx[:, None] == np.arange(1, T)).astype(float),
            ((unit_idx[:, None] == 0) & (time_idx[:, None] == np.array(event_cols))).astype(float),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm.OLS(Y.ravel(), X, hasconst=True).fit(
            cov_type="cluster", cov_kwds={"groups": unit_idx}, use_t=True
        )


@dataclass(frozen=True)
class _ClusterFit:
    """The event coefficients of the TWFE regression and their cluster-robust covariance."""

    beta: np.ndarray  # (T - 1,) event coefficients, the reference left out
    cov: np.ndarray  # (T - 1, T - 1)
    df: int  # G - 1


def _twfe_within(treated_y: np.ndarray, donor_y: np.ndarray, ref: int) -> _ClusterFit:
    """The event-dummy block of `_twfe_ols` without the dummy design (Frisch-Waugh-Lovell).

    On a balanced panel the unit and time fixed effects are projected out by the two-way
    within transformation x_it - x_i. - x_.t + x_.. ; the event dummies and Y so transformed
    give the same coefficients and residuals as the full regression, and the rows of
    (X'X)^-1 X' for the event block are (D'D)^-1 D' (D: transformed dummies), so the
    cluster-robust sandwich of that block is (D'D)^-1 [sum_g D_g' u_g u_g' D_g] (D'D)^-1,
    scaled as statsmodels' `cov_cluster`: G / (G - 1) * (N - 1) / (N - K), K = units +
    2 (T - 1) parameters of the full design (Cameron & Miller 2015, J Hum Resour 50:317-372).
    """
    Y = np.vstack([treated_y, donor_y]).astype(float)
    G, T = Y.shape
    event_cols = [k for k in range(T) if k != ref]
    D = np.zeros((G, T, T - 1))
    D[0, event_cols, np.arange(T - 1)] = 1.0

    def within(a: np.ndarray) -> np.ndarray:
        return a - a.mean(axis=0, keepdims=True) - a.mean(axis=1, keepdims=True) + a.mean((0, 1))

    Dw, Yw = within(D), within(Y[:, :, None])[:, :, 0]
    flat = Dw.reshape(G * T, T - 1)
    bread = np.linalg.inv(flat.T @ flat)
    beta = bread @ (flat.T @ Yw.ravel())
    resid = Yw - Dw @ beta  # (G, T)
    scores = np.einsum("gtk,gt->gk", Dw, resid)  # D_g' u_g per unit
    n, k = G * T, G + 2 * (T - 1)
    scale = G / (G - 1) * (n - 1) / (n - k)
    return _ClusterFit(beta, scale * bread @ (scores.T @ scores) @ bread, G - 1)


def _cluster_rows(fit: _ClusterFit, n_pre: int, alpha: float):
    """Per event time and for the post-period average: (ci_low, ci_high) and p, t(G - 1)."""
    from scipy import stats

    T = len(fit.beta) + 1
    contrast = np.zeros(T - 1)
    contrast[n_pre - 1 :] = 1 / (T - n_pre)  # the post-period dummies come last
    est = np.append(fit.beta, contrast @ fit.beta)
    var = np.append(np.diag(fit.cov), contrast @ fit.cov @ contrast)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(var)
        t_stat = est / se
    q = stats.t.ppf(1 - alpha / 2, fit.df)
    p = 2 * stats.t.sf(np.abs(t_stat), fit.df)
    return np.column_stack([est - q * se, est + q * se]), p


def event_study_did(
    design: PanelDesign | pd.DataFrame,
    /,
    *,
    alpha: float = 0.05,
    label: str = "",
    **design_args: Any,
) -> EventStudyResult:
    """Event-study DiD: TWFE OLS with treated x relative-time dummies, reference = the last
    pre-treatment period; also the average of the post-period coefficients.

    Intervals (level 1 - alpha), method "placebo-in-space (Conley-Taber)": beta_k minus the
    (1 - alpha/2, alpha/2) empirical quantiles (numpy linear interpolation) of the donors'
    placebo coefficients, each donor pseudo-treated against the other donors (the real treated
    unit excluded); p = (1 + #{|placebo| >= |beta|}) / (J + 1). This assumes the treated unit's
    errors are exchangeable with the donors' (e.g. similar size). Placebo coefficients use the
    closed form `event_coefficients`, exact on the balanced panel. The conventional
    cluster-robust rows (`CLUSTER_METHOD`) are reported for comparison only.

    `design`: a `PanelDesign`, or a long table with the design keywords (treated=,
    treatment_start=, donors=, window=, unit=, time=, outcome=). At least 2 complete donors.
    """
    alpha = check_alpha(alpha)
    design = as_design(design, design_args)
    design.require_placebo_donors()
    T, J, n_pre = len(design.times), len(design.donors_used), design.n_pre
    ref = n_pre - 1
    fit = _twfe_within(design.treated_y, design.donor_y, ref)
    beta = np.insert(fit.beta, ref, 0.0)
    cluster_ci, cluster_p = _cluster_rows(fit, n_pre, alpha)
    cluster_ci = np.insert(cluster_ci, ref, np.nan, axis=0)
    cluster_p = np.insert(cluster_p, ref, np.nan)

    post = slice(n_pre, T)
    placebo = _placebo_coefficients(design.donor_y, ref)
    estimates = np.append(beta, beta[post].mean())
    placebo_all = np.column_stack([placebo, placebo[:, post].mean(axis=1)])
    q_high, q_low = np.quantile(placebo_all, [1 - alpha / 2, alpha / 2], axis=0)
    extreme = np.abs(placebo_all) >= np.abs(estimates) * (1 - TIE_TOL) - TIE_TOL
    placebo_p = (1 + extreme.sum(axis=0)) / (J + 1)

    times = design.times
    quantities = [f"effect at {t} (relative time {k - n_pre:+d})" for k, t in enumerate(times)]
    quantities.append(f"average effect {times[n_pre]} to {times[-1]}")
    rel_times = [*range(-n_pre, T - n_pre), None]
    time_labels = [*times, None]
    placebo_method = f"placebo-in-space (Conley-Taber), {J} donor placebos"
    rows = []
    for method, ci, pvals in (
        (placebo_method, np.column_stack([estimates - q_high, estimates - q_low]), placebo_p),
        (CLUSTER_METHOD, cluster_ci, cluster_p),
    ):
        for i, quantity in enumerate(quantities):
            is_ref = i == ref
            rows.append(
                {
                    "quantity": label_quantity(label, quantity),
                    "estimate": float(estimates[i]),
                    "ci_low": np.nan if is_ref else float(ci[i, 0]),
                    "ci_high": np.nan if is_ref else float(ci[i, 1]),
                    "level": confidence_level(alpha),
                    "method": method,
                    "n": J,
                    "p_value": np.nan if is_ref else float(pvals[i]),
                    "rel_time": rel_times[i],
                    "time": time_labels[i],
                    "note": "reference period (fixed at 0)"
                    if is_ref
                    else ("mean of the post-period coefficients" if i == T else ""),
                }
            )
    table = estimate_table(rows)
    table["rel_time"] = table["rel_time"].astype("Int64")
    placebo_long = pd.DataFrame(
        {
            "unit": np.repeat(np.array(design.donors_used, dtype=object), T + 1),
            "quantity": np.tile(
                np.array([label_quantity(label, q) for q in quantities], dtype=object), J
            ),
            "rel_time": pd.array(rel_times * J, dtype="Int64"),
            "time": np.tile(np.array(time_labels, dtype=object), J),
            "estimate": placebo_all.ravel(),
        }
    )
    return EventStudyResult(
        table=table,
        placebo=placebo_long,
        treated=design.treated,
        treatment_start=design.treatment_start,
        reference=design.reference,
        times=times,
        donors=design.donors_used,
        dropped_donors=design.dropped_donors,
        alpha=alpha,
        _panel=(design.treated_y, design.donor_y, ref),
    )


__all__ = [
    "CLUSTER_METHOD",
    "OUTCOME",
    "PLACEBO_MIN_DONORS",
    "TIE_TOL",
    "TIME",
    "UNIT",
    "EventStudyResult",
    "PanelDesign",
    "as_design",
    "event_coefficients",
    "event_study_did",
]
