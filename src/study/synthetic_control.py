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
from functools import partial
from itertools import combinations
from math import comb
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from study.checks import check_alpha, check_count, check_nonnegative, check_positive
from study.errors import StudyInputError
from study.panel import TIE_TOL, PanelDesign, as_design
from study.tidy import confidence_level, estimate_table, label_quantity

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
    Solved exactly by a primal active-set method for the convex QP (`_simplex_qp`),
    deterministic.
    """
    penalty = check_nonnegative(penalty, "penalty")
    return _many_weights([(donors_pre, treated_pre, penalty)])[0]


def _many_weights(problems: Sequence[tuple[np.ndarray, np.ndarray, float]]) -> list[np.ndarray]:
    """`synthetic_weights` of each (donors_pre, treated_pre, penalty), penalties checked. The
    penalised problems of one shape are solved together (`_simplex_qp`, the same steps and
    numbers as one at a time); penalty 0 by NNLS, one at a time."""
    out: list[np.ndarray] = [np.empty(0)] * len(problems)
    batches: dict[tuple[Any, ...], list[tuple[int, np.ndarray, float]]] = {}
    for k, (A, b, lam) in enumerate(problems):
        A, b = np.asarray(A, float), np.asarray(b, float)
        if lam > 0:
            D = A - b[:, None]
            D = D / (float(np.abs(D).max()) or 1.0)
            # a problem's memory layout decides its BLAS calls (and rounding): keep it
            batches.setdefault((D.shape, D.strides[0] < D.strides[1]), []).append((k, D, lam))
        else:
            out[k] = _adh_weights(A, b)
    for (_, by_column), batch in batches.items():
        ks, Ds, lams = zip(*batch, strict=True)
        D = np.stack([d.T for d in Ds]).transpose(0, 2, 1) if by_column else np.stack(Ds)
        for k, w in zip(ks, _simplex_qp(D, np.array(lams, float)), strict=True):
            out[k] = w
    return out


def _adh_weights(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The unpenalised weights by NNLS (`synthetic_weights`), checked by the simplex KKT
    condition; the active-set QP at lambda = 0 where nnls stops short."""
    D = A - b[:, None]
    scale = float(np.abs(D).max()) or 1.0
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
        return _simplex_qp(Ds[None], np.zeros(1))[0]
    return w


def _simplex_qp(D: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Minimise f(w) = ||D_b w||^2 + lam_b c_b'w, c_bj = ||D_bj||^2, over the simplex for each
    problem b of D (B, T0, J) and lam (B,) >= 0 (at lam = 0 it is the exact fallback when nnls
    stops short); returns the weights (B, J).

    Primal active-set method (Nocedal & Wright 2006, Alg. 16.3, inertia-controlling for a
    singular Hessian). Start at the vertex minimising f (the nearest donor); keep a free set F
    whose columns of D are affinely independent, so the equality-constrained subproblem on F has
    a unique minimiser (KKT solve). Step towards it, dropping the first weight that reaches 0;
    at the subproblem optimum, free the donor with the most negative multiplier g_j - nu. If the
    enlarged F is affinely dependent, f is linear along the dependence direction p (D_F p = 0,
    sum(p) = 0), decreasing for the sign with c'p < 0: move along p until a weight reaches 0.

    The problems advance in lock-step, one iteration each per pass, those with free sets of
    the same size together (stacked numpy linear algebra, the same LAPACK/BLAS calls per
    problem as one problem at a time, so the same numbers: `tests/test_synthetic_control.py`
    keeps the one-problem loop as the reference).
    """
    B, T0, J = D.shape
    by_column = D.strides[1] < D.strides[2]  # each problem column-major: keep it so
    c = np.array([np.einsum("tj,tj->j", d, d) for d in D]).reshape(B, J)
    grad_tol = 1e-12 * (2 + lam) * np.maximum(1.0, c.max(axis=1))
    free = np.zeros((B, min(J, T0 + 2) + 1), dtype=np.intp)  # free[b, :size[b]], in order
    free[:, 0] = np.argmin(c, axis=1)
    size = np.ones(B, dtype=np.intp)
    W = np.zeros((B, J))
    W[np.arange(B), free[:, 0]] = 1.0
    active = np.ones(B, bool)
    periods = np.arange(T0)[None, :, None]
    for _ in range(20 * (J + T0)):
        running = np.flatnonzero(active)
        if not running.size:
            break
        at_target = []  # (problems, free sets) at their subproblem optimum this pass
        for n in np.unique(size[running]):
            idx = running[size[running] == n]
            m, rows = len(idx), np.arange(len(idx))
            F = free[idx, :n]
            Df = D[idx[:, None, None], periods, F[:, None, :]]
            wf = W[idx[:, None], F]
            M = np.concatenate([Df, np.ones((m, 1, n))], axis=1)
            ok = np.zeros(m, bool)
            if n <= T0 + 1:
                sv = np.linalg.svd(M, compute_uv=False)
                ok = sv[:, -1] > 1e-10 * sv[:, 0]
            p = np.empty((m, n))
            t_max = np.ones(m)
            target = np.full((m, n), np.nan)
            if ok.any():
                Do = Df[ok]
                K = np.zeros((len(Do), n + 1, n + 1))
                K[:, :n, :n] = 2 * Do.transpose(0, 2, 1) @ Do
                K[:, :n, n] = 1.0
                K[:, n, :n] = 1.0
                rhs = np.ones((len(Do), n + 1, 1))
                rhs[:, :n, 0] = -lam[idx[ok], None] * c[idx[ok, None], F[ok]]
                target[ok] = np.linalg.solve(K, rhs)[:, :n, 0]
                p[ok] = target[ok] - wf[ok]
            dep = np.flatnonzero(~ok)
            if dep.size:  # affinely dependent after freeing F[-1]: along the null direction
                null = np.linalg.svd(M[dep])[2][:, -1, :]
                slope = (c[idx[dep, None], F[dep]][:, None, :] @ null[:, :, None])[:, 0, 0]
                flip = (slope > 0) | ((slope == 0) & (null[:, -1] < 0))
                p[dep] = np.where(flip[:, None], -null, null)
                t_max[dep] = np.inf
            neg = p < 0
            ratios = np.full((m, n), np.inf)
            ratios[neg] = wf[neg] / -p[neg]
            i = np.argmin(ratios, axis=1)
            step = ratios[rows, i]
            blocked = step < t_max  # weight F[i] reaches 0 and leaves the free set
            bl = np.flatnonzero(blocked)
            if bl.size:
                W[idx[bl, None], F[bl]] = wf[bl] + step[bl, None] * p[bl]
                W[idx[bl], F[bl, i[bl]]] = 0.0
                keep = np.arange(n)[None, :] != i[bl, None]
                free[idx[bl], : n - 1] = F[bl][keep].reshape(len(bl), n - 1)
                size[idx[bl]] -= 1
            reached = np.flatnonzero(~blocked)
            if reached.size:
                if not ok[reached].all():  # pragma: no cover - a null direction has p_j < 0
                    raise RuntimeError("penalised synthetic control: no blocking weight")
                W[idx[reached, None], F[reached]] = target[reached]
                at_target.append((idx[reached], F[reached]))
        if not at_target:
            continue
        U = np.concatenate([u for u, _ in at_target])
        Du = D.transpose(0, 2, 1)[U].transpose(0, 2, 1) if by_column else D[U]
        g = (2 * Du.transpose(0, 2, 1) @ (Du @ W[U][:, :, None]))[:, :, 0] + lam[U, None] * c[U]
        start = 0
        for idx, F in at_target:
            rows = np.arange(len(idx))[:, None]
            gi = g[start : start + len(idx)]
            start += len(idx)
            mult = gi - gi[rows, F].mean(axis=1)[:, None]
            mult[rows, F] = np.inf
            j = np.argmin(mult, axis=1)
            done = mult[rows[:, 0], j] >= -grad_tol[idx]
            active[idx[done]] = False
            more = idx[~done]
            free[more, size[more]] = j[~done]
            size[more] += 1
    else:  # pragma: no cover - guards against cycling on degenerate input
        if active.any():
            raise RuntimeError("penalised synthetic control: active-set solver did not converge")
    W = np.maximum(W, 0.0)
    return W / W.sum(axis=1, keepdims=True)


def _exact_tol(design: PanelDesign) -> float:
    """Pre-RMSPE at or below which a fit counts as exact (rounding error of the solver)."""
    largest = max(np.abs(design.donor_y).max(), np.abs(design.treated_y).max(), 1.0)
    return _EXACT_FIT_TOL * float(largest)


def _fit_units(
    units: Sequence[tuple[np.ndarray, np.ndarray]],
    n_pre: int,
    tol: float,
    penalties: Sequence[float],
) -> list[tuple[np.ndarray, np.ndarray, dict[str, Any]]]:
    """Per (y, donor_y) fitted with its penalty (the weights solved together): weights, gap
    path (y - synthetic) and the summary fields of `SyntheticControlFit`."""
    pre_paths = [
        (pool[:, :n_pre].T, y[:n_pre], lam) for (y, pool), lam in zip(units, penalties, strict=True)
    ]
    fits = []
    for (y, pool), w in zip(units, _many_weights(pre_paths), strict=True):
        gap = y - w @ pool
        pre, post = (float(np.sqrt(np.mean(g**2))) for g in (gap[:n_pre], gap[n_pre:]))
        summary = {
            "pre_rmspe": pre,
            "post_rmspe": post,
            "rmspe_ratio": np.inf if pre <= tol else post / pre,
            "exact_pre_fit": pre <= tol,
            "mean_post_gap": float(gap[n_pre:].mean()),
        }
        fits.append((w, gap, summary))
    return fits


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


def _sc_result(
    design: PanelDesign,
    penalty: float,
    fitted: tuple[np.ndarray, np.ndarray, dict[str, Any]] | None = None,
) -> SyntheticControlFit:
    """The fit of the treated unit (`fitted`: its `_fit_units`, if already computed)."""
    tol = _exact_tol(design)
    units = [(design.treated_y, design.donor_y)]
    w, gap, summary = fitted or _fit_units(units, design.n_pre, tol, [penalty])[0]
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


DEFAULT_PENALTY_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


@dataclass(frozen=True)
class SyntheticControlPlacebo:
    """Placebo-in-space inference for a synthetic control.

    `placebos`: unit, pre_rmspe, post_rmspe, ratio, exact_pre_fit, mean_post_gap, penalty (the
    lambda that unit was fitted with), is_treated, rank (1 = largest ratio among the treated
    unit and all placebos; ties share the larger rank, so exact pre-period fits, ratio
    infinite, all tie), sorted by rank.
    `gaps`: unit, time, rel_time, gap, is_treated (every path, for the spaghetti plot).
    `table`: one keyed row per placebo filter (all placebos, then those with pre-RMSPE <= m x
    the treated's, for each m): the treated unit's post/pre RMSPE ratio (the test statistic),
    its permutation p-value, n = placebos kept, dropped = placebos removed by the filter.
    `penalty`: the treated unit's lambda; `penalty_rule`: "fixed" (every placebo fitted with
    it) or "holdout" (each placebo's lambda chosen by `choose_penalty`'s rule on its own data).
    """

    fit: SyntheticControlFit
    placebos: pd.DataFrame
    gaps: pd.DataFrame
    table: pd.DataFrame
    rank: int
    p_value: float
    penalty: float = 0.0
    penalty_rule: str = "fixed"


PENALTY_RULES = ("holdout",)  # a penalty given by name: chosen per unit by this rule


def _unit_penalties(
    units: Sequence[tuple[np.ndarray, np.ndarray]],
    n_pre: int,
    tol: float,
    penalty: float | str,
    holdout: int,
    grid: Sequence[float],
) -> list[float]:
    """The lambda of each (y, donor_y): `penalty` itself, or chosen by hold-out validation on
    the unit's own pre-period (`choose_penalty`'s rule)."""
    if isinstance(penalty, str):
        validation = _holdout_validation(units, n_pre, holdout, grid)
        return [float(grid[_holdout_choice(mse, tol)]) for _, _, mse in validation]
    return [float(penalty)] * len(units)


def _check_penalty(penalty: float | str) -> float | str:
    if isinstance(penalty, str):
        if penalty not in PENALTY_RULES:
            raise StudyInputError(
                f"penalty must be a non-negative number or one of {PENALTY_RULES}, got {penalty!r}"
            )
        return penalty
    return check_nonnegative(penalty, "penalty")


def synthetic_control_placebo(
    design: PanelDesign | pd.DataFrame,
    /,
    *,
    pre_rmspe_multiples: Sequence[float] = (20, 5, 2),
    label: str = "",
    penalty: float | str = 0.0,
    holdout: int = 1,
    grid: Sequence[float] = DEFAULT_PENALTY_GRID,
    **design_args: Any,
) -> SyntheticControlPlacebo:
    """Synthetic control with placebos in space (Abadie, Diamond & Hainmueller 2010).

    Every donor is fitted as if treated, with the other donors as its pool (the real treated
    unit excluded). The treated unit's post/pre RMSPE ratio is ranked among all (rank 1 =
    largest; ties count against the treated unit); permutation p = rank / (n_placebos + 1).
    For each m in `pre_rmspe_multiples`, the same with only the placebos whose pre-RMSPE is at
    most m x the treated's (or of the exact-fit tolerance, if larger); each filter is its own
    keyed row, with the number of placebos it dropped. An exact pre-period fit has an infinite
    ratio, so exact fits tie and the test loses power; with fewer pre-periods than donors, use a
    penalty (Abadie & L'Hour 2021; see `synthetic_weights`).

    `penalty`: a number (the same lambda for the treated unit and every placebo), or "holdout":
    every unit, treated and placebo alike, gets the lambda `choose_penalty` picks on its own
    pre-period (hold-out of the last `holdout` pre-periods over `grid`), so the placebos are
    fitted by the same procedure as the treated unit rather than with the treated unit's
    lambda. No interval (see `synthetic_control_conformal`): ci and level are empty.

    `design`: a `PanelDesign`, or a long table with the design keywords (treated=,
    treatment_start=, donors=, window=, unit=, time=, outcome=). At least 2 complete donors.
    """
    multiples = [check_positive(m, "pre_rmspe_multiples") for m in pre_rmspe_multiples]
    penalty = _check_penalty(penalty)
    design = as_design(design, design_args)
    design.require_placebo_donors()
    if isinstance(penalty, str):
        _check_holdout(design, holdout)
        grid = _check_grid(grid)
    J, n_pre, T, tol = len(design.donors_used), design.n_pre, len(design.times), _exact_tol(design)
    units = [(design.treated_y, design.donor_y)]  # then each donor against the other donors
    units += [(y, np.delete(design.donor_y, j, axis=0)) for j, y in enumerate(design.donor_y)]
    lam, *lams = _unit_penalties(units, n_pre, tol, penalty, holdout, grid)
    treated_fit, *fits = _fit_units(units, n_pre, tol, [lam, *lams])
    fit = _sc_result(design, lam, treated_fit)
    units = pd.Series([design.treated, *design.donors_used], dtype=object)
    placebos = pd.DataFrame([{k: getattr(fit, k) for k in fits[0][2]}, *(f[2] for f in fits)])
    placebos = placebos.rename(columns={"rmspe_ratio": "ratio"})
    placebos["penalty"] = [lam, *lams]
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
    method = "placebo-in-space permutation test, rank of post/pre RMSPE ratio (ADH 2010)"
    if penalty == "holdout":
        method = (
            "synthetic control, penalised (Abadie & L'Hour 2021), lambda chosen per unit by "
            f"pre-period hold-out ({holdout} period(s)), {method}"
        )
    elif lam > 0:
        method = f"synthetic control, penalised (Abadie & L'Hour 2021, lambda = {lam:g}), {method}"
    rows = []
    for m in [None, *multiples]:
        keep = np.ones(J, bool) if m is None else pre <= m * max(fit.pre_rmspe, tol)
        k = int(1 + (ratio[1:][keep] >= fit.rmspe_ratio * (1 - TIE_TOL)).sum())
        which = "all placebos" if m is None else f"placebos with pre-RMSPE <= {m:g}x the treated's"
        dropped = int(J - keep.sum())
        rows.append(
            {
                "quantity": label_quantity(label, f"post/pre RMSPE ratio, rank test, {which}"),
                "estimate": fit.rmspe_ratio,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "level": np.nan,
                "method": method,
                "n": int(keep.sum()),
                "p_value": k / (int(keep.sum()) + 1),
                "rank": k,
                "dropped": dropped,
                "pre_rmspe_multiple": np.nan if m is None else m,
                "note": f"test only (no interval); rank {k} of {int(keep.sum()) + 1}; "
                f"{dropped} of {J} placebos dropped by the pre-fit filter",
            }
        )
    return SyntheticControlPlacebo(
        fit=fit,
        placebos=placebos,
        gaps=gaps,
        table=estimate_table(rows),
        rank=rank,
        p_value=rank / (J + 1),
        penalty=lam,
        penalty_rule="fixed" if not isinstance(penalty, str) else penalty,
    )


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


def _check_grid(grid: Sequence[float]) -> list[float]:
    values = sorted({check_nonnegative(v, "grid value") for v in grid})
    if not values:
        raise StudyInputError("grid must hold at least one penalty value")
    return values


def _check_holdout(design: PanelDesign, holdout: int) -> int:
    holdout = check_count(holdout, "holdout")
    if holdout < 1 or design.n_pre - holdout < 1:
        raise StudyInputError(
            f"holdout must be between 1 and {design.n_pre - 1} (the window has {design.n_pre} "
            f"pre-treatment periods), got {holdout}"
        )
    return holdout


def _holdout_validation(
    units: Sequence[tuple[np.ndarray, np.ndarray]],
    n_pre: int,
    holdout: int,
    grid: Sequence[float],
) -> list[tuple[list[np.ndarray], list[np.ndarray], np.ndarray]]:
    """Per (y, donor_y): the weights fitted on the first n_pre - holdout periods for each lambda
    in `grid`, their pre-period gaps (y - synthetic) and held-out mean squared gaps; all
    weights solved together."""
    n_fit = n_pre - holdout
    weights = _many_weights(
        [(pool[:, :n_fit].T, y[:n_fit], lam) for y, pool in units for lam in grid]
    )
    out = []
    for k, (y, pool) in enumerate(units):
        ws = weights[k * len(grid) : (k + 1) * len(grid)]
        gaps = [y[:n_pre] - w @ pool[:, :n_pre] for w in ws]
        out.append((ws, gaps, np.array([float(np.mean(g[n_fit:] ** 2)) for g in gaps])))
    return out


def _holdout_choice(mse: np.ndarray, tol: float) -> int:
    """Index of the chosen lambda: the smallest held-out MSE, ties (relative 1e-9, or within the
    exact-fit tolerance) going to the larger lambda (the grid is ascending)."""
    best = mse.min() * (1 + 1e-9) + tol**2
    return int(np.flatnonzero(mse <= best)[-1])


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
    more donors than fitting periods. `synthetic_control_placebo(penalty="holdout")` applies
    the same rule to every placebo.

    `design`: a `PanelDesign`, or a long table with the design keywords (treated=,
    treatment_start=, donors=, window=, unit=, time=, outcome=).
    """
    values = _check_grid(grid)
    design = as_design(design, design_args)
    holdout = _check_holdout(design, holdout)
    n_fit = design.n_pre - holdout
    [(ws, gaps, mse)] = _holdout_validation(
        [(design.treated_y, design.donor_y)], design.n_pre, holdout, values
    )
    chosen = _holdout_choice(mse, _exact_tol(design))
    table = pd.DataFrame(
        {
            "penalty": values,
            "validation_mse": mse,
            "validation_rmspe": np.sqrt(mse),
            "fit_rmspe": [float(np.sqrt(np.mean(gap[:n_fit] ** 2))) for gap in gaps],
            "n_positive_weights": [int((w > 0).sum()) for w in ws],
            "chosen": np.arange(len(values)) == chosen,
        }
    )
    lam = float(values[chosen])
    return PenaltyChoice(
        penalty=lam,
        table=table,
        treated=design.treated,
        fit_times=design.times[:n_fit],
        holdout_times=design.times[n_fit : design.n_pre],
        donors=design.donors_used,
        dropped_donors=design.dropped_donors,
    )


# --------------------------------------------------------------------------------------------
# Conformal inference (Chernozhukov, Wuthrich & Zhu 2021)
# --------------------------------------------------------------------------------------------

CONFORMAL_SCHEMES = ("iid", "moving block")
CONFORMAL_REF = "Chernozhukov, Wuthrich & Zhu 2021"
_MAX_PERMUTATIONS = 200_000


def _post_sets(T: int, post: np.ndarray, scheme: str) -> np.ndarray:
    """The permuted positions of the post-period residuals, one row per permutation (the
    identity first). iid: every set of len(post) positions among T (all T! permutations give
    each set equally often, and the statistic depends on the set only); moving block: the T
    cyclic shifts of the time index."""
    k = len(post)
    if scheme == "moving block":
        return (post[None, :] + np.arange(T)[:, None]) % T
    n = comb(T, k)
    if n > _MAX_PERMUTATIONS:
        raise StudyInputError(
            f"conformal iid scheme: {n} sets of {k} post periods among {T}; use 'moving block'"
        )
    sets = list(combinations(range(T), k))
    sets.insert(0, sets.pop(sets.index(tuple(post.tolist()))))
    return np.array(sets)


def _s1(u: np.ndarray, sets: np.ndarray) -> np.ndarray:
    """S_1 statistic (CWZ 2021, q = 1): sum of |residuals| at each permuted post set / sqrt(k)."""
    return np.abs(u)[sets].sum(axis=1) / np.sqrt(sets.shape[1])


def conformal_p_value(
    y: np.ndarray,
    donor_y: np.ndarray,
    post: Sequence[int],
    theta: float | Sequence[float],
    *,
    penalty: float = 0.0,
    scheme: str = "iid",
) -> float:
    """Permutation p-value of the sharp null 'effect = theta in the `post` periods'
    (Chernozhukov, Wuthrich & Zhu 2021, JASA 116:1849-1864, eqs 1-4).

    Under the null the treated outcome is adjusted (y_t - theta_t in the post periods), the
    synthetic-control weights are re-fitted on ALL periods of `y` (pre and adjusted post, with
    the same `penalty`: the estimator is then invariant to permuting time), and the residuals
    u = y_adj - w'Y0 are permuted over time: p = share of permutations pi (identity included)
    with S_1(u_pi) >= S_1(u), S_1 = sum over the post positions of |u| / sqrt(T*). `y`: (T,)
    treated path; `donor_y`: (J, T); `post`: indices of the post periods tested.
    """
    penalty = check_nonnegative(penalty, "penalty")
    return _conformal_p_values(y, donor_y, post, penalty, scheme, [theta])[0]


def _conformal_p_values(
    y: np.ndarray,
    donor_y: np.ndarray,
    post: Sequence[int],
    penalty: float,
    scheme: str,
    thetas: Sequence[float | Sequence[float]],
) -> np.ndarray:
    """`conformal_p_value` of each theta in `thetas`, the re-fitted weights solved together."""
    y = np.asarray(y, float)
    donor_y = np.asarray(donor_y, float)
    post = np.asarray(post, int)
    adjusted = np.repeat(y[None, :], len(thetas), axis=0)
    for y_adj, theta in zip(adjusted, thetas, strict=True):
        y_adj[post] = y_adj[post] - np.asarray(theta, float)
    weights = _many_weights([(donor_y.T, y_adj, penalty) for y_adj in adjusted])
    sets = _post_sets(len(y), post, scheme)
    tie = 1e-12 * max(1.0, float(np.abs(y).max()))
    p = np.empty(len(thetas))
    for k, (y_adj, w) in enumerate(zip(adjusted, weights, strict=True)):
        s = _s1(y_adj - w @ donor_y, sets)
        p[k] = float(np.mean(s >= s[0] * (1 - TIE_TOL) - tie))
    return p


BISECTION_STEPS = 40  # halvings of the grid step at each end of a conformal confidence set
_BISECTION_LEVELS = 4  # bisection steps resolved per batch of p-values (2^4 - 1 midpoints)


def _bisect(pvals, inside: list, outside: list, alpha: float) -> list:
    """`BISECTION_STEPS` steps of bisection for each (inside, outside) pair: mid accepted (p >
    alpha) becomes inside, else outside. Each batch evaluates every midpoint the next
    `_BISECTION_LEVELS` steps can visit (the tree of their outcomes), then follows the outcomes
    actually found, so the ends equal those of one step at a time."""
    done = 0 if inside else BISECTION_STEPS
    while done < BISECTION_STEPS:
        depth = min(_BISECTION_LEVELS, BISECTION_STEPS - done)
        trees, mids = [], []
        for pair in zip(inside, outside, strict=True):
            tree = [pair]  # node k: children 2k + 1 (mid accepted) and 2k + 2 (rejected)
            for k in range(2**depth - 1):
                lo, hi = tree[k]
                mid = 0.5 * (lo + hi)
                mids.append(mid)
                tree += [(mid, hi), (lo, mid)]
            trees.append(tree)
        accepted = pvals(np.array(mids)) > alpha
        for e, tree in enumerate(trees):
            k = 0
            for _ in range(depth):
                k = 2 * k + (1 if accepted[e * (2**depth - 1) + k] else 2)
            inside[e], outside[e] = tree[k]
        done += depth
    return inside


def _invert(
    pvals, estimate: float, half_width: float, alpha: float, n_grid: int, floor: float
) -> tuple[float, float, str, float]:
    """Confidence set {theta: p(theta) > alpha} by a grid over estimate +- half_width, its ends
    refined by bisection; (-inf, inf) when even the smallest attainable p exceeds alpha, an
    open end when the set reaches the grid's edge. `pvals`: p-values of an array of thetas;
    the fourth value returned is p(0)."""
    if floor > alpha:
        return (
            -np.inf,
            np.inf,
            (f"unbounded: the smallest attainable p-value is {floor:.3g} > alpha = {alpha:g}"),
            float(pvals(np.zeros(1))[0]),
        )
    grid = estimate + np.linspace(-half_width, half_width, n_grid)
    *p, p_zero = pvals(np.append(grid, 0.0))
    accept = np.array(p) > alpha
    if not accept.any():
        return np.nan, np.nan, "no effect on the grid is accepted", float(p_zero)
    idx = np.flatnonzero(accept)
    sides = [(e, i, step) for e, (i, step) in enumerate(((idx[0], -1), (idx[-1], 1)))]
    inner = [(e, i, step) for e, i, step in sides if 0 <= i + step < n_grid]
    notes = ["accepted up to the grid's edge (open)"] * (len(sides) - len(inner))
    ends = [-np.inf, np.inf]  # an open end
    refined = _bisect(
        pvals, [grid[i] for _, i, _ in inner], [grid[i + s] for _, i, s in inner], alpha
    )
    for (e, _, _), end in zip(inner, refined, strict=True):
        ends[e] = end
    if not accept[idx[0] : idx[-1] + 1].all():
        edges = np.flatnonzero(np.diff(np.r_[0, accept.astype(int), 0]))
        runs = " u ".join(f"[{grid[a]:.4g}, {grid[b - 1]:.4g}]" for a, b in edges.reshape(-1, 2))
        notes.append(f"accepted set not an interval (on the grid {runs}): its hull is given")
    return ends[0], ends[1], "; ".join(notes), float(p_zero)


@dataclass(frozen=True)
class SyntheticControlConformal:
    """Conformal intervals for the gaps of a synthetic control (`synthetic_control_conformal`).

    `fit`: the synthetic control on the pre-period. `table`: one row per post period (the gap,
    treated - synthetic) and one for the post-period average, with the conformal interval, the
    p-value of 'no effect' and the number of permutations. `scheme`: permutation scheme.
    """

    fit: SyntheticControlFit
    table: pd.DataFrame
    scheme: str
    average_scheme: str
    penalty: float


def synthetic_control_conformal(
    design: PanelDesign | pd.DataFrame,
    /,
    *,
    penalty: float = 0.0,
    alpha: float = 0.05,
    scheme: str = "iid",
    average_scheme: str = "iid",
    n_grid: int = 201,
    grid_width: float = 1.0,
    label: str = "",
    **design_args: Any,
) -> SyntheticControlConformal:
    """Conformal intervals for synthetic-control effects by test inversion (Chernozhukov,
    Wuthrich & Zhu 2021, JASA 116:1849-1864).

    Per post period t (their Algorithm 1): the data are the pre-periods and t only; for each
    theta on a grid, `conformal_p_value` of 'effect theta at t' re-fits the weights on those
    T0 + 1 periods under the null and permutes the residuals over them (iid and moving block
    coincide here: each of the T0 + 1 residuals takes the post slot once). The interval is
    {theta: p > alpha}, so the smallest attainable p is 1 / (T0 + 1): with T0 + 1 <= 1 / alpha
    pre-periods it is the whole line, reported as (-inf, inf).

    Post-period average: the null 'effect theta in every post period' (a constant effect, so
    the interval is for the common effect, equal to the average under that null), tested on
    all T periods with `average_scheme`: "iid" (every set of T* positions among T, exact
    enumeration; smallest p = 1 / C(T, T*), exact under exchangeable errors) or "moving block"
    (T cyclic shifts, robust to serial dependence; smallest p = 1 / T). The blocks-of-T*
    average of their Appendix A.1 needs T0 >= T*, rarely met here.

    The weights use `penalty` (fixed: e.g. from `choose_penalty`; a penalty re-chosen under
    each null would be another estimator). Point estimates are the gaps of the pre-period fit
    (`synthetic_control`). The grid spans estimate +- grid_width x the range of the outcome in
    the design, `n_grid` points, ends refined by bisection; a set reaching the grid's edge is
    reported open (inf). p_value: the p of theta = 0.
    """
    penalty = check_nonnegative(penalty, "penalty")
    alpha = check_alpha(alpha)
    for name, value in (("scheme", scheme), ("average_scheme", average_scheme)):
        if value not in CONFORMAL_SCHEMES:
            raise StudyInputError(f"{name} must be one of {CONFORMAL_SCHEMES}, got {value!r}")
    n_grid = check_count(n_grid, "n_grid")
    if n_grid < 3:
        raise StudyInputError(f"n_grid must be at least 3, got {n_grid}")
    grid_width = check_positive(grid_width, "grid_width")
    design = as_design(design, design_args)
    fit = _sc_result(design, penalty)
    y, Y0, n_pre, T = design.treated_y, design.donor_y, design.n_pre, len(design.times)
    span = float(max(y.max(), Y0.max()) - min(y.min(), Y0.min())) or 1.0
    gap = fit.path["gap"].to_numpy()
    base = f"conformal inference, test inversion ({CONFORMAL_REF}), S_1 statistic"
    if penalty > 0:
        base += f", penalised synthetic control (Abadie & L'Hour 2021, lambda = {penalty:g})"
    rows = []
    targets = [(t, [*range(n_pre), t], [n_pre], scheme) for t in range(n_pre, T)]
    targets.append((None, list(range(T)), list(range(n_pre, T)), average_scheme))
    for t, cols, post, sch in targets:
        yy, YY, post = y[cols], Y0[:, cols], np.asarray(post)
        n_perm = len(_post_sets(len(cols), post, sch))
        pvals = partial(_conformal_p_values, yy, YY, post, penalty, sch)
        est = float(gap[t]) if t is not None else fit.mean_post_gap
        lo, hi, note, p_zero = _invert(pvals, est, grid_width * span, alpha, n_grid, 1 / n_perm)
        if t is None:
            what = "average post-period gap (treated - synthetic)"
            how = f"{base}, constant-effect null over {len(post)} post periods, {sch} permutations"
        else:
            what = f"gap (treated - synthetic), {design.times[t]}"
            how = f"{base}, per period (pre-periods + that period), {sch} permutations"
        rows.append(
            {
                "quantity": label_quantity(label, what),
                "estimate": est,
                "ci_low": lo,
                "ci_high": hi,
                "level": confidence_level(alpha),
                "method": how,
                "n": n_perm,
                "p_value": p_zero,
                "time": "average" if t is None else design.times[t],
                "note": "; ".join(
                    x for x in (f"{n_perm} permutations, {n_pre} pre-periods", note) if x
                ),
            }
        )
    return SyntheticControlConformal(
        fit=fit,
        table=estimate_table(rows),
        scheme=scheme,
        average_scheme=average_scheme,
        penalty=penalty,
    )


__all__ = [
    "CONFORMAL_SCHEMES",
    "DEFAULT_PENALTY_GRID",
    "PENALTY_RULES",
    "PenaltyChoice",
    "SyntheticControlConformal",
    "SyntheticControlFit",
    "SyntheticControlPlacebo",
    "choose_penalty",
    "conformal_p_value",
    "synthetic_control",
    "synthetic_control_conformal",
    "synthetic_control_placebo",
    "synthetic_weights",
]
