"""Synthetic Harrow reviews of existing care, matching Tables 1a/1b (SYNTHETIC data)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from study.data.schema import SCHEMAS
from study.data.synthetic.calibration import (
    DEFAULT_SEED,
    MEAN_DAYS,
    REVIEW_CHANGE_MEDIAN_GBP,
    REVIEW_COST_MEDIAN_GBP,
    Calibration,
    _days,
    _ids,
    load_calibration,
)
from study.errors import StudyInputError
from study.tidy import full_year_impact_gbp

# --------------------------------------------------------------------------------------------
# Reviews (Harrow Tables 1a/1b)


def review_targets(cal: Calibration | None = None) -> pd.DataFrame:
    """Per team × Covid status: published row counts, period and target mean weekly change.

    The target mean change (GBP) is published full-year impact / (completed × 52) when it
    rounds to the published average change, else the published average; columns team,
    covid_status, period_start, period_end, increases, decreases, no_change, ongoing,
    excluded, published_total, avg_published, impact_published, target_avg_gbp.
    """
    cal = cal or load_calibration()
    t = cal.review_tables
    keys = ["covid_status", "team"]
    counts = t[t["quantity"] == "count"].pivot_table(
        index=keys, columns="row", values="value", aggfunc="first"
    )
    money = t[t["row"] == "total"].pivot_table(
        index=keys, columns="quantity", values="value", aggfunc="first"
    )
    dates = t.groupby(keys)[["period_start", "period_end"]].first()
    out = pd.concat([dates, counts, money], axis=1).reset_index()
    out = out.rename(
        columns={
            "total": "published_total",
            "avg_weekly_change_gbp": "avg_published",
            "full_year_budget_impact_gbp": "impact_published",
        }
    )
    for c in ("increases", "decreases", "no_change", "ongoing", "excluded"):
        out[c] = out[c].astype("int64")
    completed = out["increases"] + out["decreases"] + out["no_change"]
    implied = out["impact_published"] / full_year_impact_gbp(completed, 1)
    ok = implied.round() == out["avg_published"]
    out["target_avg_gbp"] = np.where(ok, implied, out["avg_published"])
    out["team"] = out["team"].replace({"innovation_site": "innovation_site_3"})
    return out


def _changes_pence(rng, n_inc: int, n_dec: int, total_pence: int) -> tuple[np.ndarray, np.ndarray]:
    """Positive increases and positive decrease sizes (pence) with inc.sum − dec.sum = total."""
    med = REVIEW_CHANGE_MEDIAN_GBP * 100
    inc = np.maximum(np.round(rng.lognormal(np.log(med), 0.8, n_inc)), 1).astype(np.int64)
    dec = np.maximum(np.round(rng.lognormal(np.log(med), 0.8, n_dec)), 1).astype(np.int64)

    def rescale(x: np.ndarray, target: int) -> np.ndarray:
        if target < x.size:
            raise StudyInputError("synthetic calibration infeasible: review cost changes")
        y = np.maximum(np.floor(x * target / x.sum()).astype(np.int64), 1)
        diff = target - y.sum()
        idx = np.argsort(-y, kind="stable")[: abs(diff)] if diff else np.array([], int)
        y[idx] += np.sign(diff)
        return y

    if total_pence >= 0 and n_inc:
        inc = rescale(inc, total_pence + int(dec.sum()))
    elif n_dec:
        dec = rescale(dec, int(inc.sum()) - total_pence)
    elif n_inc:
        inc = rescale(inc, total_pence)
    return inc, dec


def synthetic_reviews(seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Synthetic reviews of existing care reproducing Harrow Tables 1a/1b (reviews schema)."""
    rng = np.random.default_rng(seed).spawn(4)[3]
    targets = review_targets()
    frames = []
    for row in targets.itertuples(index=False):  # four table cells, not records
        n_c = row.increases + row.decreases + row.no_change
        total = int(round(row.target_avg_gbp * n_c * 100))
        inc, dec = _changes_pence(rng, row.increases, row.decreases, total)
        status = np.repeat(
            ["completed", "completed", "completed", "ongoing", "excluded"],
            [row.increases, row.decreases, row.no_change, row.ongoing, row.excluded],
        )
        change = np.r_[inc, -dec, np.zeros(row.no_change + row.ongoing + row.excluded, np.int64)]
        n = status.size
        base = np.round(rng.lognormal(np.log(REVIEW_COST_MEDIAN_GBP * 100), 0.6, n))
        base = base.astype(np.int64)
        before = np.where(change < 0, base - change, base)  # decreases end at `base`
        after = before + change
        lo, hi = pd.Timestamp(row.period_start), pd.Timestamp(row.period_end)
        start = lo.to_datetime64() + rng.integers(0, (hi - lo).days + 1, n).astype("timedelta64[D]")
        end = start + _days(rng, MEAN_DAYS["review"], n, minimum=1).astype("timedelta64[D]")
        end = np.where(status == "ongoing", np.datetime64("NaT"), end)
        order = rng.permutation(n)
        frames.append(
            pd.DataFrame(
                {
                    "team": row.team,
                    "review_start": start,
                    "review_end": end,
                    "weekly_cost_before_gbp": np.where(status == "excluded", np.nan, before / 100),
                    "weekly_cost_after_gbp": np.where(status == "completed", after / 100, np.nan),
                    "covid_positive": row.covid_status == "covid",
                    "status": status,
                }
            ).iloc[order]
        )
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values(["review_start", "team"], kind="stable").reset_index(drop=True)
    n = len(out)
    out.insert(0, "review_id", _ids("R-", np.arange(1, n + 1), 6))
    out.insert(1, "person_id", _ids("R-P", rng.permutation(n) + 1, 6))
    out = out.astype(
        {
            "review_start": "datetime64[us]",
            "review_end": "datetime64[us]",
            "covid_positive": "boolean",
            "team": "str",
            "status": "str",
        }
    )
    return out[list(SCHEMAS["reviews"].columns)]
