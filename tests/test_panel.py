"""Known-answer, invariant and bad-input tests for study.panel (the PanelDesign and the
event-study DiD with placebo-in-space inference); the synthetic control on the same design:
tests/test_synthetic_control.py."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from matplotlib.figure import Figure

from study import panel
from study import synthetic_control as sc
from study.errors import StudyInputError
from study.panel import PanelDesign
from study.plots import panel as panel_figures
from study.tidy import ESTIMATE_COLUMNS

YEARS = [f"{y}-{(y + 1) % 100:02d}" for y in range(2015, 2023)]  # 2015-16 ... 2022-23
START = "2019-20"  # 4 pre-periods, 4 post-periods
TREATED = "E09000015"


def long_panel(values: np.ndarray, units: list[str], times: list[str] = YEARS) -> pd.DataFrame:
    """Long table (geography_code, year, value) from a units x times matrix."""
    return pd.DataFrame(
        {
            "geography_code": np.repeat(units, len(times)),
            "year": np.tile(times, len(units)),
            "value": np.asarray(values, float).ravel(),
        }
    )


def random_panel(n_donors: int, seed: int, times: list[str] = YEARS):
    rng = np.random.default_rng(seed)
    Y = rng.normal(50, 8, (n_donors + 1, 1)) + rng.normal(0, 3, (n_donors + 1, len(times)))
    units = [TREATED] + [f"E0{i:07d}" for i in range(n_donors)]
    return long_panel(Y, units, times), Y, units


def placebo_rows(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["method"].str.startswith("placebo")].reset_index(drop=True)


# ------------------------------------------------------------------------ event-study DiD


def test_event_study_matches_hand_formula():
    data, Y, _ = random_panel(6, seed=1)
    res = panel.event_study_did(data, treated=TREATED, treatment_start=START)
    ref = YEARS.index(START) - 1
    gap = Y[0] - Y[1:].mean(axis=0)
    hand = gap - gap[ref]  # (Y_T,k - mean_C Y_C,k) - (Y_T,ref - mean_C Y_C,ref)
    for _, rows in res.table.groupby("method"):
        np.testing.assert_allclose(rows["estimate"].to_numpy()[:-1], hand, atol=1e-10)
        assert rows["estimate"].iloc[-1] == pytest.approx(hand[ref + 1 :].mean(), abs=1e-10)
    assert list(res.table.columns[:7]) == ESTIMATE_COLUMNS
    assert res.reference == "2018-19" and res.dropped_donors == ()
    assert res.table["rel_time"].dropna().tolist() == list(range(-4, 4)) * 2
    np.testing.assert_allclose(panel.event_coefficients(Y[0], Y[1:], ref), hand, atol=1e-12)


def test_event_study_placebo_intervals_and_p_values_by_hand():
    data, Y, units = random_panel(7, seed=2)
    alpha = 0.2
    res = panel.event_study_did(data, treated=TREATED, treatment_start=START, alpha=alpha)
    ref = 3
    donors = Y[1:]
    placebo = np.array(
        [panel.event_coefficients(donors[j], np.delete(donors, j, axis=0), ref) for j in range(7)]
    )
    placebo = np.column_stack([placebo, placebo[:, 4:].mean(axis=1)])
    rows = placebo_rows(res.table)
    beta = rows["estimate"].to_numpy()
    lo = beta - np.quantile(placebo, 1 - alpha / 2, axis=0)
    hi = beta - np.quantile(placebo, alpha / 2, axis=0)
    p = (1 + (np.abs(placebo) >= np.abs(beta)).sum(axis=0)) / 8
    keep = np.arange(9) != ref
    np.testing.assert_allclose(rows["ci_low"].to_numpy()[keep], lo[keep], atol=1e-10)
    np.testing.assert_allclose(rows["ci_high"].to_numpy()[keep], hi[keep], atol=1e-10)
    np.testing.assert_allclose(rows["p_value"].to_numpy()[keep], p[keep])
    assert rows.loc[ref, ["ci_low", "ci_high", "p_value"]].isna().all()
    assert (rows["n"] == 7).all() and (rows["level"] == 0.8).all()
    stored = res.placebo.pivot(index="unit", columns="quantity", values="estimate")
    stored = stored.loc[units[1:], rows["quantity"]].to_numpy()
    np.testing.assert_allclose(stored, placebo, atol=1e-12)


def test_event_study_placebo_and_cluster_rows_match_statsmodels_formula():
    """A placebo refitted by OLS (donor 0 pseudo-treated, real treated excluded) and the
    cluster-robust rows, both through the statsmodels formula interface."""
    data, _, units = random_panel(5, seed=3)
    res = panel.event_study_did(data, treated=TREATED, treatment_start=START)

    def twfe(frame: pd.DataFrame, treated: str):
        frame = frame.copy()
        names = []
        for k, year in enumerate(YEARS):
            if year != "2018-19":
                names.append(f"d{k}")
                frame[f"d{k}"] = (frame["geography_code"] == treated) & (frame["year"] == year)
        frame[names] = frame[names].astype(float)
        formula = "value ~ C(geography_code) + C(year) + " + " + ".join(names)
        return smf.ols(formula, frame), names

    model, names = twfe(data[data["geography_code"] != TREATED], units[1])
    ols = model.fit()
    placebo = res.placebo[res.placebo["unit"] == units[1]]["estimate"].to_numpy()
    np.testing.assert_allclose(np.delete(placebo[:-1], 3), ols.params[names], atol=1e-10)

    model, names = twfe(data, TREATED)
    groups = pd.factorize(data["geography_code"])[0]
    cl = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    rows = res.table[res.table["method"] == panel.CLUSTER_METHOD].reset_index(drop=True)
    rows = rows.drop(index=3).iloc[:-1]
    np.testing.assert_allclose(rows["estimate"], cl.params[names], atol=1e-10)
    np.testing.assert_allclose(rows["ci_low"], cl.conf_int().loc[names, 0], atol=1e-8)
    np.testing.assert_allclose(rows["p_value"], cl.pvalues[names], atol=1e-8)


def _dense_twfe_rows(treated_y, donor_y, n_pre, alpha=0.05):
    """The event-study rows the way they were computed before the within transformation:
    statsmodels OLS of the dense dummy design (unit, time, treated x time dummies; default
    `hasconst` detection), cluster-robust by unit with t(G - 1), the average by `t_test`."""
    import statsmodels.api as sm

    Y = np.vstack([treated_y, donor_y])
    n_units, T = Y.shape
    unit_idx, time_idx = np.repeat(np.arange(n_units), T), np.tile(np.arange(T), n_units)
    ref = n_pre - 1
    events = np.array([k for k in range(T) if k != ref])
    X = np.hstack(
        [
            (unit_idx[:, None] == np.arange(n_units)).astype(float),
            (time_idx[:, None] == np.arange(1, T)).astype(float),
            ((unit_idx[:, None] == 0) & (time_idx[:, None] == events)).astype(float),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.OLS(Y.ravel(), X).fit(cov_type="cluster", cov_kwds={"groups": unit_idx},
                                       use_t=True)  # fmt: skip
        contrast = np.zeros(X.shape[1])
        contrast[n_pre - T :] = 1 / (T - n_pre)
        pooled = fit.t_test(contrast)
    est = np.append(fit.params[1 - T :], pooled.effect)
    ci = np.vstack([fit.conf_int(alpha)[1 - T :], np.ravel(pooled.conf_int(alpha))])
    p = np.append(fit.pvalues[1 - T :], np.ravel(pooled.pvalue))
    return est, ci, p, fit


@pytest.mark.parametrize(("n_donors", "n_times", "n_pre", "seed"),
                         [(5, 8, 4, 3), (40, 7, 3, 8), (2, 3, 2, 9), (150, 7, 3, 10)])  # fmt: skip
def test_within_transformation_equals_the_dense_statsmodels_design(n_donors, n_times, n_pre, seed):
    """Coefficients, cluster-robust intervals and p-values (every event time and the average)
    from the two-way within transformation equal the dense dummy-design statsmodels fit to
    1e-10 (relative to the data's scale), and `EventStudyResult.ols` is that dense fit."""
    times = YEARS[:n_times]
    data, Y, _ = random_panel(n_donors, seed, times)
    res = panel.event_study_did(data, treated=TREATED, treatment_start=times[n_pre], alpha=0.1)
    rows = res.table[res.table["method"] == panel.CLUSTER_METHOD]
    rows = rows.drop(rows.index[n_pre - 1])  # the reference period
    est, ci, p, fit = _dense_twfe_rows(Y[0], Y[1:], n_pre, alpha=0.1)
    scale = np.abs(Y).max()
    np.testing.assert_allclose(rows["estimate"], est, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(rows[["ci_low", "ci_high"]], ci, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(rows["p_value"], p, rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.ols.params, fit.params, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(res.ols.cov_params(), fit.cov_params(), rtol=0,
                               atol=1e-10 * scale**2)  # fmt: skip


def test_event_study_recovers_simulated_effect():
    rng = np.random.default_rng(4)
    n, T, effect = 40, len(YEARS), 5.0
    Y = rng.normal(60, 10, (n, 1)) + rng.normal(0, 2, (1, T)) + rng.normal(0, 0.5, (n, T))
    Y[0, 4:] += effect
    units = [TREATED] + [f"E0{i:07d}" for i in range(n - 1)]
    res = panel.event_study_did(long_panel(Y, units), treated=TREATED, treatment_start=START)
    rows = placebo_rows(res.table)
    post, pooled = rows.iloc[4:8], rows.iloc[8]
    np.testing.assert_allclose(post["estimate"], effect, atol=1.5)
    assert pooled["estimate"] == pytest.approx(effect, abs=0.6)
    assert pooled["ci_low"] < effect < pooled["ci_high"]
    assert pooled["p_value"] == pytest.approx(1 / n)  # no placebo reaches |5|
    assert (rows.iloc[[0, 1, 2]]["ci_low"] < 0).all() and (
        rows.iloc[[0, 1, 2]]["ci_high"] > 0
    ).all()


@settings(max_examples=25, deadline=None)
@given(
    n_donors=st.integers(2, 6),
    n_times=st.integers(3, 7),
    data=st.data(),
)
def test_event_study_ols_equals_closed_form_and_p_values_in_range(n_donors, n_times, data):
    n_pre = data.draw(st.integers(2, n_times - 1))
    values = data.draw(arrays(np.float64, (n_donors + 1, n_times), elements=st.floats(-1e3, 1e3)))
    times = [str(2000 + t) for t in range(n_times)]
    units = [TREATED] + [f"D{i}" for i in range(n_donors)]
    res = panel.event_study_did(
        long_panel(values, units, times), treated=TREATED, treatment_start=times[n_pre]
    )
    rows = placebo_rows(res.table)
    hand = panel.event_coefficients(values[0], values[1:], n_pre - 1)
    scale = 1 + np.abs(values).max()
    np.testing.assert_allclose(rows["estimate"].to_numpy()[:-1], hand, atol=1e-9 * scale)
    p = rows["p_value"].dropna()
    assert ((p >= 1 / (n_donors + 1) - 1e-12) & (p <= 1)).all()


def test_unbalanced_donors_dropped_and_reported():
    data, Y, units = random_panel(6, seed=5)
    data.loc[(data["geography_code"] == units[2]) & (data["year"] == "2016-17"), "value"] = np.nan
    data = data[~((data["geography_code"] == units[4]) & (data["year"] == "2022-23"))]
    res = panel.event_study_did(data, treated=TREATED, treatment_start=START)
    assert res.dropped_donors == (units[2], units[4])
    assert len(res.donors) == 4 and (res.table["n"] == 4).all()
    gap = Y[0] - Y[[1, 3, 5, 6]].mean(axis=0)
    np.testing.assert_allclose(placebo_rows(res.table)["estimate"][:8], gap - gap[3], atol=1e-10)
    in_window = panel.event_study_did(
        data, treated=TREATED, treatment_start=START, window=("2017-18", "2021-22")
    )
    assert in_window.dropped_donors == () and in_window.times[0] == "2017-18"
    fit = sc.synthetic_control(data, treated=TREATED, treatment_start=START)
    assert fit.dropped_donors == (units[2], units[4])
    assert set(fit.weights["unit"]) == set(fit.donors)


def test_donor_subset_excludes_treated_and_keeps_order():
    data, _, units = random_panel(6, seed=6)
    res = panel.event_study_did(
        data, treated=TREATED, treatment_start=START, donors=[units[3], TREATED, units[1]]
    )
    assert res.donors == (units[3], units[1])


# ------------------------------------------------------------------------ the design


def test_design_holds_the_balanced_panel_of_its_window():
    data, Y, units = random_panel(6, seed=30)
    data.loc[(data["geography_code"] == units[2]) & (data["year"] == "2021-22"), "value"] = np.nan
    design = PanelDesign(
        data,
        treated=TREATED,
        treatment_start=START,
        donors=[units[5], units[2], TREATED, units[1], units[5]],
        window=("2016-17", "2022-23"),
    )
    assert design.times == tuple(YEARS[1:]) and design.n_pre == 3
    assert design.reference == "2018-19"
    assert design.donors == (units[5], units[2], TREATED, units[1], units[5])  # as asked
    assert design.donors_used == (units[5], units[1])  # pool order, treated and repeats out
    assert design.dropped_donors == (units[2],)
    np.testing.assert_array_equal(design.treated_y, Y[0, 1:])
    np.testing.assert_array_equal(design.donor_y, Y[[5, 1], 1:])
    with pytest.raises(ValueError, match="read-only"):
        design.donor_y[0, 0] = 0.0
    with pytest.raises(AttributeError):
        design.treated = units[1]
    assert "data" not in repr(design) and "treatment_start='2019-20'" in repr(design)


def test_design_gives_the_numbers_of_the_keyword_form_exactly():
    """One design for every estimator: the same tables as data + keywords, bit for bit."""
    data, _, units = random_panel(9, seed=31)
    data = data[~((data["geography_code"] == units[4]) & (data["year"] == "2015-16"))].copy()
    kw = {"treated": TREATED, "treatment_start": START, "window": ("2015-16", "2021-22")}
    design = PanelDesign(data, **kw)
    es, by_keywords = (
        panel.event_study_did(design, alpha=0.1),
        panel.event_study_did(data, alpha=0.1, **kw),
    )
    pd.testing.assert_frame_equal(es.table, by_keywords.table, check_exact=True)
    pd.testing.assert_frame_equal(es.placebo, by_keywords.placebo, check_exact=True)
    assert es.donors == by_keywords.donors and es.dropped_donors == (units[4],)
    choice = sc.choose_penalty(design)
    pd.testing.assert_frame_equal(
        choice.table, sc.choose_penalty(data, **kw).table, check_exact=True
    )
    a = sc.synthetic_control_placebo(design, penalty=choice.penalty)
    b = sc.synthetic_control_placebo(data, penalty=choice.penalty, **kw)
    for x, y in [(a.table, b.table), (a.placebos, b.placebos), (a.fit.weights, b.fit.weights)]:
        pd.testing.assert_frame_equal(x, y, check_exact=True)
    fit = sc.synthetic_control(design, penalty=choice.penalty)
    pd.testing.assert_frame_equal(fit.path, a.fit.path, check_exact=True)
    # the design is a snapshot: changing the table afterwards changes nothing
    data.loc[data.index[0], "value"] = 1e6
    again = panel.event_study_did(design, alpha=0.1)
    pd.testing.assert_frame_equal(again.table, es.table, check_exact=True)


def test_design_or_keywords_not_both_and_keywords_named():
    data, _, _ = random_panel(3, seed=32)
    design = PanelDesign(data, treated=TREATED, treatment_start=START)
    cases = [
        (lambda: panel.event_study_did(design, treated=TREATED), "not both (got ['treated'])"),
        (lambda: sc.synthetic_control(data, treated=TREATED), "needs treatment_start"),
        (
            lambda: sc.choose_penalty(data, treated=TREATED, treatment_start=START, start=START),
            "unknown design keyword(s) ['start']",
        ),
    ]
    for call, message in cases:
        with pytest.raises(StudyInputError) as err:
            call()
        assert message in str(err.value) and "\n" not in str(err.value)


# ------------------------------------------------------------------------ figures


def test_figures_return_unregistered_figures_with_caller_titles():
    data, _, _ = random_panel(8, seed=13)
    before = plt.get_fignums()
    es = panel.event_study_did(data, treated=TREATED, treatment_start=START)
    pl = sc.synthetic_control_placebo(data, treated=TREATED, treatment_start=START)
    figs = {
        "es (real data)": panel_figures.plot_event_study(es, title="es (real data)"),
        "sc (real data)": panel_figures.plot_synthetic_control(pl.fit, title="sc (real data)"),
        "gaps": panel_figures.plot_placebo_gaps(pl, title="gaps", pre_rmspe_multiple=5),
        "ratios": panel_figures.plot_rmspe_ratios(pl, title="ratios"),
    }
    for title, fig in figs.items():
        assert isinstance(fig, Figure) and fig.axes[0].get_title() == title
    assert plt.get_fignums() == before


# ------------------------------------------------------------------------ bad input


def _bad_inputs():
    data, _, units = random_panel(3, seed=14)
    dup = pd.concat([data, data.iloc[[5]]], ignore_index=True)
    text = data.assign(value=data["value"].astype(object))
    text.loc[7, "value"] = "n/a"
    treated_gap = data.copy()
    treated_gap.loc[2, "value"] = np.nan
    all_missing = data.copy()
    all_missing.loc[all_missing["geography_code"] != TREATED, "value"] = np.nan
    ok = {"treated": TREATED, "treatment_start": START}
    return [
        (data, {**ok, "treated": "E09999999"}, "not in column 'geography_code'"),
        (data, {**ok, "treatment_start": "2030-31"}, "treatment_start '2030-31'"),
        (data, {**ok, "treatment_start": "2016-17"}, "at least 2 pre-treatment periods"),
        (data, {**ok, "donors": [TREATED]}, "no donors left"),
        (data, {**ok, "donors": ["nowhere"]}, "donors: 1 not in column"),
        (all_missing, ok, "no donors left"),
        (data, {**ok, "donors": units[1:2]}, "at least 2 donors"),
        (data.drop(columns="year"), ok, "missing column(s) ['year']"),
        (dup, ok, "appears more than once"),
        (text, ok, "must be numeric"),
        (data.assign(value=data["value"] > 50), ok, "must be numeric"),
        (treated_gap, ok, "has no 'value' for ['2017-18']"),
        (data, {**ok, "window": ("2019-20", "2016-17")}, "comes after"),
        (data, {**ok, "window": ("2014-15", "2022-23")}, "window: '2014-15' is not"),
        (data, {**ok, "window": ("2018-19", "2022-23")}, "at least 2 pre-treatment"),
    ]


@pytest.mark.parametrize(("data", "kwargs", "message"), _bad_inputs())
@pytest.mark.parametrize(
    "estimator",
    [PanelDesign, panel.event_study_did, sc.synthetic_control_placebo],
    ids=["design", "did", "sc"],
)
def test_bad_input_raises_one_line(estimator, data, kwargs, message):
    if estimator is PanelDesign and message == "at least 2 donors":
        PanelDesign(data, **kwargs)  # one donor makes a design; placebo inference needs two
        return
    with pytest.raises(StudyInputError) as err:
        estimator(data, **kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, "0.05"])
def test_alpha_outside_unit_interval(alpha):
    data, _, _ = random_panel(3, seed=15)
    with pytest.raises(StudyInputError, match="alpha must be a number strictly between 0 and 1"):
        panel.event_study_did(data, treated=TREATED, treatment_start=START, alpha=alpha)


# ------------------------------------------- cross-check on the real Oflog panel (issue 16)


def _oflog():
    from study.data import national

    path = national.external_dir() / national.OFLOG_FILE
    return national.read_oflog_measures(path) if path.is_file() else None


@pytest.mark.parametrize(
    ("council", "start", "measure"),
    [("E09000015", "2019-20", "ASC6"), ("E08000025", "2018-19", "ASC5")],
)
def test_event_study_equals_an_independent_twfe_fit_on_the_real_oflog_panel(
    council, start, measure
):
    """The event-study coefficients on the real Oflog panel (every council complete from
    2016-17, as in notebook 06) equal an explicit statsmodels OLS with unit and year fixed
    effects and one dummy per event time of the treated council (reference: the last year
    before treatment), fitted on the same balanced panel."""
    oflog = _oflog()
    if oflog is None:
        pytest.skip("Oflog ASC_data.csv not in the external folder")
    data = oflog[(oflog["measure"] == measure)].dropna(subset=["value"])
    years = sorted(y for y in data["year"].unique() if y >= "2016-17")
    design = PanelDesign(data, treated=council, treatment_start=start, window=(years[0], years[-1]))
    res = panel.event_study_did(design)
    frame = data[
        data["geography_code"].isin([council, *design.donors_used]) & data["year"].isin(years)
    ][["geography_code", "year", "value"]].copy()
    assert len(frame) == len(years) * (1 + len(design.donors_used))
    reference = years[years.index(start) - 1]
    names = []
    for k, year in enumerate(years):
        if year != reference:
            names.append(f"event{k}")
            frame[f"event{k}"] = (
                (frame["geography_code"] == council) & (frame["year"] == year)
            ).astype(float)
    ols = smf.ols("value ~ C(geography_code) + C(year) + " + " + ".join(names), frame).fit()
    rows = placebo_rows(res.table)
    by_year = rows[rows["time"].notna()].set_index("time")["estimate"]
    expected = {y: ols.params[f"event{k}"] for k, y in enumerate(years) if y != reference}
    np.testing.assert_allclose(
        by_year.drop(reference).loc[list(expected)], list(expected.values()), atol=1e-8
    )
    assert by_year[reference] == 0
    post = [ols.params[f"event{k}"] for k, y in enumerate(years) if y >= start]
    np.testing.assert_allclose(
        rows[rows["time"].isna()]["estimate"].iloc[0], np.mean(post), atol=1e-8
    )
