"""Notebook 04's analysis layer: each section's table, figures and text come from the numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from study import avoided_starts, costs
from study.analyses import cost_avoidance as ca
from study.analyses import labelled
from study.data import national
from study.errors import StudyInputError
from study.plots.costs import plot_tornado
from study.tidy import ESTIMATE_COLUMNS, gbp

HARROW_STEP = 1.7 * 946  # 1.7 fewer a week from FY week 10 (3 June 2019), counted 43 + ... + 1
WHOLE_FY = 1.7 * 1378  # the same step from 1 April (week 1), counted 52 + ... + 1
# published path 7.2 (3 Jun, day 63 of the FY) -> 6.1 (30 Sep, day 182) -> 5.5 (31 Mar, day 365):
# avoided in the week starting on day d = 1.1 (d - 63) / 119 to 30 Sep, then 1.1 + 0.6 (d - 182)
# / 183; the 52 Mondays are days 0, 7, ..., 357, counted 52, 51, ..., 1 weeks
_DAYS = 7 * np.arange(52)
PATH = np.where(
    _DAYS <= 182, 1.1 * np.clip((_DAYS - 63) / 119, 0, None), 1.1 + 0.6 * (_DAYS - 182) / 183
)
PATH_PW = float(PATH @ (52 - np.arange(52)))
PERIODS = {
    "innovation_site_1": {"start": "2019-06-03", "kind": "intervention"},
    "innovation_site_2": {"start": "2019-09-09", "kind": "intervention", "slope": False},
}
UNITS = pd.DataFrame(
    {"measure": ["community_weekly_during", "res_nursing_total_2021_22"], "value": [300.0, 1000.0]}
)


def fixed_unit_costs(weekly_gbp: float) -> ca.UnitCosts:
    """A unit-cost result with a fixed weekly cost (no uncertainty), for answers by hand."""
    return ca.UnitCosts(
        table=pd.DataFrame(),
        cost=costs.UnitCost(weekly_gbp, 0.0, "fixed"),
        units=UNITS,
        cost_cv=0.2,
        cost_source="unit costs: test",
    )


HARROW_ARGS = dict(
    periods=PERIODS, fy_start="2019-04-01", full_effect=None, exposure_weeks=(52.0, 13.0)
)


def harrow_rates(figures: pd.DataFrame, weekly_gbp: float = 500.0, reading: str = "step"):
    return ca.harrow_rates(
        figures,
        fixed_unit_costs(weekly_gbp),
        reading=reading,
        **HARROW_ARGS,
        n_draws=1000,
        alpha=0.05,
        seed=3,
    )


def row(table: pd.DataFrame, quantity: str) -> pd.Series:
    hit = table[table["quantity"] == quantity]
    assert len(hit) == 1, quantity
    return hit.iloc[0]


# ----------------------------------------------------------------------------- building blocks


def test_sensitivity_over_overrides_one_assumption_at_a_time():
    sens = costs.Sensitivity.over(
        lambda a, b: a * b, {"a": 2.0, "b": 3.0}, {"a": {"a=1": {"a": 1.0}, "a=4": {"a": 4.0}}}
    )
    assert sens.base_gbp == 6.0 and sens.scenarios == {"a": {"a=1": 3.0, "a=4": 12.0}}


def test_sensitivity_over_evaluates_a_repeated_setting_once():
    calls = []

    def fn(a, b, path):
        calls.append((a, b))
        return a * b + len(path)

    path = ["one", "two"]
    sens = costs.Sensitivity.over(
        fn,
        {"a": 2.0, "b": 3, "path": path},
        {
            "a": {"a=2 (base)": {"a": 2.0}, "a=1": {"a": 1.0}},
            "b": {"b=3 (base)": {}, "b=1": {"b": 1}, "a=1 again": {"a": 1.0}},
            "path": {"same list": {"path": path}, "equal copy": {"path": list(path)}},
        },
    )
    assert sens.base_gbp == 8.0
    assert sens.scenarios == {
        "a": {"a=2 (base)": 8.0, "a=1": 5.0},
        "b": {"b=3 (base)": 8.0, "b=1": 4.0, "a=1 again": 5.0},
        "path": {"same list": 8.0, "equal copy": 8.0},
    }
    # base, a=1, b=1, and the equal-but-not-identical path (objects are matched by identity)
    assert calls == [(2.0, 3), (1.0, 3), (2.0, 1), (2.0, 3)]


def test_tornado_and_scenario_tables_and_plot():
    sens = costs.Sensitivity(
        100.0, {"rule": {"part": 90.0, "full": 95.0}, "unit cost": {"low": 80.0, "high": 130.0}}
    )
    table = sens.tornado()
    assert list(table["assumption"]) == ["unit cost", "rule"]  # largest swing first
    assert table.loc[0, "swing_gbp"] == 50.0 and table.loc[0, "low_label"] == "low"
    long = sens.table()
    assert list(long["change_vs_base_gbp"]) == [-10.0, -5.0, -20.0, 30.0]
    fig = plot_tornado(table, reference={"published": 96.0})
    assert isinstance(fig, Figure) and fig.get_layout_engine() is not None
    for bad in ({}, {"rule": {}}):
        with pytest.raises(StudyInputError, match="scenarios"):
            costs.Sensitivity(1.0, bad).tornado()


def test_summary_sentence_is_computed():
    av = costs.avoided_starts_from_rates(
        7.2,
        5.5,
        costs.weekly_dates("2019-04-01", 52),
        exposure_weeks_before=52,
        exposure_weeks_after=13,
        effect_start="2019-06-03",
    )
    res = costs.cost_avoidance(av, costs.UnitCost(433.0, 80.0), label="Harrow")
    text = costs.cost_avoidance_summary(
        res, published_gbp=696_000, assumptions={"unit cost": "implied"}
    )
    assert text.startswith("Harrow: £696k")
    low, high = res.interval
    assert f"95% interval {gbp(low)} to {gbp(high)}" in text
    assert "Assumed: unit cost: implied." in text
    assert "\n" not in text


# ----------------------------------------------------------------------------- unit costs


def test_unit_costs_from_the_harrow_ascfr_cells():
    rows = national.cost_figures("E09000015")
    res = ca.unit_costs(
        rows,
        site="Harrow",
        residential_measure="res_nursing_total_2020_21",
        community_measure="community_weekly_end",
        cost_cv=0.2,
        via="data/published/national_figures.csv",
    )
    # T10 + T11: 140 of 850 new long-term outcomes residential/nursing; T52 £1,001.009/week;
    # community: (22,729.328 + 19,050.753) £k / 2,260 clients at 31 March / 52
    community = 41_780_080.33 / 2260 / 52
    assert res.cost.mean_gbp == pytest.approx(140 / 850 * 1001.009 + 710 / 850 * community)
    assert res.cost.residential.sd_gbp == pytest.approx(0.2 * 1001.009, abs=1e-3)
    assert res.text == f"Harrow unit cost: {res.cost.describe()}"
    assert res.text.startswith(f"Harrow unit cost: £{res.cost.mean_gbp:,.0f}/week: 16.5%")
    assert res.table.empty  # nothing recorded
    pd.testing.assert_frame_equal(res.view, costs.ascfr_unit_costs(rows).round(4))
    assert res.cost_source.startswith("unit costs: ASCFR and SALT Data Tables 2021-22.xlsx T10")
    assert res.cost_source.endswith("(via data/published/national_figures.csv)")
    with pytest.raises(StudyInputError, match="UnitCosts needs"):
        ca.UnitCosts(table=pd.DataFrame())


# ----------------------------------------------------------------------------- Harrow rates


def test_harrow_rates_table_by_hand(figures):
    res = harrow_rates(figures)
    t = res.table
    assert list(t["quantity"]) == [
        f"{label}: {q}"
        for label in (
            "Harrow 2019-20 part-year",
            "Harrow 2019-20 full year (52 weeks each)",
            "Harrow, a whole financial year at the new rate",
        )
        for q in ("cost avoided (GBP)", "avoided long-term starts", "avoided person-weeks of care")
    ]
    assert list(t["estimate"]) == pytest.approx(
        [
            *(HARROW_STEP * 500, 1.7 * 43, HARROW_STEP),
            *(1.7 * 43 * 52 * 500, 1.7 * 43, 1.7 * 43 * 52),
            *(WHOLE_FY * 500, 1.7 * 52, WHOLE_FY),
        ]
    )
    assert set(t["site"]) == {"harrow"} and set(t["data_kind"]) == {"published"}
    assert set(t["source"]) == {
        "data/published/figures.csv: harrow_lt_starts_2018_09, harrow_lt_starts_2019_03, "
        "harrow_lt_starts_2019_09, harrow_lt_starts_2020_03 "
        "(quoted from 004_d7aa2ee158f51ecd.txt); unit costs: test"
    }
    rounded = {"estimate": 1, "ci_low": 1, "ci_high": 1}  # £ to one decimal, the rest as is
    pd.testing.assert_frame_equal(res.view, t[ESTIMATE_COLUMNS].round(rounded))
    assert isinstance(res.figures["tornado_harrow_rates"], Figure)


def test_harrow_rates_come_from_the_figures_table(figures):
    """Another published end rate (4.5 a week) changes every £ in proportion to the drop."""
    changed = figures.copy()
    changed.loc[changed["figure_id"] == "harrow_lt_starts_2020_03", "value"] = 4.5
    part = row(harrow_rates(changed).table, "Harrow 2019-20 part-year: cost avoided (GBP)")
    assert part["estimate"] == pytest.approx(2.7 * 946 * 500)


def test_harrow_rates_published_comparison_and_text(figures):
    res = harrow_rates(figures)
    part = row(res.table, "Harrow 2019-20 part-year: cost avoided (GBP)")
    comparison = res.tables["published_comparison"]
    assert list(comparison["published"]) == [
        "£696k part-year",
        "up to £1.00m full year (whole FY at new rate)",
        "up to £1.00m full year (52 weeks each)",
    ]
    assert list(comparison["implied_weekly_cost_gbp"]) == pytest.approx(
        [696_000 / HARROW_STEP, 1e6 / WHOLE_FY, 1e6 / (1.7 * 43 * 52)]
    )
    first = comparison.iloc[0]
    assert (first["ci_low_gbp"], first["ci_high_gbp"]) == (part["ci_low"], part["ci_high"])
    inside = part["ci_low"] <= 696_000 <= part["ci_high"]
    assert first["inside_interval"] == inside
    text = res.text
    assert text.startswith(f"Harrow 2019-20 part-year: {gbp(part['estimate'])} (95% interval ")
    assert f"(£696k) is {'inside' if inside else 'outside'} this interval" in text
    assert f"implies £{696_000 / HARROW_STEP:,.0f} a week" in text
    assert f"'up to £1.00m' (a whole financial year at the new rate) £{1e6 / WHOLE_FY:,.0f}" in text
    assert "Assumed: avoided starts: reading step: step of 1.7 fewer a week from 3 Jun 2019" in text
    assert "rate exposures: 52 weeks behind the rate before and 13 behind" in text
    assert "SD 20% of each mean" in text
    assert "Monte Carlo standard errors of the interval's limits" in text
    dec = res.tables["decomposition"]
    assert list(dec["uncertainty"]) == ["model only", "unit cost only", "both"] * 2
    # a fixed unit cost: the unit cost adds no width
    assert dec["width_gbp"].iloc[1] == pytest.approx(0.0)


def test_harrow_sensitivity_with_a_fixed_unit_cost_by_hand(figures):
    res = harrow_rates(figures)
    s = res.tables["sensitivity"].set_index(["assumption", "alternative"])["estimate_gbp"].to_dict()
    base = HARROW_STEP * 500
    # a fixed unit cost has a zero-width interval: both ends are the mean
    assert s[("unit cost (ASC-FR mix interval)", "£500/wk")] == pytest.approx(base)
    extremes = "unit cost (other sources, extreme mixes)"
    implied = f"implied by £696k: £{696_000 / HARROW_STEP:,.0f}/wk"
    assert s[(extremes, implied)] == pytest.approx(696_000)
    assert s[(extremes, "all community, T34 denominator: £300/wk")] == pytest.approx(
        HARROW_STEP * 300
    )
    assert s[("counting rule", "full year (52 weeks)")] == pytest.approx(1.7 * 43 * 52 * 500)
    start = "effect start (a step)"
    assert s[(start, "1 Apr 2019")] == pytest.approx(WHOLE_FY * 500)
    assert s[(start, "3 Jun 2019")] == pytest.approx(base)
    # site 2 from 9 September 2019 = FY week 24: counted 29 + ... + 1 weeks
    assert s[(start, "site 2 (2019-09-09)")] == pytest.approx(1.7 * 435 * 500)
    assert s[(ca.READING, "step of 1.7 fewer a week from 3 Jun 2019")] == pytest.approx(base)
    path = s[(ca.READING, "published path 7.2 -> 6.1 -> 5.5 from 3 Jun 2019")]
    assert path == pytest.approx(PATH_PW * 500)
    assert s[(ca.READING, "two steps: 6.1 from 3 Jun 2019, 5.5 from 30 Sep 2019")] == (
        pytest.approx((1.1 * 946 + 0.6 * 351) * 500)
    )
    assert "moves the estimate most is unit cost (other sources, extreme mixes)" in res.text


def test_harrow_rates_sensitivity_takes_its_base_from_the_costing(figures):
    rate, dates, rates = ca.harrow_rate_inputs(figures, (52.0, 13.0))
    readings = avoided_starts.harrow_readings_of(
        rate, dates, fy_start="2019-04-01", effect_start="2019-06-03", full_effect=None
    )
    base = costs.path_cost_avoidance(
        readings["published_path"],
        rates,
        unit_cost=costs.UnitCost(500.0, 0.0, "fixed"),
        first_week="2019-04-01",
        n_draws=1000,
    )
    sens = ca.harrow_rates_sensitivity(
        readings,
        rates,
        dates,
        reading="published_path",
        base=base,
        unit_costs=UNITS,
        published_gbp=696_000.0,
        fy_start="2019-04-01",
        effect_starts={"3 Jun 2019": "2019-06-03"},
        alpha=0.05,
        seed=3,
    )
    assert sens.base_gbp == pytest.approx(base.point_gbp) == pytest.approx(PATH_PW * 500)
    tornado = sens.tornado().set_index("assumption")
    extremes = tornado.loc["unit cost (other sources, extreme mixes)"]
    assert extremes["high_gbp"] == pytest.approx(PATH_PW * 1000)
    # the readings span the trend counterfactual (negative) to the step (1.7 x 946 x £500)
    assert tornado.index[0] == ca.READING
    assert tornado.loc[ca.READING, "high_gbp"] == pytest.approx(HARROW_STEP * 500)
    assert tornado.loc[ca.READING, "low_gbp"] < 0
    assert len(sens.table()) == sum(len(v) for v in sens.scenarios.values())


# ----------------------------------------------------------------------------- Harrow ITS


def test_harrow_its_recovers_a_simulated_step_and_says_what_it_left_out(step_weekly):
    res = ca.harrow_its(
        step_weekly,
        fixed_unit_costs(450.0),
        weekly_path="data/synthetic/step.csv",
        periods={"site": "2019-06-03", "later": "2020-06-01"},
        last_week="2020-03-23",
        fy_start="2019-04-01",
        family="poisson",
        harmonics=0,
        transition_weeks=0,
        n_draws=1000,
        alpha=0.05,
        seed=2,
    )
    t = res.table
    assert len(t) == 6 and set(t["data_kind"]) == {"synthetic"}
    assert set(t["source"]) == {"data/synthetic/step.csv; unit costs: test"}
    part = row(t, "Harrow ITS 2019-20 part-year: cost avoided (GBP)")
    truth = HARROW_STEP * 450  # 1.7 fewer a week from week 10, counted to 31 March, £450/week
    assert part["ci_low"] < truth < part["ci_high"]
    starts = row(t, "Harrow ITS 2019-20 part-year: avoided long-term starts")["estimate"]
    assert 0.5 * 1.7 * 43 < starts < 1.5 * 1.7 * 43
    # the sensitivity base is the same point costing, at the fixed unit cost
    sens = res.tables["sensitivity"].set_index(["assumption", "alternative"])["estimate_gbp"]
    assert sens[("ITS model family (synthetic)", "poisson")] == pytest.approx(part["estimate"])
    assert sens[("ITS seasonality (synthetic)", "0 harmonics")] == pytest.approx(part["estimate"])
    assert set(res.tables["sensitivity"]["assumption"]) == {
        "ITS model family (synthetic)",
        "ITS transition weeks (synthetic)",
        "ITS seasonality (synthetic)",
    }
    assert isinstance(res.figures["tornado_harrow_its_synthetic"], Figure)
    assert "left out: period later (starts 2020-06-01)" in res.text
    assert f"Harrow ITS 2019-20 part-year: {gbp(part['estimate'])}" in res.text
    assert "not a finding" in res.text


# ----------------------------------------------------------------------------- Birmingham


def birmingham(figures: pd.DataFrame, *, baseline_long_term=260.0, window_weeks=26, n_draws=1000):
    return ca.birmingham_reduction(
        figures,
        fixed_unit_costs(400.0),
        baseline_long_term=baseline_long_term,
        baseline_sensitivity=[130.0, 260.0],
        window_start="2018-04-02",
        window_weeks=window_weeks,
        n_draws=n_draws,
        alpha=0.05,
        seed=1,
    )


def test_birmingham_reduction_table_grid_and_text_by_hand(figures):
    """260 starts over the published six months (26 weeks) = 10 a week; 36% = 3.6 fewer a week;
    weeks 1..26 of the financial year count 52..27 weeks."""
    res = birmingham(figures)
    t = res.table
    label = "Birmingham evaluation window"
    part = row(t, f"{label}, part-year: cost avoided (GBP)")
    assert part["estimate"] == pytest.approx(3.6 * sum(range(27, 53)) * 400)
    full = row(t, f"{label}, full year (52 weeks each): cost avoided (GBP)")
    assert full["estimate"] == pytest.approx(3.6 * 26 * 52 * 400)
    assert row(t, f"{label}, part-year: avoided long-term starts")["estimate"] == pytest.approx(
        3.6 * 26
    )
    assert "rates 10 -> 6.4 a week, Poisson over 26 weeks / 26 weeks" in part["note"]
    assert set(t["site"]) == {"birmingham"} and set(t["data_kind"]) == {"published"}
    assert set(t["source"]) == {
        "data/published/figures.csv: bham_long_term_reduction, bham_evaluation_months "
        "(quoted from 000_da5f122e249747a7.txt); unit costs: test"
    }
    grid = res.tables["grid"]
    assert list(grid.columns) == [400.0]  # a fixed cost: low = mean = high
    assert grid.loc[("full_year", 5.0), 400.0] == pytest.approx(1.8 * 26 * 52 * 400 / 1000)
    text = res.text
    assert text.startswith("Birmingham (published 36%, assumed baseline 10.0 starts a week")
    assert f"£{part['estimate'] / 1000:,.0f}k part-year" in text
    assert f"£{part['ci_low'] / 1000:,.0f}k to £{part['ci_high'] / 1000:,.0f}k" in text
    # the grid's part-year range: baseline 5 a week to 10 a week
    low_grid = 1.8 * sum(range(27, 53)) * 400 / 1000
    assert f"spans £{low_grid:,.0f}k to £{part['estimate'] / 1000:,.0f}k" in text


def test_a_longer_window_from_the_same_six_month_rates_keeps_their_uncertainty(figures):
    def starts(res):
        return row(
            res.table,
            "Birmingham evaluation window, full year (52 weeks each): avoided long-term starts",
        )

    six = starts(birmingham(figures, n_draws=2000))
    twelve = starts(birmingham(figures, window_weeks=52, n_draws=2000))
    # same rate draws (26 weeks observed), twice the weeks costed: the interval doubles
    for col in ("estimate", "ci_low", "ci_high"):
        assert twelve[col] == pytest.approx(2 * six[col])
    # had the rates been observed over twelve months, the interval would be narrower
    longer = figures.copy()
    longer.loc[longer["figure_id"] == "bham_evaluation_months", "value"] = 12.0
    naive = starts(birmingham(longer, baseline_long_term=520.0, window_weeks=52, n_draws=2000))
    assert naive["estimate"] == pytest.approx(twelve["estimate"])
    assert np.ptp([naive["ci_low"], naive["ci_high"]]) < twelve["ci_high"] - twelve["ci_low"]


# ----------------------------------------------------------------------------- readings


def stand_in_its_route() -> ca.Costings:
    """An ITS-route result stand-in: a costing of 1.7 fewer a week, labelled synthetic."""
    part = costs.rates_cost_avoidance(
        7.2,
        5.5,
        unit_cost=costs.UnitCost(500.0, 0.0, "fixed"),
        first_week="2019-04-01",
        effect_start="2019-06-03",
        n_draws=1000,
        label="Harrow ITS 2019-20 part-year",
    )
    table = labelled(part.table(), site="harrow", data_kind="synthetic", source="weekly.csv")
    return ca.Costings(table=table, costings={"part_year": part})


def test_readings_side_by_side_by_hand(figures):
    res = ca.harrow_readings(
        figures,
        fixed_unit_costs(500.0),
        stand_in_its_route(),
        **HARROW_ARGS,
        reading="published_path",
        full_year_tolerance_gbp=50_000.0,
        n_draws=1000,
        alpha=0.05,
        seed=3,
    )
    t = res.table
    two_steps = 1.1 * 946 + 0.6 * 351  # 6.1 from week 10, 5.5 from week 27 (30 Sep)
    expected_pw = {"step": HARROW_STEP, "published_path": PATH_PW, "two_steps": two_steps}
    for name, pw in expected_pw.items():
        label = f"Harrow 2019-20 part-year, reading {name}"
        assert row(t, f"{label}: avoided person-weeks of care")["estimate"] == pytest.approx(pw)
        assert row(t, f"{label}: cost avoided (GBP)")["estimate"] == pytest.approx(pw * 500)
        implied = row(t, f"{label}: weekly unit cost implied by £696k (GBP/week)")
        assert implied["estimate"] == pytest.approx(696_000 / pw)
        assert implied["ci_low"] <= implied["estimate"] <= implied["ci_high"]
    assert row(t, "Harrow 2019-20 part-year, reading step: avoided long-term starts")[
        "estimate"
    ] == pytest.approx(1.7 * 43)
    full = row(
        t,
        "Harrow, a whole financial year at the new rate: weekly unit cost implied by "
        "up to £1.00m (GBP/week)",
    )
    assert full["estimate"] == pytest.approx(1e6 / WHOLE_FY)
    # the trend reading avoids no one: no implied-cost row
    assert not t["quantity"].str.contains("reading trend: weekly unit cost").any()
    its_row = row(t, "Harrow ITS 2019-20 part-year: weekly unit cost implied by £696k (GBP/week)")
    assert its_row["data_kind"] == "synthetic"
    assert set(t.loc[t.index != its_row.name, "data_kind"]) == {"published"}
    v = res.view.set_index("reading")
    checks = ["7.2 until 3 Jun 2019", "6.1 by 30 Sep 2019", "5.5 by 31 Mar 2020"]
    assert list(v.loc["step", checks]) == ["yes", "no", "yes"]
    assert list(v.loc["published_path (default)", checks]) == ["yes", "yes", "yes"]
    assert list(v.loc["published_path_april", checks]) == ["no", "yes", "yes"]
    assert list(v.loc["two_steps", checks]) == ["yes", "yes", "yes"]
    assert list(v.loc["its", checks]) == ["n/a"] * 3
    # one unit cost for £696k and £1m: 696k x 1378 / 946 = £1.014m is within £50k of £1m
    shared = v["one £/wk with up to £1.00m"]
    assert shared["step"] == "yes" and shared["published_path (default)"] == "no"
    text = res.text
    assert text.startswith("Default reading `published_path` (published path 7.2 -> 6.1 -> 5.5")
    assert "one of the 3 of 5 readings (published_path, two_steps, trend)" in text
    assert "share one weekly unit cost only under: step." in text
    assert f"from £{696_000 / HARROW_STEP:,.0f} (step) to £{696_000 / PATH_PW:,.0f}" in text
    assert "Under trend the counterfactual avoids no starts" in text
    with pytest.raises(StudyInputError, match="reading"):
        ca.harrow_readings(
            figures,
            fixed_unit_costs(500.0),
            stand_in_its_route(),
            **HARROW_ARGS,
            reading="nope",
            full_year_tolerance_gbp=5e4,
            n_draws=1000,
            alpha=0.05,
            seed=3,
        )


def test_birmingham_readings_table_by_hand(figures):
    v = birmingham(figures).tables["readings"].set_index("reading")
    # 130 people over 26 weeks = 5 a week, 36% = 1.8 fewer a week over weeks 1..26
    assert v.loc["baseline 130", "person-weeks"] == pytest.approx(round(1.8 * sum(range(27, 53))))
    assert v.loc["baseline 260 (default)", "avoided starts"] == pytest.approx(3.6 * 26)
    assert v.loc["window 52 weeks", "avoided starts"] == pytest.approx(3.6 * 52)
    assert "MC SE of limits £k" in v.columns
