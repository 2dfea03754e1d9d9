"""Coverage of the ITS confidence intervals by simulation (a script, not a timed test).

Each replicate is a Harrow-like weekly series: 156 weeks from 2017-09-04, mean about 7 starts a
week, a gentle downward trend, an annual cycle (amplitude 0.1 on the log scale), and one
intervention on 2019-06-03 (week 91) with a true level change of log(0.8) and no slope change.
Three noise scenarios:

- ``poisson``: Poisson counts around the mean (the count models are correct);
- ``ar1``: Poisson counts around mean x exp(u_t), u a stationary AR(1) on the log scale
  (rho = 0.4, marginal sd = 0.15): extra-Poisson variation that is autocorrelated;
- ``ar1_rho0.4``, ``ar1_rho0.6``, ``ar1_rho0.8``: the same with marginal sd 0.25 and rho 0.4,
  0.6, 0.8 (stronger autocorrelated overdispersion, as weekly social-care counts often show);
- ``monthly_rho0.4``, ``monthly_rho0.6``: a 60-month series from 2015-01-01 (about 30 a month,
  trend -0.005 a month, annual cycle amplitude 0.1 with period 12), one intervention on
  2018-01-01 (month 36, level log(0.8)), AR(1) noise with sd 0.15 and rho 0.4 / 0.6, fitted
  with `freq="monthly"`; avoided starts over the 12 months from the intervention;
- ``nb``: negative binomial counts (NB2, alpha = 0.1), independent over weeks;
- ``harrow_nb``: the full Harrow-like design of notebook 03 with NB2 noise (alpha = 0.1): 156
  weeks from 2018-04-02, mean about 7 a week, the same trend and cycle, and the notebook's
  periods, fitted as in the notebook (`HARROW_PERIODS`): the early intervention team (context,
  level + slope; true change 0), innovation site 1 (level + slope; true level change log(0.8),
  slope 0), innovation site 2 (level only; true change 0), Covid-19 wave 1 (context, level +
  slope; true level log(0.7), slope +0.006 a week) and wave 2 (context, level + slope; true level
  log(1.15)). The avoided starts are summed over the notebook's `pre_covid_innovation` window
  (2019-06-03 to 2020-03-22, 42 weeks), where the truth is the site 1 level change alone.

Every family in `study.its.FAMILIES` is fitted with one harmonic and a level + slope term (in
``harrow_nb``, the notebook's periods); we record whether the 95% interval covers the truth for
(a) the level change (log rate ratio; count families only: OLS estimates an additive change) and
(b) the total avoided starts over the 52 weeks from the intervention (``harrow_nb``: the 42-week
pre-Covid window), from 500 coefficient draws per fit; truth = expected counterfactual minus
expected actual starts, including the noise's mean factor exp(sd^2/2) in the AR(1) scenario.

Run: `.venv/bin/python benchmarks/its_coverage.py [--reps 500] [--workers 2]`; prints the table
and rewrites the ITS coverage block of benchmarks/README.md.

`--mc-error [--seeds 50]` instead measures the Monte Carlo error of notebook 03's counterfactual
limits at its default parameters (the committed weekly synthetic series, the default family and
`n_draws`): the SD of each 95% limit of every window row across seeds beside the SE each run
reports (`study.its.quantile_mc_se`), as a share of the size of the estimate (floor: 1%), and
rewrites the ITS Monte Carlo block of benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import math
import platform
import re
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from study import its

N_WEEKS = 156
START = "2019-06-03"
LEVEL = math.log(0.8)
PERIODS = {"innovation": START}
WINDOW = ("2019-06-03", "2020-05-25")  # 52 weeks from the intervention
SINGLE = {
    "first_week": "2017-09-04",
    "periods": PERIODS,
    "level_log": {"innovation": LEVEL},
    "slope_log": {},
    "term": "level_innovation",
    "window": WINDOW,
}
HARROW_PERIODS = {  # the `periods` parameter of notebooks/03_interrupted_time_series.ipynb
    "early_intervention_team": {"start": "2018-09-03", "kind": "context"},
    "innovation_site_1": {"start": "2019-06-03", "kind": "intervention"},
    "innovation_site_2": {"start": "2019-09-09", "kind": "intervention", "slope": False},
    "covid_wave_1": {"start": "2020-03-23", "kind": "context"},
    "covid_wave_2": {"start": "2020-11-05", "kind": "context"},
}
HARROW = {
    "first_week": "2018-04-02",
    "periods": HARROW_PERIODS,
    "level_log": {
        "innovation_site_1": LEVEL,
        "covid_wave_1": math.log(0.7),
        "covid_wave_2": math.log(1.15),
    },
    "slope_log": {"covid_wave_1": 0.006},
    "term": "level_innovation_site_1",
    "window": ("2019-06-03", "2020-03-22"),  # the notebook's pre_covid_innovation window
}
MONTHLY = {
    "first_week": "2015-01-01",
    "periods": {"innovation": "2018-01-01"},
    "level_log": {"innovation": LEVEL},
    "slope_log": {},
    "term": "level_innovation",
    "window": ("2018-01-01", "2018-12-01"),
    "freq": "monthly",
    "n": 60,
    "baseline": 30.0,
    "trend": -0.005,
}
SCENARIOS = {  # name -> (design, noise)
    "poisson": (SINGLE, {}),
    "ar1": (SINGLE, {"ar1_rho": 0.4, "ar1_sd": 0.15}),
    "ar1_rho0.4": (SINGLE, {"ar1_rho": 0.4, "ar1_sd": 0.25}),
    "ar1_rho0.6": (SINGLE, {"ar1_rho": 0.6, "ar1_sd": 0.25}),
    "ar1_rho0.8": (SINGLE, {"ar1_rho": 0.8, "ar1_sd": 0.25}),
    "nb": (SINGLE, {"nb_alpha": 0.1}),
    "harrow_nb": (HARROW, {"nb_alpha": 0.1}),
    "monthly_rho0.4": (MONTHLY, {"ar1_rho": 0.4, "ar1_sd": 0.15}),
    "monthly_rho0.6": (MONTHLY, {"ar1_rho": 0.6, "ar1_sd": 0.15}),
}
N_DRAWS = 500
README = Path(__file__).with_name("README.md")
BEGIN, END = "<!-- its-coverage:begin -->", "<!-- its-coverage:end -->"
MC_BEGIN, MC_END = "<!-- its-mc:begin -->", "<!-- its-mc:end -->"


def scenario_series(scenario: str, rep: int):
    """Replicate `rep` of `scenario` (its own seed): the simulated series, the weeks of its
    window (mask) and the true avoided count over them (mean x (1/RR - 1) x the noise mean)."""
    design, noise = SCENARIOS[scenario]
    window = design["window"]
    data = its.simulate_its_counts(
        design.get("n", N_WEEKS),
        first_week=design["first_week"],
        baseline_per_week=design.get("baseline", 7.0),
        trend_log_per_week=design.get("trend", -0.0015),
        freq=design.get("freq", "weekly"),
        periods=design["periods"],
        level_log=design["level_log"],
        slope_log=design["slope_log"],
        season_amplitude_log=0.1,
        seed=1_000_003 * (list(SCENARIOS).index(scenario) + 1) + rep,
        **noise,
    )
    weeks = data["week_start"]
    in_w = ((weeks >= window[0]) & (weeks <= window[1])).to_numpy()
    noise_mean = math.exp(noise.get("ar1_sd", 0.0) ** 2 / 2)
    true_avoided = float(data["mean"][in_w].sum() * (math.exp(-LEVEL) - 1) * noise_mean)
    return data, in_w, true_avoided


def one_replicate(args: tuple) -> list[dict]:
    scenario, rep = args[:2]
    families = args[2] if len(args) > 2 else its.FAMILIES
    design = SCENARIOS[scenario][0]
    periods, window = design["periods"], design["window"]
    freq = design.get("freq", "weekly")
    data, _, true_avoided = scenario_series(scenario, rep)
    rows = []
    for family in families:
        fit = its.fit_its(data, periods, family=family, harmonics=1, freq=freq)
        row = {"scenario": scenario, "rep": rep, "family": family}
        level = fit.table[fit.table["quantity"] == f"coef {design['term']}"].iloc[0]
        if family in its.COUNT_FAMILIES:
            row["level_est"] = level["estimate"]
            row["level_cover"] = level["ci_low"] <= LEVEL <= level["ci_high"]
            row["level_width"] = level["ci_high"] - level["ci_low"]
        cf = its.counterfactual_effect(fit, {"w": window}, n_draws=N_DRAWS, seed=rep)
        av = cf.table[cf.table["quantity"] == "avoided w"].iloc[0]
        row["avoided_err"] = av["estimate"] - true_avoided
        row["avoided_cover"] = av["ci_low"] <= true_avoided <= av["ci_high"]
        row["avoided_width"] = av["ci_high"] - av["ci_low"]
        row["true_avoided"] = true_avoided
        rows.append(row)
    return rows


def summarise(raw: pd.DataFrame) -> pd.DataFrame:
    g = raw.groupby(["scenario", "family"], sort=False)
    out = pd.DataFrame(
        {
            "reps": g.size(),
            "level coverage": g["level_cover"].mean(),
            "level bias": g["level_est"].mean() - LEVEL,
            "level CI width": g["level_width"].mean(),
            "avoided coverage": g["avoided_cover"].mean(),
            "avoided bias": g["avoided_err"].mean(),
            "avoided CI width": g["avoided_width"].mean(),
        }
    )
    return out.reset_index()


def to_markdown(table: pd.DataFrame, reps: int, seconds: float) -> str:
    mcse = 100 * math.sqrt(0.95 * 0.05 / reps)
    lines = [
        "| scenario | family | level coverage | level bias | level CI width "
        "| avoided coverage | avoided bias | avoided CI width |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in table.itertuples(index=False):
        lv = "–" if pd.isna(r[3]) else f"{100 * r[3]:.1f}%"
        lb = "–" if pd.isna(r[4]) else f"{r[4]:+.3f}"
        lw = "–" if pd.isna(r[5]) else f"{r[5]:.3f}"
        lines.append(
            f"| {r[0]} | {r[1]} | {lv} | {lb} | {lw} | {100 * r[6]:.1f}% | {r[7]:+.1f} "
            f"| {r[8]:.1f} |"
        )
    head = (
        f"{reps} series per scenario (nominal 95%; Monte Carlo SE of a coverage near 95% = "
        f"{mcse:.1f} points; the 95% band of a correct 95% interval's coverage is "
        f"{95 - 1.96 * mcse:.1f}-{95 + 1.96 * mcse:.1f}%). Level: log rate ratio, "
        f"truth log(0.8) = {LEVEL:.3f} (harrow_nb: "
        "innovation site 1 in the notebook's five-period design). Avoided: starts over 52 "
        "weeks (harrow_nb: the 42-week pre_covid_innovation window; monthly: 12 months), "
        f"{N_DRAWS} coefficient draws per fit. Run time {seconds:.0f} s "
        f"({platform.system()} {platform.machine()}, Python {platform.python_version()}, "
        f"numpy {np.__version__})."
    )
    return head + "\n\n" + "\n".join(lines)


def merge_previous_rows(block: str, families: tuple[str, ...]) -> str:
    """Keep the README table's rows of the families not re-run (`--families`), in order."""
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    old = text[text.find(BEGIN) : text.find(END)] if BEGIN in text else ""
    old_rows = [ln for ln in old.splitlines() if ln.startswith("| ") and " --- " not in ln]
    old_rows = [ln for ln in old_rows[1:] if ln.split(" | ")[1] not in families]
    head, _, table = block.partition("\n\n")
    lines = table.splitlines()
    new_rows = lines[2:]
    order = {f: i for i, f in enumerate(its.FAMILIES)}
    scen = {s: i for i, s in enumerate(SCENARIOS)}
    rows = sorted(
        old_rows + new_rows,
        key=lambda ln: (scen.get(ln.split(" | ")[0][2:], 99), order.get(ln.split(" | ")[1], 99)),
    )
    note = (
        f" Rows of {', '.join(f'`{f}`' for f in families)} are from this run; the other "
        "families' rows are kept from the previous full run (same series and seeds, 200 "
        "series, 719 s)."
    )
    return head + note + "\n\n" + "\n".join(lines[:2] + rows)


def write_readme(block: str) -> None:
    intro = (
        "## ITS interval coverage (`its_coverage.py`)\n\n"
        "Simulated weekly series with a known level change and, for the `monthly_*` rows, a "
        "60-month series (see the script's docstring for every design). Run: "
        "`.venv/bin/python benchmarks/its_coverage.py [--reps N]` (the table below: `--reps "
        "200`, 12 minutes on 2 shared cores; 200 rather than 500 series to fit the time, so the "
        "Monte Carlo SE of each coverage is 1.5 points, stated below).\n\n"
        "**Autocorrelation.** Under AR(1) extra-Poisson noise (sd 0.25 on the log scale) every "
        "independence-based family loses coverage as rho grows: quasi-Poisson 91.5% / 84.5% / "
        "75.0% for the level change at rho 0.4 / 0.6 / 0.8, and Newey-West (`poisson_hac`, "
        "lag 4) repairs little (90.0% / 85.0% / 78.5%). `quasi_poisson_ar1` (Poisson "
        "coefficients, sandwich covariance of a latent AR(1) process, Zeger 1988, variance "
        "components by REML; `study.its.autocorrelation`) is the only method measured that "
        "stays near nominal: level change 95.5% / 93.0% / 91.0% (weekly) and 96.0% / 92.5% "
        "(monthly, rho 0.4 / 0.6), avoided starts 94.5% / 91.0% / 90.0% and 92.5% / 90.5%, at "
        "the price of wider intervals (width columns), and it stays at 95-97% when there is no "
        "autocorrelation (poisson, nb, harrow_nb rows). It was chosen over the alternatives by "
        "a pilot (400 / 300 series, weekly rho 0.6 "
        "level change, a prototype outside the package): Zeger's residual-moment "
        "estimate of rho is biased "
        "towards zero in series this short (mean 0.43 at rho 0.6, coverage 91.5%), REML much "
        "less (0.52). Its avoided-start coverage at rho 0.6 (91.0% weekly, 90.5% monthly) is "
        "still below the 93-97% target by more than one Monte Carlo SE.\n\n"
        "**Corrections tried for `quasi_poisson_ar1` (2026-12-01, prototype outside the "
        "package on this script's series and seeds; none reaches 93% for the avoided starts "
        "at rho 0.6).** Avoided-start coverage, weekly rho 0.4 / 0.6 "
        "and monthly rho 0.4 / 0.6, 200 series each (MC SE 1.5 points): the present method "
        "(normal coefficient draws, REML plug-in) 94.5 / 91.0 / 92.5 / 90.5%; (1) Student t "
        "coefficient draws with n - p df: 94.0 / 91.0 / 92.5 / 91.5% (level change 95.5 / "
        "94.0 / 94.5 / 92.5%), widths +1-4%; (2) the REML uncertainty of (s2, rho) carried "
        "into the draws (50 draws of (log s2, atanh rho) from the inverse Hessian of the "
        "restricted likelihood, a covariance per draw): unusable, mean widths 4-18 times "
        "the plug-in's (69 times with no autocorrelation) because the latent rho is weakly "
        "identified next to the Poisson noise (delta-method SE of rho-hat 0.25 weekly, 1-2 "
        "monthly); (3) a parametric "
        "bootstrap bias correction of rho (20 series simulated from the fit, rho-hat' = 2 "
        "rho-hat - mean rho*; 50 series per scenario, MC SE 3 points): mean rho 0.52 -> 0.61 "
        "weekly and 0.37 -> 0.45 monthly at rho 0.6, avoided coverage 92 -> 92% weekly and "
        "92 -> 90% monthly (94 / 92% with t draws), widths +4-11%, at about 20 times the fit "
        "time; correcting s2 as well shrank the intervals (10 series). The REML rho bias "
        "(mean 0.52-0.54 at a true 0.6 weekly, 0.37-0.45 monthly) is the main remaining "
        "cause; the candidates measured since are in the section after this table.\n\n"
        "**Default family: `poisson_hac_ar1`** (2026-12-01; "
        "`notebooks/03_interrupted_time_series.ipynb` and 04; `study.its.hac_ar1`): Poisson GLM "
        "coefficients, Newey-West HAC covariance with lag floor(sqrt(n)) (12 weekly, 7 "
        "monthly), and critical values simulated from the fitted latent AR(1) model (2,000 "
        "linearised series; a parametric reference for the HAC t statistic in the spirit of "
        "fixed-b inference) instead of 1.96. Chosen by measurement over every candidate in "
        "the section after this table: it is the only method whose avoided-start interval "
        "is at 93-97% "
        "in all four autocorrelated designs (95.0 / 93.0% weekly at rho 0.4 / 0.6, 96.0 / "
        "94.0% monthly), level change 94.0 / 93.5% weekly and 92.5 / 94.0% monthly (92.5% is "
        "within one Monte Carlo SE of the 93% floor, not above it), 94.0 / 97.5% with Poisson "
        "counts. Price: wider intervals than `quasi_poisson_ar1` (avoided width +18-21%) and, "
        "without autocorrelation, than quasi-Poisson (+33% with Poisson counts); it also holds at "
        "rho 0.8 (93.0 / 94.5%) and with nb noise (95.5 / 94.0%), but on notebook 03's full "
        "16-coefficient design (harrow_nb) its avoided interval is 77% wider than "
        "quasi-Poisson's (coverage 95.5% against 94.0%). The controlled ITS (two series) "
        "refuses this "
        "family; notebook 03 fits it with `quasi_poisson_ar1` and says so. The `harrow_nb` "
        "rows fit the notebook's full design (16 coefficients); the positive mean avoided bias "
        "of the count families there comes from a right-skewed estimator (the counterfactual "
        "exponentiates a pre-trend estimated from 39 weeks; the median error is near zero), "
        "not from shifted intervals.\n\n"
    )
    section = f"{BEGIN}\n{intro}{block}\n{END}"
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    if BEGIN in text and END in text:
        text = re.sub(
            re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S
        )
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section + "\n"
    README.write_text(text, encoding="utf-8")


def notebook_03_setup() -> tuple[object, int]:
    """Notebook 03's fit at its declared defaults and its default n_draws."""
    from study import config
    from study.analyses import interrupted_time_series as its_analysis
    from study.data.records import read_records
    from study.run.parameters import BY_NAME

    def d(name: str) -> object:
        return BY_NAME[name].default_in("03")

    weekly = read_records(config.resolve_path(d("weekly_path")), "weekly")
    setup = its_analysis.prepare(
        weekly,
        **{k: d(k) for k in ("site", "series", "periods", "windows", "last_week", "family")},
        comparison_site="",
        harmonics=d("harmonics"),
        exposure=d("exposure"),
        transition_weeks=d("transition_weeks"),
        alpha=d("alpha"),
        data_kind=config.data_kind(d("weekly_path")),
        source=d("weekly_path"),
        frequency=d("frequency"),
        seasonal_period=d("seasonal_period"),
    )
    return setup, int(d("n_draws"))


def mc_error(seeds: int, draws: list[int]) -> str:
    """Markdown table: SD of each limit across `seeds` seeds vs the reported SE (module docs)."""
    setup, default_draws = notebook_03_setup()
    draws = draws or [default_draws]
    rows = []
    for n_draws in draws:
        runs = [
            its.counterfactual_effect(setup.fit, setup.windows, n_draws=n_draws, seed=s).table
            for s in range(seeds)
        ]
        t = pd.concat(runs)
        t = t[t["measure"].isin(["avoided", "relative change"])]
        for q, g in t.groupby("quantity", sort=False):
            est = abs(float(g["estimate"].iloc[0]))
            for limit, col, se in (
                ("lower", "ci_low", "mc_se_low"),
                ("upper", "ci_high", "mc_se_high"),
            ):
                sd = float(g[col].std(ddof=1))
                rows.append(
                    f"| {q.split(': ', 1)[-1]} | {n_draws:,} | {limit} "
                    f"| {g['estimate'].iloc[0]:.4g} "
                    f"| {g[col].mean():.4g} | {sd:.3g} | {g[se].mean():.3g} "
                    f"| {g[se].mean() / sd:.2f} | {100 * sd / est:.2f}% "
                    f"| {'yes' if sd < 0.01 * est else 'no'} "
                    f"| {n_draws * (sd / (0.01 * est)) ** 2:,.0f} |"
                )
    head = (
        f"Notebook 03 at its defaults ({setup.family}, {len(setup.treated)} weeks of "
        f"`{setup.source}`), {seeds} seeds per draw count "
        f"(`python benchmarks/its_coverage.py --mc-error --seeds {seeds}"
        + (f" --draws {' '.join(map(str, draws))}" if draws != [default_draws] else "")
        + f"`); default n_draws {default_draws:,}.\n\n"
        "| quantity | draws | limit | estimate | mean limit | SD across seeds | reported SE "
        "| SE / SD | SD / size of estimate | under 1% | draws for 1% |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    return head + "\n".join(rows)


def write_mc_readme(block: str) -> None:
    intro = (
        "### ITS counterfactual Monte Carlo error\n\n"
        "Issue 15 asks that default draw counts keep the Monte Carlo error of every simulated "
        "limit under 1% of the estimate. For notebook 03's counterfactual intervals that floor "
        "is **not met, and the default `n_draws` is not raised**: the lower limits reach it at "
        "about 10,000-25,000 draws, but the upper limits sit in the long right tail of an "
        "exponentiated counterfactual (upper limit 4-12 times the estimate) and would need "
        "0.5-15 million draws (last column: draws x (SD / 1% of the estimate)^2); at 2,000 "
        "the lower limits are within 2-3.5% and the upper ones 6-65%. Ten times the draws "
        "(20,000) only divides these by about 3 and costs ten times the sensitivity table's "
        "18 counterfactuals. Instead every window row states the Monte Carlo SE of its two "
        "limits (`mc_se_low`, `mc_se_high`, and in `note`), and that reported SE tracks the "
        "SD measured across seeds (SE / SD 0.7-1.3). Use a larger `n_draws` where an upper "
        "limit is quoted to more than two significant figures.\n\n"
    )
    section = f"{MC_BEGIN}\n{intro}{block}\n{MC_END}"
    text = README.read_text(encoding="utf-8")
    if MC_BEGIN in text:
        text = re.sub(
            re.escape(MC_BEGIN) + ".*?" + re.escape(MC_END), lambda _: section, text, flags=re.S
        )
    else:
        text = text.replace(END, END + "\n\n" + section, 1)
    README.write_text(text, encoding="utf-8")


CAND_SCENARIOS = ("poisson", "ar1_rho0.4", "ar1_rho0.6", "monthly_rho0.4", "monthly_rho0.6")
CAND_BEGIN, CAND_END = "<!-- its-candidates:begin -->", "<!-- its-candidates:end -->"
CANDIDATES = {
    "poisson_hac_ar1": "the package family (Poisson GLM, HAC lag floor(sqrt(n)), critical "
    "values simulated from the fitted latent AR(1); `study.its.hac_ar1`), its own intervals",
    "quasi_poisson_ar1": "the package family's covariance (Zeger latent AR(1) sandwich, REML), "
    "normal z level interval and normal draws",
    "quasi_poisson": "the package family's covariance (Pearson scale), z interval, normal draws",
    "ar1_log_mle": "Gaussian AR(1)-error regression on log(y + 0.5) by exact MLE "
    "(statsmodels ARIMA order (1,0,0), exog = the ITS design), t(n - p - 1) intervals and "
    "multivariate-t draws, back-transformed with the ratio calibration sum y / sum exp(X b)",
    "qp_lrv": "quasi-Poisson covariance x (1 + r) / (1 - r), r = lag-1 autocorrelation of the "
    "Pearson residuals + (1 + 3r)/n (Kendall / Marriott-Pope bias correction), clipped to "
    "[0, 0.95]; t(n - p) intervals and multivariate-t draws",
    "poisson_hac_fixedb": "as `poisson_hac_ar1` but the reference simulated under independent "
    "errors (the fixed-b reference of Kiefer & Vogelsang 2005 for this design, b = "
    "floor(sqrt(n))/n)",
    "poisson_hac_sqrt": "Poisson GLM, Newey-West HAC (Bartlett) with lag floor(sqrt(n)), "
    "n/(n - p) correction, t(n - p) intervals and multivariate-t draws",
}


def _t_draws(beta, cov, df, n_draws, seed):
    rng = np.random.default_rng(seed)
    z = rng.multivariate_normal(np.zeros(len(beta)), cov, size=n_draws, method="eigh")
    if df is None:
        return beta + z
    return beta + z / np.sqrt(rng.chisquare(df, size=n_draws) / df)[:, None]


def _interval_row(beta, cov, df, term_i, X, X0, in_w, scale, true_avoided, seed):
    from scipy import stats

    q = stats.norm.ppf(0.975) if df is None else stats.t.ppf(0.975, df)
    se = math.sqrt(cov[term_i, term_i])
    b = _t_draws(beta, cov, df, N_DRAWS, seed)
    av = scale * (np.exp(b @ X0[in_w].T) - np.exp(b @ X[in_w].T)).sum(axis=1)
    lo, hi = np.percentile(av, [2.5, 97.5])
    point = scale * float((np.exp(X0[in_w] @ beta) - np.exp(X[in_w] @ beta)).sum())
    return {
        "level_est": float(beta[term_i]),
        "level_cover": abs(beta[term_i] - LEVEL) <= q * se,
        "level_width": 2 * q * se,
        "avoided_err": point - true_avoided,
        "avoided_cover": lo <= true_avoided <= hi,
        "avoided_width": hi - lo,
    }


def candidate_replicate(args: tuple[str, int]) -> list[dict]:
    """One series of `scenario`; every interval method of CANDIDATES (module docstring)."""
    import warnings

    import statsmodels.api as sm
    from statsmodels.tsa.arima.model import ARIMA

    scenario, rep = args
    design = SCENARIOS[scenario][0]
    freq, window = design.get("freq", "weekly"), design["window"]
    data, in_w, true_avoided = scenario_series(scenario, rep)
    base = its.fit_its(data, design["periods"], family="quasi_poisson", harmonics=1, freq=freq)
    names = list(base.design.X.columns)
    term_i = names.index(design["term"])
    X = base.design.X.to_numpy(dtype=float)
    X0 = X.copy()
    for c in base.design.intervention_terms:
        X0[:, names.index(c)] = 0.0
    y = data["count"].to_numpy(dtype=float)
    n, p = X.shape
    rows = []

    def add(method, beta, cov, df, scale=1.0):
        r = _interval_row(beta, cov, df, term_i, X, X0, in_w, scale, true_avoided, rep)
        rows.append({"scenario": scenario, "rep": rep, "family": method, **r})

    fit = its.fit_its(data, design["periods"], family="poisson_hac_ar1", harmonics=1, freq=freq)
    level = fit.table[fit.table["quantity"] == f"coef {design['term']}"].iloc[0]
    cf = its.counterfactual_effect(fit, {"w": window}, n_draws=N_DRAWS, seed=rep)
    av = cf.table[cf.table["quantity"] == "avoided w"].iloc[0]
    rows.append(
        {
            "scenario": scenario,
            "rep": rep,
            "family": "poisson_hac_ar1",
            "level_est": level["estimate"],
            "level_cover": level["ci_low"] <= LEVEL <= level["ci_high"],
            "level_width": level["ci_high"] - level["ci_low"],
            "avoided_err": av["estimate"] - true_avoided,
            "avoided_cover": av["ci_low"] <= true_avoided <= av["ci_high"],
            "avoided_width": av["ci_high"] - av["ci_low"],
        }
    )
    for family in ("quasi_poisson_ar1", "quasi_poisson"):
        fit = (
            base
            if family == "quasi_poisson"
            else its.fit_its(data, design["periods"], family=family, harmonics=1, freq=freq)
        )
        add(family, fit.params.to_numpy(), fit.cov.to_numpy(), None)
    # ar1_log_mle
    z = np.log(y + 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ARIMA(z, exog=X, order=(1, 0, 0), trend="n").fit()
    beta = np.asarray(res.params[:p])
    cov = np.asarray(res.cov_params())[:p, :p]
    add("ar1_log_mle", beta, cov, n - p - 1, scale=float(y.sum() / np.exp(X @ beta).sum()))
    # qp_lrv
    e = np.asarray(base.result.resid_pearson)
    r1 = float(np.sum(e[1:] * e[:-1]) / np.sum(e * e))
    r1 = min(max(r1 + (1 + 3 * r1) / n, 0.0), 0.95)
    add("qp_lrv", base.params.to_numpy(), base.cov.to_numpy() * (1 + r1) / (1 - r1), n - p)
    # poisson_hac_sqrt
    hac = sm.GLM(y, X, family=sm.families.Poisson()).fit(
        cov_type="HAC", cov_kwds={"maxlags": int(math.sqrt(n)), "use_correction": True}
    )
    add("poisson_hac_sqrt", np.asarray(hac.params), np.asarray(hac.cov_params()), n - p)
    # poisson_hac_fixedb: the same HAC fit, reference simulated under independent errors
    h = its.poisson_hac_ar1(y, X, None, 0.05)
    rng = np.random.default_rng(its.hac_ar1.HAC_AR1_SEED)
    e = rng.standard_normal((h.n_sim, n)) * np.sqrt(np.asarray(h.result.mu))
    crit = np.quantile(np.abs(its.hac_t_statistics(X, h.result.mu, e, h.lags)), 0.95, axis=0)
    focus = [names.index(c) for c in base.design.intervention_terms]
    scale = (max(crit[focus]) / 1.959963984540054) ** 2
    r = _interval_row(
        h.params, h.cov_hac * scale, None, term_i, X, X0, in_w, 1.0, true_avoided, rep
    )
    se = math.sqrt(h.cov_hac[term_i, term_i])
    r["level_cover"] = abs(h.params[term_i] - LEVEL) <= crit[term_i] * se
    r["level_width"] = 2 * crit[term_i] * se
    rows.append({"scenario": scenario, "rep": rep, "family": "poisson_hac_fixedb", **r})
    return rows


def candidates(reps: int, workers: int, scenarios: list[str]) -> str:
    jobs = [(s, r) for s in scenarios for r in range(reps)]
    t0 = time.perf_counter()
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(candidate_replicate, jobs, chunksize=10))
    else:
        results = [candidate_replicate(j) for j in jobs]
    seconds = time.perf_counter() - t0
    raw = pd.DataFrame([row for rows in results for row in rows])
    table = summarise(raw)
    block = to_markdown(table, reps, seconds)
    methods = "\n".join(f"- `{k}`: {v}" for k, v in CANDIDATES.items())
    return (
        f"Run: `.venv/bin/python benchmarks/its_coverage.py --candidates --reps {reps}` "
        f"(scenarios {', '.join(scenarios)}; same series and seeds as the table above).\n\n"
        f"{methods}\n\n{block}"
    )


def write_candidates_readme(block: str) -> None:
    intro = "### Interval methods tried for autocorrelated counts (`--candidates`)\n\n"
    section = f"{CAND_BEGIN}\n{intro}{block}\n{CAND_END}"
    text = README.read_text(encoding="utf-8")
    if CAND_BEGIN in text:
        text = re.sub(
            re.escape(CAND_BEGIN) + ".*?" + re.escape(CAND_END),
            lambda _: section,
            text,
            flags=re.S,
        )
    else:
        text = text.replace(END, END + "\n\n" + section, 1)
    README.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=500)
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--mc-error", action="store_true")
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--draws", type=int, nargs="*", default=[])
    parser.add_argument("--candidates", action="store_true")
    parser.add_argument("--families", nargs="*", default=[])
    args = parser.parse_args()
    if args.candidates:
        scen = args.scenarios if args.scenarios != list(SCENARIOS) else list(CAND_SCENARIOS)
        block = candidates(args.reps, args.workers, scen)
        print(block)
        if not args.no_readme:
            write_candidates_readme(block)
        return
    if args.mc_error:
        block = mc_error(args.seeds, args.draws)
        print(block)
        if not args.no_readme:
            write_mc_readme(block)
        return
    families = tuple(args.families or its.FAMILIES)
    jobs = [(s, r, families) for s in args.scenarios for r in range(args.reps)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(one_replicate, jobs, chunksize=25))
    seconds = time.perf_counter() - t0
    raw = pd.DataFrame([row for rows in results for row in rows])
    table = summarise(raw)
    block = to_markdown(table, args.reps, seconds)
    if set(families) != set(its.FAMILIES):
        block = merge_previous_rows(block, families)
    print(block)
    if not args.no_readme:
        write_readme(block)


if __name__ == "__main__":
    main()
