"""Synthetic data: reproducible, valid, and calibrated to the published figures."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from study.config import PUBLISHED_DIR, SYNTHETIC_DIR
from study.data import published
from study.data.aggregate import conversation_split, review_tables_long
from study.data.records import read_records, validate_file
from study.data.synthetic import (
    BIRMINGHAM_FILES,
    CONVERSATIONS_FILE,
    DEFAULT_SEED,
    KINDS,
    REVIEWS_FILE,
    SYNTHETIC_NOTE,
    WEEKLY_FILE,
    birmingham_calibration,
    load_calibration,
    lt_mean_per_week,
    synthetic_birmingham,
    synthetic_conversations,
    write_synthetic,
)
from study.errors import StudyInputError
from study.proportions import largest_remainder_counts

FIGURES = published.load_figures()


def _pct(figure_id: str) -> float:
    return published.figure_value(figure_id, FIGURES) / 100


@pytest.fixture(scope="module")
def committed() -> dict[str, pd.DataFrame]:
    return {name: read_records(SYNTHETIC_DIR / name, kind) for name, kind in KINDS.items()}


@pytest.fixture(scope="module")
def cal():
    return load_calibration()


# --------------------------------------------------------------------------------------------
# Files: reproducible, labelled, valid, small


def _digests(paths) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_same_seed_gives_byte_identical_files(tmp_path):
    a = write_synthetic(1, tmp_path / "a")
    b = write_synthetic(1, tmp_path / "b")
    assert _digests(a) == _digests(b)
    c = write_synthetic(2, tmp_path / "c")
    assert _digests(c)[CONVERSATIONS_FILE] != _digests(a)[CONVERSATIONS_FILE]


def test_committed_files_are_current(tmp_path):
    """data/synthetic/ equals write_synthetic(DEFAULT_SEED); regenerate with
    `study synth --seed 20210501 --out data/synthetic` after changing the generator."""
    fresh = write_synthetic(DEFAULT_SEED, tmp_path)
    committed = [SYNTHETIC_DIR / p.name for p in fresh]
    assert _digests(fresh) == _digests(committed)


def test_files_are_labelled_synthetic_and_small():
    total = 0
    for name, kind in KINDS.items():
        path = SYNTHETIC_DIR / name
        assert "synthetic" in name
        total += path.stat().st_size
        meta = json.loads(path.with_name(name.removesuffix(".csv") + ".meta.json").read_text())
        assert meta["synthetic"] is True
        assert meta["note"] == SYNTHETIC_NOTE
        assert meta["seed"] == DEFAULT_SEED
        assert meta["kind"] == kind
        assert meta["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        # plain CSV: pandas reads it without options
        assert list(pd.read_csv(path).columns) == meta["columns"]
    assert SYNTHETIC_NOTE in (SYNTHETIC_DIR / "README.md").read_text(encoding="utf-8")
    assert total < 4 * 2**20


@pytest.mark.parametrize("name", sorted(KINDS))
def test_committed_files_validate(name):
    assert validate_file(SYNTHETIC_DIR / name).empty


def test_refuses_to_overwrite_non_synthetic_files(tmp_path):
    real = tmp_path / CONVERSATIONS_FILE
    real.write_text("episode_id\nreal-record\n")
    with pytest.raises(StudyInputError, match="refusing to overwrite"):
        write_synthetic(1, tmp_path)
    assert real.read_text() == "episode_id\nreal-record\n"
    assert not (tmp_path / REVIEWS_FILE).exists()  # nothing written at all
    readme = tmp_path / "other" / "README.md"
    readme.parent.mkdir()
    readme.write_text("my notes\n")
    with pytest.raises(StudyInputError, match="refusing to overwrite"):
        write_synthetic(1, readme.parent)
    with pytest.raises(StudyInputError, match="published"):
        write_synthetic(1, PUBLISHED_DIR)
    with pytest.raises(StudyInputError, match="seed"):
        write_synthetic(-1, tmp_path / "x")


def test_overwrites_its_own_files(tmp_path):
    first = write_synthetic(3, tmp_path)
    second = write_synthetic(4, tmp_path)
    assert [p.name for p in first] == [p.name for p in second]
    meta = json.loads((tmp_path / "reviews_synthetic.meta.json").read_text())
    assert meta["seed"] == 4


# --------------------------------------------------------------------------------------------
# Calibration: Harrow Tables 1a/1b


def test_reviews_reproduce_tables_1a_1b(committed):
    ours = review_tables_long(committed[REVIEWS_FILE])
    pub = published.load_review_tables()
    keys = ["covid_status", "team", "row", "quantity"]
    merged = pub.merge(ours, on=keys, suffixes=("_pub", "_ours"), how="left")
    assert merged["value_ours"].notna().all()
    counts = merged[(merged["quantity"] == "count") & (merged["row"] != "total")]
    assert (counts["value_ours"] == counts["value_pub"]).all()
    # totals: the row counts; Old Locality non-Covid prints 462 but its rows sum to 460
    totals = merged[(merged["quantity"] == "count") & (merged["row"] == "total")]
    row_sums = counts.groupby(["covid_status", "team"])["value_pub"].sum()
    for t in totals.itertuples():
        assert t.value_ours == row_sums[(t.covid_status, t.team)]
        if t.value_ours != t.value_pub:
            assert (t.covid_status, t.team, t.value_pub, t.value_ours) == (
                "non_covid",
                "old_locality_team",
                462,
                460,
            )
    avg = merged[merged["quantity"] == "avg_weekly_change_gbp"]
    assert (avg["value_ours"].round() == avg["value_pub"]).all()  # to the £
    impact = merged[merged["quantity"] == "full_year_budget_impact_gbp"]
    assert (impact["value_ours"].round(-3) == impact["value_pub"]).all()  # to the £1,000


def test_review_costs_follow_the_method(committed):
    r = committed[REVIEWS_FILE]
    done = r[r["status"] == "completed"]
    assert done[["weekly_cost_before_gbp", "weekly_cost_after_gbp"]].notna().all().all()
    assert (r["weekly_cost_before_gbp"].dropna() >= 0).all()
    assert (r["weekly_cost_after_gbp"].dropna() >= 0).all()
    assert r.loc[r["status"] == "ongoing", "review_end"].isna().all()
    period = published.load_review_tables().groupby("team")[["period_start", "period_end"]]
    period = period.first()
    for team, label in [
        ("innovation_site_3", "innovation_site"),
        ("old_locality_team", "old_locality_team"),
    ]:
        starts = r.loc[r["team"] == team, "review_start"]
        assert starts.min() >= period.loc[label, "period_start"]
        assert starts.max() <= period.loc[label, "period_end"]


# --------------------------------------------------------------------------------------------
# Calibration: Birmingham


def test_birmingham_split_and_long_term_reduction(committed, cal):
    c = committed[CONVERSATIONS_FILE]
    b = c[c["site"] == "birmingham"]
    pilot = b[b["team"] != "usual_care"]
    n = int(published.figure_value("bham_conversations_6m", FIGURES))
    assert len(pilot) == n
    w0, w1 = cal.bham_window
    assert pilot["start_date"].between(w0, w1).all()
    split = conversation_split(pilot, {"6m": (w0, w1)}, by=("site",), date_column="start_date")
    shares = [_pct(f"bham_share_c{i}") for i in (1, 2, 3)]
    assert split["count"].tolist() == largest_remainder_counts(n, shares).tolist()
    assert (split["share"] * 100).round().tolist() == [s * 100 for s in shares]
    base = b[b["team"] == "usual_care"]
    assert base["end_date"].max() < w0
    lt_before = (base["outcome"] == "long_term_support").sum()
    key_areas = pilot["team"].isin(["innovation_site_1", "innovation_site_2"])
    lt_after = (pilot.loc[key_areas, "outcome"] == "long_term_support").sum()
    assert round(100 * (1 - lt_after / lt_before)) == published.figure_value(
        "bham_long_term_reduction", FIGURES
    )


# --------------------------------------------------------------------------------------------
# Calibration: Harrow front door


def _fy(df: pd.DataFrame, year: int) -> pd.DataFrame:
    lo, hi = pd.Timestamp(f"{year}-04-01"), pd.Timestamp(f"{year + 1}-03-31")
    return df[df["request_date"].between(lo, hi)]


def test_harrow_requests_rise_and_repeat_shares(committed):
    c = committed[CONVERSATIONS_FILE]
    h = c[c["site"] == "harrow"]
    n19, n20 = len(_fy(h, 2019)), len(_fy(h, 2020))
    rise = _pct("harrow_requests_increase_2020_21")
    assert n20 == round(n19 * (1 + rise))
    assert round(100 * (n20 / n19 - 1)) == round(100 * rise)
    assert round(100 * _fy(h, 2018)["repeat_request"].mean()) == 100 * _pct(
        "harrow_repeat_share_before"
    )
    for year in (2019, 2020):
        assert round(100 * _fy(h, year)["repeat_request"].mean()) == 100 * _pct(
            "harrow_repeat_share_after"
        )


def test_harrow_conversation_3_share(committed, cal):
    c = committed[CONVERSATIONS_FILE]
    h = c[c["site"] == "harrow"]
    periods = {
        "pre": (cal.site1_start, cal.covid_year[0] - pd.Timedelta(days=1)),
        "covid": cal.covid_year,
    }
    split = conversation_split(h, periods, by=("site",))
    c3 = split[split["conversation"] == 3].set_index("period")["share"]
    assert round(100 * c3["pre"]) == published.figure_value("harrow_c3_share_pre_covid", FIGURES)
    assert round(100 * c3["covid"]) == published.figure_value("harrow_c3_share_covid", FIGURES)


def test_harrow_teams_follow_site_start_dates(committed, cal):
    c = committed[CONVERSATIONS_FILE]
    h = c[c["site"] == "harrow"]
    s1 = h.loc[h["team"] == "innovation_site_1", "request_date"].min()
    s2 = h.loc[h["team"] == "innovation_site_2", "request_date"].min()
    assert s1 >= cal.site1_start and s2 >= cal.site2_start
    assert h.loc[h["team"] == "usual_care", "request_date"].max() < cal.site2_start
    # long-term support comes from Conversation 3 (or usual care)
    lt = h[h["outcome"] == "long_term_support"]
    assert (lt["conversation"].isna() | (lt["conversation"] == 3)).all()


def test_repeat_requests_link_to_an_earlier_episode(committed):
    c = committed[CONVERSATIONS_FILE]
    h = c[c["site"] == "harrow"].sort_values("request_date")
    linked = h[h["repeat_request"] & h.duplicated("person_id", keep="first")]
    # most repeats belong to someone seen before (the rest returned from before April 2018)
    assert len(linked) > 0.8 * h["repeat_request"].sum()
    first = h.groupby("person_id")["request_date"].transform("min")
    assert (linked["request_date"] > first[linked.index]).all()
    # and nobody who is not a repeat has an earlier episode
    assert not h[~h["repeat_request"]].duplicated("person_id").any()


def test_lt_mean_passes_through_the_published_levels(cal):
    for day, level in zip(cal.lt_anchor_dates, cal.lt_anchor_levels, strict=True):
        monday = pd.DatetimeIndex([day - pd.Timedelta(days=3)])  # week centred on the date
        assert lt_mean_per_week(monday, cal)[0] == pytest.approx(level)


def test_weekly_long_term_starts_follow_the_mean(committed, cal):
    from study.data.synthetic import _season

    w = committed[WEEKLY_FILE]
    lt = w[(w["site"] == "harrow") & (w["series"] == "new_long_term_starts")]
    weeks = pd.DatetimeIndex(lt["week_start"])
    expected = lt_mean_per_week(weeks, cal) * _season(weeks + pd.Timedelta(days=3))
    observed = lt["count"].to_numpy(dtype=float)
    # 26-week blocks: Poisson z-scores
    for i in range(0, len(observed) - 25, 26):
        e, o = expected[i : i + 26].sum(), observed[i : i + 26].sum()
        assert abs(o - e) / np.sqrt(e) < 4
    assert abs(observed.sum() - expected.sum()) / np.sqrt(expected.sum()) < 3


def test_weekly_file_has_harrow_and_comparison(committed, cal):
    w = committed[WEEKLY_FILE]
    assert set(w["site"]) == {"harrow", "london_comparison"}
    assert w["week_start"].min() == pd.Timestamp("2018-04-02")
    assert (w["population"] > 0).all()
    lt = w[w["series"] == "new_long_term_starts"]
    innovation_year = lt[lt["week_start"].between("2019-10-01", "2020-03-22")]
    means = innovation_year.groupby("site")["count"].mean()
    assert means["london_comparison"] > means["harrow"]  # no intervention in the comparison
    req = w[(w["series"] == "requests_new_clients") & (w["site"] == "london_comparison")]
    before = req[req["week_start"].between("2019-04-01", "2020-03-29")]["count"].mean()
    after = req[req["week_start"].between("2020-04-06", "2021-03-22")]["count"].mean()
    assert 1.1 < after / before < 1.3  # the Covid-year rise in demand


def test_harrow_scale_multiplies_volume():
    base = synthetic_conversations(5)
    big = synthetic_conversations(5, harrow_scale=3.0)
    nb, nh = (base["site"] == "harrow").sum(), (big["site"] == "harrow").sum()
    assert 2.7 < nh / nb < 3.3
    assert (big["site"] == "birmingham").sum() == (base["site"] == "birmingham").sum()
    assert big["episode_id"].is_unique


def test_birmingham_six_month_extract_is_the_birmingham_rows_of_the_full_file():
    full = synthetic_conversations(7)
    six = synthetic_birmingham(7, months=6)
    pd.testing.assert_frame_equal(six, full[full["site"] == "birmingham"].reset_index(drop=True))


def test_birmingham_twelve_month_extract_doubles_the_window_and_keeps_the_split():
    cal = load_calibration()
    twelve = birmingham_calibration(cal, 12)
    assert twelve.bham_conversations == 2 * cal.bham_conversations  # 2,994 (assumed rate)
    assert twelve.bham_window[0] == cal.bham_window[0]
    assert twelve.bham_window[1] == pd.Timestamp("2019-04-01")
    assert twelve.bham_baseline_start == pd.Timestamp("2017-04-02")
    frame = synthetic_birmingham(DEFAULT_SEED, months=12)
    pilot = frame[frame["team"] != "usual_care"]
    assert len(pilot) == 2 * cal.bham_conversations
    shares = pilot["conversation"].value_counts(normalize=True).sort_index()
    np.testing.assert_allclose(shares.to_numpy(), cal.bham_shares, atol=0.001)
    assert (frame["site"] == "birmingham").all()
    committed = read_records(SYNTHETIC_DIR / BIRMINGHAM_FILES[12], "conversations")
    assert len(committed) == len(frame)


@pytest.mark.parametrize("months", [0, 37, 6.5, True])
def test_birmingham_months_out_of_range(months):
    with pytest.raises(StudyInputError, match="months must be a whole number"):
        birmingham_calibration(load_calibration(), months)
