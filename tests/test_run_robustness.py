"""`study run` under interrupts, unwritable folders and careless parameters.

The interrupt test sends real SIGINTs to the process group of a running `python -m study run`
subprocess (what a terminal's Ctrl-C does) and asserts exit 130 within 10 s, one line, no
traceback, no process left behind and a run folder marked incomplete that `study index` and
`study diff` accept. The other commands run in this process on 200-column consoles
(`cli_helpers.invoke`; an exception escaping a command fails the test).
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
from cli_helpers import SRC, invoke, process_env, study_process

from study.errors import StudyInputError
from study.run import disclosure
from study.run.parameters import dates_outside_series
from study.run.signals import alive, descendants

POSIX = pytest.mark.skipif(os.name != "posix", reason="signals and /proc: POSIX only")


def study_cli(*args: str) -> tuple[int, str]:
    """`study ARGS` in this process, on 200-column consoles: (exit code, output text)."""
    code, lines = invoke(*args, width=200)
    return code, "\n".join(lines).strip()


def kernels(pid: int) -> list[int]:
    """The Jupyter kernels among the processes below `pid` (from /proc/<pid>/cmdline)."""
    found = []
    for child in descendants(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"ipykernel" in cmdline:
            found.append(child)
    return found


def one_clean_line(text: str) -> None:
    lines = [x for x in text.splitlines() if x.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text


@POSIX
def test_two_sigints_stop_a_running_study_run_within_10_s(tmp_path):
    out = tmp_path / "run"
    jobs = 2  # notebooks at once: the interrupt comes when each worker has started its kernel
    proc = subprocess.Popen(
        [sys.executable, "-m", "study", "run", "--jobs", str(jobs), "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=process_env(200),
        start_new_session=True,  # its own process group, as a terminal gives it
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while not (list((out / "notebooks").glob("*.ipynb")) and len(kernels(proc.pid)) >= jobs):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the kernels had not started 180 s after the start"
        time.sleep(0.1)
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
    gone = time.monotonic() + 1.5  # kernels are SIGTERMed, then SIGKILLed after 2 s at most
    while [p for p in below if alive(p)] and time.monotonic() < gone:
        time.sleep(0.05)
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
    table["note"] = ["45/50 completed", "3/30 late", "12/30 seen"]
    out = disclosure.suppress(table)
    # 50-45 = 5 and 3 are under 10: those rows go whole (their counts are recoverable)
    assert out["estimate"].isna().tolist() == [True, True, False]
    assert out["note"].tolist()[:2] == ["[c] suppressed: a count in its note under 10"] * 2
    assert out.loc[2, "note"] == "12/30 seen"


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


def test_disclosure_secondary_suppression_is_per_interval_method():
    split = _split({"C1": 70, "C2": 26, "C3": 4})
    wilson = split.assign(method="Wilson score")
    out = disclosure.suppress(pd.concat([split, wilson], ignore_index=True), threshold=10)
    # each method's copy of the split loses C3 (4) and its complement C2
    assert out["estimate"].isna().tolist() == [False, True, True] * 2


def test_disclosure_hides_a_comparison_with_a_hidden_part():
    rows = [
        dict(quantity=f"Camden repeats (user): {q}", estimate=e, ci_low=0.0, ci_high=1.0,
             level=0.95, method=m, n=n, site="camden", data_kind="user", source="x.csv", note=t)
        for q, e, m, n, t in [
            ("proportion after", 3 / 40, "Wilson score", 40, "3/40"),
            ("proportion before", 20 / 50, "Wilson score", 50, "20/50"),
            ("difference after - before", -0.325, "Newcombe hybrid score (method 10)", 90, ""),
            ("risk ratio after / before", 0.1875, "Katz log", 90, ""),
        ]
    ]  # fmt: skip
    out = disclosure.suppress(pd.DataFrame(rows), threshold=10)
    assert out["estimate"].isna().all()  # 3 of 40: the difference and ratio would give it back
    assert out.loc[3, "note"] == "[c] suppressed: part of a comparison with a suppressed row"


def test_suppress_counts_hides_small_cells_totals_and_one_complement():
    counts = pd.DataFrame({
        "site": ["a", "a", "a", "b", "b"], "conversation": [1, 2, 3, 1, 2],
        "count": [80, 15, 5, 3, 1], "total": [100, 100, 100, 4, 4],
        "share": [0.8, 0.15, 0.05, 0.75, 0.25],
    })  # fmt: skip
    out = disclosure.suppress_counts(counts, 10)
    assert out["count"].tolist() == [80, "[c]", "[c]", "[c]", "[c]"]
    assert out["share"].tolist() == [0.8, "[c]", "[c]", "[c]", "[c]"]
    assert out["total"].tolist() == [100, 100, 100, "[c]", "[c]"]


def test_disclosure_threshold_is_one_value_per_run_handed_to_the_notebooks(tmp_path):
    from study.run.pipeline import plan_run

    params = tmp_path / "p.yaml"
    params.write_text("run_name: t\nparameters:\n  disclosure_threshold: 7\n", encoding="utf-8")
    plan = plan_run(params, only=["01", "03", "05"])
    assert plan.disclosure_threshold == 7
    assert {nb: v.get("disclosure_threshold") for nb, v in plan.parameters.items()} == {
        "01_conversation_split": 7, "03_interrupted_time_series": 7,
        "05_reviews_existing_care": 7,
    }  # fmt: skip
    params.write_text("run_name: t\ndisclosure_threshold: 5\n", encoding="utf-8")
    assert plan_run(params, only=["02"]).parameters["02_long_term_reduction"] == {
        "disclosure_threshold": 5
    }
    params.write_text(
        "run_name: t\ndisclosure_threshold: 5\nparameters:\n  disclosure_threshold: 7\n",
        encoding="utf-8",
    )
    with pytest.raises(StudyInputError, match="given twice"):
        plan_run(params)
    params.write_text(
        "run_name: t\nnotebooks:\n  01_conversation_split:\n    disclosure_threshold: 3\n",
        encoding="utf-8",
    )
    with pytest.raises(StudyInputError, match="one value per run"):
        plan_run(params)


def _team_of_four(tmp_path: Path) -> Path:
    """The synthetic extract plus 4 episodes of a team at a site of its own, outside
    data/synthetic/ (so its data kind is `user`)."""
    episodes = pd.read_csv(SRC.parent / "data" / "synthetic" / "conversations_synthetic.csv")
    extra = episodes[episodes["site"] == "harrow"].head(4).copy()
    extra["site"], extra["team"] = "other", "innovation_site_9"
    extra["episode_id"] = [f"Z-E{i:07d}" for i in range(4)]
    extra["person_id"] = [f"Z-P{i:07d}" for i in range(4)]
    extra["conversation"] = [1, 1, 2, 3]
    path = tmp_path / "team_of_four.csv"
    pd.concat([episodes, extra]).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_team_of_four_user_extract_shows_no_small_count_in_its_run_folder(tmp_path):
    import re

    extract = _team_of_four(tmp_path)
    params = tmp_path / "team4.yaml"
    params.write_text(
        f"run_name: team4\nparameters:\n  conversations_path: {extract}\n", encoding="utf-8"
    )
    out = tmp_path / "run"
    code, lines = study_process("run", "--params", params, "--only", "01", "--only", "02",
                                "--out", out, timeout=600, columns=200)  # fmt: skip
    text = "\n".join(lines)
    assert code == 0, text
    estimates = pd.read_csv(out / "estimates.csv")
    other = estimates[estimates["site"] == "other"]
    assert len(other) and other["estimate"].isna().all() and other["n"].isna().all()
    texts = [p for p in out.rglob("*") if p.suffix in {".csv", ".html", ".ipynb", ".json", ".svg",
                                                      ".md", ".txt"}]  # fmt: skip
    assert any(p.suffix == ".ipynb" for p in texts) and any(p.suffix == ".html" for p in texts)
    small = re.compile(r"(?<![\d.,])(0\.250*|0\.50*|25(\.0)?%|50(\.0)?%|[12]/4|4(\.0)?)(?![\d.,%])")
    for path in texts:
        body = path.read_text(encoding="utf-8", errors="replace")
        for needle in ("Z-E000", "Z-P000", "innovation_site_9"):  # identifiers, the team
            assert needle not in body, (path.name, needle)
        # every line or table row about the site holds none of its shares or counts
        for part in re.split(r"\n|<tr|\\n", body):
            if re.search(r"\bother\b", part, flags=re.I):
                hit = small.search(re.sub(r"#[0-9a-fA-F]{6}|C[123]", "", part))
                assert hit is None, (path.name, hit and hit.group(0), part[:300])
    counts = (out / "html" / "01_conversation_split.html").read_text(encoding="utf-8")
    rows = re.findall(r"<td>all</td>\s*<td>other</td>(.*?)</tr>", counts, flags=re.S)
    assert rows and all(re.findall(r"<td>([^<]*)</td>", r)[1:] == ["[c]"] * 3 for r in rows)
