"""Notebook 06, official 2020-21 context: ASCOF outcomes of Harrow and Birmingham against London
and England, and the first Covid-19 wave in their care homes (imported by
`study.analyses.national_comparison`, which notebook 06 calls).

ASCOF (`study.data.ascof`): for 2A1 / 2A2 (admissions to residential and nursing care per
100,000 adults 18-64 / 65+) each area's rate has the exact Poisson (Garwood) interval, the
denominator (the ONS population behind ASCOF) taken as fixed exposure, and a council against a
comparator is the rate ratio with the exact conditional interval (Clopper-Pearson on
k1 / (k1 + k0)). For 2B1, 2B2 and 2D (percentages) each area has the Wilson score interval and
a council against a comparator is the difference in percentage points with Newcombe's hybrid
score interval (method 10). Comparators are London and England *without the council* where the
council is part of them (its numerator and denominator subtracted; London boroughs are the
councils with ONS codes E09...), so the two groups are independent. ASCOF gives a margin of
error only for its survey measures (`margin_of_error_check` compares it with the Wilson
half-width); 2D is checked against Oflog ASC5 of the same year.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from study import proportions, rates
from study.analyses import AnalysisResult, labelled
from study.data import ascof as ascof_data
from study.data import national
from study.errors import StudyInputError
from study.tidy import estimate_table

ASCOF_YEAR = "2020-21"
# measure -> (kind, scale, what)
ASCOF_MEASURES = {
    "2A1": ("rate", 100_000, "admissions to residential/nursing care per 100,000 adults 18-64"),
    "2A2": ("rate", 100_000, "admissions to residential/nursing care per 100,000 adults 65+"),
    "2B1": ("share", 100, "% of older people at home 91 days after reablement"),
    "2B2": ("share", 100, "% of older people discharged from hospital offered reablement"),
    "2D": ("share", 100, "% of short-term service clients with no or lower-level support after"),
}
ASCOF_COMPARATORS = {"London": "E12000007", "England": "E92000001"}
SCORE_GROUPS = ("1A", "1J")  # ASCOF quality-of-life scores, not percentages
LONDON_BOROUGH_PREFIX = "E09"  # ONS codes of the London boroughs
ASCOF_SKIPPED = (
    f"The ASCOF comparison was not run: {ascof_data.ASCOF_FILE} is not in the external folder "
    "(give ascof_path or set $STUDY_EXTERNAL_DIR)."
)
ASCOF_SHOW = ["quantity", "method", "estimate", "ci_low", "ci_high", "n", "note"]


def find_external(path: str | Path, default_name: str) -> Path | None:
    """`path` if given (read errors then name it), else `default_name` in
    `national.external_dir()` if it is there, else None (the section is skipped)."""
    if str(path).strip():
        return Path(path)
    default = national.external_dir() / default_name
    return default if default.exists() else None


def _contains(whole: str, part: str) -> bool:
    """Whether area `whole` (ONS code) contains council `part`: England every council, London
    the London boroughs (E09 codes)."""
    if whole == ASCOF_COMPARATORS["England"]:
        return True
    if whole == ASCOF_COMPARATORS["London"]:
        return part.startswith(LONDON_BOROUGH_PREFIX)
    raise StudyInputError(f"ascof: comparator {whole!r} must be London or England")


def _counts(row: pd.Series, what: str) -> tuple[int, float]:
    if row[["numerator", "denominator"]].isna().any():
        raise StudyInputError(
            f"ascof: {what} has no numerator or denominator ({row['flags'] or 'missing'}, "
            f"Excel rows {row['rows']})"
        )
    return int(row["numerator"]), float(row["denominator"])


def _area_row(measure: str, area: str, k: int, n: float, alpha: float, note: str) -> dict:
    kind, scale, what = ASCOF_MEASURES[measure]
    if kind == "rate":
        est, lo, hi = rates.garwood_rate_ci(k, n / scale, alpha=alpha)
        method = rates.GARWOOD
    else:
        est = scale * k / n
        lo, hi = (scale * x for x in proportions.wilson_interval(k, int(n), alpha=alpha))
        method = f"{proportions.WILSON} (percent)"
    return {
        "quantity": f"ASCOF {measure} {area}, {ASCOF_YEAR}",
        "estimate": est,
        "ci_low": lo,
        "ci_high": hi,
        "level": 1 - alpha,
        "method": method,
        "n": n,
        "note": f"{k:,} / {n:,.0f}; {what}" + (f"; {note}" if note else ""),
    }


def _versus_row(
    measure: str, council: str, comparator: str, k1: int, n1: float, k0: int, n0: float, alpha
) -> dict:
    kind, scale, _ = ASCOF_MEASURES[measure]
    if kind == "rate":
        est, lo, hi, p = rates.exact_rate_ratio_ci(k1, n1, k0, n0, alpha=alpha)
        what, method = "rate ratio", rates.EXACT_CONDITIONAL
    else:
        d, lo, hi = proportions.newcombe_difference_ci(k1, int(n1), k0, int(n0), alpha=alpha)
        est, lo, hi = scale * d, scale * lo, scale * hi
        what, method = "difference (percentage points)", f"{proportions.NEWCOMBE} (percent)"
        p = np.nan
    return {
        "quantity": f"ASCOF {measure} {council} vs {comparator}, {what}, {ASCOF_YEAR}",
        "estimate": est,
        "ci_low": lo,
        "ci_high": hi,
        "level": 1 - alpha,
        "method": method,
        "n": n1 + n0,
        "p_value": p,
        "note": f"{k1:,} / {n1:,.0f} vs {k0:,} / {n0:,.0f}",
    }


def ascof_estimates(
    ascof: pd.DataFrame,
    councils: Sequence[str],
    measures: Sequence[str] = tuple(ASCOF_MEASURES),
    *,
    oflog: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Per council (ONS codes) and ASCOF measure: the council's value, each comparator's
    (London / England without the council where it contains it) and the council against each
    comparator (module docs for the methods). With `oflog` (`read_oflog_measures`), each
    council's 2D row notes Oflog ASC5 of the same year. Columns council, measure, comparator,
    kind ('area' or 'versus') name each row."""
    unknown = [m for m in measures if m not in ASCOF_MEASURES]
    if unknown:
        raise StudyInputError(f"ascof measures must be among {list(ASCOF_MEASURES)}: {unknown}")
    rows = []
    codes = [*councils, *ASCOF_COMPARATORS.values()]
    for measure in measures:
        counts = ascof_data.measure_counts(ascof, measure, codes).set_index("geography_code")
        for code in councils:
            council = counts.loc[code, "name"]
            k1, n1 = _counts(counts.loc[code], f"{council} {measure}")
            note = ""
            if measure == "2D" and oflog is not None:
                note = _oflog_note(oflog, code, counts.loc[code, "outcome"])
            rows.append(
                _area_row(measure, council, k1, n1, alpha, note)
                | {"council": council, "measure": measure, "comparator": "", "kind": "area"}
            )
            for area, whole in ASCOF_COMPARATORS.items():
                k0, n0 = _counts(counts.loc[whole], f"{area} {measure}")
                label = area
                if _contains(whole, code):
                    k0, n0, label = k0 - k1, n0 - n1, f"{area} without {council}"
                rows.append(
                    _area_row(measure, label, k0, n0, alpha, "")
                    | {"council": council, "measure": measure, "comparator": label, "kind": "area"}
                )
                rows.append(
                    _versus_row(measure, council, label, k1, n1, k0, n0, alpha)
                    | {
                        "council": council,
                        "measure": measure,
                        "comparator": label,
                        "kind": "versus",
                    }  # fmt: skip
                )
    return estimate_table(rows)


def _oflog_note(oflog: pd.DataFrame, code: str, outcome: float) -> str:
    asc5 = oflog[
        (oflog["measure"] == "ASC5")
        & (oflog["geography_code"] == code)
        & (oflog["year"] == ASCOF_YEAR)
    ]["value"]
    if asc5.empty or pd.isna(asc5.iloc[0]):
        return f"no Oflog ASC5 {ASCOF_YEAR} value to check against"
    same = "equals" if abs(asc5.iloc[0] - outcome) < 0.05 else "differs from"
    return f"published 2D {outcome:g} {same} Oflog ASC5 {ASCOF_YEAR} {asc5.iloc[0]:g}"


def ascof_against_oflog(ascof: pd.DataFrame, oflog: pd.DataFrame) -> pd.DataFrame:
    """ASCOF 2D outcome against Oflog ASC5 of the same year for every council in both files:
    geography_code, name, ascof_2d, oflog_asc5, difference."""
    d = ascof[
        (ascof["measure"] == "2D")
        & (ascof["disaggregation"] == "Total")
        & (ascof["measure_type"] == "Outcome")
        & (ascof["level"] == "Council")
    ].set_index("geography_code")
    o = oflog[(oflog["measure"] == "ASC5") & (oflog["year"] == ASCOF_YEAR)]
    o = o.set_index("geography_code")["value"]
    out = pd.DataFrame({"name": d["name"], "ascof_2d": d["value"], "oflog_asc5": o}).dropna()
    out["difference"] = out["ascof_2d"] - out["oflog_asc5"]
    return out.rename_axis("geography_code").reset_index()


def margin_of_error_check(ascof: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Every percentage outcome with an ASCOF margin of error (2020-21: the survey measures of
    the councils that ran the survey) against the half-width of the Wilson interval on its base
    (respondents): measure, geography_code, outcome, base, margin_of_error, wilson_half_width,
    ratio. ASCOF's margin reflects survey weighting, so the two agree only roughly."""
    wide = ascof[ascof["geography_code"] != ""].pivot_table(
        index=["geography_code", "measure"], columns="measure_type", values="value"
    )
    need = ["Outcome", "Base", "Margin Of Error"]
    if any(c not in wide.columns for c in need):
        return pd.DataFrame(columns=["measure", "geography_code", "outcome", "base"])
    wide = wide.dropna(subset=need)
    groups = ascof.drop_duplicates("measure").set_index("measure")["group"]
    percent = ~groups.reindex(wide.index.get_level_values("measure")).isin(SCORE_GROUPS)
    wide = wide[percent.to_numpy()]
    half = [
        100 * (hi - lo) / 2
        for lo, hi in (
            proportions.wilson_interval(round(p / 100 * b), int(b), alpha=alpha)
            for p, b in zip(wide["Outcome"], wide["Base"], strict=True)
        )
    ]
    out = pd.DataFrame(
        {
            "outcome": wide["Outcome"],
            "base": wide["Base"],
            "margin_of_error": wide["Margin Of Error"],
            "wilson_half_width": half,
        }
    )
    out["ratio"] = out["margin_of_error"] / out["wilson_half_width"]
    return out.reset_index()[
        [
            "measure",
            "geography_code",
            "outcome",
            "base",
            "margin_of_error",
            "wilson_half_width",
            "ratio",
        ]  # fmt: skip
    ]


def _site(name: str) -> str:
    return name.lower() if name in ("Harrow", "Birmingham") else "national"


def ascof_sentence(table: pd.DataFrame, checked: pd.DataFrame | None, moe_given: bool) -> str:
    """Each council against England without it, per measure, and the checks made."""
    versus = table[(table["kind"] == "versus") & table["comparator"].str.startswith("England")]
    parts = []
    for council, rows in versus.groupby("council", sort=False):
        parts.append(
            f"{council}: "
            + ", ".join(
                f"{r.measure} {r.estimate:.2f} ({r.ci_low:.2f} to {r.ci_high:.2f})"
                for r in rows.itertuples(index=False)
            )
        )
    text = (
        f"ASCOF {ASCOF_YEAR} against England without the council (rate ratios for 2A1/2A2, "
        f"exact conditional; differences in percentage points for 2B1/2B2/2D, Newcombe): "
        + "; ".join(parts)
        + "."
    )
    if not moe_given:
        text += " ASCOF gives no margin of error for these five measures."
    if checked is not None and not checked.empty:
        same = int((checked["difference"].abs() < 0.05).sum())
        text += (
            f" ASCOF 2D equals Oflog ASC5 {ASCOF_YEAR} for {same} of {len(checked)} councils "
            "in both files."
        )
    return text


def ascof_comparison(
    ascof: pd.DataFrame | None,
    councils: Sequence[str],
    *,
    ascof_file: str | Path | None,
    oflog: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> AnalysisResult:
    """ASCOF section: `ascof_estimates` for `councils` (ONS codes, e.g. the keys of
    `treated_councils`) labelled with the council's site, the view (estimates with intervals)
    and the sentence; `tables`: ascof (every row), ascof_vs_oflog (`ascof_against_oflog`,
    with `oflog`). `ascof` None: no rows, and the text says why."""
    if ascof is None:
        return AnalysisResult(table=pd.DataFrame(), text=ASCOF_SKIPPED)
    table = ascof_estimates(ascof, councils, oflog=oflog, alpha=alpha)
    name = Path(ascof_file).name if ascof_file else ascof_data.ASCOF_FILE
    source = f"{name} (NHS Digital ASCOF {ASCOF_YEAR} open data)"
    parts = [
        labelled(rows, site=_site(council), data_kind="published", source=source)
        for council, rows in table.groupby("council", sort=False)
    ]
    checked = ascof_against_oflog(ascof, oflog) if oflog is not None else None
    moe = ascof[
        ascof["measure"].isin(list(ASCOF_MEASURES))
        & (ascof["measure_type"] == "Margin Of Error")
        & ascof["value"].notna()
    ]
    tables = {"ascof": table}
    if checked is not None:
        tables["ascof_vs_oflog"] = checked
    return AnalysisResult(
        table=pd.concat(parts, ignore_index=True),
        text=ascof_sentence(table, checked, not moe.empty),
        view=table[table["kind"] == "versus"][[*ASCOF_SHOW]].round(3).reset_index(drop=True),
        tables=tables,
    )


__all__ = [
    "ASCOF_MEASURES",
    "ASCOF_COMPARATORS",
    "find_external",
    "ascof_estimates",
    "ascof_against_oflog",
    "margin_of_error_check",
    "ascof_comparison",
    "declared_periods",
    "wave_dates",
    "start_agreement",
    "care_home_covid_context",
]


# --- Covid-19 context: ONS weekly care-home deaths, first wave (study.data.care_home_deaths) ---

COVID_CAUSE = "involving COVID-19"
WAVE_PERIOD = "covid_wave_1"
CARE_HOME_SKIPPED = (
    "The Covid-19 care-home context was not shown: the ONS care-home deaths workbook is not in "
    "the external folder (give care_home_deaths_path or set $STUDY_EXTERNAL_DIR)."
)


def declared_periods(notebook: str = "03") -> dict:
    """The default `periods` of `notebook` as declared in `study.run.parameters` (not typed)."""
    from study.run.parameters import BY_NAME

    return BY_NAME["periods"].default_in(notebook)


def wave_dates(deaths: pd.DataFrame, codes: Sequence[str], *, fall_share: float) -> pd.DataFrame:
    """Per council (ONS codes), from its weekly care-home deaths involving COVID-19: the first
    week with such a death, the peak week (the first if tied) and its deaths, and the first week
    after the peak with deaths at or below `fall_share` x peak (NaT if not within the data).
    Weeks are ONS weeks, Saturday to Friday (week_ending a Friday). Columns geography_code,
    name, first_week, peak_week, peak_deaths, fall_week, last_week, wave_deaths, all_cause."""
    if not 0 < fall_share < 1:
        raise StudyInputError(f"fall_share must be between 0 and 1, got {fall_share}")
    rows = []
    for code in codes:
        sub = deaths[deaths["geography_code"] == code].sort_values("week_ending")
        covid = sub[sub["cause"] == COVID_CAUSE].set_index("week_ending")["deaths"]
        if covid.empty:
            raise StudyInputError(f"care-home deaths: no {COVID_CAUSE} rows for {code}")
        if covid.sum() == 0:
            raise StudyInputError(f"care-home deaths: no deaths {COVID_CAUSE} for {code}")
        peak_week = covid.idxmax()
        after = covid[covid.index > peak_week]
        fallen = after[after <= fall_share * covid.max()]
        rows.append(
            {
                "geography_code": code,
                "name": sub["name"].iloc[0],
                "first_week": covid[covid > 0].index[0],
                "peak_week": peak_week,
                "peak_deaths": int(covid.max()),
                "fall_week": fallen.index[0] if len(fallen) else pd.NaT,
                "last_week": covid.index[-1],
                "wave_deaths": int(covid.sum()),
                "all_cause": int(sub.loc[sub["cause"] != COVID_CAUSE, "deaths"].sum()),
            }
        )
    return pd.DataFrame(rows)


def _week(end: pd.Timestamp) -> str:
    return f"the week ending {end:%d %B %Y}".replace(" 0", " ")


def start_agreement(dates: pd.DataFrame, start: str, *, agreement_days: int) -> pd.DataFrame:
    """Days from each council's first week with a care-home death involving COVID-19 (Saturday
    to Friday) to `start`: 0 inside the week, negative before it, positive after; `agrees`
    when within `agreement_days` of the week."""
    start_day = pd.Timestamp(start)
    out = dates[["geography_code", "name", "first_week"]].copy()
    first_day = out["first_week"] - pd.Timedelta(days=6)
    out["days"] = [
        (start_day - a).days if start_day < a else max(0, (start_day - b).days)
        for a, b in zip(first_day, out["first_week"], strict=True)
    ]
    out["agrees"] = out["days"].abs() <= agreement_days
    return out


def load_care_home_deaths(path: str | Path = "") -> tuple[pd.DataFrame | None, Path | None]:
    """The ONS care-home deaths workbook (`path`, empty: the external folder) read by
    `read_care_home_deaths`, and its path; (None, None) when it is not there."""
    from study.data import care_home_deaths

    deaths_file = find_external(path, care_home_deaths.CARE_HOME_DEATHS_FILE)
    if deaths_file is None:
        return None, None
    return care_home_deaths.read_care_home_deaths(deaths_file), deaths_file


def care_home_sentence(
    dates: pd.DataFrame,
    agreement: pd.DataFrame,
    start: str,
    *,
    fall_share: float,
    days: int,
    whose: str = "Notebook 03's default",
) -> str:
    """The wave's dates per council and whether `whose` covid_wave_1 start agrees."""
    parts = []
    for r in dates.itertuples(index=False):
        fall = (
            f"fell to {fall_share:.0%} of the peak or below in {_week(r.fall_week)}"
            if pd.notna(r.fall_week)
            else f"had not fallen to {fall_share:.0%} of the peak by {_week(r.last_week)}"
        )
        parts.append(
            f"{r.name}: first care-home death involving COVID-19 in {_week(r.first_week)}, peak "
            f"{r.peak_deaths} in {_week(r.peak_week)}; deaths {fall}"
        )
    agree = [
        f"{r.name} {'agrees' if r.agrees else 'does not agree'} ({abs(r.days)} days "
        f"{'after' if r.days > 0 else 'before' if r.days < 0 else 'inside'} its first week)"
        for r in agreement.itertuples(index=False)
    ]
    verdict = "agrees" if agreement["agrees"].all() else "does not agree"
    return (
        "ONS weekly deaths of care-home residents (first wave, deaths occurring): "
        + "; ".join(parts)
        + f". {whose} {WAVE_PERIOD} start ({start}) {verdict} with the first "
        f"week of care-home deaths involving COVID-19 (within {days} days): "
        + ", ".join(agree)
        + "."
    )


def care_home_covid_context(
    deaths: pd.DataFrame | None,
    codes: Sequence[str],
    periods: Mapping[str, Mapping] | None = None,
    *,
    fall_share: float = 0.5,
    agreement_days: int = 7,
    deaths_file: str | Path | None = None,
    whose: str = "Notebook 03's default",
) -> AnalysisResult:
    """Covid-19 context: weekly care-home deaths of the councils `codes` (ONS codes) from
    `read_care_home_deaths`, the dates they imply (`wave_dates`) beside the Covid `periods`
    (default: notebook 03's declared defaults, `declared_periods`), and whether their
    `covid_wave_1` start agrees (`start_agreement`). No estimates (descriptive counts); view:
    the dates with the agreement; figure care_home_deaths; `tables`: dates, weekly.
    `deaths` None: nothing shown, and the text says why."""
    from study.plots.national import plot_care_home_deaths

    if deaths is None:
        return AnalysisResult(table=pd.DataFrame(), text=CARE_HOME_SKIPPED)
    periods = declared_periods("03") if periods is None else periods
    if WAVE_PERIOD not in periods:
        raise StudyInputError(f"periods: no {WAVE_PERIOD!r} period (have {list(periods)})")
    start = str(periods[WAVE_PERIOD]["start"])
    dates = wave_dates(deaths, codes, fall_share=fall_share)
    agreement = start_agreement(dates, start, agreement_days=agreement_days)
    view = dates.merge(agreement[["geography_code", "days", "agrees"]], on="geography_code")
    view = view.rename(columns={"days": f"days from first week to {WAVE_PERIOD} start"})
    weekly = deaths[deaths["geography_code"].isin(list(codes))]
    name = Path(deaths_file).name if deaths_file else "ONS care-home deaths workbook"
    covid_periods = {k: v for k, v in periods.items() if k.startswith("covid")}
    return AnalysisResult(
        table=pd.DataFrame(),
        text=care_home_sentence(
            dates, agreement, start, fall_share=fall_share, days=agreement_days, whose=whose
        ),
        view=view.drop(columns=["geography_code", "last_week"]),
        figures={
            "care_home_deaths": plot_care_home_deaths(
                weekly,
                covid_periods,
                title=f"Weekly deaths of care-home residents, first wave ({name})",
            )
        },
        tables={"dates": dates, "weekly": weekly},
    )
