"""Known answers for cost avoidance (unit costs, avoided starts, Monte Carlo intervals)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from study import costs, its
from study.avoided_starts import AvoidedStarts
from study.bootstrap import percentile_interval
from study.data import national
from study.errors import StudyInputError
from study.tidy import ESTIMATE_COLUMNS

FY_2019 = costs.weekly_dates("2019-04-01", 52)  # Monday 1 April 2019 .. Monday 23 March 2020


# ----------------------------------------------------------------------------- financial year


def test_financial_year_weeks_by_hand():
    dates = ["2019-04-01", "2019-04-07", "2019-04-08", "2019-06-03", "2020-03-23", "2020-03-31"]
    np.testing.assert_array_equal(costs.financial_year_week(dates), [1, 1, 2, 10, 52, 52])
    np.testing.assert_array_equal(costs.weeks_counted(dates), [52, 52, 51, 43, 1, 1])
    np.testing.assert_array_equal(costs.weeks_counted(dates, "full_year"), [52] * 6)
    # dates before April fall in the previous financial year
    assert costs.financial_year_start(["2020-02-10"])[0] == np.datetime64("2019-04-01")
    assert costs.financial_year_start(["2020-04-01"])[0] == np.datetime64("2020-04-01")


def test_one_avoided_start_costs_weeks_to_31_march():
    """1 avoided start in financial-year week 10 (3 June 2019) costs £500 x 43 weeks."""
    path = np.zeros(52)
    path[9] = 1.0
    av = AvoidedStarts(FY_2019, path, np.repeat(path[None, :], 1000, axis=0))
    fixed = costs.UnitCost(500.0, 0.0, "fixed")
    part = costs.cost_avoidance(av, fixed, rule="part_year")
    assert part.point_gbp == pytest.approx(500 * 43)
    full = costs.cost_avoidance(av, fixed, rule="full_year")
    assert full.point_gbp == pytest.approx(500 * 52)


def test_zero_uncertainty_collapses_to_the_point_value():
    av = costs.avoided_starts_from_rates(7.2, 5.5, FY_2019, effect_start="2019-06-03")
    res = costs.cost_avoidance(av, costs.UnitCost(433.0, 0.0), seed=3)
    low, high = res.interval
    assert low == pytest.approx(res.point_gbp) and high == pytest.approx(res.point_gbp)
    table = res.table()
    assert list(table.columns[:7]) == ESTIMATE_COLUMNS
    assert (table["ci_low"] == table["estimate"]).all()
    dec = res.decomposition().set_index("uncertainty")
    assert dec["width_gbp"].abs().max() == pytest.approx(0.0, abs=1e-6)


def test_harrow_published_696k_and_1m_imply_the_same_weekly_cost():
    """A step of 1.7 fewer starts a week from 3 June 2019 (week 10), counted to 31 March:
    person-weeks = 1.7 x (43 + 42 + ... + 1) = 1.7 x 946; a full financial year of the step:
    1.7 x (52 + ... + 1) = 1.7 x 1378."""
    step = costs.avoided_starts_from_rates(7.2, 5.5, FY_2019, effect_start="2019-06-03")
    assert costs.person_weeks(step, "part_year")[0] == pytest.approx(1.7 * 946)
    assert float(step.estimate.sum()) == pytest.approx(1.7 * 43)
    implied = costs.cost_avoidance(step, costs.UnitCost(433.0, 0.0)).implied_weekly_cost(696_000)
    assert implied == pytest.approx(696_000 / (1.7 * 946))
    whole_year = costs.avoided_starts_from_rates(7.2, 5.5, FY_2019)
    assert costs.person_weeks(whole_year, "part_year")[0] == pytest.approx(1.7 * 1378)
    assert costs.point_cost_avoidance(whole_year, implied, "part_year") == pytest.approx(
        1_014_000, rel=0.01
    )


def test_linear_ramp_by_hand():
    ramp = costs.effect_ramp(
        ["2019-06-03", "2019-06-10", "2019-06-17", "2020-01-01"], "2019-06-03", "2019-06-17"
    )
    np.testing.assert_allclose(ramp, [0.0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(costs.effect_ramp(["2019-01-01"], None, None), [1.0])
    # published path 7.2 (June) -> 6.1 (30 Sep) -> 5.5 (30 Mar) as shares of the 1.7 drop
    path = {"2019-06-03": 0.0, "2019-09-30": 1.1 / 1.7, "2020-03-30": 1.0}
    ramp = costs.effect_ramp(
        ["2019-04-01", "2019-08-01", "2019-09-30", "2020-03-30"], None, None, path
    )
    np.testing.assert_allclose(ramp, [0.0, 59 / 119 * 1.1 / 1.7, 1.1 / 1.7, 1.0])
    with pytest.raises(StudyInputError, match="anchors"):
        costs.effect_ramp(["2019-04-01"], None, None, {"2019-09-30": 0.5, "2019-06-03": 0.0})


def test_monte_carlo_is_seeded_and_reproducible_byte_for_byte():
    av = costs.avoided_starts_from_rates(
        7.2,
        5.5,
        FY_2019,
        exposure_weeks_before=52,
        exposure_weeks_after=13,
        effect_start="2019-06-03",
        seed=1,
    )
    cost = costs.UnitCost(450.0, 90.0, "gamma")
    a = costs.cost_avoidance(av, cost, seed=7)
    b = costs.cost_avoidance(av, cost, seed=7)
    assert a.draws_gbp.tobytes() == b.draws_gbp.tobytes()
    pd.testing.assert_frame_equal(a.table(), b.table())
    c = costs.cost_avoidance(av, cost, seed=8)
    assert c.draws_gbp.tobytes() != a.draws_gbp.tobytes()


def test_decomposition_of_the_interval():
    av = costs.avoided_starts_from_rates(
        7.2, 5.5, FY_2019, exposure_weeks_before=52, exposure_weeks_after=52, seed=2
    )
    only_model = costs.cost_avoidance(av, costs.UnitCost(450.0, 0.0), seed=1)
    dec = only_model.decomposition().set_index("uncertainty")
    assert dec.loc["unit cost only", "width_gbp"] == pytest.approx(0.0)
    assert dec.loc["model only", "share_of_variance"] == pytest.approx(1.0)
    both = costs.cost_avoidance(av, costs.UnitCost(450.0, 90.0), seed=1)
    dec = both.decomposition().set_index("uncertainty")
    assert dec.loc["both", "width_gbp"] > dec.loc["model only", "width_gbp"]
    assert dec.loc["both", "width_gbp"] > dec.loc["unit cost only", "width_gbp"]
    assert 0 < dec.loc["unit cost only", "share_of_variance"] < 1


def test_rate_draws_have_poisson_sampling_spread():
    """Gamma(rate x T, 1/T): mean = rate, SD = sqrt(rate / T)."""
    av = costs.avoided_starts_from_rates(
        7.2, 0.0, ["2019-04-01"], exposure_weeks_before=26, n_draws=200_000, seed=0
    )
    d = av.draws[:, 0]
    assert d.mean() == pytest.approx(7.2, rel=0.01)
    assert d.std() == pytest.approx(math.sqrt(7.2 / 26), rel=0.02)


@pytest.mark.parametrize("dist", ["normal", "gamma", "lognormal", "uniform"])
def test_unit_cost_distributions_match_mean_and_sd(dist):
    draws = costs.UnitCost(450.0, 90.0, dist).draw(400_000, np.random.default_rng(0))
    assert draws.mean() == pytest.approx(450.0, rel=0.005)
    assert draws.std() == pytest.approx(90.0, rel=0.02)


def test_unit_cost_from_range_and_care_mix():
    u = costs.UnitCost.from_range(300.0, 600.0)
    assert (u.mean_gbp, u.sd_gbp, u.distribution) == (
        450.0,
        pytest.approx(300 / math.sqrt(12)),
        "uniform",
    )
    mix = costs.CareMixCost(costs.UnitCost(1000.0, 100.0), costs.UnitCost(350.0, 35.0), 0.2, 0.02)
    assert mix.mean_gbp == pytest.approx(0.2 * 1000 + 0.8 * 350)
    draws = mix.draw(200_000, np.random.default_rng(1))
    assert draws.mean() == pytest.approx(mix.mean_gbp, rel=0.005)
    low, high = costs.unit_cost_interval(mix)
    assert low < mix.mean_gbp < high


def test_birmingham_sensitivity_grid_by_hand():
    weeks = costs.weekly_dates("2018-04-02", 26)
    grid = costs.cost_sensitivity_grid(
        [5.0, 10.0], [400.0, 800.0], relative_reduction=0.36, week_dates=weeks
    )
    assert len(grid) == 2 * 2 * 2
    row = grid.query("baseline_per_week == 5 and weekly_cost_gbp == 400 and rule == 'full_year'")
    # 5 x 0.36 = 1.8 avoided a week, 26 weeks, 52 weeks each at £400
    assert row["cost_avoided_gbp"].item() == pytest.approx(1.8 * 26 * 52 * 400)
    row = grid.query("baseline_per_week == 5 and weekly_cost_gbp == 400 and rule == 'part_year'")
    assert row["person_weeks"].item() == pytest.approx(1.8 * sum(range(27, 53)))


def test_unit_cost_interval_is_the_percentile_interval_of_seeded_draws():
    cost = costs.UnitCost(450.0, 90.0, "normal")
    low, high = costs.unit_cost_interval(cost, alpha=0.1, seed=4)
    draws = cost.draw(100_000, np.random.default_rng(4))
    assert (low, high) == percentile_interval(draws, 0.1)
    assert low == pytest.approx(450 - 1.645 * 90, rel=0.01)


def test_rates_cost_avoidance_is_the_rates_route_then_the_monte_carlo():
    """Rate draws with `seed`, the Monte Carlo with `seed + 1`; point 1.7 x 946 x £450."""
    args = dict(exposure_weeks_before=52, exposure_weeks_after=13, effect_start="2019-06-03")
    cost = costs.UnitCost(450.0, 90.0)
    res = costs.rates_cost_avoidance(
        7.2, 5.5, unit_cost=cost, first_week="2019-04-01", n_draws=2000, seed=5, **args
    )
    assert res.point_gbp == pytest.approx(1.7 * 946 * 450)
    av = costs.avoided_starts_from_rates(7.2, 5.5, FY_2019, n_draws=2000, seed=5, **args)
    by_hand = costs.cost_avoidance(av, cost, n_draws=2000, seed=6)
    assert res.draws_gbp.tobytes() == by_hand.draws_gbp.tobytes()
    assert res.interval == percentile_interval(by_hand.draws_gbp, 0.05)


def test_implied_weekly_cost_needs_positive_person_weeks():
    none = costs.avoided_starts_from_rates(5.5, 5.5, FY_2019)
    res = costs.cost_avoidance(none, costs.UnitCost(450.0))
    with pytest.raises(StudyInputError, match="person-weeks"):
        res.implied_weekly_cost(696_000)
    with pytest.raises(StudyInputError, match="published_gbp"):
        res.implied_weekly_cost(-1.0)


# ----------------------------------------------------------------------------- ASC-FR unit costs


@pytest.fixture(scope="module")
def harrow_figures():
    """Harrow's unit-cost inputs from the cited table data/published/national_figures.csv."""
    return national.cost_figures("E09000015")


def test_ascfr_harrow_unit_costs_by_sheet_and_row(harrow_figures):
    f = harrow_figures.set_index("measure")
    assert f.loc["home_care_external_2020_21", "value"] == pytest.approx(15.20)
    assert f.loc["home_care_external_2020_21", "excel_row"] == 130
    assert f.loc["res_nursing_total_2020_21", "value"] == pytest.approx(1001.009, abs=0.001)
    assert f.loc["res_nursing_65_over_2020_21", "value"] == pytest.approx(798.201, abs=0.001)
    assert (f.loc["res_nursing_total_2020_21", ["sheet", "excel_row"]] == ["T52", 131]).all()
    assert f.loc["res_nursing_total_2020_21", "cell"] == "T52!T131"
    u = costs.ascfr_unit_costs(harrow_figures).set_index("measure")
    # T10 + T11: (10 + 15 + 65 + 50) residential/nursing of 850 long-term outcomes
    assert u.loc["residential_share_new_lt", "value"] == pytest.approx(140 / 850)
    # (22,729.328 + 19,050.753) £k community spend / 2,260 clients at 31 March / 52
    assert u.loc["community_weekly_end", "value"] == pytest.approx(41_780_080.33 / 2260 / 52)
    assert "T52!T131" in u.loc["res_nursing_total_2020_21", "source"]
    assert "T38 row 129, T43 row 128, T44 row 128" in u.loc["community_weekly_end", "source"]
    mix = costs.care_mix_from_ascfr(costs.ascfr_unit_costs(harrow_figures))
    assert mix.residential.mean_gbp == pytest.approx(1001.009, abs=0.001)


def test_ascfr_reads_region_rows():
    f = national.cost_figures("E12000007").set_index("measure")
    assert f.loc["res_nursing_total_2020_21", "value"] == pytest.approx(1001.944, abs=0.001)
    assert f.loc["res_nursing_total_2020_21", "geography"] == "London"


def test_birmingham_suppressed_clients_count_as_zero():
    """Birmingham's 'Community CASSR Commissioned Support Only' clients are [c] in T38."""
    f = national.cost_figures("E08000025")
    clients = f[f["measure"].str.startswith("clients_end_")]
    assert clients["value"].isna().sum() == 2
    u = costs.ascfr_unit_costs(f).set_index("measure")
    spend = f.loc[f["measure"].str.startswith("spend_"), "value"].sum() * 1000
    expected = spend / clients["value"].sum() / 52
    assert u.loc["community_weekly_end", "value"] == pytest.approx(expected)


@pytest.mark.skipif(
    not (national.external_dir() / national.ASCFR_FILE).exists(),
    reason="official ASC-FR/SALT workbook not in the external folder (../shared/external)",
)
def test_ascfr_workbook_route_equals_the_cited_table(harrow_figures):
    from_workbook = national.cost_figures(
        "E09000015", workbook=national.external_dir() / national.ASCFR_FILE
    )
    pd.testing.assert_frame_equal(from_workbook, harrow_figures, check_dtype=False)


def test_ascfr_unknown_geography_names_it():
    with pytest.raises(StudyInputError, match="E99999999"):
        national.cost_figures("E99999999")


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: costs.UnitCost(450.0, -1.0), "sd_gbp"),
        (lambda: costs.UnitCost(-450.0, 1.0), "mean_gbp"),
        (lambda: costs.UnitCost(450.0, 10.0, "beta"), "distribution"),
        (lambda: costs.UnitCost(100.0, 90.0, "uniform"), "uniform"),
        (lambda: costs.UnitCost.from_range(600.0, 300.0), "high_gbp"),
        (lambda: costs.CareMixCost(costs.UnitCost(1.0), costs.UnitCost(1.0), 1.2), "residential"),
        (
            lambda: costs.CareMixCost(costs.UnitCost(1.0), costs.UnitCost(1.0), 0.5, 0.6),
            "residential_share_sd",
        ),
        (lambda: costs.weeks_counted(FY_2019, "half_year"), "rule"),
        (lambda: costs.avoided_starts_from_rates(-1.0, 5.5, FY_2019), "rate_before_per_week"),
        (
            lambda: costs.avoided_starts_from_rates(7.2, 5.5, FY_2019, exposure_weeks_after=0),
            "exposure_weeks_after",
        ),
        (lambda: costs.avoided_starts_from_rates(7.2, 5.5, FY_2019, n_draws=999), "n_draws"),
        (
            lambda: costs.avoided_starts_from_rates(
                7.2, 5.5, FY_2019, effect_start="2020-01-01", full_effect="2019-01-01"
            ),
            "full_effect",
        ),
        (lambda: costs.avoided_starts_from_reduction(5.0, 1.36, FY_2019), "relative_reduction"),
        (
            lambda: costs.cost_sensitivity_grid(
                [], [1.0], relative_reduction=0.36, week_dates=FY_2019
            ),
            "baselines_per_week",
        ),
    ],
)
def test_bad_input_raises_one_line_naming_the_parameter(make, match):
    with pytest.raises(StudyInputError, match=match) as err:
        make()
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.0}, "alpha"),
        ({"n_draws": 10}, "n_draws"),
        ({"rule": "both"}, "rule"),
        ({"unit_cost": 450.0}, "unit_cost"),
    ],
)
def test_cost_avoidance_bad_arguments(kwargs, match):
    av = costs.avoided_starts_from_rates(7.2, 5.5, FY_2019)
    args = {"unit_cost": costs.UnitCost(450.0), **kwargs}
    with pytest.raises(StudyInputError, match=match):
        costs.cost_avoidance(av, **args)


# ----------------------------------------------------------------------------- ITS input


def test_one_avoided_starts_class_for_every_route_and_its_person_weeks():
    """The ITS, rates and reduction routes share study.avoided_starts.AvoidedStarts."""
    weeks = pd.date_range("2019-06-03", periods=3, freq="7D")
    av = AvoidedStarts(weeks, np.array([1.0, 2.0, 3.0]), np.ones((5, 3)), "m")
    np.testing.assert_array_equal(av.estimate, [1.0, 2.0, 3.0])
    assert av.draws.shape == (5, 3) and av.n_weeks == 3
    # weeks 10, 11, 12 of FY 2019-20 count 43 + 42 + 41 weeks
    point, per_draw = costs.person_weeks(av, "part_year")
    assert point == pytest.approx(1 * 43 + 2 * 42 + 3 * 41)
    np.testing.assert_allclose(per_draw, [43 + 42 + 41] * 5)
    rates = costs.avoided_starts_from_rates(7.2, 5.5, weeks, n_draws=1000)
    assert isinstance(rates, AvoidedStarts)
    with pytest.raises(StudyInputError, match="draws"):
        AvoidedStarts(weeks, np.array([1.0, 2.0, 3.0]), np.ones((5, 4)))


def test_its_cost_avoidance_recovers_a_simulated_step(step_series):
    data = step_series
    av = costs.its_avoided_starts(
        data,
        {"site": "2019-06-03"},
        window_start="2019-04-01",
        window_end="2020-03-30",
        family="poisson",
        harmonics=0,
    )
    assert av.draws.shape == (2000, 52)
    res = costs.cost_avoidance(av, costs.UnitCost(450.0, 0.0), seed=1)
    truth = 1.7 * 946 * 450  # 1.7 fewer a week from week 10, counted to 31 March, £450/week
    low, high = res.interval
    assert low < truth < high


# ----------------------------------------------------------------------------- properties


@given(
    st.dates(
        min_value=pd.Timestamp("2000-01-01").date(), max_value=pd.Timestamp("2040-12-31").date()
    )
)
def test_part_year_weeks_are_between_1_and_52(day):
    w = costs.weeks_counted([day.isoformat()])[0]
    assert 1 <= w <= 52
    start = costs.financial_year_start([day.isoformat()])[0]
    assert str(start).endswith("-04-01") and start <= np.datetime64(day.isoformat())


@settings(max_examples=25, deadline=None)
@given(
    st.floats(min_value=1.0, max_value=5000.0),
    st.floats(min_value=0.1, max_value=10.0),
    st.sampled_from(costs.RULES),
)
def test_cost_is_linear_in_the_unit_cost_and_the_effect(weekly_cost, scale, rule):
    av = costs.avoided_starts_from_rates(7.2, 5.5, FY_2019, effect_start="2019-06-03")
    base = costs.point_cost_avoidance(av, weekly_cost, rule)
    assert costs.point_cost_avoidance(av, weekly_cost * scale, rule) == pytest.approx(base * scale)
    big = AvoidedStarts(FY_2019, av.estimate * scale, av.draws * scale)
    assert costs.point_cost_avoidance(big, weekly_cost, rule) == pytest.approx(base * scale)


# ----------------------------------------------------------------------------- readings


def _harrow_readings():
    from study.avoided_starts import harrow_readings_of

    rate = {"pre": 8.3, "before": 7.2, "midyear": 6.1, "after": 5.5}
    dates = {"pre": "2018-09-30", "before": "2019-03-31", "midyear": "2019-09-30"}
    dates["after"] = "2020-03-31"
    return harrow_readings_of(
        rate, dates, fy_start="2019-04-01", effect_start="2019-06-03", full_effect=None
    )


def test_each_reading_of_the_published_path_by_hand():
    """FY 2019-20 Mondays are days d = 0, 7, ..., 357 after 1 April 2019 (3 June = day 63,
    week 10; 30 Sep 2019 = day 182, week 27; 31 Mar 2020 = day 365); part-year weeks 52..1.

    The issue's table (anchors 30 Mar 2020 where ours are the figures' 31 Mar): 73.1 / 1,608;
    44.9 / 735; 49.9 / 935; 62.9 / 1,251."""
    readings = _harrow_readings()
    known = {"pre": (8.3, None), "before": (7.2, None), "midyear": (6.1, None)}
    known["after"] = (5.5, None)
    d = 7.0 * np.arange(52)
    weeks = 52.0 - np.arange(52)
    late = 1.1 + 0.6 * (d - 182) / 183  # 6.1 on 30 Sep -> 5.5 on 31 Mar, as a drop from 7.2
    by_hand = {
        "step": np.where(d >= 63, 1.7, 0.0),
        "published_path": np.where(d <= 182, 1.1 * np.clip((d - 63) / 119, 0, None), late),
        "published_path_april": np.where(d <= 182, 1.1 * d / 182, late),
        "two_steps": np.where(d >= 182, 1.7, np.where(d >= 63, 1.1, 0.0)),
    }
    # trend: 8.3 on 30 Sep 2018 -> 7.2 on 31 Mar 2019 (182 days) continued log-linearly
    cf = 7.2 * (7.2 / 8.3) ** ((d + 1) / 182)
    by_hand["trend"] = cf - (7.2 - by_hand["published_path"])
    for name, path in by_hand.items():
        av = costs.avoided_starts_from_path(readings[name], known, FY_2019, n_draws=1000)
        np.testing.assert_allclose(av.estimate, path, atol=1e-12, err_msg=name)
        assert costs.person_weeks(av)[0] == pytest.approx(path @ weeks), name
    table = {
        "step": (73.1, 1608.2),
        "published_path": (44.9, 735),
        "published_path_april": (49.9, 935),
        "two_steps": (62.9, 1251.2),
    }
    for name, (starts, pw) in table.items():
        assert by_hand[name].sum() == pytest.approx(starts, abs=0.1), name
        assert by_hand[name] @ weeks == pytest.approx(pw, abs=1.0), name
    assert by_hand["trend"].sum() < 0  # the pre-3Cs fall continued outruns the published path


def test_rate_path_draws_share_each_rate_between_the_paths():
    readings = _harrow_readings()
    rates = {"pre": (8.3, 13.0), "before": (7.2, 52.0), "midyear": (6.1, 13.0)}
    rates["after"] = (5.5, 13.0)
    av = costs.avoided_starts_from_path(readings["step"], rates, FY_2019, n_draws=4000, seed=2)
    rng = np.random.default_rng(2)  # rates drawn in the order of `rates`, Gamma(r T, 1 / T)
    draws = {k: rng.gamma(r * t, 1 / t, 4000) for k, (r, t) in rates.items()}
    np.testing.assert_allclose(av.draws[:, 9], draws["before"] - draws["after"])
    np.testing.assert_allclose(av.draws[:, :9], 0.0)
    with pytest.raises(StudyInputError, match="rates lacks"):
        costs.avoided_starts_from_path(readings["trend"], {"before": (7.2, None)}, FY_2019)


def test_monte_carlo_uses_each_model_draw_once():
    av = costs.avoided_starts_from_rates(
        7.2, 5.5, FY_2019, exposure_weeks_before=52, exposure_weeks_after=13, seed=1
    )
    cost = costs.UnitCost(450.0, 90.0)
    res = costs.cost_avoidance(av, cost, seed=3)
    pw = av.draws @ costs.weeks_counted(FY_2019)
    np.testing.assert_allclose(res.person_weeks_draws, pw)  # same draws, same order
    np.testing.assert_allclose(res.draws_gbp, pw * cost.draw(10_000, np.random.default_rng(3)))
    with pytest.raises(StudyInputError, match="each is used once"):
        costs.cost_avoidance(av, cost, n_draws=20_000)


def test_order_statistic_mc_se_matches_the_asymptotic_formula():
    """SE of the p quantile of n normal draws = sqrt(p (1 - p) / n) / phi(z_p)."""
    from scipy import stats

    n, p = 40_000, 0.025
    x = np.random.default_rng(5).normal(0.0, 1.0, n)
    se = its.quantile_mc_se(x, p)  # the one order-statistic SE the ITS and costs both report
    expected = math.sqrt(p * (1 - p) / n) / stats.norm.pdf(stats.norm.ppf(p))
    assert se == pytest.approx(expected, rel=0.2)
    low, high, se_low, se_high = costs.mc_percentile_interval(x, 0.05)
    assert (low, high) == percentile_interval(x, 0.05)
    assert se_low == pytest.approx(se) and se_high == pytest.approx(expected, rel=0.2)


def test_order_statistic_mc_se_is_the_spread_over_seeds():
    """The reported SE of a 97.5% limit agrees with the SD of that limit over 60 seeds."""
    limits, ses = [], []
    for seed in range(60):
        x = np.random.default_rng(seed).gamma(2.0, 1.0, 5000)
        _, high, _, se_high = costs.mc_percentile_interval(x, 0.05)
        limits.append(high)
        ses.append(se_high)
    assert np.mean(ses) == pytest.approx(np.std(limits, ddof=1), rel=0.3)


def test_implied_cost_interval_inverts_the_person_weeks_limits():
    av = costs.avoided_starts_from_rates(
        7.2,
        5.5,
        FY_2019,
        exposure_weeks_before=52,
        exposure_weeks_after=13,
        effect_start="2019-06-03",
    )
    res = costs.cost_avoidance(av, costs.UnitCost(450.0, 90.0))
    c = res.implied_cost_interval(696_000)
    pw_low, pw_high = percentile_interval(res.person_weeks_draws, 0.05)
    assert c["estimate"] == pytest.approx(696_000 / (1.7 * 946))
    assert c["ci_low"] == pytest.approx(696_000 / pw_high)
    assert c["ci_high"] == pytest.approx(696_000 / pw_low)
    table = costs.implied_cost_table(res, 696_000, "£696k")
    assert table["estimate"].item() == pytest.approx(c["estimate"])
    assert "Monte Carlo SE of the limits" in table["note"].item()
    # some draws avoid no one: the upper limit is unbounded
    wide = costs.cost_avoidance(
        costs.avoided_starts_from_rates(7.2, 6.9, FY_2019, exposure_weeks_before=4),
        costs.UnitCost(450.0),
    )
    assert wide.implied_cost_interval(696_000)["ci_high"] == math.inf
