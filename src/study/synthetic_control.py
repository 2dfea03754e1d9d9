"""Synthetic control of one treated unit in a panel (`study.panel.PanelDesign`).

* `synthetic_weights`: donor weights w >= 0, sum(w) = 1, minimising the pre-treatment squared
  gap (Abadie, Diamond & Hainmueller 2010, JASA 105:493-505, on the outcome path only), or with
  `penalty` = lambda > 0 the penalised synthetic control of Abadie & L'Hour (2021, JASA
  116:1817-1834), unique even when the treated path lies in the donors' convex hull (common
  with more donors than pre-periods); solved exactly (NNLS reduction, or an active-set QP).
* `synthetic_control`: the fit on a design (`SyntheticControlFit`: weights, paths, RMSPEs).
* `synthetic_control_placebo`: placebos in space ranked by the post/pre RMSPE ratio (same
  source), with the variants that drop placebos fitting worse than m x the treated unit; the
  same penalty for the treated unit and every placebo.
* `choose_penalty`: lambda by pre-period hold-out validation (`PenaltyChoice`).

Each estimator takes a `PanelDesign`, or a long table with the design keywords. Figures:
`study.plots.panel`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from study.checks import check_count, check_nonnegative, check_positive
from study.errors import StudyInputError
from study.panel import TIE_TOL, PanelDesign, as_design
from study.tidy import estimate_table, label_quantity

_EXACT_FIT_TOL = 1e-9  # pre-RMSPE <= this x max |outcome| counts as an exact pre-period fit


def synthetic_weights(
    donors_pre: np.ndarray, treated_pre: np.ndarray, penalty: float = 0.0
) -> np.ndarray:
    """Weights w >= 0, sum(w) = 1 minimising ||X1 - X0 w||^2 + penalty * sum_j w_j ||X1 - X0j||^2.

    X1 = `treated_pre` (T0,), X0 = `donors_pre` (T0, J), column X0j = donor j's pre-period path.
    penalty = 0 (ADH 2010): exact reduction to non-negative least squares (Lawson-Hanson active
    set, `scipy.optimize.nnls`): with D = (X0 - X1) / scale, minimise ||D u||^2 + (sum(u) - 1)^2
    over u >= 0. Writing u = s w (w on the simplex, q = ||D w||^2) gives s^2 q + (s - 1)^2,
    minimised at s = 1 / (1 + q) with value q / (1 + q), increasing in q; so w = u / sum(u)
    solves the simplex problem. At most T0 + 1 positive weights. When X1 lies inside the donors'
    convex hull the optimum is not unique and this returns one optimal basic solution.

    penalty = lambda > 0: penalised synthetic control (Abadie & L'Hour 2021, JASA
    116:1817-1834). Both terms are sums over the T0 pre-periods of squared outcome gaps, so
    lambda is unitless: rescaling or shifting the outcome leaves the weights unchanged, and both
    terms grow alike with the number of pre-periods. Since sum_j w_j ||X1 - X0j||^2 =
    ||X1 - X0 w||^2 + sum_j w_j ||X0j - X0 w||^2, the objective is (1 + lambda) x fit +
    lambda x the weighted spread of the chosen donors around the synthetic unit: lambda trades
    fit against interpolation between distant donors. The solution is unique for donors in
    general position (their Theorem 1), has at most T0 + 1 positive weights, tends to the
    minimum-penalty exact fit as lambda -> 0 and to the nearest donor as lambda -> infinity.
    Solved exactly by a primal active-set method for the convex QP (`_penalised_simplex_qp`),
    deterministic.
    """
    penalty = check_nonnegative(penalty, "penalty")
    A = np.asarray(donors_pre, float)
    b = np.asarray(treated_pre, float)
    D = A - b[:, None]
    scale = float(np.abs(D).max()) or 1.0
    if penalty > 0:
        return _penalised_simplex_qp(D / scale, penalty)
    # identical donor paths are merged first: scipy's nnls can return a suboptimal point when
    # columns are duplicated (scipy issue #25389); the weight goes to the first of the twins
    first = np.sort(np.unique(D.T, axis=0, return_index=True)[1])
    U = D[:, first]
    E = np.vstack([U / scale, np.ones(U.shape[1])])
    f = np.zeros(E.shape[0])
    f[-1] = 1.0
    u, _ = nnls(E, f, maxiter=50 * E.shape[1])
    w = np.zeros(A.shape[1])
    w[first] = u / u.sum()
    # scipy's nnls can also stop short without twins (e.g. A = 87 except two cells, found by
    # hypothesis): check the simplex KKT condition (no donor's gradient below the weighted
    # mean gradient) and, if it fails, solve exactly with the active-set QP at lambda = 0
    Ds = D / scale
    g = Ds.T @ (Ds @ w)
    if g.min() < g @ w - 1e-10 * max(1.0, float(np.einsum("tj,tj->", Ds, Ds))):
        return _penalised_simplex_qp(Ds, 0.0)
    return w


def _penalised_simplex_qp(D: np.ndarray, lam: float) -> np.ndarray:
    """Minimise f(w) = ||D w||^2 + lam c'w, c_j = ||D_j||^2, over the simplex (lam >= 0; at
    lam = 0 it is the exact fallback when nnls stops short).

    Primal active-set method (Nocedal & Wright 2006, Alg. 16.3, inertia-controlling for a
    singular Hessian). Start at the vertex minimising f (the nearest donor); keep a free set F
    whose columns of D are affinely independent, so the equality-constrained subproblem on F has
    a unique minimiser (KKT solve). Step towards it, dropping the first weight that reaches 0;
    at the subproblem optimum, free the donor with the most negative multiplier g_j - nu. If the
    enlarged F is affinely dependent, f is linear along the dependence direction p (D_F p = 0,
    sum(p) = 0), decreasing for the sign with c'p < 0: move along p until a weight reaches 0.
    """
    T0, J = D.shape
    c = np.einsum("tj,tj->j", D, D)
    grad_tol = 1e-12 * (2 + lam) * max(1.0, float(c.max()))
    free = [int(np.argmin(c))]
    w = np.zeros(J)
    w[free[0]] = 1.0
    for _ in range(20 * (J + T0)):
        Df, wf = D[:, free], w[free]
        M = np.vstack([Df, np.ones(len(free))])
        sv = np.linalg.svd(M, compute_uv=False) if len(free) <= T0 + 1 else None
        if sv is not None and sv[-1] > 1e-10 * sv[0]:
            n = len(free)
            K = np.zeros((n + 1, n + 1))
            K[:n, :n] = 2 * Df.T @ Df
            K[:n, n] = K[n, :n] = 1.0
            target = np.linalg.solve(K, np.append(-lam * c[free], 1.0))[:n]
            p, t_max = target - wf, 1.0
        else:  # affinely dependent after freeing free[-1]: descend along the null direction
            p = np.linalg.svd(M)[2][-1]
            slope = c[free] @ p
            if slope > 0 or (slope == 0 and p[-1] < 0):
                p = -p
            t_max = np.inf
        ratios = np.full(len(free), np.inf)
        ratios[p < 0] = wf[p < 0] / -p[p < 0]
        i = int(np.argmin(ratios))
        if ratios[i] < t_max:  # blocked: weight free[i] reaches 0 and leaves the free set
            w[free] = wf + ratios[i] * p
            w[free.pop(i)] = 0.0
            continue
        w[free] = target
        g = 2 * D.T @ (D @ w) + lam * c
        mult = g - g[free].mean()
        mult[free] = np.inf
        j = int(np.argmin(mult))
        if mult[j] >= -grad_tol:
            break
        free.append(j)
    else:  # pragma: no cover - guards against cycling on degenerate input
        raise RuntimeError("penalised synthetic control: active-set solver did not converge")
    w = np.maximum(w, 0.0)
    return w / w.sum()


def _exact_tol(design: PanelDesign) -> float:
    """Pre-RMSPE at or below which a fit counts as exact (rounding error of the solver)."""
    largest = max(np.abs(design.donor_y).max(), np.abs(design.treated_y).max(), 1.0)
    return _EXACT_FIT_TOL * float(largest)


def _fit_sc(
    y: np.ndarray, donor_y: np.ndarray, n_pre: int, tol: float, penalty: float = 0.0
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Weights, gap path (y - synthetic) and the summary fields of `SyntheticControlFit`."""
    w = synthetic_weights(donor_y[:, :n_pre].T, y[:n_pre], penalty)
    gap = y - w @ donor_y
    pre, post = (float(np.sqrt(np.mean(g**2))) for g in (gap[:n_pre], gap[n_pre:]))
    summary = {
        "pre_rmspe": pre,
        "post_rmspe": post,
        "rmspe_ratio": np.inf if pre <= tol else post / pre,
        "exact_pre_fit": pre <= tol,
        "mean_post_gap": float(gap[n_pre:].mean()),
    }
    return w, gap, summary


@dataclass(frozen=True)
class SyntheticControlFit:
    """Synthetic control of one treated unit on its outcome path.

    `weights`: unit, weight (every donor, largest first). `path`: time, rel_time, treated,
    synthetic, gap (treated - synthetic), post. RMSPEs are root mean squared gaps; rmspe_ratio =
    post / pre; mean_post_gap = average post gap. exact_pre_fit: pre-RMSPE <= exact_fit_tol
    (1e-9 x max(1, max |outcome|)): the treated path lies in the donors' convex hull, common
    with fewer pre-periods than donors; the ratio is then infinite and the weights one of many
    optima (penalty = 0) - a penalty > 0 makes them unique. penalty: the lambda of the
    penalised synthetic control (0 = ADH 2010; see `synthetic_weights`).
    """

    treated: Hashable
    treatment_start: Hashable
    times: tuple[Hashable, ...]
    donors: tuple[Hashable, ...]
    dropped_donors: tuple[Hashable, ...]
    weights: pd.DataFrame
    path: pd.DataFrame
    pre_rmspe: float
    post_rmspe: float
    rmspe_ratio: float
    exact_pre_fit: bool
    exact_fit_tol: float
    mean_post_gap: float
    penalty: float = 0.0


def _sc_result(design: PanelDesign, penalty: float) -> SyntheticControlFit:
    tol = _exact_tol(design)
    w, gap, summary = _fit_sc(design.treated_y, design.donor_y, design.n_pre, tol, penalty)
    weights = pd.DataFrame({"unit": pd.Series(design.donors_used, dtype=object), "weight": w})
    path = pd.DataFrame(
        {
            "time": pd.Series(design.times, dtype=object),
            "rel_time": np.arange(len(gap)) - design.n_pre,
            "treated": design.treated_y,
            "synthetic": design.treated_y - gap,
            "gap": gap,
            "post": np.arange(len(gap)) >= design.n_pre,
        }
    )
    return SyntheticControlFit(
        treated=design.treated,
        treatment_start=design.treatment_start,
        times=design.times,
        donors=design.donors_used,
        dropped_donors=design.dropped_donors,
        weights=weights.sort_values("weight", ascending=False, kind="stable", ignore_index=True),
        path=path,
        exact_fit_tol=tol,
        penalty=penalty,
        **summary,
    )


def synthetic_control(
    design: PanelDesign | pd.DataFrame,
    /,
    *,
    penalty: float = 0.0,
    **design_args: Any,
) -> SyntheticControlFit:
    """Synthetic control (Abadie, Diamond & Hainmueller 2010) on the outcome path only.

    Weights minimise the pre-treatment squared gap over the simplex (`synthetic_weights`);
    with `penalty` = lambda > 0, the penalised synthetic control of Abadie & L'Hour (2021,
    JASA 116:1817-1834), unique even when many weight vectors fit the pre-period exactly
    (lambda is unitless; choose it with `choose_penalty`). Point estimates only (inference:
    `synthetic_control_placebo`).

    `design`: a `PanelDesign`, or a long table with the design keywords (treated=,
    treatment_start=, donors=, window=, unit=, time=, outcome=).
    """
    penalty = check_nonnegative(penalty, "penalty")
    return _sc_result(as_design(design, design_args), penalty)


@dataclass(frozen=True)
class SyntheticControlPlacebo:
    """Placebo-in-space inference for a synthetic control.

    `placebos`: unit, pre_rmspe, post_rmspe, ratio, exact_pre_fit, mean_post_gap, is_treated,
    rank (1 = largest ratio among the treated unit and all placebos; ties share the larger rank,
    so exact pre-period fits, ratio infinite, all tie), sorted by rank.
    `gaps`: unit, time, rel_time, gap, is_treated (every path, for the spaghetti plot).
    `table`: tidy rows for the average post gap with the permutation p-value, using all
    placebos and then only those with pre-RMSPE <= m x the treated's, for each m. `penalty`:
    the lambda used for the treated unit and every placebo alike.
    """

    fit: SyntheticControlFit
    placebos: pd.DataFrame
    gaps: pd.DataFrame
    table: pd.DataFrame
    rank: int
    p_value: float
    penalty: float = 0.0


def synthetic_control_placebo(
    design: PanelDesign | pd.DataFrame,
    /,
    *,
    pre_rmspe_multiples: Sequence[float] = (20, 5, 2),
    label: str = "",
    penalty: float = 0.0,
    **design_args: Any,
) -> SyntheticControlPlacebo:
    """Synthetic control with placebos in space (Abadie, Diamond & Hainmueller 2010).

    Every donor is fitted as if treated, with the other donors as its pool (the real treated
    unit excluded). The treated unit's post/pre RMSPE ratio is ranked among all (rank 1 =
    largest; ties count against the treated unit); permutation p = rank / (n_placebos + 1).
    For each m in `pre_rmspe_multiples`, the same with only the placebos whose pre-RMSPE is at
    most m x the treated's (or of the exact-fit tolerance, if larger). An exact pre-period fit
    has an infinite ratio, so exact fits tie and the test loses power; with fewer pre-periods
    than donors, use `penalty` > 0 (Abadie & L'Hour 2021; see `synthetic_weights`) or shrink
    the donor pool. The same penalty is used for the treated unit and for every placebo, so
    all are fitted by the same procedure (a penalty chosen from the treated unit's data, e.g.
    by `choose_penalty`, is not re-chosen per placebo). No interval: the table's ci and level
    are empty.

    `design`: a `PanelDesign`, or a long table with the design keywords (treated=,
    treatment_start=, donors=, window=, unit=, time=, outcome=). At least 2 complete donors.
    """
    multiples = [check_positive(m, "pre_rmspe_multiples") for m in pre_rmspe_multiples]
    penalty = check_nonnegative(penalty, "penalty")
    design = as_design(design, design_args)
    design.require_placebo_donors()
    fit = _sc_result(design, penalty)
    J, n_pre, T, tol = len(design.donors_used), design.n_pre, len(design.times), fit.exact_fit_tol
    fits = [
        _fit_sc(y, np.delete(design.donor_y, j, axis=0), n_pre, tol, penalty)
        for j, y in enumerate(design.donor_y)
    ]
    units = pd.Series([design.treated, *design.donors_used], dtype=object)
    placebos = pd.DataFrame([{k: getattr(fit, k) for k in fits[0][2]}, *(f[2] for f in fits)])
    placebos = placebos.rename(columns={"rmspe_ratio": "ratio"})
    ratio = placebos["ratio"].to_numpy()
    placebos.insert(0, "unit", units)
    placebos["is_treated"] = np.arange(J + 1) == 0
    placebos["rank"] = (ratio[None, :] >= ratio[:, None] * (1 - TIE_TOL)).sum(axis=1)
    rank = int(placebos["rank"].iloc[0])
    placebos = placebos.sort_values(
        ["rank", "is_treated"], ascending=[True, False], kind="stable", ignore_index=True
    )
    gaps = pd.DataFrame(
        {
            "unit": units.repeat(T).to_numpy(),
            "time": np.tile(np.array(design.times, dtype=object), J + 1),
            "rel_time": np.tile(np.arange(T) - n_pre, J + 1),
            "gap": np.concatenate([fit.path["gap"].to_numpy(), *(f[1] for f in fits)]),
            "is_treated": np.repeat(np.arange(J + 1) == 0, T),
        }
    )
    pre = np.array([f[2]["pre_rmspe"] for f in fits])
    base = "placebo-in-space permutation test, rank of post/pre RMSPE ratio (ADH 2010)"
    if penalty > 0:
        base = f"synthetic control, penalised (Abadie & L'Hour 2021, lambda = {penalty:g}), {base}"
    rows = []
    for m in [None, *multiples]:
        keep = np.ones(J, bool) if m is None else pre <= m * max(fit.pre_rmspe, tol)
        k = int(1 + (ratio[1:][keep] >= fit.rmspe_ratio * (1 - TIE_TOL)).sum())
        rows.append(
            {
                "quantity": label_quantity(label, "average post-period gap (treated - synthetic)"),
                "estimate": fit.mean_post_gap,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "level": np.nan,
                "method": base if m is None else f"{base}, placebos with pre-RMSPE <= {m:g}x",
                "n": int(keep.sum()),
                "p_value": k / (int(keep.sum()) + 1),
                "rank": k,
                "rmspe_ratio": fit.rmspe_ratio,
                "pre_rmspe_multiple": np.nan if m is None else m,
                "note": "permutation p-value only (no interval)",
            }
        )
    return SyntheticControlPlacebo(
        fit=fit,
        placebos=placebos,
        gaps=gaps,
        table=estimate_table(rows),
        rank=rank,
        p_value=rank / (J + 1),
        penalty=penalty,
    )


DEFAULT_PENALTY_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


@dataclass(frozen=True)
class PenaltyChoice:
    """The penalty chosen by `choose_penalty`, with the validation table.

    `table`: one row per grid value (ascending): penalty, validation_mse and validation_rmspe
    (treated minus synthetic over the held-out periods), fit_rmspe (over the fitting periods),
    n_positive_weights, chosen (True on the chosen row).
    """

    penalty: float
    table: pd.DataFrame
    treated: Hashable
    fit_times: tuple[Hashable, ...]
    holdout_times: tuple[Hashable, ...]
    donors: tuple[Hashable, ...]
    dropped_donors: tuple[Hashable, ...]


def choose_penalty(
    design: PanelDesign | pd.DataFrame,
    /,
    *,
    holdout: int = 1,
    grid: Sequence[float] = DEFAULT_PENALTY_GRID,
    **design_args: Any,
) -> PenaltyChoice:
    """Penalty lambda of the penalised synthetic control by pre-treatment hold-out validation.

    For each lambda in `grid`, the treated unit's weights are fitted on its first T0 - holdout
    pre-treatment periods and predict the last `holdout` pre-treatment periods (no post-period
    data used); the chosen lambda has the smallest held-out mean squared error, ties (relative
    1e-9) going to the larger lambda. Validation on held-out pre-intervention periods of the
    treated unit is one of the data-driven choices of lambda Abadie & L'Hour (2021, JASA
    116:1817-1834) discuss (another is leave-one-out over the untreated units). With few
    pre-periods (e.g. 3 fitting years and 1 held out) the choice is noisy: report the table.
    The grid may include 0 (ADH 2010), whose weights are one of many exact fits when there are
    more donors than fitting periods.

    `design`: a `PanelDesign`, or a long table with the design keywords (treated=,
    treatment_start=, donors=, window=, unit=, time=, outcome=).
    """
    values = sorted({check_nonnegative(v, "grid value") for v in grid})
    if not values:
        raise StudyInputError("grid must hold at least one penalty value")
    design = as_design(design, design_args)
    holdout = check_count(holdout, "holdout")
    n_fit = design.n_pre - holdout
    if holdout < 1 or n_fit < 1:
        raise StudyInputError(
            f"holdout must be between 1 and {design.n_pre - 1} (the window has {design.n_pre} "
            f"pre-treatment periods), got {holdout}"
        )
    y, donor_y = design.treated_y, design.donor_y
    rows = []
    for lam in values:
        w = synthetic_weights(donor_y[:, :n_fit].T, y[:n_fit], lam)
        gap = y[: design.n_pre] - w @ donor_y[:, : design.n_pre]
        mse = float(np.mean(gap[n_fit:] ** 2))
        rows.append(
            {
                "penalty": lam,
                "validation_mse": mse,
                "validation_rmspe": float(np.sqrt(mse)),
                "fit_rmspe": float(np.sqrt(np.mean(gap[:n_fit] ** 2))),
                "n_positive_weights": int((w > 0).sum()),
            }
        )
    table = pd.DataFrame(rows)
    mse = table["validation_mse"].to_numpy()
    best = mse.min() * (1 + 1e-9) + _exact_tol(design) ** 2
    chosen = int(np.flatnonzero(mse <= best)[-1])  # ties: the larger penalty
    table["chosen"] = np.arange(len(table)) == chosen
    return PenaltyChoice(
        penalty=values[chosen],
        table=table,
        treated=design.treated,
        fit_times=design.times[:n_fit],
        holdout_times=design.times[n_fit : design.n_pre],
        donors=design.donors_used,
        dropped_donors=design.dropped_donors,
    )


__all__ = [
    "DEFAULT_PENALTY_GRID",
    "PenaltyChoice",
    "SyntheticControlFit",
    "SyntheticControlPlacebo",
    "choose_penalty",
    "synthetic_control",
    "synthetic_control_placebo",
    "synthetic_weights",
]
