"""National comparisons (study.analyses.national_comparison): long-term sequel shares, requests
over years, councils vs median, and the notebook sections built on them (tables and texts from
the numbers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from statsmodels.stats.proportion import proportion_confint

from study import rates
from study.analyses import national_comparison as nc
from study.data import national
from study.errors import StudyInputError
from study.panel import PanelDesign, event_study_did
from study.run.recorder import Recorder
from study.synthetic_control import (
    choose_penalty,
    synthetic_control_conformal,
    synthetic_control_placebo,
)
from study.tidy import ESTIMATE_COLUMNS

GEOS = {"Harrow": "E09000015", "London": "E12000007"}


def sequel_rows(code: str, table: str, nursing, residential, community, total) -> list[dict]:
    values = {
        "Long Term Care: Nursing": nursing,
        "Long Term Care: Residential": residential,
        "Long Term Care: Community": community,
        "Ongoing Low Level Support": 40,
        "Total": total,
    }
    rows = []
    for k, (measure, v) in enumerate(values.items()):
        rows.append(
            {
                "table": table,
                "year": "2021-22",
                "geography_code": code,
                "measure": measure,
                "age_band": "",
                "value": np.nan if v == "[c]" else float(v),
                "flag": "c" if v == "[c]" else "",
                "cell": f"{table}!{'FGHIJ'[k]}1",
            }
        )
    return rows


@pytest.fixture()
def figures() -> pd.DataFrame:
    rows = []
    rows += sequel_rows("E09000015", "T10", 10, 15, 225, 3845)
    rows += sequel_rows("E09000015", "T11", "[c]", 50, 300, 5375)
    rows += sequel_rows("E12000007", "T10", 115, 175, 5350, 82805)
    rows += sequel_rows("E12000007", "T11", 900, 1500, 9000, 126280)
    for code, values in {
        "E09000015": (2725, 3515, 3845),
        "E12000007": (66505, 83010, 82805),
    }.items():
        for year, v in zip(("2019-20", "2020-21", "2021-22"), values, strict=True):
            rows.append(
                {
                    "table": "T2",
                    "year": year,
                    "geography_code": code,
                    "measure": nc.REQUESTS_MEASURE,
                    "age_band": "18 to 64",
                    "value": float(v),
                    "flag": "",
                    "cell": "T2!F1",
                }
            )
    return pd.DataFrame(rows)


def test_sequel_counts_sum_the_long_term_columns_and_both_age_bands(figures):
    counts = nc.sequel_counts(figures, GEOS)
    h = counts[counts["label"] == "Harrow"].set_index("age_band")
    assert h.loc["18 to 64", "long_term"] == 250 and h.loc["18 to 64", "requests"] == 3845
    assert h.loc["65 and over", "long_term"] == 350 and h.loc["65 and over", "suppressed"] == 1
    assert h.loc[nc.ALL_AGES, "long_term"] == 600 and h.loc[nc.ALL_AGES, "requests"] == 9220
    assert h.loc[nc.ALL_AGES, "suppressed"] == 1


def test_without_subtracts_the_part_from_the_whole(figures):
    counts = nc.sequel_counts(figures, GEOS)
    rest = nc.without(counts, "London", "Harrow", "rest of London").set_index("age_band")
    assert rest.loc["18 to 64", "long_term"] == 115 + 175 + 5350 - 250
    assert rest.loc["18 to 64", "requests"] == 82805 - 3845
    assert rest.loc[nc.ALL_AGES, "requests"] == 82805 + 126280 - 9220
    with pytest.raises(StudyInputError, match="need rows"):
        nc.without(counts, "London", "Birmingham", "x")


def test_long_term_shares_are_wilson_intervals(figures):
    counts = nc.sequel_counts(figures, GEOS)
    shares = nc.long_term_shares(counts, alpha=0.1)
    row = shares[shares["quantity"] == "long-term sequel share, Harrow, 18 to 64, 2021-22"].iloc[0]
    lo, hi = proportion_confint(250, 3845, alpha=0.1, method="wilson")
    assert row["estimate"] == pytest.approx(250 / 3845)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), rel=1e-12)
    assert row["level"] == 0.9 and row["n"] == 3845
    old = shares[shares["quantity"].str.contains("Harrow, 65 and over")].iloc[0]
    assert "1 suppressed long-term cell(s) counted as 0" in old["note"]


def test_compare_shares_gives_difference_and_ratios_against_each_comparator(figures):
    counts = nc.sequel_counts(figures, GEOS)
    rest = nc.without(counts, "London", "Harrow", "rest of London")
    both = pd.concat([counts, rest], ignore_index=True)
    out = nc.compare_shares(both, "Harrow", ["rest of London"])
    assert set(out["age_band"]) == {"18 to 64", "65 and over", nc.ALL_AGES}
    d = out[out["quantity"].str.contains("18 to 64") & out["quantity"].str.contains("difference")]
    assert d["estimate"].iloc[0] == pytest.approx(250 / 3845 - 5390 / 78960)


def test_requests_over_years_are_rate_ratios_against_the_first_year(figures):
    out = nc.requests_over_years(figures, GEOS)
    rr = out[out["quantity"].str.endswith("rate ratio after / before")]
    rr = rr[rr["method"] == rates.WALD_GLM]
    harrow = rr[rr["label"] == "Harrow"].set_index("year")["estimate"]
    assert harrow["2020-21"] == pytest.approx(3515 / 2725)
    assert harrow["2021-22"] == pytest.approx(3845 / 2725)


def test_against_median_and_donor_pools():
    oflog = pd.DataFrame(
        {
            "year": ["2018-19", "2019-20"] * 3,
            "geography_code": ["A", "A", "B", "B", "C", "C"],
            "name": ["a", "a", "b", "b", "c", "c"],
            "la_type": ["London Boroughs"] * 4 + ["Counties"] * 2,
            "measure": ["ASC6"] * 6,
            "value": [10.0, 8.0, 12.0, 13.0, 20.0, 21.0],
            "median": [12.0, 13.0] * 3,
        }
    )
    m = nc.against_median(oflog, ["A"], "ASC6")
    assert m["difference"].tolist() == [-2.0, -5.0]
    assert nc.donor_pool(oflog, "A", "all") is None
    assert nc.donor_pool(oflog, "A", "same type") == ["B"]
    with pytest.raises(StudyInputError, match="donor pool"):
        nc.donor_pool(oflog, "A", "region")
    with pytest.raises(StudyInputError, match="no ASC5 rows"):
        nc.against_median(oflog, ["A"], "ASC5")
    rows = nc.median_estimates(m, "ASC6")
    assert rows["quantity"].tolist() == [
        "ASC6 a minus median of councils, 2018-19",
        "ASC6 a minus median of councils, 2019-20",
    ]
    assert rows["estimate"].tolist() == [-2.0, -5.0]
    assert rows["ci_low"].isna().all() and rows["note"].tolist()[1] == "a 8, median 13"


def test_missing_tables_are_named(figures):
    with pytest.raises(StudyInputError, match="no T10 rows for Birmingham"):
        nc.sequel_counts(figures, {"Birmingham": "E08000025"})
    with pytest.raises(StudyInputError, match="missing column"):
        nc.sequel_counts(figures.drop(columns="flag"), GEOS)


# ------------------------------------------------------------------ notebook sections


AREAS = {"Harrow": "E09000015", "Birmingham": "E08000025", "London": "E12000007"}
AREAS["England"] = "E92000001"
WORKBOOK = "ASCFR test.xlsx"


@pytest.fixture()
def all_figures(figures) -> pd.DataFrame:
    """The `figures` fixture with Birmingham and England too, cited Oflog rows, source files."""
    rows = []
    rows += sequel_rows("E08000025", "T10", 20, 30, 350, 9000)
    rows += sequel_rows("E08000025", "T11", 60, 90, 450, 11000)
    rows += sequel_rows("E92000001", "T10", 900, 1600, 33000, 620000)
    rows += sequel_rows("E92000001", "T11", 9000, 21000, 100000, 1400000)
    for code, values in {"E08000025": (9000, 9500, 9600), "E92000001": (5e5, 5.2e5, 5.5e5)}.items():
        for year, v in zip(("2019-20", "2020-21", "2021-22"), values, strict=True):
            rows.append(
                {
                    "table": "T2",
                    "year": year,
                    "geography_code": code,
                    "measure": nc.REQUESTS_MEASURE,
                    "age_band": "18 to 64",
                    "value": float(v),
                    "flag": "",
                    "cell": "T2!F1",
                }
            )
    salt = pd.concat([figures, pd.DataFrame(rows)], ignore_index=True).assign(
        source_file=WORKBOOK, name=""
    )
    oflog = [
        {"table": m, "year": y, "geography_code": code, "name": name, "value": v}
        for m, values in {"ASC6": (1500.0, 1700.0, 1600.0), "ASC5": (60.0, 70.0, 75.0)}.items()
        for (code, name), (y1, y2) in zip(
            [("E09000015", "Harrow"), ("E08000025", "Birmingham"), ("median", "median")],
            [(values[0], values[1]), (values[2], values[0]), (values[1], values[1])],
            strict=True,
        )
        for y, v in (("2021-22", y1), ("2022-23", y2))
    ]
    cited = pd.DataFrame(oflog).assign(
        source_file="ASC_data.csv", measure="", age_band="", flag="", cell="A1"
    )
    return pd.concat([salt, cited], ignore_index=True)


def test_long_term_sequel_shares_rows_area_by_area_and_text_from_the_counts(all_figures):
    res = nc.long_term_sequel_shares(all_figures, via="data/x.csv", alpha=0.05)
    table = res.table
    areas = list(dict.fromkeys(table["label"]))
    assert areas == [*AREAS, "London without Harrow", "England without Harrow"]
    assert table.groupby("label", sort=False).size().tolist() == [3] * 6  # 2 bands + all ages
    assert table.groupby("label", sort=False)["site"].first().tolist() == [
        "harrow",
        "birmingham",
        *["national"] * 4,
    ]
    assert set(table["source"]) == {f"{WORKBOOK} T10, T11 (via data/x.csv)"}
    assert set(table["data_kind"]) == {"published"}
    # all ages: long-term = nursing + residential + community of T10 and T11 ([c] counted as 0)
    harrow = (10 + 15 + 225 + 0 + 50 + 300) / (3845 + 5375)
    london = (115 + 175 + 5350 + 900 + 1500 + 9000 - 600) / (82805 + 126280 - 9220)
    england = (900 + 1600 + 33000 + 9000 + 21000 + 100000 - 600) / (620000 + 1400000 - 9220)
    row = table.set_index("quantity").loc["long-term sequel share, Harrow, 18 and over, 2021-22"]
    assert row["estimate"] == pytest.approx(harrow)
    lo, hi = proportion_confint(600, 9220, alpha=0.05, method="wilson")
    assert res.text == (
        f"In 2021-22, {100 * harrow:.1f}% of Harrow's requests from new clients ended in "
        f"long-term support ({100 * lo:.1f}–{100 * hi:.1f}%), against "
        f"{100 * london:.1f}% in London without Harrow, {100 * england:.1f}% in England "
        "without Harrow."
    )
    assert res.view.loc["Harrow", nc.ALL_AGES] == round(harrow, 4)
    fig = res.figures["long_term_sequel_shares"]
    assert isinstance(fig, Figure) and "2021-22 (real data)" in fig.axes[0].get_title()


def test_harrow_comparisons_rows_and_differences_from_the_counts(all_figures):
    res = nc.harrow_comparisons(all_figures, via="data/x.csv")
    assert set(res.table["site"]) == {"harrow"} and len(res.table) == 2 * 3 * 3
    p1 = 600 / 9220
    p_london = (115 + 175 + 5350 + 900 + 1500 + 9000 - 600) / (82805 + 126280 - 9220)
    diff = res.table[
        res.table["quantity"].str.contains("difference") & res.table["age_band"].eq(nc.ALL_AGES)
    ]
    assert diff["estimate"].iloc[0] == pytest.approx(p1 - p_london)
    first = diff.iloc[0]
    assert res.text.startswith(
        f"Difference from London without Harrow: {100 * (p1 - p_london):+.1f} points "
        f"({100 * first['ci_low']:+.1f} to {100 * first['ci_high']:+.1f})."
    )
    assert "Difference from England without Harrow" in res.text
    assert not res.view["method"].str.contains("conditional MLE").any()  # odds ratios not shown


def test_requests_from_new_clients_rows_and_text_from_the_counts(all_figures):
    res = nc.requests_from_new_clients(all_figures, via="data/x.csv")
    sites = res.table.groupby("label", sort=False)["site"].first()
    assert sites.to_dict() == {
        "Harrow": "harrow",
        "Birmingham": "birmingham",
        "London": "national",
        "England": "national",
    }
    assert set(res.table["source"]) == {f"{WORKBOOK} T2 (via data/x.csv)"}
    assert res.view.loc[("Harrow", "18 to 64"), "2021-22"] == round(3845 / 2725, 3)
    assert res.text.startswith(
        "Requests from new clients in 2021-22 against 2019-20 (rate ratio, "
        f"{rates.WALD_GLM}; exposures: equal one-year exposures): Harrow {3845 / 2725:.2f} ("
    )
    assert f"Birmingham {9600 / 9000:.2f} (" in res.text


def test_requests_on_population_exposures_by_hand(all_figures):
    """With ONS adults as exposures the rate ratio is (k1 / N1) / (k0 / N0) and the rates are
    per 100,000 adults; a year without an estimate falls back to equal exposures, said so."""
    req = all_figures[
        (all_figures["table"] == "T2") & (all_figures["measure"] == nc.REQUESTS_MEASURE)
    ]
    k = req.set_index(["geography_code", "age_band", "year"])["value"]
    population = pd.DataFrame(
        [
            {"year": f"mid-{y}", "geography_code": code, "age_band": band, "population": n}
            for code in nc.GEOGRAPHIES.values()
            for band in ("18 to 64", "65 and over")
            for y, n in (("2019", 150_000.0), ("2020", 160_000.0))
        ]
    )
    res = nc.requests_from_new_clients(all_figures, via="x", population=population)
    t = res.tables["requests"]
    harrow = t[(t["label"] == "Harrow") & (t["age_band"] == "18 to 64")]
    covid = harrow[harrow["year"] == "2020-21"]
    ratio = covid[covid["quantity"].str.endswith("rate ratio after / before")].iloc[0]
    k1, k0 = k[("E09000015", "18 to 64", "2020-21")], k[("E09000015", "18 to 64", "2019-20")]
    assert ratio["estimate"] == pytest.approx((k1 / 160_000) / (k0 / 150_000), rel=1e-12)
    assert set(covid["exposure"]) == {"per 100,000 adults"}
    assert "160,000 adults (2020-21) and 150,000 (2019-20)" in ratio["note"]
    rate = covid[covid["quantity"].str.contains("rate after")].iloc[0]
    assert rate["estimate"] == pytest.approx(k1 / 1.6, rel=1e-12)  # per 100,000 adults
    later = harrow[harrow["year"] == "2021-22"]
    assert set(later["exposure"]) == {"equal one-year exposures"}
    assert later["note"].str.contains("no ONS mid-year estimate for 2021-22").all()


def test_councils_against_median_rows_by_measure_and_council(all_figures):
    res = nc.councils_against_median(
        all_figures, ["E09000015", "E08000025"], ["ASC6", "ASC5"], via="x"
    )
    blocks = res.table.drop_duplicates("source")["source"].tolist()
    assert blocks == ["ASC_data.csv ASC6 (via x)", "ASC_data.csv ASC5 (via x)"]
    assert res.table["quantity"].tolist()[:4] == [
        "ASC6 Birmingham minus median of councils, 2021-22",
        "ASC6 Birmingham minus median of councils, 2022-23",
        "ASC6 Harrow minus median of councils, 2021-22",
        "ASC6 Harrow minus median of councils, 2022-23",
    ]
    assert res.table["site"].tolist()[:4] == ["birmingham"] * 2 + ["harrow"] * 2
    # 2022-23 ASC6: Harrow 1700, Birmingham 1500, median 1700
    assert res.table["estimate"].tolist()[:4] == [1600 - 1700, 1500 - 1700, 1500 - 1700, 0.0]
    assert res.text.startswith(
        "Against the median of all councils (descriptive), ASC6 2022-23: Birmingham 1500.0 "
        "(-200.0 from the median 1700.0), Harrow 1700.0 (+0.0 from the median 1700.0); ASC5"
    )
    assert res.view.loc[("ASC6", "2022-23"), "median"] == 1700.0


def _oflog_panel(seed: int = 40) -> pd.DataFrame:
    """A small Oflog-shaped panel: 14 councils x 8 years of ASC6, two council types."""
    rng = np.random.default_rng(seed)
    years = [f"{y}-{(y + 1) % 100:02d}" for y in range(2015, 2023)]
    codes = ["E09000015", *(f"E0{i:07d}" for i in range(13))]
    names = ["Harrow", *(f"Council {i}" for i in range(13))]
    values = rng.normal(1500, 150, (14, 1)) + rng.normal(0, 40, (14, 8))
    values[0, 4:] += 300.0
    return pd.DataFrame(
        {
            "year": np.tile(years, 14),
            "geography_code": np.repeat(codes, 8),
            "name": np.repeat(names, 8),
            "la_type": np.repeat(["London Boroughs"] * 7 + ["Counties"] * 7, 8),
            "measure": "ASC6",
            "value": values.ravel(),
            "median": np.nan,
        }
    )


def test_council_panel_is_the_estimators_on_one_design_with_rows_text_and_figures():
    oflog = _oflog_panel()
    res = nc.council_panel(
        oflog,
        {"E09000015": "2019-20"},
        ["ASC6"],
        first_year="2016-17",
        oflog_file="/somewhere/ASC_test.csv",
    )
    design = PanelDesign(
        oflog, treated="E09000015", treatment_start="2019-20", window=("2016-17", "2022-23")
    )
    es = event_study_did(design, label="ASC6 Harrow vs all councils")
    same = event_study_did(
        PanelDesign(
            oflog,
            treated="E09000015",
            treatment_start="2019-20",
            window=("2016-17", "2022-23"),
            donors=nc.donor_pool(oflog, "E09000015", "same type"),
        ),
        label="ASC6 Harrow vs same type councils",
    )
    lam = choose_penalty(design).penalty
    label = "ASC6 Harrow synthetic control"
    sc = synthetic_control_placebo(design, penalty="holdout", label=label)
    conf = synthetic_control_conformal(design, penalty=lam, label=label)
    expected = pd.concat([es.table, same.table, conf.table, sc.table], ignore_index=True)
    pd.testing.assert_frame_equal(
        res.table[ESTIMATE_COLUMNS], expected[ESTIMATE_COLUMNS], check_exact=True
    )
    # one keyed row per estimate: no two synthetic-control rows share a quantity
    assert not res.table.duplicated(["quantity", "method"]).any()
    sc_rows = res.table[res.table["quantity"].str.contains("synthetic control")]
    assert len(sc_rows) == 9 and not sc_rows["quantity"].duplicated().any()
    assert sc.penalty == lam and sc.penalty_rule == "holdout"
    assert set(res.table["site"]) == {"harrow"}
    assert set(res.table["source"]) == {"ASC_test.csv ASC6 (Oflog, every council)"}
    assert sorted(res.figures) == [
        "event_study_harrow_asc6",
        "placebo_gaps_harrow_asc6",
        "synthetic_control_harrow_asc6",
    ]
    avg = es.table[es.table["method"].str.startswith("placebo")].iloc[-1]
    cavg = conf.table.iloc[-1]
    band = f"{cavg['ci_low']:.1f} to {cavg['ci_high']:.1f}"
    if np.isinf(cavg["ci_low"]) and np.isinf(cavg["ci_high"]):
        band = "unbounded"
    if "not an interval" in cavg["note"]:
        band += " (hull of a confidence set that is not an interval)"
    assert res.text == (
        f"Harrow ASC6: average post-treatment change against all other councils "
        f"{avg['estimate']:.1f} ({avg['ci_low']:.1f} to {avg['ci_high']:.1f}) (event study, "
        f"placebo-in-space interval, p = {avg['p_value']:.2f}); penalised synthetic control "
        f"average gap {sc.fit.mean_post_gap:.1f} (95% conformal interval {band}, "
        f"p = {cavg['p_value']:.3f}; per-year intervals unbounded with 3 pre-treatment years); "
        f"placebo rank test {sc.rank} of {len(sc.placebos)} (p = {sc.p_value:.2f}, each "
        "placebo's penalty chosen by the same hold-out rule)."
    )
    summary = res.tables["synthetic_control"].iloc[0]
    assert summary["penalty"] == lam and summary["of"] == 14
    assert res.view["quantity"].tolist() == [
        "ASC6 Harrow vs all councils: average effect 2019-20 to 2022-23",
        "ASC6 Harrow vs same type councils: average effect 2019-20 to 2022-23",
    ]
    assert res.tables["event_study_paths"].loc[("Harrow", "ASC6", "all"), "2018-19"] == 0.0


def test_council_panel_without_the_oflog_file_says_it_was_skipped(all_figures, tmp_path):
    res = nc.council_panel(
        None, {"E09000015": "2019-20"}, ["ASC6"], first_year="2016-17", oflog_file=None
    )
    assert res.table.empty and res.figures == {} and res.text == nc.PANEL_SKIPPED
    Recorder(run_dir=str(tmp_path), notebook="06_x").record(res)
    assert not (tmp_path / "estimates").exists()
    shares = nc.long_term_sequel_shares(all_figures, via="x")
    versus = nc.harrow_comparisons(all_figures, via="x")
    summary = nc.national_summary(shares, versus, res, alpha=0.1)
    assert summary == " ".join(
        ["**Findings (real public data, 90% intervals).**", shares.text, versus.text, res.text]
    )
    assert summary.endswith(
        "The panel analysis was not run: it needs the full Oflog file with every council."
    )


def test_find_oflog_file_and_describe_sources(all_figures, tmp_path, monkeypatch):
    monkeypatch.setenv(national.EXTERNAL_DIR_ENV, str(tmp_path))
    assert nc.find_oflog_file("") is None
    assert nc.find_oflog_file("elsewhere/ASC.csv") == Path("elsewhere/ASC.csv")  # given: used
    line = nc.describe_sources(all_figures, None, None)
    assert line.startswith(f"{len(all_figures)} cited figures from {WORKBOOK}, ASC_data.csv.")
    assert "the panel analysis is skipped" in line
    (tmp_path / national.OFLOG_FILE).write_text("")
    assert nc.find_oflog_file("") == tmp_path / national.OFLOG_FILE
    oflog = _oflog_panel()
    line = nc.describe_sources(all_figures, tmp_path / national.OFLOG_FILE, oflog)
    assert line.endswith("ASC_data.csv: 14 councils, years 2015-16 to 2022-23.")
