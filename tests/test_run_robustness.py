"""`study run` under interrupts, unwritable folders and careless parameters, in subprocesses.

The interrupt test sends real SIGINTs to the process group of a running `study run` (what a
terminal's Ctrl-C does) and asserts exit 130 within 10 s, one line, no traceback, no process
left behind and a run folder marked incomplete that `study index` and `study diff` accept.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import study
from study.errors import StudyInputError
from study.run import disclosure
from study.run.parameters import dates_outside_series
from study.run.signals import alive, descendants

SRC = Path(study.__file__).resolve().parents[1]
POSIX = pytest.mark.skipif(os.name != "posix", reason="signals and /proc: POSIX only")


def _env() -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    env["COLUMNS"] = "200"
    return env


def study_cli(*args: str, timeout: float = 120) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "study", *args],
        capture_output=True, text=True, timeout=timeout, env=_env(),
    )  # fmt: skip
    return done.returncode, (done.stdout + done.stderr).strip()


def one_clean_line(text: str) -> None:
    lines = [x for x in text.splitlines() if x.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text


@POSIX
def test_two_sigints_stop_a_running_study_run_within_10_s(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "study", "run", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        start_new_session=True,  # its own process group, as a terminal gives it
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while not list((out / "notebooks").glob("*.ipynb")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    time.sleep(1.0)
    below = descendants(proc.pid)
    assert below, "the run should have worker processes"
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("study run still running 10 s after two SIGINTs")
    assert time.monotonic() - t0 < 10
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("error: interrupted (SIGINT)")
    time.sleep(1.5)  # kernels are SIGTERMed, then SIGKILLed after 2 s at most
    assert [p for p in below if alive(p)] == []
    marker = (out / "INTERRUPTED.txt").read_text()
    assert "finished:" in marker and "not started:" in marker
    assert "Incomplete run" in (out / "index.html").read_text()
    code, text = study_cli("index", str(out))
    assert code == 0 and "incomplete run" in text, text
    code, text = study_cli("diff", str(out), str(out), "--out", str(tmp_path / "d.csv"))
    assert code == 0 and "is an incomplete run" in text, text


@POSIX
def test_unwritable_out_folder_is_one_line_exit_2(tmp_path):
    # /sys refuses new folders to every user (root included), unlike a chmod-ed temp folder
    code, text = study_cli("run", "--only", "01", "--out", "/sys/fs/study-run-test")
    assert code == 2
    one_clean_line(text)
    assert "/sys/fs/study-run-test" in text and "--out DIR" in text


def test_out_below_a_file_is_one_line_exit_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, text = study_cli("run", "--only", "01", "--out", str(blocker / "run"))
    assert code == 2
    one_clean_line(text)
    assert "a file is in the way" in text
    assert blocker.read_text() == "x"


@pytest.mark.parametrize("content", ["", "# only a comment\n", "---\n", "{}\n"])
def test_empty_or_comment_only_parameters_file_is_refused(tmp_path, content):
    params = tmp_path / "p.yaml"
    params.write_text(content)
    code, text = study_cli("run", "--params", str(params), "--out", str(tmp_path / "run"))
    assert code == 2
    one_clean_line(text)
    assert "is empty (or only comments)" in text and "run_name: mine" in text
    assert not (tmp_path / "run").exists()
    assert params.read_text() == content


def test_period_before_the_data_is_found_in_preflight(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text(
        "run_name: early\nparameters:\n  periods:\n"
        '    early_intervention_team: {start: "2009-09-07", kind: context}\n'
        '    innovation_site_1: {start: "2019-06-03", kind: intervention}\n'
    )
    code, text = study_cli("run", "--params", str(params), "--out", str(tmp_path / "run"))
    assert code == 2
    one_clean_line(text)
    assert "periods.early_intervention_team.start 2009-09-07: before the data" in text
    assert "runs 2018-04-02 to 2021-03-28" in text  # the synthetic weekly series' span
    assert not (tmp_path / "run").exists()


def test_dates_outside_series_name_the_key_and_span():
    first, last = pd.Timestamp("2018-04-02").date(), pd.Timestamp("2021-03-22").date()
    values = {
        "periods": {"a": {"start": "2018-04-02"}, "b": {"start": "2021-03-28"},
                    "c": {"start": "2021-03-29"}},
        "windows": {"w": ["2010-01-01", "2018-04-01"], "v": ["2010-01-01", "2018-04-02"]},
    }  # fmt: skip
    problems = dates_outside_series(values, first, last)
    assert problems == [
        "periods.c.start 2021-03-29: after the data; the weekly series runs 2018-04-02 to "
        "2021-03-28",
        "windows.w [2010-01-01, 2018-04-01]: holds no week of the data; the weekly series runs "
        "2018-04-02 to 2021-03-28",
    ]
    assert dates_outside_series({**values, "last_week": "2021-03-01"}, first, last)[0].startswith(
        "windows.w"
    )  # period c is left out by last_week


def test_run_name_in_any_alphabet_is_accepted_and_spaces_named():
    import unicodedata

    from study.run.parameters import check_run_name

    assert check_run_name(unicodedata.normalize("NFD", "Zürich-12m")) == "Zürich-12m"
    assert check_run_name("Łódź_2024") == "Łódź_2024"
    with pytest.raises(StudyInputError, match="' ' not allowed"):
        check_run_name("my run")


def _split(team_counts: dict[str, int], kind: str = "user") -> pd.DataFrame:
    n = sum(team_counts.values())
    rows = [
        dict(quantity=f"Camden conversation split (user): share {k}", estimate=v / n,
             ci_low=0.0, ci_high=1.0, level=0.95, method="Goodman simultaneous", n=n,
             site="camden", notebook="01_conversation_split", data_kind=kind, source="x.csv",
             note="")
        for k, v in team_counts.items()
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_disclosure_suppresses_small_counts_and_their_complement():
    out = disclosure.suppress(_split({"C1": 70, "C2": 26, "C3": 4}), threshold=10)
    hidden = out["estimate"].isna()
    assert hidden.tolist() == [False, True, True]  # C3 = 4 (primary), C2 its complement
    assert out.loc[2, "note"] == "[c] suppressed: count or complement under 10"
    assert out.loc[1, "note"] == "[c] suppressed: complement of a suppressed share"
    assert out.loc[hidden, ["ci_low", "ci_high", "n"]].isna().all().all()


def test_disclosure_suppresses_estimates_from_fewer_than_threshold_records():
    out = disclosure.suppress(_split({"C1": 2, "C2": 1, "C3": 1}), threshold=10)  # 4 people
    assert out["estimate"].isna().all() and out["n"].isna().all()
    assert (out["note"] == "[c] suppressed: fewer than 10 records").all()


def test_disclosure_exempts_published_and_synthetic_and_redacts_notes():
    for kind in ("published", "synthetic"):
        table = _split({"C1": 2, "C2": 1, "C3": 1}, kind)
        pd.testing.assert_frame_equal(disclosure.suppress(table), table)
    table = _split({"C1": 50, "C2": 30, "C3": 20})
    table["note"] = ["45/50 completed", "3/30 late", ""]
    out = disclosure.suppress(table)
    assert out["note"].tolist() == ["[c] completed", "[c] late", ""]  # 50-45 = 5 < 10


def test_recorder_applies_the_run_threshold(tmp_path):
    from study.run.recorder import Recorder

    disclosure.write_rule(tmp_path, 5)
    rec = Recorder(run_dir=str(tmp_path), notebook="01_conversation_split")
    rec._append(_split({"C1": 70, "C2": 26, "C3": 4})[
        ["site", "notebook", "quantity", "estimate", "ci_low", "ci_high", "level", "method", "n",
         "data_kind", "source", "note"]])  # fmt: skip
    written = pd.read_csv(tmp_path / "estimates" / "01_conversation_split.csv")
    assert written["estimate"].isna().tolist() == [False, True, True]
    assert "fewer than 5 records" in disclosure.applied_rule(tmp_path, written)
    assert "2 estimate(s) suppressed" in disclosure.applied_rule(tmp_path, written)
