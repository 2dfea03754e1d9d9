"""A council other than Birmingham or Harrow, under its own site name (issue 14): the example
parameter set, its synthetic extract, the record-level analyses of notebooks 01 and 02 on it,
skips with their reasons, and sentences computed from the window parameters."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from study import rates
from study.analyses import conversation_split
from study.analyses import long_term_reduction as ltr
from study.analyses.episodes import (
    USER_LABEL,
    EpisodeData,
    months_text,
    read_episodes,
    site_label,
)
from study.config import PROJ_ROOT, SYNTHETIC_DIR
from study.data import published
from study.data.records import validate_file
from study.data.synthetic.example_council import (
    EXAMPLE_FILE,
    EXAMPLE_GO_LIVE,
    EXAMPLE_LABEL,
    EXAMPLE_SEED,
    synthetic_example_council,
    write_example_council,
)
from study.errors import StudyInputError
from study.run.parameters import BY_NAME, validate_params

EXAMPLE = SYNTHETIC_DIR / EXAMPLE_FILE
PARAMS = PROJ_ROOT / "params" / "northfield-example.yaml"


@pytest.fixture(scope="module")
def figures():
    return published.load_figures()


@pytest.fixture(scope="module")
def example_params() -> dict:
    return yaml.safe_load(PARAMS.read_text(encoding="utf-8"))["parameters"]


def _design(p: dict) -> ltr.LongTermComparison:
    return ltr.LongTermComparison(
        p["lt_site"], p["lt_teams"], p["lt_comparison_team"], p["lt_go_live"],
        p["bham_extract_months"],
    )  # fmt: skip


def _records(data, figures, p, **changes):
    p = {**p, **changes}
    return ltr.reductions_from_records(
        data,
        figures,
        weeks_per_rate=13,
        lt=_design(p),
        repeat_site=p["repeat_site"],
        repeat_window=p["repeat_window"],
    )


# --- the example parameter set and its extract ------------------------------------------------


def test_example_set_is_birmingham_12m_with_site_path_and_go_live_changed(example_params):
    bham = yaml.safe_load((PROJ_ROOT / "params" / "birmingham-12m.yaml").read_text())
    changed = {k for k in example_params if example_params[k] != bham["parameters"].get(k)}
    assert changed == {
        "conversations_path", "lt_site", "lt_teams", "lt_comparison_team", "lt_go_live",
        "repeat_site", "repeat_window",
    }  # fmt: skip
    assert example_params["bham_extract_months"] == bham["parameters"]["bham_extract_months"]
    # the teams are Birmingham's defaults, written out so a council sees what to change
    assert example_params["lt_teams"] == BY_NAME["lt_teams"].default
    assert example_params["lt_site"] == example_params["repeat_site"] == "northfield"
    assert example_params["lt_go_live"] == EXAMPLE_GO_LIVE
    validate_params(yaml.safe_load(PARAMS.read_text(encoding="utf-8")), PARAMS)


def test_example_extract_is_current_labelled_synthetic_and_valid(tmp_path):
    written = write_example_council(EXAMPLE_SEED, tmp_path)
    assert written.read_bytes() == EXAMPLE.read_bytes()
    meta = EXAMPLE.with_name(EXAMPLE_FILE.replace(".csv", ".meta.json"))
    assert meta.read_bytes() == (tmp_path / meta.name).read_bytes()
    sidecar = yaml.safe_load(meta.read_text(encoding="utf-8"))
    assert sidecar["synthetic"] is True and "SYNTHETIC" in sidecar["note"]
    assert sidecar["sha256"] == hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
    assert "synthetic" in EXAMPLE.name and validate_file(EXAMPLE).empty
    data = read_episodes(str(EXAMPLE.relative_to(PROJ_ROOT)))
    assert data.kind == "synthetic" and data.label == EXAMPLE_LABEL  # not "calibrated to ..."
    assert "not a finding" in data.label and "calibrated" not in data.label
    assert synthetic_example_council(EXAMPLE_SEED + 1).shape != (0, 0)
    with pytest.raises(StudyInputError, match="seed"):
        synthetic_example_council(-1)


# --- the third council through the analyses ---------------------------------------------------


def test_third_council_gets_long_term_rows_with_intervals_for_its_own_site(figures, example_params):
    data = read_episodes(example_params["conversations_path"])
    res = _records(data, figures, example_params)
    t = res.table
    assert set(t["site"]) == {"northfield"} and set(t["data_kind"]) == {"synthetic"}
    lt = t[t["quantity"].str.startswith("Northfield long-term services, two key areas")]
    wald = lt[lt["method"] == rates.WALD_GLM]
    assert len(wald) == 2 and wald[["ci_low", "ci_high"]].notna().all(axis=None)
    assert (wald["ci_low"] < wald["estimate"]).all() and (wald["estimate"] < wald["ci_high"]).all()
    # known answer: the same Poisson rate ratio from the counts on each side of the go-live
    eps = data.episodes
    start = pd.to_datetime(eps["start_date"])
    long_term = eps["outcome"].eq("long_term_support")
    k1 = int((long_term & eps["team"].ne("usual_care") & (start >= EXAMPLE_GO_LIVE)).sum())
    k0 = int((long_term & eps["team"].eq("usual_care") & (start < EXAMPLE_GO_LIVE)).sum())
    ref = rates.poisson_rate_ratio(
        k1, 12, k0, 12, exposure_unit="months",
        label="Northfield long-term services, two key areas (synthetic)",
    )  # fmt: skip
    pd.testing.assert_frame_equal(
        lt[ref.columns].reset_index(drop=True), ref.reset_index(drop=True)
    )
    repeat = t[t["quantity"].str.startswith("Northfield repeat requests")]
    assert len(repeat) == 5 and repeat[["ci_low", "ci_high"]].notna().all(axis=None)
    assert res.tables["skipped"]["site"].tolist() == ["harrow"]  # Harrow's published weeks only
    assert "Skipped, weekly long-term starts at the published month ends at Harrow" in res.text
    assert "Northfield's key areas saw" in res.text and "Northfield's repeat requests" in res.text


def test_a_users_copy_of_the_extract_gives_user_rows_for_its_site(
    tmp_path, figures, example_params
):
    copy = tmp_path / "northfield_extract.csv"
    shutil.copyfile(EXAMPLE, copy)
    data = read_episodes(str(copy))
    assert data.kind == "user" and data.label == USER_LABEL
    res = _records(data, figures, example_params)
    assert set(res.table["data_kind"]) == {"user"} and set(res.table["source"]) == {str(copy)}
    rr = res.table[
        res.table["quantity"].str.endswith(ltr.RATE_RATIO) & res.table["method"].eq(rates.WALD_GLM)
    ]
    assert rr["site"].tolist() == ["northfield"] and rr[["ci_low", "ci_high"]].notna().all(
        axis=None
    )
    split = conversation_split.split_from_records(data, figures, published.load_events())
    assert set(split.table["site"]) == {"northfield"} and set(split.table["data_kind"]) == {"user"}
    assert "Northfield's split is" in split.text


@pytest.mark.slow
def test_example_set_runs_end_to_end_with_user_rows_for_its_own_site(tmp_path):
    copy = tmp_path / "northfield_extract.csv"
    shutil.copyfile(EXAMPLE, copy)
    params = yaml.safe_load(PARAMS.read_text(encoding="utf-8"))
    params["parameters"]["conversations_path"] = str(copy)
    path = tmp_path / "northfield.yaml"
    path.write_text(yaml.safe_dump(params), encoding="utf-8")
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "study", "run", "--params", str(path), "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=PROJ_ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    estimates = pd.read_csv(out / "estimates.csv")
    assert set(estimates["notebook"]) == {"01_conversation_split", "02_long_term_reduction"}
    mine = estimates[estimates["site"] == "northfield"]
    assert set(mine["data_kind"]) == {"user"} and set(mine["source"]) == {str(copy)}
    lt = mine[mine["quantity"].str.contains("Northfield long-term services")]
    assert len(lt) and lt[["ci_low", "ci_high"]].notna().all(axis=None)


# --- skipped with a reason --------------------------------------------------------------------


def _example(**changes) -> EpisodeData:
    return EpisodeData("x.csv", "synthetic", synthetic_example_council().assign(**changes))


@pytest.mark.parametrize(
    ("data_changes", "param_changes", "reason"),
    [
        ({}, {"lt_site": "southfield"},
         "the extract has no episodes for site 'southfield' (parameter lt_site)"),
        ({}, {"lt_teams": ["innovation_site_1", "innovation_site_7"]},
         "the extract has no northfield episodes of team innovation_site_7 (parameter lt_teams)"),
        ({"team": "innovation_site_1"}, {"lt_teams": ["innovation_site_1"]},
         "the extract has no northfield episodes of the comparison team 'usual_care' "
         "(parameter lt_comparison_team)"),
        ({}, {"lt_go_live": "2030-01-06"},
         "no northfield 3Cs episodes start on or after lt_go_live = 2030-01-06"),
    ],
)  # fmt: skip
def test_a_long_term_comparison_the_data_cannot_support_is_skipped_with_its_reason(
    figures, example_params, data_changes, param_changes, reason
):
    res = _records(_example(**data_changes), figures, example_params, **param_changes)
    skipped = res.tables["skipped"].set_index("analysis")
    assert skipped.loc["long-term reduction", "reason"] == reason
    assert (
        f"Skipped, long-term reduction at "
        f"{site_label(skipped.loc['long-term reduction', 'site'])}: {reason}." in res.text
    )
    assert not res.table["quantity"].str.contains("long-term services").any()


def test_repeat_requests_outside_the_data_are_skipped_with_their_window(figures, example_params):
    res = _records(_example(), figures, example_params, repeat_window=["2010-01-01", "2010-12-31"])
    reason = res.tables["skipped"].set_index("analysis").loc["repeat requests", "reason"]
    assert reason == (
        "no northfield requests in the after window 2010-01-01 to 2010-12-31 "
        "(parameter repeat_window)"
    )
    assert not res.table["quantity"].str.contains("repeat requests").any()
    # nothing supported at all: said plainly
    empty = _records(
        _example(), figures, example_params, lt_site="southfield", repeat_site="southfield"
    )
    assert empty.table.empty and ": no comparison could be made." in empty.text


# --- sentences from the window parameters -----------------------------------------------------


@pytest.mark.parametrize("months", [6, 12])
def test_the_sentence_names_the_windows_its_parameters_set(figures, example_params, months):
    go_live = pd.Timestamp(EXAMPLE_GO_LIVE)
    eps = synthetic_example_council(months=months)
    data = EpisodeData("x.csv", "synthetic", eps)
    last = go_live + pd.DateOffset(months=months) - pd.Timedelta(days=1)
    res = _records(
        data, figures, example_params, bham_extract_months=months,
        repeat_window=[f"{go_live:%Y-%m-%d}", f"{last:%Y-%m-%d}"],
    )  # fmt: skip
    span = months_text(months)
    assert span == {6: "six months", 12: "twelve months"}[months]
    assert (
        f"fewer long-term starts in the {span} from 4 April 2022 than the comparison team in the "
        f"{span} before" in res.text
    )
    other = {6: "twelve", 12: "six"}[months]
    assert other not in res.text
    before = go_live - pd.DateOffset(months=months)
    assert f"({before.day} {before:%B %Y} to 3 April 2022)" in res.text
    names = res.table[res.table["quantity"].str.contains(r"repeat requests .*: proportion")]
    expected = "innovation year" if months == 12 else "innovation six months"
    assert names["quantity"].str.contains(expected).any()


def test_number_and_site_words():
    assert [months_text(m) for m in (1, 6, 12, 18)] == [
        "one month", "six months", "twelve months", "18 months",
    ]  # fmt: skip
    assert site_label("north_field") == "North Field" and site_label("harrow") == "Harrow"


def test_preflight_checks_the_months_of_the_third_councils_comparison(tmp_path):
    """Before any kernel starts, `bham_extract_months` is checked against the episodes notebook
    02 compares for `lt_site` (here Northfield's twelve months), not Birmingham's."""
    from study.run.pipeline import plan_run, preflight

    example = yaml.safe_load((PROJ_ROOT / "params" / "northfield-example.yaml").read_text())
    preflight(plan_run(PROJ_ROOT / "params" / "northfield-example.yaml"))  # 12 months: passes
    example["parameters"]["bham_extract_months"] = 6
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(yaml.safe_dump(example), encoding="utf-8")
    with pytest.raises(StudyInputError) as err:
        preflight(plan_run(wrong))
    message = str(err.value)
    assert "parameter 'bham_extract_months'" in message and "Northfield 3Cs episodes" in message
    assert "longer than bham_extract_months = 6" in message
