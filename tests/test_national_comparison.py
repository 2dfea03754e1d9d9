"""National comparisons: long-term sequel shares, requests over years, councils vs median."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from study import rates
from study.analyses import national_comparison as nc
from study.errors import StudyInputError

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
