"""Notebook 07's planned sites are data (`design_sites`): a third council with a stated baseline,
an assumed reduction and assumed shares gets ITS, rate-ratio and share rows under its own site,
with texts naming only the sites given; the defaults name published figures by id; a bad entry
is refused in one line naming the key."""

from __future__ import annotations

import math

import pytest
import yaml
from conftest import design_setup

from study import config, power
from study.analyses import evaluation_design as design
from study.data import published
from study.errors import StudyInputError
from study.run.parameters import DESIGN_SITES, validate_params

WEEKLY = "data/synthetic/harrow_weekly_synthetic.csv"
NORTHFIELD = {
    "its": "rate",
    "baseline_starts": 150,
    "baseline_months": 12,
    "reduction": 0.2,
    "shares": [
        {"measure": "C3 share", "values": [0.2]},
        {"measure": "repeat-request share", "values": [0.3, 0.25]},
    ],
}


@pytest.fixture(scope="module")
def northfield(figures):
    return design_setup(figures, design_sites={"northfield": NORTHFIELD})


def _no_other_site(text: str) -> None:
    assert not any(name in text.lower() for name in ("harrow", "birmingham")), text


def test_third_site_setup(northfield):
    rate = 150 / (12 * 365.25 / 7 / 12)  # 150 starts over 12 months, in weeks
    assert list(northfield.sites) == ["northfield"]
    assert northfield.baseline_per_week["northfield"] == pytest.approx(rate)
    assert northfield.models["northfield"].baseline_per_week == pytest.approx(rate)
    assert northfield.published_reduction["northfield"] == 0.2
    d = northfield.sites["northfield"]
    assert (d.effect, d.data_kind) == ("assumed", "user")
    assert d.source == (
        "parameter design_sites.northfield: assumed baseline 150 people over 12 months; "
        "assumed reduction 20.0%"
    )
    # the fitted shape comes from the weekly file's site; the planned sites name only northfield
    planned = northfield.description.split("Planned sites (design_sites):")[1]
    assert f"northfield: the same shape at {rate:.2f} a week" in planned
    _no_other_site(planned.split("**")[0])


def test_third_site_its_rows(northfield):
    res = design.its_design(
        northfield,
        weeks_after=[26, 52],
        reductions=[0.1],
        target_power=0.8,
        n_sims=200,
        seed=1,
        alpha=0.05,
    )
    t = res.table
    assert set(t["site"]) == {"northfield"} and set(t["data_kind"]) == {"synthetic"}
    assert not t["quantity"].duplicated().any()
    q = set(t["quantity"])
    label = "ITS new_long_term_starts"
    assert f"{label}: power, 20.0% reduction, 52 weeks after go-live" in q
    assert f"{label}: weeks after go-live to detect the assumed reduction" in q
    assert f"{label}: minimum detectable reduction, 26 weeks after go-live" in q
    assert t["source"].str.contains("assumed reduction 20.0%").all()
    assert set(res.figures) == {"its_power_northfield"}
    assert res.text.startswith("**northfield**") and "the assumed 20.0%" in res.text
    _no_other_site(res.text)


def test_third_site_rate_ratio_and_share_rows(northfield):
    rr = design.rate_ratio_design(
        northfield, exposure_weeks=[26, 52], target_power=0.8, n_sims=300, seed=1, alpha=0.05
    )
    t = rr.table
    assert set(t["site"]) == {"northfield"} and set(t["data_kind"]) == {"user"}
    rate = northfield.baseline_per_week["northfield"]
    row = t[t["quantity"] == "northfield long-term starts rate ratio: power, assumed reduction, "
            "52 weeks each side"]  # fmt: skip
    assert row["estimate"].item() == pytest.approx(
        power.rate_ratio_power(rate, 0.8, 52, 52, alpha=0.05)
    )
    assert "the assumed 20.0% reduction needs" in rr.text
    _no_other_site(rr.text)
    assert "published" not in rr.text

    shares = design.share_design(northfield, denominators=[500], target_power=0.8, alpha=0.05)
    s = shares.table
    assert set(s["site"]) == {"northfield"} and set(s["data_kind"]) == {"user"}
    q = dict(zip(s["quantity"], s["estimate"], strict=True))
    assert q["northfield C3 share: minimum detectable rise, 500 per period"] == pytest.approx(
        power.proportions_mde(0.2, 500, 500, alpha=0.05, power=0.8, direction=1)
    )
    assert q["northfield repeat-request share: power, assumed change, 500 per period"] == (
        pytest.approx(power.proportions_power(0.3, 0.25, 500, 500, alpha=0.05))
    )
    assert "northfield repeat-request share: number per period to detect the assumed change" in q
    assert not any("rise" in k and "repeat" in k for k in q)  # a fall: tested in its direction
    assert set(shares.figures) == {"share_power"}
    assert "no assumed change" in shares.text
    _no_other_site(shares.text)


def test_defaults_name_published_figures(figures):
    sites = design.site_designs(DESIGN_SITES, figures, fit_site="harrow")
    assert list(sites) == ["harrow", "birmingham"]
    fv = published.figure_value
    h, b = sites["harrow"], sites["birmingham"]
    assert h.baseline_per_week == fv("harrow_lt_starts_2019_03", figures)
    assert h.reduction == 1 - fv("harrow_lt_starts_2020_03", figures) / fv(
        "harrow_lt_starts_2019_03", figures
    )
    assert b.reduction == fv("bham_long_term_reduction", figures) / 100
    assert b.baseline_per_week == pytest.approx(
        200 / (fv("bham_evaluation_months", figures) * 365.25 / 84)
    )
    assert b.source.endswith("; assumed baseline 200 people")
    assert [s.measure for s in h.shares] == ["repeat-request share", "C3 share"]
    assert h.shares[0].before == fv("harrow_repeat_share_before", figures) / 100
    assert math.isnan(b.shares[0].after) and {h.effect, b.effect} == {"published"}
    # numbers only from figures.csv: the default names no value itself
    flat = repr(DESIGN_SITES)
    assert not any(v in flat for v in ("7.2", "5.5", "36", "0.36", "33", "25"))


def test_its_fit_site_and_order_with_third_site(figures):
    s = design.site_designs(
        {**DESIGN_SITES, "northfield": NORTHFIELD}, figures, fit_site="harrow"
    )  # fmt: skip
    assert list(s) == ["harrow", "birmingham", "northfield"]
    with pytest.raises(StudyInputError, match=r"design_sites\.northfield\.its: 'fit' is"):
        design.site_designs(
            {"northfield": {**NORTHFIELD, "its": "fit"}}, figures, fit_site="harrow"
        )


BAD = [
    ({"northfield": {**NORTHFIELD, "reduciton": 0.2}}, r"design_sites\.northfield: unknown key"),
    ({"Northfield": NORTHFIELD}, r"design_sites: site 'Northfield' .* 'northfield'"),
    ({"northfield": {**NORTHFIELD, "its": "weekly"}}, r"design_sites\.northfield\.its"),
    ({"northfield": {**NORTHFIELD, "reduction": 20}}, r"design_sites\.northfield\.reduction"),
    (
        {"northfield": {k: v for k, v in NORTHFIELD.items() if k != "baseline_months"}},
        r"design_sites\.northfield: give exactly one of baseline_months / baseline_months_fig",
    ),
    (
        {"northfield": {**NORTHFIELD, "baseline_figure": "harrow_lt_starts_2019_03"}},
        r"design_sites\.northfield: give exactly one of baseline_figure / baseline_starts",
    ),
    (
        {"northfield": {**NORTHFIELD, "reduction_figures": ["bham_long_term_reduction"]}},
        r"design_sites\.northfield: give exactly one of reduction_figures / reduction",
    ),
    (
        {"northfield": {k: v for k, v in NORTHFIELD.items() if k != "reduction"}
         | {"reduction_figures": ["no_such_figure"]}},
        r"design_sites\.northfield\.reduction_figures: unknown figure id 'no_such_figure'",
    ),
    (
        {"northfield": {k: v for k, v in NORTHFIELD.items() if k != "reduction"}
         | {"reduction_figures": ["bham_evaluation_months"]}},
        r"reduction_figures: figure 'bham_evaluation_months' is in months, expected percent",
    ),
    (
        {"northfield": {**NORTHFIELD, "shares": [{"measure": "C3 share", "values": [20]}]}},
        r"design_sites\.northfield\.shares\[0\]\.values: must be between 0 and 1",
    ),
    (
        {"northfield": {**NORTHFIELD, "shares": [{"measure": "C3 share"}]}},
        r"design_sites\.northfield\.shares\[0\]: give exactly one of figures / values",
    ),
    ({}, r"design_sites must map at least one site"),
]  # fmt: skip


@pytest.mark.parametrize(("sites", "message"), BAD)
def test_bad_design_sites_refused_in_one_line(figures, sites, message):
    sites = {
        k: {f: v for f, v in e.items() if v is not None} if isinstance(e, dict) else e
        for k, e in sites.items()
    }
    with pytest.raises(StudyInputError, match=message) as err:
        design.site_designs(sites, figures, fit_site="harrow")
    assert "\n" not in str(err.value)


def test_parameters_file_checks_design_sites():
    validate_params({"parameters": {"design_sites": {"northfield": NORTHFIELD}}}, "x.yaml")
    bad = {"northfield": {**NORTHFIELD, "baseline_months": None}}
    where = r"parameters\.design_sites: design_sites\.northfield\.baseline_months: must be"
    with pytest.raises(StudyInputError, match=where):
        validate_params({"parameters": {"design_sites": bad}}, "x.yaml")


def test_the_example_design_set_plans_northfield_only(figures):
    raw = yaml.safe_load((config.PROJ_ROOT / "params" / "northfield-design.yaml").read_text())
    validate_params(raw, "northfield-design.yaml")
    assert raw["only"] == ["07"]
    sites = design.site_designs(raw["parameters"]["design_sites"], figures, fit_site="harrow")
    assert list(sites) == ["northfield"]
    d = sites["northfield"]
    assert (d.its, d.effect, d.data_kind, d.reduction) == ("rate", "assumed", "user", 0.2)
    assert d.baseline_per_week == pytest.approx(180 / (12 * 365.25 / 84))


def test_mixed_and_shareless_sites(figures):
    mixed = {"baseline_figure": "harrow_lt_starts_2019_03", "reduction": 0.15}
    d = design.site_designs({"southfield": mixed}, figures, fit_site="harrow")["southfield"]
    assert (d.effect, d.data_kind, d.shares) == ("assumed", "published", ())
    assert d.source == (
        published.figures_source(["harrow_lt_starts_2019_03"], figures)
        + "; assumed reduction 15.0%"
    )
    setup = design_setup(figures, design_sites={"southfield": mixed})
    res = design.share_design(setup, denominators=[500], target_power=0.8, alpha=0.05)
    assert res.table.empty and not res.figures and "No planned site states a share" in res.text
