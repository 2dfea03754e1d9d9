"""Known-answer, invariant and bad-input tests for study.synthetic_control (ADH weights, the
penalised synthetic control of Abadie & L'Hour 2021, placebo-in-space inference, the hold-out
choice of the penalty)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linprog, minimize, nnls
from test_panel import START, TREATED, YEARS, long_panel, random_panel

from study import synthetic_control as sc
from study.data.synthetic import simulated_council_panel
from study.errors import StudyInputError

# ------------------------------------------------------------------------ synthetic control


def test_synthetic_control_recovers_convex_combination():
    rng = np.random.default_rng(7)
    donors = rng.normal(100, 15, (8, len(YEARS)))
    treated = 0.5 * donors[0] + 0.3 * donors[1] + 0.2 * donors[2]
    treated[4:] += 10.0
    units = [TREATED] + [f"E0{i:07d}" for i in range(8)]
    fit = sc.synthetic_control(
        long_panel(np.vstack([treated, donors]), units), treated=TREATED, treatment_start=START
    )
    w = fit.weights.set_index("unit")["weight"]
    np.testing.assert_allclose(w[units[1:4]], [0.5, 0.3, 0.2], atol=1e-6)
    np.testing.assert_allclose(w[units[4:]], 0, atol=1e-6)
    assert fit.weights["weight"].is_monotonic_decreasing
    assert fit.pre_rmspe < 1e-9 and fit.exact_pre_fit and fit.rmspe_ratio == np.inf
    assert fit.mean_post_gap == pytest.approx(10.0, abs=1e-6)
    assert fit.post_rmspe == pytest.approx(10.0, abs=1e-6)
    np.testing.assert_allclose(fit.path["gap"], fit.path["treated"] - fit.path["synthetic"])
    assert fit.path["post"].sum() == 4


def _slsqp_objective(A: np.ndarray, b: np.ndarray) -> float:
    J = A.shape[1]
    res = minimize(
        lambda w: np.mean((b - A @ w) ** 2),
        np.full(J, 1 / J),
        jac=lambda w: -2 * A.T @ (b - A @ w) / len(b),
        method="SLSQP",
        bounds=[(0, 1)] * J,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1, "jac": lambda w: np.ones(J)}],
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    return float(res.fun)


@pytest.mark.parametrize(("t0", "j", "seed"), [(10, 6, 8), (10, 20, 9), (6, 30, 10)])
def test_synthetic_weights_match_slsqp(t0, j, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(0, 1, (t0, j)).cumsum(axis=0) + 10
    b = rng.normal(0, 1, t0).cumsum() + 10 + rng.normal(0, 2)
    w = sc.synthetic_weights(A, b)
    ours = float(np.mean((b - A @ w) ** 2))
    assert ours == pytest.approx(_slsqp_objective(A, b), abs=1e-8)
    assert w.min() >= 0 and w.sum() == pytest.approx(1, abs=1e-12)


def test_synthetic_weights_recover_where_nnls_stops_short():
    """hypothesis found this case: nnls returns a worse point than the best donor."""
    A = np.full((5, 7), 87.0)
    A[0, 1], A[0, 2] = 0.0, 1.0
    b = np.array([87.0, 488.0, 87.0, 42.0, 87.0])
    w = sc.synthetic_weights(A, b)
    assert np.sum((b - A @ w) ** 2) == pytest.approx(162826.0)  # donor 0 (or its equals)
    assert w.min() >= 0 and w.sum() == pytest.approx(1, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, (5, 7), elements=st.floats(-1e3, 1e3)),
    arrays(np.float64, 5, elements=st.floats(-1e3, 1e3)),
)
def test_synthetic_weights_on_simplex_and_no_worse_than_any_vertex(A, b):
    w = sc.synthetic_weights(A, b)
    assert w.min() >= 0 and abs(w.sum() - 1) < 1e-12
    loss = np.sum((b - A @ w) ** 2)
    best_vertex = np.min(np.sum((b[:, None] - A) ** 2, axis=0))
    uniform = np.sum((b - A.mean(axis=1)) ** 2)
    scale = 1 + np.sum(b**2) + np.sum(A**2)
    assert loss <= min(best_vertex, uniform) + 1e-9 * scale


def test_placebo_rank_and_p_value_by_hand():
    rng = np.random.default_rng(11)
    times = [str(2010 + t) for t in range(9)]  # 6 pre-periods, 3 post: donors fit inexactly
    Y = rng.normal(20, 1, (5, 1)) + rng.normal(0, 1, (5, 9))
    Y[0, 6:] += 50.0  # obviously large post-period jump
    units = [TREATED, "A", "B", "C", "D"]
    data = long_panel(Y, units, times)
    res = sc.synthetic_control_placebo(data, treated=TREATED, treatment_start="2016")
    assert res.rank == 1 and res.p_value == pytest.approx(1 / 5)
    first = res.table.iloc[0]
    assert first["p_value"] == pytest.approx(1 / 5) and first["n"] == 4 and first["rank"] == 1
    assert res.placebos.iloc[0]["unit"] == TREATED and res.placebos["rank"].tolist()[0] == 1
    assert not res.placebos["exact_pre_fit"].any()
    # each placebo: donor as treated, other donors as pool, real treated excluded
    alone = sc.synthetic_control(
        data[data["geography_code"] != TREATED], treated="B", treatment_start="2016"
    )
    row = res.placebos.set_index("unit").loc["B"]
    assert row["pre_rmspe"] == pytest.approx(alone.pre_rmspe, abs=1e-12)
    assert row["ratio"] == pytest.approx(alone.rmspe_ratio, rel=1e-12)
    assert row["mean_post_gap"] == pytest.approx(alone.mean_post_gap, abs=1e-12)
    # pre-RMSPE filters, counted by hand from the placebo table
    placebos = res.placebos[~res.placebos["is_treated"]]
    for _, r in res.table.iloc[1:].iterrows():
        kept = placebos[placebos["pre_rmspe"] <= r["pre_rmspe_multiple"] * res.fit.pre_rmspe]
        assert r["n"] == len(kept)
        rank = 1 + (kept["ratio"] >= res.fit.rmspe_ratio).sum()
        assert r["rank"] == rank and r["p_value"] == pytest.approx(rank / (len(kept) + 1))
    assert res.table["pre_rmspe_multiple"].iloc[1:].tolist() == [20, 5, 2]
    gaps = res.gaps[res.gaps["unit"] == TREATED]["gap"].to_numpy()
    np.testing.assert_allclose(gaps, res.fit.path["gap"])


def test_placebo_rank_middle_and_ties_count_against_treated():
    rng = np.random.default_rng(12)
    times = [str(2010 + t) for t in range(9)]
    Y = rng.normal(20, 1, (6, 1)) + rng.normal(0, 1, (6, 9))
    res = sc.synthetic_control_placebo(
        long_panel(Y, [TREATED, "A", "B", "C", "D", "E"], times),
        treated=TREATED,
        treatment_start="2016",
        pre_rmspe_multiples=(),
    )
    ratios = res.placebos.set_index("unit")["ratio"]
    assert res.rank == 1 + (ratios.drop(TREATED) >= ratios[TREATED]).sum()
    assert res.p_value == pytest.approx(res.rank / 6) and len(res.table) == 1
    # exact pre-period fits (fewer pre-periods than donors) have infinite, tied ratios
    exact = sc.synthetic_control_placebo(
        long_panel(rng.normal(0, 1, (8, 5)), [TREATED, *"ABCDEFG"], times[:5]),
        treated=TREATED,
        treatment_start="2012",
    )
    inf = exact.placebos["ratio"] == np.inf
    assert exact.placebos["exact_pre_fit"].equals(inf) and exact.fit.exact_pre_fit
    assert exact.rank == inf.sum()


# ------------------------------------------------------------- penalised synthetic control


def _adh_nnls_weights(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The unpenalised NNLS reduction exactly as it stood before penalties were added."""
    D = A - b[:, None]
    E = np.vstack([D / (float(np.abs(D).max()) or 1.0), np.ones(A.shape[1])])
    f = np.zeros(E.shape[0])
    f[-1] = 1.0
    u, _ = nnls(E, f, maxiter=50 * E.shape[1])
    return u / u.sum()


def _penalised_objective(A: np.ndarray, b: np.ndarray, w: np.ndarray, lam: float) -> float:
    """||X1 - X0 w||^2 + lam sum_j w_j ||X1 - X0j||^2 (Abadie & L'Hour 2021)."""
    return float(np.sum((b - A @ w) ** 2) + lam * w @ np.sum((b[:, None] - A) ** 2, axis=0))


def _slsqp_penalised(A: np.ndarray, b: np.ndarray, lam: float) -> float:
    """Independent route: SLSQP on the same objective, scaled by its value at the start."""
    J = A.shape[1]
    c = np.sum((b[:, None] - A) ** 2, axis=0)
    x0 = np.full(J, 1 / J)
    s = _penalised_objective(A, b, x0, lam)
    res = minimize(
        lambda w: _penalised_objective(A, b, w, lam) / s,
        x0,
        jac=lambda w: (-2 * A.T @ (b - A @ w) + lam * c) / s,
        method="SLSQP",
        bounds=[(0, 1)] * J,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1, "jac": lambda w: np.ones(J)}],
        options={"ftol": 1e-16, "maxiter": 2000},
    )
    # ftol this tight ends in 'positive directional derivative' (status 8) at the optimum
    assert abs(res.x.sum() - 1) < 1e-10 and res.x.min() > -1e-10
    return _penalised_objective(A, b, res.x, lam)


def test_penalty_zero_reproduces_unpenalised_results_exactly():
    data, Y, units = random_panel(12, seed=20)  # 12 donors, 4 pre-periods: exact fits
    A, b = Y[1:, :4].T, Y[0, :4]
    w = sc.synthetic_weights(A, b, penalty=0.0)
    np.testing.assert_array_equal(w, _adh_nnls_weights(A, b))
    np.testing.assert_array_equal(w, sc.synthetic_weights(A, b))
    kw = {"treated": TREATED, "treatment_start": START}
    default = sc.synthetic_control_placebo(data, **kw)
    zero = sc.synthetic_control_placebo(data, **kw, penalty=0)
    for a, z in [
        (default.table, zero.table),
        (default.placebos, zero.placebos),
        (default.gaps, zero.gaps),
        (default.fit.weights, zero.fit.weights),
        (default.fit.path, zero.fit.path),
    ]:
        pd.testing.assert_frame_equal(a, z, check_exact=True)
    assert zero.penalty == zero.fit.penalty == 0.0 and zero.rank == default.rank
    assert zero.table["method"].iloc[0] == (
        "placebo-in-space permutation test, rank of post/pre RMSPE ratio (ADH 2010)"
    )
    fit = sc.synthetic_control(data, **kw, penalty=0.0)
    stored = fit.weights.set_index("unit")["weight"][units[1:]].to_numpy()
    np.testing.assert_array_equal(stored, _adh_nnls_weights(A, b))


@pytest.mark.parametrize("seed", [21, 22])
def test_large_penalty_puts_all_weight_on_nearest_donor(seed):
    data, Y, units = random_panel(30, seed=seed)
    d = Y[1:, :4] - Y[0, :4]  # donor j minus treated, pre-periods
    c = np.sum(d**2, axis=1)
    k = int(np.argmin(c))  # nearest donor by pre-period squared distance
    fit = sc.synthetic_control(data, treated=TREATED, treatment_start=START, penalty=1e6)
    assert fit.weights["unit"].iloc[0] == units[1 + k] and fit.weights["weight"].iloc[0] == 1
    assert (fit.weights["weight"].iloc[1:] == 0).all() and fit.penalty == 1e6
    np.testing.assert_allclose(fit.path["synthetic"], Y[1 + k], rtol=1e-12)
    # by hand (KKT at the vertex e_k): optimal iff lam (c_j - c_k) >= 2 c_k - 2 d_j'd_k for all j
    others = np.arange(30) != k
    threshold = np.max((2 * c[k] - 2 * d[others] @ d[k]) / (c[others] - c[k]))
    assert threshold > 0  # the treated unit lies inside the donors' hull: lam = 0 fits better
    A, b = Y[1:, :4].T, Y[0, :4]
    above = sc.synthetic_weights(A, b, penalty=1.001 * threshold)
    below = sc.synthetic_weights(A, b, penalty=0.999 * threshold)
    assert above[k] == 1 and (below > 0).sum() >= 2


def _one_problem_qp(D: np.ndarray, lam: float) -> np.ndarray:
    """The active-set QP one problem at a time, exactly as it stood before `sc._simplex_qp`
    solved many problems together: the reference the batched solver must equal bit for bit."""
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
        else:
            p = np.linalg.svd(M)[2][-1]
            slope = c[free] @ p
            if slope > 0 or (slope == 0 and p[-1] < 0):
                p = -p
            t_max = np.inf
        ratios = np.full(len(free), np.inf)
        ratios[p < 0] = wf[p < 0] / -p[p < 0]
        i = int(np.argmin(ratios))
        if ratios[i] < t_max:
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
    w = np.maximum(w, 0.0)
    return w / w.sum()


def _one_problem_weights(A: np.ndarray, b: np.ndarray, lam: float) -> np.ndarray:
    """The penalised `synthetic_weights` one problem at a time (before the batched solver)."""
    D = np.asarray(A, float) - np.asarray(b, float)[:, None]
    return _one_problem_qp(D / (float(np.abs(D).max()) or 1.0), lam)


def _weight_problems(seed: int) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Penalised problems of every kind the estimators pose: 1 to 7 periods, 3 to 150 donors,
    pre-period slices of a panel (column-major, as the placebos pass them) and row-major
    arrays, twin donors, integer-valued paths (ties), a treated path inside the hull."""
    rng = np.random.default_rng(seed)
    problems = []
    for t0, j in [(1, 143), (2, 142), (3, 144), (7, 143), (4, 30), (2, 3), (5, 9), (6, 40)]:
        for k in range(12):
            Y = rng.normal(0, 1, (j + 1, t0 + 2)).cumsum(axis=1) + 10
            if k % 3 == 1:
                Y[2] = Y[1]  # twins
            if k % 4 == 2:
                Y = np.round(Y)  # ties
            if k % 5 == 3:
                Y[0] = Y[1:4].mean(axis=0)  # inside the donors' hull
            lam = float(rng.choice([1e-6, 0.001, 0.01, 0.1, 1.0, 10.0, 100.0]))
            A = Y[1:, :t0].T if k % 2 else np.ascontiguousarray(Y[1:, :t0].T)
            problems.append((A, Y[0, :t0], lam))
    return problems


@pytest.mark.parametrize("seed", [40, 41])
def test_batched_simplex_qp_equals_the_one_problem_loop_bit_for_bit(seed):
    """All problems solved together (`_many_weights`, mixed shapes, layouts and penalties)
    and each alone through `synthetic_weights` give exactly the one-problem loop's weights."""
    problems = _weight_problems(seed)
    together = sc._many_weights(problems)
    for (A, b, lam), w in zip(problems, together, strict=True):
        reference = _one_problem_weights(A, b, lam)
        np.testing.assert_array_equal(w, reference)
        np.testing.assert_array_equal(sc.synthetic_weights(A, b, lam), reference)


@pytest.mark.parametrize(
    ("t0", "j", "lam", "seed"),
    [(4, 149, 0.1, 23), (4, 30, 1.0, 24), (10, 6, 0.5, 25), (6, 40, 0.01, 26), (12, 20, 10.0, 27)],
)
def test_penalised_weights_match_slsqp_and_kkt(t0, j, lam, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(0, 1, (t0, j)).cumsum(axis=0) + 10
    b = rng.normal(0, 1, t0).cumsum() + 10 + rng.normal(0, 2)
    w = sc.synthetic_weights(A, b, penalty=lam)
    assert w.min() >= 0 and w.sum() == pytest.approx(1, abs=1e-12)
    assert _penalised_objective(A, b, w, lam) == pytest.approx(
        _slsqp_penalised(A, b, lam), abs=1e-8
    )
    # KKT certificate: gradient equal on the support, not smaller off it
    grad = -2 * A.T @ (b - A @ w) + lam * np.sum((b[:, None] - A) ** 2, axis=0)
    nu = grad[w > 0].mean()
    scale = np.abs(grad).max()
    assert np.ptp(grad[w > 0]) <= 1e-9 * scale and (grad - nu).min() >= -1e-9 * scale
    assert (w > 0).sum() <= t0 + 1
    # lambda is unitless: rescaling and shifting the outcome leaves the weights unchanged
    np.testing.assert_allclose(sc.synthetic_weights(250 * A - 7, 250 * b - 7, lam), w, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, (4, 9), elements=st.floats(-1e3, 1e3)),
    arrays(np.float64, 4, elements=st.floats(-1e3, 1e3)),
    st.floats(1e-4, 1e4),
)
def test_penalised_weights_on_simplex_and_no_worse_than_any_vertex(A, b, lam):
    w = sc.synthetic_weights(A, b, penalty=lam)
    assert w.min() >= 0 and abs(w.sum() - 1) < 1e-12
    loss = _penalised_objective(A, b, w, lam)
    vertices = (1 + lam) * np.sum((b[:, None] - A) ** 2, axis=0)
    uniform = _penalised_objective(A, b, np.full(9, 1 / 9), lam)
    scale = (1 + lam) * (1 + np.sum(b**2) + np.sum(A**2))
    assert loss <= min(vertices.min(), uniform) + 1e-9 * scale


def test_small_penalty_unique_across_donor_orderings_and_tends_to_min_penalty_exact_fit():
    rng = np.random.default_rng(28)
    J = 20  # donors >> 4 pre-periods
    donors = rng.normal(100, 15, (J, len(YEARS)))
    treated = 0.5 * donors[0] + 0.5 * donors[1]
    donors[3] = 2 * treated - donors[2]  # a second exact fit: (donor 2 + donor 3) / 2
    units = [TREATED] + [f"E0{i:07d}" for i in range(J)]
    data = long_panel(np.vstack([treated, donors]), units)
    A, b = donors[:, :4].T, treated[:4]
    for exact in ([0, 1], [2, 3]):  # lambda = 0: (at least) two optimal weight vectors
        assert _penalised_objective(A, b, np.isin(np.arange(J), exact) / 2, 0.0) < 1e-18 * 1e8
    kw = {"treated": TREATED, "treatment_start": START}
    order = [units[1 + i] for i in rng.permutation(J)]
    for lam in (1e-6, 1e-3, 0.1):
        fits = [sc.synthetic_control(data, **kw, donors=d, penalty=lam) for d in (None, order)]
        w0, w1 = (f.weights.set_index("unit")["weight"].sort_index() for f in fits)
        np.testing.assert_allclose(w0, w1, rtol=0, atol=1e-10)
        assert not fits[0].exact_pre_fit and np.isfinite(fits[0].rmspe_ratio)
    # lambda -> 0: the exact fit with the smallest penalty sum_j w_j ||X1 - X0j||^2 (an LP)
    c = np.sum((b[:, None] - A) ** 2, axis=0)
    lp = linprog(c, A_eq=np.vstack([A, np.ones(J)]), b_eq=np.append(b, 1), method="highs")
    np.testing.assert_allclose(sc.synthetic_weights(A, b, penalty=1e-6), lp.x, atol=1e-4)


def _choice_panel(rows: list[np.ndarray], units: list[str]):
    return long_panel(np.vstack(rows), units), {"treated": units[0], "treatment_start": START}


def test_choose_penalty_picks_the_twin_donor_and_breaks_ties_upwards():
    """Fit years 2015-16..2017-18, held out 2018-19. N is the treated path + 0.5 in every year;
    F1, F2 are the path -/+ 6 in the fit years, +8 more from the held-out year on, so
    (F1 + F2) / 2 fits the fit years exactly but misses the held-out year by 8. All donors are
    the treated path plus a constant in the fit years, so with w on F1 and 1 - w on N the
    objective is 3 [(0.5 - 6.5 w)^2 + lam (0.25 (1 - w) + 36 w)]: w = (6.5 - 35.75 lam) / 84.5
    for lam < 6.5 / 35.75, else 0; held-out MSE (0.5 + 1.5 w)^2."""
    y = 10.0 + np.arange(len(YEARS))
    drift = np.where(np.arange(len(YEARS)) >= 3, 8.0, 0.0)
    data, kw = _choice_panel([y, y + 0.5, y - 6 + drift, y + 6 + drift], ["T", "N", "F1", "F2"])
    choice = sc.choose_penalty(data, **kw)
    table = choice.table
    assert table["penalty"].tolist() == list(sc.DEFAULT_PENALTY_GRID)
    lam = table["penalty"].to_numpy()
    w = np.clip((6.5 - 35.75 * lam) / 84.5, 0, None)
    np.testing.assert_allclose(table["validation_mse"], (0.5 + 1.5 * w) ** 2, rtol=1e-9)
    assert table["n_positive_weights"].tolist() == [2 if x > 0 else 1 for x in w]
    # every lambda >= 0.3 puts all weight on the twin (MSE 0.25 exactly): the largest wins
    assert choice.penalty == max(sc.DEFAULT_PENALTY_GRID) and table["chosen"].sum() == 1
    assert table["chosen"].iloc[-1]
    assert choice.fit_times == tuple(YEARS[:3]) and choice.holdout_times == (YEARS[3],)
    np.testing.assert_allclose(table["validation_rmspe"] ** 2, table["validation_mse"])


def test_choose_penalty_keeps_an_exact_interpolation_that_predicts():
    """A and B are the treated path +/- d in every year, so (A + B) / 2 is its exact
    counterfactual; N is the path + 0.3 in the fit years but + 5 from the held-out year on.
    Lambda = 0 interpolates exactly (held-out error 0); a large lambda matches N (MSE 25)."""
    y = 10.0 + np.arange(len(YEARS))
    d = np.array([6, -5, 7, -6, 5, -7, 6, -5.0])
    n = np.where(np.arange(len(YEARS)) >= 3, 5.0, 0.3)
    data, kw = _choice_panel([y, y + d, y - d, y + n], ["T", "A", "B", "N"])
    grid = (10, 1, 0.1, 0.01, 0.001, 0)
    choice = sc.choose_penalty(data, **kw, grid=grid)
    mse = choice.table.set_index("penalty")["validation_mse"]
    assert choice.penalty == 0 and mse[0] == pytest.approx(0, abs=1e-18)
    assert mse[10] == pytest.approx(25) and (mse.drop(0) > 1).all()
    one = sc.choose_penalty(data, **kw, grid=(1,), holdout=2)
    assert one.fit_times == tuple(YEARS[:2]) and one.holdout_times == tuple(YEARS[2:4])
    assert one.table["validation_mse"].iloc[0] == pytest.approx(np.mean(n[2:4] ** 2))


def _council_panel(n_units: int, n_years: int, n_pre: int, effect: float, seed: int):
    """The benchmark's panel (`simulated_council_panel`) and its treated unit and start."""
    data = simulated_council_panel(n_units, n_years, n_pre, effect=effect, seed=seed)
    return data, {"treated": "E00000000", "treatment_start": YEARS[n_pre]}


def test_penalised_placebo_has_finite_ratios_and_ranks_a_5_point_effect():
    """150 councils x 8 years, 4 pre-periods, +5 from 2019-20, the benchmark's seed (2019).
    Unpenalised: most fits (the treated one included) are exact, their ratios infinite and
    tied. Penalised (lambda chosen by `choose_penalty`, the same for every placebo): every ratio
    finite. On this draw the effect ranks 3rd of 150 (p = 0.02); it is one draw, not a power
    statement: see test_penalised_placebo_power_over_draws."""
    data, kw = _council_panel(150, 8, 4, 5.0, seed=2019)
    plain = sc.synthetic_control_placebo(data, **kw)
    assert plain.fit.exact_pre_fit and plain.placebos["exact_pre_fit"].sum() > 50
    assert plain.p_value > 0.5  # the treated unit ties with every exact fit
    lam = sc.choose_penalty(data, **kw).penalty
    res = sc.synthetic_control_placebo(data, **kw, penalty=lam)
    assert res.penalty == res.fit.penalty == lam
    assert np.isfinite(res.placebos["ratio"]).all() and not res.placebos["exact_pre_fit"].any()
    assert res.rank <= 0.05 * 150 and res.p_value <= 0.05
    assert res.fit.mean_post_gap == pytest.approx(5, abs=1.5)
    assert res.table["method"].iloc[0] == (
        f"synthetic control, penalised (Abadie & L'Hour 2021, lambda = {lam:g}), "
        "placebo-in-space permutation test, rank of post/pre RMSPE ratio (ADH 2010)"
    )
    # fairness: each placebo is the donor fitted alone with the same penalty (treated excluded)
    donors = data[data["geography_code"] != kw["treated"]]
    for unit in res.placebos["unit"].iloc[[1, 75, 149]]:
        alone = sc.synthetic_control(donors, treated=unit, treatment_start=START, penalty=lam)
        row = res.placebos.set_index("unit").loc[unit]
        assert row["ratio"] == pytest.approx(alone.rmspe_ratio, rel=1e-12)
        assert row["ratio"] == alone.rmspe_ratio  # solved together, the same numbers


@pytest.mark.slow
def test_penalised_placebo_power_over_draws():
    """Across 20 draws of the same design the +5 effect ranks in the top 5% far less often than
    on the benchmark's draw: placebo post-period gaps have sd about 2.7 (unit trends, sd 0.5 a
    year, are not identified from 4 noisy pre-periods) and the ratio's denominator, a
    penalised fit to 4 points, varies about fourfold between units. What holds robustly:
    unpenalised, the test has no power (exact fits tie); penalised, it has some."""
    hits = {0.0: 0, "chosen": 0}
    for seed in range(20):
        data, kw = _council_panel(150, 8, 4, 5.0, seed=seed)
        for key in hits:
            lam = sc.choose_penalty(data, **kw).penalty if key == "chosen" else key
            res = sc.synthetic_control_placebo(data, **kw, penalty=lam, pre_rmspe_multiples=())
            hits[key] += res.p_value <= 0.05
    assert hits[0.0] == 0 < hits["chosen"] < 20


# ------------------------------------------------------------------------ bad input


def test_bad_pre_rmspe_multiple_and_non_frame():
    data, _, _ = random_panel(3, seed=16)
    with pytest.raises(StudyInputError, match="pre_rmspe_multiples"):
        sc.synthetic_control_placebo(
            data, treated=TREATED, treatment_start=START, pre_rmspe_multiples=(0,)
        )
    with pytest.raises(StudyInputError, match="must be a pandas DataFrame"):
        sc.synthetic_control(data.to_dict(), treated=TREATED, treatment_start=START)


@pytest.mark.parametrize("penalty", [-0.1, np.nan, np.inf, "0.1", True, None])
def test_bad_penalty_raises_one_line(penalty):
    data, Y, _ = random_panel(3, seed=17)
    kw = {"treated": TREATED, "treatment_start": START, "penalty": penalty}
    calls = [
        lambda: sc.synthetic_weights(Y[1:, :4].T, Y[0, :4], penalty=penalty),
        lambda: sc.synthetic_control(data, **kw),
        lambda: sc.synthetic_control_placebo(data, **kw),
        lambda: sc.choose_penalty(data, treated=TREATED, treatment_start=START, grid=[penalty]),
    ]
    for call in calls:
        with pytest.raises(
            StudyInputError, match=r"(penalty|grid value) must be a non-negative number"
        ):
            call()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"holdout": 0}, "holdout must be between 1 and 3"),
        ({"holdout": 4}, "holdout must be between 1 and 3"),
        ({"holdout": 1.5}, "holdout must be a non-negative whole number"),
        ({"grid": ()}, "grid must hold at least one penalty value"),
    ],
)
def test_choose_penalty_bad_holdout_and_grid(kwargs, message):
    data, _, _ = random_panel(3, seed=18)
    with pytest.raises(StudyInputError) as err:
        sc.choose_penalty(data, treated=TREATED, treatment_start=START, **kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)


# ------------------------------------------------------------------ conformal inference (CWZ)


def _factor_panel(J=8, T0=19, T1=3, effect=3.0, seed=3):
    """Long panel from a two-factor model, unit 0 treated from period T0 with `effect`."""
    rng = np.random.default_rng(seed)
    T = T0 + T1
    f = rng.normal(size=(T, 2)).cumsum(axis=0)
    load = rng.uniform(0.5, 1.5, size=(J + 1, 2))
    Y = 50 + load @ f.T + rng.normal(scale=1.0, size=(J + 1, T))
    Y[0, T0:] += effect
    years = [str(2000 + t) for t in range(T)]
    units = [f"u{i}" for i in range(J + 1)]
    rows = [
        {"geography_code": units[i], "year": years[t], "value": Y[i, t]}
        for i in range(J + 1)
        for t in range(T)
    ]
    return pd.DataFrame(rows), Y, years


@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_conformal_per_period_intervals_match_pysyncon(lam):
    """Per-period conformal intervals (CWZ 2021 Algorithm 1) against pysyncon's independent
    ConformalInference (its own root search and p-value), with pysyncon's SLSQP solving the
    same (penalised) simplex least squares on the pre-periods and the tested period."""
    pytest.importorskip("pysyncon")
    from pysyncon.base import BaseSynth
    from pysyncon.inference import ConformalInference
    from pysyncon.penalized import PenalizedOptimMixin

    class Simplex(BaseSynth, PenalizedOptimMixin):
        def fit(self, Z0, Z1):
            self.W, _ = self.w_optimize(
                np.eye(len(Z0)), Z0.to_numpy(), Z1.to_numpy(), lam,
                qp_options={"maxiter": 1000, "ftol": 1e-12},
            )  # fmt: skip

        def summary(self):  # pragma: no cover - abstract in pysyncon
            return None

    data, Y, years = _factor_panel()
    T0 = 19
    Z0 = pd.DataFrame(Y[1:].T, index=years)
    Z1 = pd.Series(Y[0], index=years)
    model = Simplex()
    model.fit(Z0.iloc[:T0], Z1.iloc[:T0])
    ref = ConformalInference().confidence_intervals(
        alpha=0.1, scm=model, Z0=Z0, Z1=Z1, pre_periods=years[:T0],
        post_periods=years[T0:], tol=1e-5, max_iter=500, verbose=False,
    )  # fmt: skip
    ours = sc.synthetic_control_conformal(
        data, treated="u0", treatment_start=years[T0], penalty=lam, alpha=0.1
    ).table
    per_year = ours.iloc[:-1]
    np.testing.assert_allclose(per_year["estimate"], ref["value"], atol=1e-4)
    np.testing.assert_allclose(per_year["ci_low"], ref["lower_ci"], atol=1e-3)
    np.testing.assert_allclose(per_year["ci_high"], ref["upper_ci"], atol=1e-3)
    assert (per_year["n"] == T0 + 1).all() and (per_year["level"] == 0.9).all()


def test_conformal_average_p_value_by_brute_force_permutations():
    """The constant-effect p-value: weights re-fitted by SLSQP on all periods under the null,
    residuals permuted over every one of the T! orderings (itertools.permutations), S_1."""
    from itertools import permutations

    data, Y, years = _factor_panel(J=4, T0=4, T1=2, seed=5)
    T, post = 6, [4, 5]
    for theta in (0.0, 2.0, 6.0):
        y = Y[0].copy()
        y[post] -= theta
        A = Y[1:].T
        res = minimize(
            lambda w, A=A, y=y: np.sum((y - A @ w) ** 2),
            np.full(4, 0.25),
            method="SLSQP",
            bounds=[(0, 1)] * 4,
            constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
            options={"ftol": 1e-14, "maxiter": 1000},
        )
        u = y - A @ res.x
        s0 = np.abs(u[post]).sum()
        stats = [np.abs(u[list(p)][post]).sum() for p in permutations(range(T))]
        expected = np.mean(np.array(stats) >= s0 - 1e-9)
        got = sc.conformal_p_value(Y[0], Y[1:], post, theta)
        assert got == pytest.approx(expected, abs=1e-12)
    # moving block: the T cyclic shifts only
    got = sc.conformal_p_value(Y[0], Y[1:], post, 0.0, scheme="moving block")
    assert got * T == pytest.approx(round(got * T))


def test_conformal_intervals_unbounded_with_few_pre_periods_and_p_values():
    data, _, years = _factor_panel(J=6, T0=3, T1=4, seed=11)
    res = sc.synthetic_control_conformal(data, treated="u0", treatment_start=years[3])
    per_year, avg = res.table.iloc[:-1], res.table.iloc[-1]
    assert np.isneginf(per_year["ci_low"]).all() and np.isposinf(per_year["ci_high"]).all()
    assert per_year["note"].str.contains("smallest attainable p-value is 0.25 > alpha").all()
    assert avg["n"] == 35 and avg["time"] == "average"  # C(7, 4) sets of post years
    assert ((res.table["p_value"] > 0) & (res.table["p_value"] <= 1)).all()
    assert avg["ci_low"] <= avg["estimate"] <= avg["ci_high"]
    mb = sc.synthetic_control_conformal(
        data, treated="u0", treatment_start=years[3], average_scheme="moving block"
    ).table.iloc[-1]
    assert mb["n"] == 7 and np.isinf(mb["ci_low"])  # 1/7 > 0.05: unbounded
    assert "moving block permutations" in mb["method"]


def _one_theta_at_a_time(pval, estimate: float, half_width: float, alpha: float) -> list:
    """Test inversion one p-value at a time, as it stood before the p-values were batched: the
    201-point grid, then 40 bisection steps at each end (an open end is +-inf)."""
    grid = estimate + np.linspace(-half_width, half_width, 201)
    idx = np.flatnonzero([pval(t) > alpha for t in grid])
    ends = []
    for i, step in ((idx[0], -1), (idx[-1], 1)):
        if i + step < 0 or i + step >= len(grid):
            ends.append(step * np.inf)
            continue
        inside, outside = grid[i], grid[i + step]
        for _ in range(40):
            mid = 0.5 * (inside + outside)
            inside, outside = (mid, outside) if pval(mid) > alpha else (inside, mid)
        ends.append(inside)
    return ends


@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_conformal_intervals_equal_one_p_value_at_a_time(lam):
    """The batched p-values (grid in one batch, bisection in trees of midpoints) give exactly
    the interval and p-values of `conformal_p_value` called once per theta."""
    data, Y, years = _factor_panel(J=6, T0=6, T1=2, seed=7)
    table = sc.synthetic_control_conformal(
        data, treated="u0", treatment_start=years[6], penalty=lam
    ).table
    avg = table.iloc[-1]
    post = [6, 7]

    def pval(theta):
        return sc.conformal_p_value(Y[0], Y[1:], post, theta, penalty=lam)

    span = float(Y.max() - Y.min())
    assert [avg["ci_low"], avg["ci_high"]] == _one_theta_at_a_time(
        pval, avg["estimate"], span, 0.05
    )
    assert np.isfinite([avg["ci_low"], avg["ci_high"]]).all() and avg["p_value"] == pval(0.0)
    for t, row in zip(post, table.iloc[:-1].itertuples(), strict=True):  # unbounded: p only
        cols = [*range(6), t]
        assert row.p_value == sc.conformal_p_value(Y[0, cols], Y[1:, cols], [6], 0.0, penalty=lam)
    thetas = avg["estimate"] + np.linspace(-span, span, 7)
    batched = sc._conformal_p_values(Y[0], Y[1:], post, lam, "iid", thetas)
    np.testing.assert_array_equal(batched, [pval(t) for t in thetas])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scheme": "block"}, "scheme must be one of"),
        ({"average_scheme": "x"}, "average_scheme must be one of"),
        ({"alpha": 1.5}, "alpha must be"),
        ({"n_grid": 2}, "n_grid must be at least 3"),
        ({"grid_width": 0}, "grid_width must be"),
    ],
)
def test_conformal_bad_input(kwargs, message):
    data, _, years = _factor_panel(J=4, T0=4, T1=2)
    with pytest.raises(StudyInputError, match=message):
        sc.synthetic_control_conformal(data, treated="u0", treatment_start=years[4], **kwargs)


def test_placebo_penalties_chosen_by_the_same_rule():
    """penalty='holdout': every unit's lambda is what choose_penalty picks with that unit
    treated and the other donors as its pool; each filter is one keyed row with its drops."""
    data, _, years = _factor_panel(J=6, T0=5, T1=2, seed=2)
    res = sc.synthetic_control_placebo(
        data, treated="u0", treatment_start=years[5], penalty="holdout"
    )
    lam = res.placebos.set_index("unit")["penalty"]
    assert lam["u0"] == sc.choose_penalty(data, treated="u0", treatment_start=years[5]).penalty
    for j in (1, 4):
        alone = data[data["geography_code"] != "u0"]
        chosen = sc.choose_penalty(alone, treated=f"u{j}", treatment_start=years[5]).penalty
        assert lam[f"u{j}"] == chosen
    table = res.table
    assert not table["quantity"].duplicated().any() and len(table) == 4
    assert (table["n"] + table["dropped"] == 6).all() and table["dropped"].iloc[0] == 0
    assert table["note"].str.contains("placebos dropped by the pre-fit filter").all()
    with pytest.raises(StudyInputError, match="penalty must be a non-negative number or one of"):
        sc.synthetic_control_placebo(data, treated="u0", treatment_start=years[5], penalty="cv")
