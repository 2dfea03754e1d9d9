"""Synthetic conversation episodes: Birmingham's six- or twelve-month window and Harrow's front
door (SYNTHETIC data, calibrated to the published figures).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from study.data.schema import SCHEMAS
from study.data.synthetic.calibration import (
    BHAM_BASELINE_LT_SHARE,
    BHAM_SITE_WEIGHTS,
    COVID_POSITIVE_SHARE,
    DEFAULT_SEED,
    FIRST_TIME_REQUESTS_PER_WEEK,
    HARROW_FIRST_WEEK,
    MEAN_DAYS,
    Calibration,
    _choose,
    _days,
    _fy_bounds,
    _ids,
    _link_persons,
    _season,
    last_full_week,
    load_calibration,
    lt_mean_per_week,
)
from study.errors import StudyInputError
from study.proportions import largest_remainder_counts

# --------------------------------------------------------------------------------------------
# Conversations


def _frame(
    site: str,
    team: np.ndarray,
    request: np.ndarray,
    conversation: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    outcome: np.ndarray,
    repeat: np.ndarray,
    covid: pd.array,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site": site,
            "team": team,
            "request_date": request,
            "conversation": pd.array(conversation, dtype="Int64"),
            "start_date": start,
            "end_date": end,
            "outcome": outcome,
            "repeat_request": repeat,
            "covid_positive": covid,
        }
    )


def _non_lt_outcomes(rng: np.random.Generator, conv: np.ndarray, usual: np.ndarray) -> np.ndarray:
    """Outcomes of completed episodes without long-term support (shares are assumptions)."""
    u = rng.random(conv.size)
    short = np.where(
        usual, u < 0.3, np.where(conv == 2, u < 0.6, np.where(conv == 3, u < 0.7, False))
    )
    return np.where(short, "short_term_support", "no_further_support")


def _durations(rng: np.random.Generator, conv: np.ndarray, usual: np.ndarray) -> np.ndarray:
    n = conv.size
    out = _days(rng, MEAN_DAYS["usual_care"], n)
    for c in (1, 2, 3):
        m = (~usual) & (conv == c)
        out[m] = _days(rng, MEAN_DAYS[f"c{c}"], int(m.sum()))
    return out


def _birmingham(rng: np.random.Generator, cal: Calibration) -> pd.DataFrame:
    """Birmingham: 1,497 3Cs episodes in the window + usual-care baseline of the 6 months before."""
    w0, w1 = cal.bham_window
    n = cal.bham_conversations
    counts = largest_remainder_counts(n, cal.bham_shares)
    conv = rng.permutation(np.repeat([1, 2, 3], counts))
    team = rng.choice(
        ["innovation_site_1", "innovation_site_2", "innovation_site_3"], n, p=BHAM_SITE_WEIGHTS
    )
    span = (w1 - w0).days + 1
    start = w0.to_datetime64() + rng.integers(0, span, n).astype("timedelta64[D]")
    dur = _durations(rng, conv, np.zeros(n, bool))
    end = np.minimum(start + dur.astype("timedelta64[D]"), w1.to_datetime64())
    lag = _days(rng, MEAN_DAYS["request_lag"], n)
    request = np.maximum(start - lag.astype("timedelta64[D]"), w0.to_datetime64())

    # baseline: usual care in the two key areas, the six months before the window
    key = np.isin(team, ["innovation_site_1", "innovation_site_2"])
    b0 = cal.bham_baseline_start
    n0 = int(rng.poisson(key.sum()))
    lt0 = int(rng.binomial(n0, BHAM_BASELINE_LT_SHARE))
    lt1 = int(round(lt0 * (1.0 - cal.bham_lt_reduction)))
    c3_key = np.flatnonzero(key & (conv == 3))
    lt_rows = _choose(rng, c3_key, lt1, "Birmingham long-term starts in the two key areas")
    outcome = _non_lt_outcomes(rng, conv, np.zeros(n, bool))
    outcome[lt_rows] = "long_term_support"
    other_c3 = np.flatnonzero(~key & (conv == 3))
    frac = lt1 / max(c3_key.size, 1)
    outcome[other_c3[rng.random(other_c3.size) < frac]] = "long_term_support"
    pilot = _frame(
        "birmingham",
        team,
        request,
        conv,
        start,
        end,
        outcome,
        rng.random(n) < cal.repeat_before,
        pd.array([pd.NA] * n, dtype="boolean"),
    )

    bspan = (w0 - b0).days
    bstart = b0.to_datetime64() + rng.integers(0, bspan, n0).astype("timedelta64[D]")
    bdur = _days(rng, MEAN_DAYS["usual_care"], n0)
    bend = np.minimum(
        bstart + bdur.astype("timedelta64[D]"), (w0 - pd.Timedelta(days=1)).to_datetime64()
    )
    blag = _days(rng, MEAN_DAYS["request_lag"], n0)
    brequest = np.maximum(bstart - blag.astype("timedelta64[D]"), b0.to_datetime64())
    bconv = np.zeros(n0, dtype="int64")
    boutcome = _non_lt_outcomes(rng, bconv, np.ones(n0, bool))
    boutcome[_choose(rng, np.arange(n0), lt0, "Birmingham baseline long-term starts")] = (
        "long_term_support"
    )
    base = _frame(
        "birmingham",
        np.full(n0, "usual_care"),
        brequest,
        np.full(n0, np.nan),
        bstart,
        bend,
        boutcome,
        rng.random(n0) < cal.repeat_before,
        pd.array([pd.NA] * n0, dtype="boolean"),
    )
    return pd.concat([base, pilot], ignore_index=True)


def _teams_by_date(rng: np.random.Generator, request: np.ndarray, cal: Calibration) -> np.ndarray:
    """usual_care before site 1; then site 1 takes `site_share` of requests (rest usual care)
    until site 2 starts, after which sites 1 and 2 share them."""
    s1, s2 = cal.site1_start.to_datetime64(), cal.site2_start.to_datetime64()
    first = rng.random(request.size) < cal.site_share
    code = np.where(first, 1, 2).astype(np.int8)  # 1 = site 1, 2 = site 2 (0 = usual care)
    code[(request < s2) & ~first] = 0
    code[request < s1] = 0
    names = np.array(["usual_care", "innovation_site_1", "innovation_site_2"], dtype=object)
    return names[code]


def _harrow(rng: np.random.Generator, cal: Calibration, scale: float) -> pd.DataFrame:
    """Harrow front-door episodes, April 2018 – March 2021 (see module docstring)."""
    first_day = HARROW_FIRST_WEEK
    data_end = cal.covid_year[1]
    last_week = last_full_week(data_end)
    weeks = pd.date_range(first_day, last_week, freq="7D")
    D = "timedelta64[D]"

    # 1. long-term starts by week of end date (Poisson around the interpolated level)
    mu = lt_mean_per_week(weeks, cal) * _season(weeks + pd.Timedelta(days=3)) * scale
    k = rng.poisson(mu)
    n_lt = int(k.sum())
    lt_end = np.repeat(weeks.to_numpy(), k) + rng.integers(0, 7, n_lt).astype(D)
    lt_start = lt_end - _days(rng, MEAN_DAYS["long_term"], n_lt, minimum=1).astype(D)
    lt_request = lt_start - _days(rng, MEAN_DAYS["request_lag"], n_lt).astype(D)

    # 2. all requests: exact financial-year totals (+20% in the Covid year), daily multinomial
    days = pd.date_range(first_day, data_end, freq="D")
    p_repeat = np.where(days < cal.site1_start, cal.repeat_before, cal.repeat_after)
    lam = FIRST_TIME_REQUESTS_PER_WEEK * scale / 7.0 / (1.0 - p_repeat) * _season(days)
    fys = _fy_bounds(first_day, data_end)
    totals = []
    for lo, hi in fys:
        if lo >= cal.covid_year[0] and totals:
            totals.append(int(round(totals[-1] * (1.0 + cal.requests_increase))))
        else:
            m = (days >= lo) & (days <= hi)
            totals.append(int(rng.poisson(lam[m].sum())))
    req_parts = []
    for (lo, hi), total in zip(fys, totals, strict=True):
        m = (days >= lo) & (days <= hi)
        in_fy = (lt_request >= lo.to_datetime64()) & (lt_request <= hi.to_datetime64())
        n_other = total - int(in_fy.sum())
        if n_other < 0:
            raise StudyInputError("synthetic calibration infeasible: too few requests")
        counts = rng.multinomial(n_other, lam[m] / lam[m].sum())
        req_parts.append(np.repeat(days[m].to_numpy(), counts))
    other_request = np.concatenate(req_parts)
    n_other = other_request.size
    other_start = other_request + _days(rng, MEAN_DAYS["request_lag"], n_other).astype(D)
    ongoing = other_start + _days(rng, MEAN_DAYS["c2"], n_other).astype(D) > np.datetime64(data_end)

    request = np.concatenate([lt_request, other_request])
    start = np.concatenate([lt_start, other_start])
    is_lt = np.r_[np.ones(n_lt, bool), np.zeros(n_other, bool)]
    ongoing = np.r_[np.zeros(n_lt, bool), ongoing]
    n = request.size
    team = _teams_by_date(rng, request, cal)
    usual = team == "usual_care"

    # 3. conversations: exact Conversation 3 share among completed innovation-site episodes
    conv = np.zeros(n, dtype="int64")
    conv[is_lt & ~usual] = 3
    c12 = np.asarray(cal.bham_shares[:2])  # C1:C2 ratio of the other completions (Birmingham)
    periods = [
        (cal.site1_start, cal.covid_year[0] - pd.Timedelta(days=1), cal.c3_pre_covid),
        (cal.covid_year[0], data_end, cal.c3_covid),
    ]
    for lo, hi, c3_share in periods:
        in_p = (~usual) & (request >= lo.to_datetime64()) & (request <= hi.to_datetime64())
        done = in_p & ~ongoing
        target = int(round(c3_share * done.sum()))
        free = np.flatnonzero(done & ~is_lt)
        c3_rows = _choose(rng, free, target - int((done & is_lt).sum()), "Conversation 3 share")
        conv[c3_rows] = 3
        rest = rng.permutation(np.setdiff1d(free, c3_rows, assume_unique=True))
        conv[rest] = np.repeat([1, 2], largest_remainder_counts(rest.size, c12))
        open_rows = np.flatnonzero(in_p & ongoing)
        conv[open_rows] = rng.choice(
            [1, 2, 3], open_rows.size, p=np.r_[c12 / c12.sum() * (1 - c3_share), c3_share]
        )

    # 4. end dates and outcomes
    end = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    end[is_lt] = lt_end
    fin = ~is_lt & ~ongoing
    dur = _durations(rng, conv[fin], usual[fin])
    end[fin] = np.minimum(start[fin] + dur.astype(D), np.datetime64(data_end))
    outcome = np.full(n, "ongoing", dtype=object)
    outcome[is_lt] = "long_term_support"
    outcome[fin] = _non_lt_outcomes(rng, conv[fin], usual[fin])

    # 5. repeat requests: exact shares per financial year; usual care keeps the old rate
    repeat = rng.random(n) < cal.repeat_before  # requests before the first full week
    for i, (lo, hi) in enumerate(fys):
        in_fy = (request >= lo.to_datetime64()) & (request <= hi.to_datetime64())
        repeat[in_fy] = False
        p = cal.repeat_before if i == 0 else cal.repeat_after
        k_all = int(round(p * in_fy.sum()))
        uc = np.flatnonzero(in_fy & usual) if i else np.flatnonzero(in_fy)
        k_uc = int(round(cal.repeat_before * uc.size)) if i else k_all
        repeat[_choose(rng, uc, k_uc, "repeat requests (usual care)")] = True
        if i:
            rest = np.flatnonzero(in_fy & ~usual)
            repeat[_choose(rng, rest, k_all - k_uc, "repeat requests (innovation)")] = True

    covid = pd.array(
        np.where(
            request >= cal.covid_year[0].to_datetime64(),
            rng.random(n) < COVID_POSITIVE_SHARE,
            False,
        ),
        dtype="boolean",
    )
    covid[request < cal.covid_year[0].to_datetime64()] = pd.NA
    conv_out = np.where(usual, np.nan, conv.astype(float))
    return _frame("harrow", team, request, conv_out, start, end, outcome, repeat, covid)


def _finish(rng: np.random.Generator, frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Sort by dates, assign episode ids and link repeat requests to earlier people."""
    frame = frame.sort_values(["request_date", "start_date"], kind="stable").reset_index(drop=True)
    request = frame["request_date"].to_numpy("datetime64[us]")
    end = frame["end_date"].to_numpy("datetime64[us]")
    returnable = frame["outcome"].isin(["no_further_support", "short_term_support"]).to_numpy()
    parent = _link_persons(rng, request, end, returnable, frame["repeat_request"].to_numpy(bool))
    codes, _ = pd.factorize(parent)
    n = len(frame)
    frame.insert(0, "episode_id", _ids(f"{prefix}-E", np.arange(1, n + 1), 7))
    frame.insert(1, "person_id", _ids(f"{prefix}-P", codes + 1, 7))
    return frame


def _typed_conversations(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.astype(
        {
            "request_date": "datetime64[us]",
            "start_date": "datetime64[us]",
            "end_date": "datetime64[us]",
            "repeat_request": "bool",
            "covid_positive": "boolean",
            "site": "str",
            "team": "str",
            "outcome": "str",
        }
    )
    return out[list(SCHEMAS["conversations"].columns)]


def birmingham_calibration(cal: Calibration, months: int) -> Calibration:
    """Calibration of a Birmingham evaluation of `months` months, starting with the 6-month one.

    Assumption (nothing is published beyond six months): conversations continue at the
    six-month rate ([bham_conversations_6m] per 6 months) with the same 70/10/20 split, and the
    usual-care baseline covers the same number of months before the window.
    """
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 36:
        raise StudyInputError(f"months must be a whole number from 1 to 36, got {months!r}")
    w0, w1 = cal.bham_window
    base_months = round((w1 + pd.Timedelta(days=1) - w0).days / 30.4375)
    end = w0 + pd.DateOffset(months=months) - pd.Timedelta(days=1)
    return replace(
        cal,
        bham_conversations=round(cal.bham_conversations * months / base_months),
        bham_window=(w0, end),
        bham_baseline_start=w0 - pd.DateOffset(months=months),
    )


def synthetic_birmingham(seed: int = DEFAULT_SEED, months: int = 6) -> pd.DataFrame:
    """Birmingham-only synthetic episodes of a `months`-month evaluation (conversations schema).

    With months = 6 these are exactly the Birmingham rows of `synthetic_conversations(seed)`.
    """
    rng_b, _, rng_link = np.random.default_rng(seed).spawn(3)
    cal = birmingham_calibration(load_calibration(), months)
    return _typed_conversations(_finish(rng_link, _birmingham(rng_b, cal), "B"))


def synthetic_conversations(seed: int = DEFAULT_SEED, harrow_scale: float = 1.0) -> pd.DataFrame:
    """Synthetic conversation episodes for Birmingham and Harrow (conversations schema).

    `harrow_scale` multiplies Harrow's volumes (1.0 = calibrated; the benchmark uses ~60 to
    reach a million rows). Deterministic for a given seed.
    """
    rng_b, rng_h, rng_link = np.random.default_rng(seed).spawn(3)
    cal = load_calibration()
    bham = _finish(rng_link, _birmingham(rng_b, cal), "B")
    harrow = _finish(rng_link, _harrow(rng_h, cal, harrow_scale), "H")
    return _typed_conversations(pd.concat([bham, harrow], ignore_index=True))
