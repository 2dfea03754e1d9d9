"""Notebook 07's analyses (study.analyses.evaluation_design) on the committed inputs: labelled
rows for both sites, unique keyed quantity names without parameter values, computed texts,
the panel skipped without the Oflog file."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import design_setup

from study.analyses import evaluation_design as design
from study.errors import StudyInputError

WEEKLY = "data/synthetic/harrow_weekly_synthetic.csv"


@pytest.fixture(scope="module")
def setup(figures):
    return design_setup(figures)


def _check_rows(table, sites):
    assert set(table["site"]) == set(sites)
    assert not table.duplicated(["site", "quantity"]).any()
    assert not table["key"].duplicated().any()
    # parameter values that do not define the estimate never appear in a quantity name
    assert not table["quantity"].str.contains("80%|0.05|95%|simulat").any()


def test_prepare_builds_both_sites(setup, figures):
    assert set(setup.models) == {"harrow", "birmingham"}
    assert setup.published_reduction["harrow"] == pytest.approx(1 - 5.5 / 7.2)
    assert setup.published_reduction["birmingham"] == pytest.approx(0.36)
    assert setup.models["birmingham"].baseline_per_week == pytest.approx(200 / (6 * 365.25 / 84))
    assert setup.models["harrow"].dispersion == pytest.approx(setup.fit.dispersion)
    assert "birmingham: the same shape at 7.67 a week" in setup.description
    assert setup.weekly_kind == "synthetic" and "they are not findings" in setup.description
    assert "not findings" not in replace(setup, weekly_kind="user").description
    with pytest.raises(StudyInputError, match="power_nuisance"):
        design_setup(figures, nuisance="guess")


def test_its_design_rows_and_text(setup):
    res = design.its_design(
        setup,
        weeks_after=[26, 52],
        reductions=[0.2],
        target_power=0.8,
        n_sims=200,
        seed=1,
        alpha=0.05,
    )
    _check_rows(res.table, ["harrow", "birmingham"])
    assert set(res.table["data_kind"]) == {"synthetic"}
    mde = res.table[res.table["quantity"].str.contains("minimum detectable")]
    assert len(mde) == 4 and (mde["ci_low"] < mde["estimate"]).all()
    assert set(res.figures) == {"its_power_harrow", "its_power_birmingham"}
    assert "**harrow**" in res.text and "**birmingham**" in res.text and "nan" not in res.text


def test_rate_ratio_and_share_designs(setup, figures):
    rr = design.rate_ratio_design(
        setup, exposure_weeks=[13, 26], target_power=0.8, n_sims=500, seed=1, alpha=0.05
    )
    _check_rows(rr.table, ["harrow", "birmingham"])
    needed = rr.table[rr.table["quantity"].str.contains("weeks each side to detect")]
    assert (needed["estimate"] > 0).all()
    shares = design.share_design(setup, denominators=[500, 1000], target_power=0.8, alpha=0.05)
    _check_rows(shares.table, ["harrow", "birmingham"])
    assert set(shares.table["data_kind"]) == {"published"}
    assert "no published change" in shares.text


def test_panel_skipped_without_oflog():
    res = design.panel_design(
        None, {"E09000015": "2019-20"}, ["ASC6"], first_year="2016-17", oflog_file=None
    )
    assert res.table.empty and res.text.startswith(design.PANEL_SKIPPED)
