"""Notebook 06: Harrow and Birmingham against London, England and every other council (real
public data).

Works on the tidy frames of `study.data.national`: the cited NHS Digital SALT/ASC-FR figures
(`load_national_figures`: columns table, year, geography_code, name, measure, age_band, value,
flag, cell) and the Oflog adult social care measures (`read_oflog_measures`: year,
geography_code, name, region, la_type, measure, value, median). Comparisons of Harrow with
London or England use the region or country *without* Harrow, so the two groups are
independent. SALT counts are rounded to the nearest 5 by NHS Digital; suppressed cells (`[c]`,
small numbers) are counted as 0 and flagged in the `note` column.

One function per notebook section, each returning an `AnalysisResult` (labelled `.table`,
`.view`, `.figures`, `.text`): `long_term_sequel_shares`, `harrow_comparisons`,
`requests_from_new_clients`, `councils_against_median`, `council_panel`; `national_summary`
joins their findings. The building blocks below them (`sequel_counts`, `without`,
`long_term_shares`, ...) work on the same frames.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from study import proportions, rates
from study.analyses import AnalysisResult, combine, labelled
from study.analyses.national_context import (  # noqa: F401  (re-exported for notebook 06)
    ascof_comparison,
    care_home_covid_context,
    declared_periods,
    find_external,
    load_care_home_deaths,
)
from study.data import ascof as ascof_data
from study.data import care_home_deaths, national, ons_population
from study.data.ons_population import ONS_POPULATION_DIR
from study.errors import StudyInputError
from study.panel import PanelDesign, event_study_did
from study.plots.national import plot_long_term_shares
from study.plots.panel import plot_event_study, plot_placebo_gaps, plot_synthetic_control
from study.synthetic_control import (
    choose_penalty,
    synthetic_control_conformal,
    synthetic_control_placebo,
)
from study.tidy import estimate_table

LONG_TERM_PREFIX = "Long Term Care:"
TOTAL = "Total"
SEQUEL_TABLES = {"T10": "18 to 64", "T11": "65 and over"}
REQUESTS_MEASURE = "Number of requests for support received from new clients"
ALL_AGES = "18 and over"
ROUNDING_NOTE = "SALT counts rounded to 5 by NHS Digital"

# The areas of the SALT sections (label -> geography code), in the order of their rows
GEOGRAPHIES = {
    "Harrow": "E09000015",
    "Birmingham": "E08000025",
    "London": "E12000007",
    "England": "E92000001",
}
SITES = {"Harrow": "harrow", "Birmingham": "birmingham"}  # the study site of an area's rows
NATIONAL_SITE = "national"  # the site of every other area's rows
TREATED_AREA = "Harrow"
# Harrow's comparators: its region and country without Harrow (label -> (whole, part))
WITHOUT_TREATED = {
    "London without Harrow": ("London", TREATED_AREA),
    "England without Harrow": ("England", TREATED_AREA),
}
DONOR_POOLS = ("all", "same type")  # event-study donor pools (see `donor_pool`)
SHOW = ["quantity", "method", "estimate", "ci_low", "ci_high", "n"]
PANEL_SKIPPED = "The panel analysis was not run: it needs the full Oflog file with every council."


def _need(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise StudyInputError(f"{what}: missing column(s) {missing}")


def sequel_counts(figures: pd.DataFrame, geographies: Mapping[str, str]) -> pd.DataFrame:
    """Requests from new clients and those whose sequel was long-term support (SALT STS001,
    T10 ages 18-64 and T11 ages 65+), per geography, age band and all ages.

    `geographies` maps a label to a geography code; a label 'X without Y' is not allowed here
    (see `without`). Returns label, geography_code, year, age_band, long_term, requests,
    suppressed (number of long-term cells suppressed and counted as 0), cells.
    """
    _need(figures, ["table", "year", "geography_code", "measure", "value", "flag"], "figures")
    rows = []
    for label, code in geographies.items():
        for table, band in SEQUEL_TABLES.items():
            sub = figures[(figures["table"] == table) & (figures["geography_code"] == code)]
            if sub.empty:
                raise StudyInputError(f"figures: no {table} rows for {label} ({code})")
            for year, grp in sub.groupby("year", sort=True):
                lt = grp[grp["measure"].str.startswith(LONG_TERM_PREFIX)]
                total = grp[grp["measure"] == TOTAL]
                if lt.empty or len(total) != 1 or pd.isna(total["value"].iloc[0]):
                    raise StudyInputError(
                        f"figures: {table} {year} {label}: need the long-term columns and a Total"
                    )
                rows.append(
                    {
                        "label": label,
                        "geography_code": code,
                        "year": year,
                        "age_band": band,
                        "long_term": float(lt["value"].fillna(0).sum()),
                        "requests": float(total["value"].iloc[0]),
                        "suppressed": int(lt["flag"].eq("c").sum()),
                        "cells": ", ".join(grp["cell"].astype(str)) if "cell" in grp else "",
                    }
                )
    out = pd.DataFrame(rows)
    keys = ["label", "geography_code", "year"]
    both = out.groupby(keys, sort=False, as_index=False)[["long_term", "requests", "suppressed"]]
    all_ages = both.sum().assign(age_band=ALL_AGES, cells="T10 + T11")
    return pd.concat([out, all_ages], ignore_index=True)


def without(counts: pd.DataFrame, whole: str, part: str, label: str) -> pd.DataFrame:
    """Counts of geography `whole` minus geography `part` (e.g. London without Harrow)."""
    a = counts[counts["label"] == whole].set_index(["year", "age_band"])
    b = counts[counts["label"] == part].set_index(["year", "age_band"])
    if a.empty or b.empty:
        raise StudyInputError(f"without: need rows for {whole!r} and {part!r}")
    diff = a[["long_term", "requests"]] - b[["long_term", "requests"]]
    diff["suppressed"] = a["suppressed"] + b["suppressed"]
    diff["label"] = label
    diff["geography_code"] = f"{a['geography_code'].iloc[0]} - {b['geography_code'].iloc[0]}"
    diff["cells"] = f"{whole} minus {part}"
    return diff.reset_index()[counts.columns]


def long_term_shares(counts: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Share of requests from new clients whose sequel was long-term support, Wilson interval,
    one row per label, year and age band (quantity names all three)."""
    rows = []
    for r in counts.itertuples(index=False):
        lo, hi = proportions.wilson_interval(int(r.long_term), int(r.requests), alpha=alpha)
        note = ROUNDING_NOTE
        if r.suppressed:
            note += f"; {r.suppressed} suppressed long-term cell(s) counted as 0"
        rows.append(
            {
                "quantity": f"long-term sequel share, {r.label}, {r.age_band}, {r.year}",
                "estimate": r.long_term / r.requests,
                "ci_low": lo,
                "ci_high": hi,
                "level": 1 - alpha,
                "method": proportions.WILSON,
                "n": r.requests,
                "label": r.label,
                "age_band": r.age_band,
                "year": r.year,
                "note": note,
            }
        )
    return estimate_table(rows)


def compare_shares(
    counts: pd.DataFrame, treated: str, comparators: Sequence[str], *, alpha: float = 0.05
) -> pd.DataFrame:
    """Treated label's long-term share against each comparator label, per year and age band:
    difference (Newcombe), risk ratio (Katz log) and odds ratio (exact), from
    `proportions.compare_proportions`."""
    parts = []
    t = counts[counts["label"] == treated].set_index(["year", "age_band"])
    for comp in comparators:
        c = counts[counts["label"] == comp].set_index(["year", "age_band"])
        for key in t.index.intersection(c.index):
            table = proportions.compare_proportions(
                int(t.loc[key, "long_term"]),
                int(t.loc[key, "requests"]),
                int(c.loc[key, "long_term"]),
                int(c.loc[key, "requests"]),
                alpha=alpha,
                label=f"long-term sequel share, {treated} vs {comp}, {key[1]}, {key[0]}",
                names=(treated, comp),
                note=ROUNDING_NOTE,
            )
            parts.append(table.iloc[2:].assign(age_band=key[1], year=key[0], comparator=comp))
    return pd.concat(parts, ignore_index=True)


PER_ADULTS = 100_000  # rates per 100,000 adults
POPULATION_UNIT = "100,000 adult-years (ONS mid-year estimate)"


def _adults(population: pd.DataFrame | None, code: str, band: str, year: str) -> float | None:
    """Adults of `band` in geography `code` for financial year `year` (the mid-year estimate
    of its first year, `ons_population.financial_year_population`), or None if not there."""
    if population is None:
        return None
    mid = f"mid-{str(year)[:4]}"
    sel = population[
        (population["year"] == mid)
        & (population["geography_code"] == code)
        & (population["age_band"] == band)
    ]
    return float(sel["population"].iloc[0]) if len(sel) == 1 else None


def requests_over_years(
    figures: pd.DataFrame,
    geographies: Mapping[str, str],
    *,
    population: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Requests for support from new clients (SALT T2) in each year against the first year,
    per geography and age band: Poisson rates and rate ratio (Wald GLM and exact conditional
    intervals, `rates.poisson_rate_ratio`). Exposures: the adults of the age band in the ONS
    mid-year estimate of each financial year's first year (`population`, from
    `ons_population.read_ons_populations`; rates per 100,000 adults), or, where a year has no
    estimate, equal one-year exposures (said in the note). Columns label, age_band, year,
    baseline and exposure name each row."""
    _need(figures, ["table", "year", "geography_code", "measure", "age_band", "value"], "figures")
    req = figures[(figures["table"] == "T2") & (figures["measure"] == REQUESTS_MEASURE)]
    parts = []
    for label, code in geographies.items():
        sub = req[req["geography_code"] == code]
        if sub.empty:
            raise StudyInputError(f"figures: no T2 request rows for {label} ({code})")
        for band, grp in sub.groupby("age_band", sort=True):
            grp = grp.sort_values("year")
            first = grp.iloc[0]
            for r in grp.iloc[1:].itertuples(index=False):
                what = f"requests from new clients, {label}, {band}, {r.year} vs {first['year']}"
                adults = (_adults(population, code, band, r.year),
                          _adults(population, code, band, first["year"]))  # fmt: skip
                if None in adults:
                    exposures, unit, kind = (1.0, 1.0), "years", "equal one-year exposures"
                    note = "equal one-year exposures" + (
                        f" (no ONS mid-year estimate for {r.year} or {first['year']})"
                        if population is not None
                        else ""
                    )
                else:
                    exposures = tuple(a / PER_ADULTS for a in adults)
                    unit, kind = POPULATION_UNIT, "per 100,000 adults"
                    note = (
                        f"exposures: {adults[0]:,.0f} adults ({r.year}) and {adults[1]:,.0f} "
                        f"({first['year']}), ONS mid-year estimates"
                    )
                table = rates.poisson_rate_ratio(
                    int(r.value),
                    exposures[0],
                    int(first["value"]),
                    exposures[1],
                    alpha=alpha,
                    exposure_unit=unit,
                    label=what,
                    note=note,
                )
                parts.append(
                    table.assign(
                        label=label,
                        age_band=band,
                        year=r.year,
                        baseline=first["year"],
                        exposure=kind,
                    )  # fmt: skip
                )
    return pd.concat(parts, ignore_index=True)


def against_median(oflog: pd.DataFrame, codes: Sequence[str], measure: str) -> pd.DataFrame:
    """One Oflog measure for the named councils with the median of all councils, per year, and
    each council's difference from the median (descriptive: no sampling interval)."""
    _need(oflog, ["year", "geography_code", "name", "measure", "value", "median"], "oflog")
    sub = oflog[(oflog["measure"] == measure) & oflog["geography_code"].isin(list(codes))]
    if sub.empty:
        raise StudyInputError(f"oflog: no {measure} rows for {list(codes)}")
    out = sub[["year", "geography_code", "name", "value", "median"]].copy()
    out["difference"] = out["value"] - out["median"]
    return out.sort_values(["name", "year"]).reset_index(drop=True)


def median_estimates(medians: pd.DataFrame, measure: str) -> pd.DataFrame:
    """`against_median` rows as estimates: each council's difference from the median of all
    councils per year (descriptive: no interval; the value and median are in the note)."""
    _need(medians, ["year", "name", "value", "median", "difference"], "medians")
    rows = [
        {
            "quantity": f"{measure} {r.name} minus median of councils, {r.year}",
            "estimate": r.difference,
            "ci_low": float("nan"),
            "ci_high": float("nan"),
            "level": float("nan"),
            "method": "difference from the median of all councils (descriptive, no interval)",
            "n": float("nan"),
            "note": f"{r.name} {r.value:g}, median {r.median:g}",
        }
        for r in medians.itertuples(index=False)
    ]
    return estimate_table(rows)


def donor_pool(oflog: pd.DataFrame, treated: str, pool: str) -> list[str] | None:
    """Donor councils for `treated`: 'all' (every other council: None) or 'same type'
    (councils of the treated council's Oflog type, e.g. London Boroughs)."""
    if pool == "all":
        return None
    if pool != "same type":
        raise StudyInputError(f"donor pool must be 'all' or 'same type', got {pool!r}")
    la_type = oflog.loc[oflog["geography_code"] == treated, "la_type"]
    if la_type.empty:
        raise StudyInputError(f"oflog: no rows for {treated}")
    same = oflog.loc[oflog["la_type"] == la_type.iloc[0], "geography_code"].unique()
    return sorted(c for c in same if c != treated)


def oflog_from_figures(figures: pd.DataFrame) -> pd.DataFrame:
    """The cited Oflog rows of `national_figures.csv` in the shape of `read_oflog_measures`
    (councils' values with the all-council median of the same measure and year)."""
    _need(figures, ["table", "year", "geography_code", "name", "value"], "figures")
    rows = figures[figures["table"].str.fullmatch(r"ASC\d+")]
    medians = rows[rows["geography_code"] == "median"].set_index(["table", "year"])["value"]
    councils = rows[rows["geography_code"] != "median"].copy()
    if councils.empty or medians.empty:
        raise StudyInputError("figures: no cited Oflog (ASCn) rows with their median")
    keys = zip(councils["table"], councils["year"], strict=True)
    councils["median"] = [medians.get(key) for key in keys]
    councils["measure"] = councils["table"]
    return councils[["year", "geography_code", "name", "measure", "value", "median"]]


# --------------------------------------------------------------------------------------------
# Notebook sections: each returns an AnalysisResult
# --------------------------------------------------------------------------------------------


def _site(area: str) -> str:
    return SITES.get(area, NATIONAL_SITE)


def _by_area(table: pd.DataFrame, source: str) -> pd.DataFrame:
    """`table` labelled for the run, its rows gathered area by area (column `label`, in order
    of first appearance), each area's rows with the area's site."""
    parts = [
        labelled(part, site=_site(area), data_kind="published", source=source)
        for area, part in table.groupby("label", sort=False)
    ]
    return pd.concat(parts, ignore_index=True)


def _counts_with_comparators(figures: pd.DataFrame) -> pd.DataFrame:
    """`sequel_counts` of `GEOGRAPHIES` and the `WITHOUT_TREATED` areas."""
    counts = sequel_counts(figures, GEOGRAPHIES)
    rest = [without(counts, whole, part, label) for label, (whole, part) in WITHOUT_TREATED.items()]
    return pd.concat([counts, *rest], ignore_index=True)


def _sequel_source(figures: pd.DataFrame, via: str | Path) -> str:
    return national.cited_source(figures[figures["table"].isin(list(SEQUEL_TABLES))], via=via)


def shares_sentence(shares: pd.DataFrame) -> str:
    """The treated area's all-ages long-term share in the latest year, with its interval,
    against each comparator's (from a `long_term_shares` table)."""
    year = max(shares["year"])
    all_ages = shares[shares["age_band"].eq(ALL_AGES) & shares["year"].eq(year)]
    all_ages = all_ages.set_index("label")
    h = all_ages.loc[TREATED_AREA]
    others = ", ".join(
        f"{100 * all_ages.loc[g, 'estimate']:.1f}% in {g}"
        for g in WITHOUT_TREATED
        if g in all_ages.index
    )
    return (
        f"In {year}, {100 * h['estimate']:.1f}% of {TREATED_AREA}'s requests from new clients "
        f"ended in long-term support ({100 * h['ci_low']:.1f}–{100 * h['ci_high']:.1f}%), "
        f"against {others}."
    )


def long_term_sequel_shares(
    figures: pd.DataFrame, *, via: str | Path, alpha: float = 0.05
) -> AnalysisResult:
    """Section 1: share of requests from new clients whose sequel was long-term support (SALT
    T10/T11) for `GEOGRAPHIES` and Harrow's comparators, Wilson intervals.

    `figures`: `national.load_national_figures`; `via`: the cited table's path (the rows'
    source names it). Rows area by area; `.view` the shares by age band; figure
    `long_term_sequel_shares`; `tables`: counts, shares.
    """
    counts = _counts_with_comparators(figures)
    shares = long_term_shares(counts, alpha=alpha)
    years = ", ".join(sorted(shares["year"].unique()))
    title = f"Requests from new clients ending in long-term support, {years} (real data)"
    return AnalysisResult(
        table=_by_area(shares, _sequel_source(figures, via)),
        text=shares_sentence(shares),
        view=shares.pivot(index="label", columns="age_band", values="estimate").round(4),
        figures={
            "long_term_sequel_shares": plot_long_term_shares(shares, level=1 - alpha, title=title)
        },
        tables={"counts": counts, "shares": shares},
    )


def differences_sentence(comparisons: pd.DataFrame) -> str:
    """The all-ages difference from each comparator, in points (from `compare_shares`)."""
    diff = comparisons[
        comparisons["quantity"].str.contains("difference") & comparisons["age_band"].eq(ALL_AGES)
    ]
    return " ".join(
        f"Difference from {r.comparator}: {100 * r.estimate:+.1f} points "
        f"({100 * r.ci_low:+.1f} to {100 * r.ci_high:+.1f})."
        for r in diff.itertuples(index=False)
    )


def harrow_comparisons(
    figures: pd.DataFrame, *, via: str | Path, alpha: float = 0.05
) -> AnalysisResult:
    """Section 1, continued: Harrow's long-term share against London and England without
    Harrow (`compare_shares`: difference, risk ratio, odds ratio) per age band."""
    comparisons = compare_shares(
        _counts_with_comparators(figures), TREATED_AREA, list(WITHOUT_TREATED), alpha=alpha
    )
    shown = comparisons[comparisons["quantity"].str.contains("difference|risk ratio")]
    table = labelled(
        comparisons,
        site=_site(TREATED_AREA),
        data_kind="published",
        source=_sequel_source(figures, via),
    )
    return AnalysisResult(
        table=table,
        text=differences_sentence(comparisons),
        view=shown[[*SHOW, "p_value"]].round(4),
        tables={"comparisons": comparisons},
    )


def requests_sentence(ratios: pd.DataFrame) -> str:
    """Each area's rate ratio of requests in the latest year against the first, by age band
    (from the Wald rows of `requests_over_years`)."""
    year = max(ratios["year"])
    latest = ratios[ratios["year"] == year]
    first = latest["baseline"].iloc[0]
    parts = [
        f"{area} "
        + ", ".join(
            f"{r.estimate:.2f} ({r.ci_low:.2f} to {r.ci_high:.2f}) aged {r.age_band}"
            for r in rows.itertuples(index=False)
        )
        for area, rows in latest.groupby("label", sort=False)
    ]
    return (
        f"Requests from new clients in {year} against {first} (rate ratio, "
        f"{rates.WALD_GLM}; exposures: {', '.join(sorted(set(latest['exposure'])))}): "
        + "; ".join(parts)
        + "."
    )


def requests_from_new_clients(
    figures: pd.DataFrame,
    *,
    via: str | Path,
    population: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> AnalysisResult:
    """Section 2: requests for support from new clients (SALT T2) in each year against the
    first, per area of `GEOGRAPHIES` and age band (`requests_over_years`; with `population`,
    rates per 100,000 adults on ONS mid-year exposures)."""
    requests = requests_over_years(figures, GEOGRAPHIES, population=population, alpha=alpha)
    ratios = requests[
        requests["quantity"].str.endswith("rate ratio after / before")
        & requests["method"].eq(rates.WALD_GLM)
    ]
    source = national.cited_source(figures[figures["table"] == "T2"], via=via)
    return AnalysisResult(
        table=_by_area(requests, source),
        text=requests_sentence(ratios),
        view=ratios.pivot(index=["label", "age_band"], columns="year", values="estimate").round(3),
        tables={"requests": requests},
    )


def median_sentence(medians: pd.DataFrame) -> str:
    """Each council's latest value of each measure against the median of all councils."""
    parts = []
    for measure, rows in medians.groupby("measure", sort=False):
        latest = rows[rows["year"] == max(rows["year"])]
        parts.append(
            f"{measure} {latest['year'].iloc[0]}: "
            + ", ".join(
                f"{r.name} {r.value:.1f} ({r.difference:+.1f} from the median {r.median:.1f})"
                for r in latest.itertuples(index=False)
            )
        )
    return "Against the median of all councils (descriptive), " + "; ".join(parts) + "."


def councils_against_median(
    figures: pd.DataFrame,
    councils: Sequence[str],
    measures: Sequence[str],
    *,
    via: str | Path,
) -> AnalysisResult:
    """Section 3: the cited Oflog `measures` of `councils` (geography codes, e.g. the keys of
    `treated_councils`) against the median of all councils, per year (`against_median`)."""
    cited = oflog_from_figures(figures)
    medians = pd.concat(
        [against_median(cited, list(councils), m).assign(measure=m) for m in measures],
        ignore_index=True,
    )
    parts = [
        labelled(
            median_estimates(part, measure),
            site=_site(name),
            data_kind="published",
            source=national.cited_source(figures[figures["table"] == measure], via=via),
        )
        for (measure, name), part in medians.groupby(["measure", "name"], sort=False)
    ]
    keys = ["measure", "year"]
    wide = medians.pivot(index=keys, columns="name", values="value").add_prefix("value ")
    wide["median"] = medians.groupby(keys)["median"].first()
    difference = medians.pivot(index=keys, columns="name", values="difference")
    return AnalysisResult(
        table=pd.concat(parts, ignore_index=True),
        text=median_sentence(medians),
        view=wide.join(difference.add_prefix("difference ")).round(1),
        tables={"medians": medians},
    )


def find_oflog_file(oflog_path: str | Path = "") -> Path | None:
    """The Oflog file with every council: `oflog_path` if given (read errors name it if it is
    missing), else `national.OFLOG_FILE` in `national.external_dir()` if it is there, else
    None (the panel analysis is then skipped)."""
    if str(oflog_path).strip():
        return Path(oflog_path)
    default = national.external_dir() / national.OFLOG_FILE
    return default if default.is_file() else None


def find_ons_population(ons_population_path: str | Path = "") -> Path | None:
    """The folder of ONS mid-year population editions: `ons_population_path` if given, else
    `ons_population.ONS_POPULATION_DIR` in `national.external_dir()` if it is there, else None
    (request comparisons then use equal one-year exposures, and say so)."""
    if str(ons_population_path).strip():
        return Path(ons_population_path)
    default = national.external_dir() / ONS_POPULATION_DIR
    return default if default.is_dir() else None


@dataclass(frozen=True)
class NationalSources:
    """The inputs of notebook 06, each loaded once by `load_sources` (None: file absent)."""

    figures: pd.DataFrame
    oflog_file: Path | None
    oflog: pd.DataFrame | None
    population: pd.DataFrame | None
    ascof_file: Path | None
    ascof: pd.DataFrame | None
    deaths_file: Path | None
    deaths: pd.DataFrame | None

    @property
    def description(self) -> str:
        """`describe_sources`, then the ASCOF and care-home files read (or skipped)."""
        extra = [
            f"{Path(f).name}: {len(t):,} rows" if t is not None else f"{name}: not found, skipped"
            for f, t, name in (
                (self.ascof_file, self.ascof, ascof_data.ASCOF_FILE),
                (self.deaths_file, self.deaths, care_home_deaths.CARE_HOME_DEATHS_FILE),
            )
        ]
        return (
            describe_sources(self.figures, self.oflog_file, self.oflog)
            + " "
            + "; ".join(extra)
            + "."
        )


def load_sources(
    national_figures_path: str | Path,
    *,
    oflog_path: str | Path = "",
    ons_population_path: str | Path = "",
    ascof_path: str | Path = "",
    care_home_deaths_path: str | Path = "",
) -> NationalSources:
    """Notebook 06's loader: the cited figures (`national.load_national_figures`), and each
    optional official file from its path parameter or, if empty, `national.external_dir()`
    (`find_oflog_file`, `find_ons_population`, `find_external`); a file that is not there is
    None and its section says it was skipped."""
    oflog_file = find_oflog_file(oflog_path)
    ons_folder = find_ons_population(ons_population_path)
    ascof_file = find_external(ascof_path, ascof_data.ASCOF_FILE)
    deaths, deaths_file = load_care_home_deaths(care_home_deaths_path)
    return NationalSources(
        figures=national.load_national_figures(national_figures_path),
        oflog_file=oflog_file,
        oflog=national.read_oflog_measures(oflog_file) if oflog_file else None,
        population=ons_population.read_ons_populations(ons_folder) if ons_folder else None,
        ascof_file=ascof_file,
        ascof=ascof_data.read_ascof(ascof_file) if ascof_file else None,
        deaths_file=deaths_file,
        deaths=deaths,
    )


def official_context(
    sources: NationalSources,
    treated_councils: Mapping[str, str],
    *,
    fall_share: float = 0.5,
    agreement_days: int = 7,
    alpha: float = 0.05,
) -> AnalysisResult:
    """Section 5: the ASCOF 2020-21 comparison of the treated councils (`ascof_comparison`,
    2D checked against the Oflog file) and the first Covid-19 wave in their care homes beside
    notebook 03's declared Covid periods (`care_home_covid_context`). Rows: the ASCOF
    estimates; view: the ASCOF comparisons; figure care_home_deaths; tables: ascof, dates."""
    councils = list(treated_councils)
    ascof = ascof_comparison(
        sources.ascof, councils, ascof_file=sources.ascof_file, oflog=sources.oflog, alpha=alpha
    )
    covid = care_home_covid_context(
        sources.deaths,
        councils,
        fall_share=fall_share,
        agreement_days=agreement_days,
        deaths_file=sources.deaths_file,
    )
    both = combine(ascof, covid, text=ascof.text + "\n\n" + covid.text)
    return AnalysisResult(
        table=both.table,
        text=both.text,
        view=ascof.view,
        figures=both.figures,
        tables={**both.tables, "covid_dates": covid.view},
    )


def describe_sources(
    figures: pd.DataFrame, oflog_file: Path | None, oflog: pd.DataFrame | None
) -> str:
    """One line naming the data of the run: the cited figures and the Oflog file, if any."""
    files = ", ".join(sorted(figures["source_file"].unique()))
    line = f"{len(figures)} cited figures from {files}"
    if oflog is None or oflog_file is None:
        return (
            f"{line}. {national.OFLOG_FILE} (every council) is not in {national.external_dir()}: "
            "the panel analysis is skipped (give oflog_path or set $STUDY_EXTERNAL_DIR)."
        )
    years = sorted(oflog["year"].unique())
    return (
        f"{line}; {Path(oflog_file).name}: {oflog['geography_code'].nunique()} councils, "
        f"years {years[0]} to {years[-1]}."
    )


def _ci(row, digits: int = 1) -> str:
    return f"{row.estimate:.{digits}f} ({row.ci_low:.{digits}f} to {row.ci_high:.{digits}f})"


HULL = " (hull of a confidence set that is not an interval)"


def _interval(lo: float, hi: float, digits: int = 1) -> str:
    """'lo to hi', or 'unbounded' for the whole line (an open end prints as inf)."""
    if np.isinf(lo) and np.isinf(hi):
        return "unbounded"
    return f"{lo:.{digits}f} to {hi:.{digits}f}"


def panel_sentence(events: pd.DataFrame, synthetic: pd.DataFrame, *, alpha: float = 0.05) -> str:
    """Per council and measure: the event study's average post-treatment effect against all
    other councils (placebo-in-space interval and p), the synthetic control's average gap with
    its conformal interval and p, and the placebo rank test with the placebos it kept (from the
    `council_panel` tables)."""
    avg = events[
        events["quantity"].str.contains("average")
        & events["method"].str.startswith("placebo")
        & events["pool"].eq("all")
    ]
    lines = []
    for r in avg.itertuples(index=False):
        sc = synthetic[(synthetic["council"] == r.council) & (synthetic["measure"] == r.measure)]
        s = sc.iloc[0]
        lines.append(
            f"{r.council} {r.measure}: average post-treatment change against all other councils "
            f"{_ci(r)} (event study, placebo-in-space interval, p = {r.p_value:.2f}); "
            f"penalised synthetic control average gap {s['mean_post_gap']:.1f} "
            f"({1 - alpha:.0%} conformal interval {_interval(s['ci_low'], s['ci_high'])}"
            f"{HULL if s['conformal_hull'] else ''}, "
            f"p = {s['conformal_p']:.3f}; per-year intervals "
            f"{'unbounded' if s['years_unbounded'] == s['years'] else 'see the table'} with "
            f"{s['pre_years']} pre-treatment years); placebo rank test "
            f"{s['rank']} of {s['of']} (p = {s['p_value']:.2f}, each placebo's penalty chosen "
            f"by the same hold-out rule)."
        )
    return " ".join(lines)


def council_panel(
    oflog: pd.DataFrame | None,
    treated_councils: Mapping[str, str],
    measures: Sequence[str],
    *,
    first_year: str,
    oflog_file: str | Path | None,
    alpha: float = 0.05,
    average_scheme: str = "iid",
) -> AnalysisResult:
    """Section 4: the comparative panel of each treated council and Oflog measure, from
    `first_year` to the last year of `oflog` (`read_oflog_measures`, every council).

    `treated_councils`: geography code -> first treated year. Per council and measure, one
    `PanelDesign` against all other councils (councils missing a year are dropped) serves the
    event study (`event_study_did`, also against councils of the same type, `donor_pool`), the
    hold-out choice of the penalty (`choose_penalty`), the penalised synthetic control's gaps
    with conformal intervals (`synthetic_control_conformal`, per post year and for the
    post-period average with `average_scheme` permutations) and placebos in space
    (`synthetic_control_placebo`, every placebo's penalty chosen by the same hold-out rule,
    one keyed row per pre-fit filter with the placebos it dropped). Rows: every event study,
    then every synthetic control; their source names `oflog_file` (the file `oflog` was read
    from). Figures
    event_study_<council>_<measure> (against all councils), synthetic_control_... and
    placebo_gaps_...; `tables`: event_study (every row, with council, measure, pool),
    event_study_paths (placebo-interval estimates by year), synthetic_control (one row per
    council and measure). `oflog` None: no rows, and the text says the panel was not run.
    """
    if oflog is None:
        empty = pd.DataFrame()
        return AnalysisResult(
            table=empty,
            text=PANEL_SKIPPED,
            tables={"event_study": empty, "event_study_paths": empty, "synthetic_control": empty},
        )
    years = sorted(y for y in oflog["year"].unique() if y >= first_year)
    if not years:
        raise StudyInputError(f"oflog: no years from {first_year!r} on")
    window = (years[0], years[-1])
    file_name = Path(oflog_file).name if oflog_file else national.OFLOG_FILE
    names = dict(zip(oflog["geography_code"], oflog["name"], strict=False))
    events, synthetic, summary, figures = [], [], [], {}
    for code, start in treated_councils.items():
        name = names[code]
        for measure in measures:
            data = oflog[oflog["measure"] == measure].dropna(subset=["value"])
            source = f"{file_name} {measure} (Oflog, every council)"
            tag = f"{name.lower()}_{measure.lower()}"
            against_all = PanelDesign(data, treated=code, treatment_start=start, window=window)
            for pool in DONOR_POOLS:
                design = against_all
                if pool != "all":
                    design = PanelDesign(
                        data,
                        treated=code,
                        treatment_start=start,
                        donors=donor_pool(oflog, code, pool),
                        window=window,
                    )
                es = event_study_did(
                    design, alpha=alpha, label=f"{measure} {name} vs {pool} councils"
                )
                events.append(
                    labelled(
                        es.table, site=_site(name), data_kind="published", source=source
                    ).assign(
                        council=name, measure=measure, pool=pool, dropped=len(es.dropped_donors)
                    )
                )
                if pool == "all":
                    figures[f"event_study_{tag}"] = plot_event_study(
                        es,
                        title=f"{name}, {measure}: event study vs all councils (real data)",
                        ylabel=f"{measure} difference from councils' change",
                    )
            choice = choose_penalty(against_all)
            sc_label = f"{measure} {name} synthetic control"
            placebo = synthetic_control_placebo(against_all, penalty="holdout", label=sc_label)
            conformal = synthetic_control_conformal(
                against_all,
                penalty=choice.penalty,
                alpha=alpha,
                average_scheme=average_scheme,
                label=sc_label,
            )
            for part in (conformal.table, placebo.table):
                synthetic.append(
                    labelled(part, site=_site(name), data_kind="published", source=source)
                )
            top = placebo.fit.weights.head(3)
            average = conformal.table.iloc[-1]
            years = conformal.table.iloc[:-1]
            summary.append(
                {
                    "council": name,
                    "measure": measure,
                    "penalty": choice.penalty,
                    "pre_rmspe": placebo.fit.pre_rmspe,
                    "mean_post_gap": placebo.fit.mean_post_gap,
                    "ci_low": average["ci_low"],
                    "ci_high": average["ci_high"],
                    "conformal_p": average["p_value"],
                    "conformal_hull": "not an interval" in average["note"],
                    "pre_years": against_all.n_pre,
                    "years": len(years),
                    "years_unbounded": int(np.isinf(years["ci_low"]).sum()),
                    "rank": placebo.rank,
                    "of": len(placebo.placebos),
                    "p_value": placebo.p_value,
                    "dropped by pre-fit filter": ", ".join(
                        f"{r.pre_rmspe_multiple:g}x: {r.dropped}"
                        for r in placebo.table.iloc[1:].itertuples(index=False)
                    ),
                    "largest weights": ", ".join(
                        f"{names.get(u, u)} {w:.2f}"
                        for u, w in zip(top["unit"], top["weight"], strict=True)
                    ),
                }
            )
            figures[f"synthetic_control_{tag}"] = plot_synthetic_control(
                placebo.fit,
                title=f"{name}, {measure}: penalised synthetic control (real data)",
                ylabel=measure,
            )
            figures[f"placebo_gaps_{tag}"] = plot_placebo_gaps(
                placebo,
                title=f"{name}, {measure}: gaps, council vs every placebo (real data)",
                ylabel=f"{measure} gap",
            )
    event_table = pd.concat(events, ignore_index=True)
    synthetic_summary = pd.DataFrame(summary)
    placebo_rows = event_table[event_table["method"].str.startswith("placebo")]
    placebo_rows = placebo_rows.assign(time=placebo_rows["time"].fillna("average"))
    paths = placebo_rows.pivot(
        index=["council", "measure", "pool"], columns="time", values="estimate"
    ).round(1)
    averages = placebo_rows[placebo_rows["quantity"].str.contains("average")]
    return AnalysisResult(
        table=pd.concat([event_table, *synthetic], ignore_index=True),
        text=panel_sentence(event_table, synthetic_summary, alpha=alpha),
        view=averages[[*SHOW, "p_value"]].round(3),
        figures=figures,
        tables={
            "event_study": event_table,
            "event_study_paths": paths,
            "synthetic_control": synthetic_summary,
        },
    )


def national_summary(
    shares: AnalysisResult,
    comparisons: AnalysisResult,
    panel: AnalysisResult,
    *,
    alpha: float = 0.05,
) -> str:
    """The notebook's findings in words: the texts of `long_term_sequel_shares`,
    `harrow_comparisons` and `council_panel` (real data)."""
    head = f"**Findings (real public data, {1 - alpha:.0%} intervals).**"
    return " ".join([head, shares.text, comparisons.text, panel.text])
