"""Harrow and Birmingham against London, England and every other council (real public data).

Works on the tidy frames of `study.data.national`: the cited NHS Digital SALT/ASC-FR figures
(`load_national_figures`: columns table, year, geography_code, name, measure, age_band, value,
flag, cell) and the Oflog adult social care measures (`read_oflog_measures`: year,
geography_code, name, region, la_type, measure, value, median). Comparisons of Harrow with
London or England use the region or country *without* Harrow, so the two groups are
independent. SALT counts are rounded to the nearest 5 by NHS Digital; suppressed cells (`[c]`,
small numbers) are counted as 0 and flagged in the `note` column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure

from study import proportions, rates
from study.errors import StudyInputError
from study.tidy import estimate_table

LONG_TERM_PREFIX = "Long Term Care:"
TOTAL = "Total"
SEQUEL_TABLES = {"T10": "18 to 64", "T11": "65 and over"}
REQUESTS_MEASURE = "Number of requests for support received from new clients"
ALL_AGES = "18 and over"
ROUNDING_NOTE = "SALT counts rounded to 5 by NHS Digital"


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


def requests_over_years(
    figures: pd.DataFrame, geographies: Mapping[str, str], *, alpha: float = 0.05
) -> pd.DataFrame:
    """Requests for support from new clients (SALT T2) in each year against the first year,
    per geography and age band: Poisson rate ratio with equal one-year exposures (Wald GLM and
    exact conditional intervals from `rates.poisson_rate_ratio`)."""
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
                table = rates.poisson_rate_ratio(
                    int(r.value),
                    1.0,
                    int(first["value"]),
                    1.0,
                    alpha=alpha,
                    exposure_unit="years",
                    label=what,
                )
                parts.append(table.assign(label=label, age_band=band, year=r.year))
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


def plot_long_term_shares(shares: pd.DataFrame, *, level: float, title: str) -> Figure:
    """Long-term sequel shares with their intervals, one panel row per area, by age band."""
    fig = Figure(figsize=(8, 0.5 + 0.45 * shares["label"].nunique() * 3))
    ax = fig.subplots()
    labels = list(dict.fromkeys(shares["label"]))
    bands = list(dict.fromkeys(shares["age_band"]))
    for k, band in enumerate(bands):
        sub = shares[shares["age_band"] == band].set_index("label").loc[labels]
        y = [i * (len(bands) + 1) + k for i in range(len(labels))]
        ax.errorbar(
            100 * sub["estimate"],
            y,
            xerr=[
                100 * (sub["estimate"] - sub["ci_low"]),
                100 * (sub["ci_high"] - sub["estimate"]),
            ],
            fmt="o",
            capsize=3,
            label=band,
        )
    ax.set_yticks([i * (len(bands) + 1) + 1 for i in range(len(labels))], labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"% of requests from new clients ending in long-term support ({level:.0%} CI)")
    ax.set_title(title)
    ax.legend(title="age band", loc="lower right")
    fig.tight_layout()
    return fig


def _ci(row: pd.Series, digits: int = 1) -> str:
    return (
        f"{row['estimate']:.{digits}f} ({row['ci_low']:.{digits}f} to {row['ci_high']:.{digits}f})"
    )


def national_summary(
    shares: pd.DataFrame,
    comparisons: pd.DataFrame,
    events: pd.DataFrame | None,
    synthetic: pd.DataFrame | None,
    *,
    alpha: float = 0.05,
) -> str:
    """The notebook's findings in words, computed from its tables (real data)."""
    all_ages = shares[shares["age_band"] == ALL_AGES].set_index("label")
    h = all_ages.loc["Harrow"]
    lines = [
        f"**Findings (real public data, {1 - alpha:.0%} intervals).** In 2021-22, "
        f"{100 * h['estimate']:.1f}% of Harrow's requests from new clients ended in long-term "
        f"support ({100 * h['ci_low']:.1f}–{100 * h['ci_high']:.1f}%), against "
        + ", ".join(
            f"{100 * all_ages.loc[g, 'estimate']:.1f}% in {g}"
            for g in ("London without Harrow", "England without Harrow")
            if g in all_ages.index
        )
        + "."
    ]
    diff = comparisons[
        comparisons["quantity"].str.contains("difference") & comparisons["age_band"].eq(ALL_AGES)
    ]
    for r in diff.itertuples(index=False):
        lines.append(
            f"Difference from {r.comparator}: {100 * r.estimate:+.1f} points "
            f"({100 * r.ci_low:+.1f} to {100 * r.ci_high:+.1f})."
        )
    if events is None or synthetic is None:
        lines.append(
            "The panel analysis was not run: it needs the full Oflog file with every council."
        )
        return " ".join(lines)
    avg = events[
        events["quantity"].str.contains("average")
        & events["method"].str.startswith("placebo")
        & events["pool"].eq("all")
    ]
    for r in avg.itertuples(index=False):
        sc = synthetic[(synthetic["council"] == r.council) & (synthetic["measure"] == r.measure)]
        s = sc.iloc[0]
        lines.append(
            f"{r.council} {r.measure}: average post-treatment change against all other councils "
            f"{_ci(pd.Series(r._asdict()))} (event study, placebo-in-space interval, "
            f"p = {r.p_value:.2f}); penalised synthetic control gap {s['mean_post_gap']:.1f}, "
            f"ranked {s['rank']} of {s['of']} placebos (p = {s['p_value']:.2f})."
        )
    return " ".join(lines)
