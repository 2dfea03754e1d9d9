"""The notebook-side recorder: labelled estimates, reproducible figure files."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from study.errors import StudyInputError  # noqa: E402
from study.run.recorder import REPORT_COLUMNS, Recorder, gather_estimates  # noqa: E402
from study.tidy import estimate_table  # noqa: E402


def table(value: float) -> pd.DataFrame:
    row = dict(quantity="q", estimate=value, ci_low=0, ci_high=1, level=0.95, method="m", n=3)
    return estimate_table([row])


def test_estimates_are_labelled_appended_and_gathered(tmp_path):
    rec = Recorder(run_dir=str(tmp_path), notebook="01_x")
    out = rec.estimates(table(0.5), site="harrow", data_kind="synthetic", source="a.csv")
    assert list(out.columns) == REPORT_COLUMNS
    Recorder(run_dir=str(tmp_path), notebook="00_a").estimates(
        table(0.1), site="birmingham", data_kind="published", source="figures.csv: x"
    )
    rec.estimates(table(0.7), site="harrow", data_kind="user", source="mine.csv")
    gathered = gather_estimates(tmp_path)
    assert gathered["notebook"].tolist() == ["00_a", "01_x", "01_x"]
    assert gathered["estimate"].tolist() == [0.1, 0.5, 0.7]
    assert gathered["data_kind"].tolist() == ["published", "synthetic", "user"]
    assert gathered["source"].tolist() == ["figures.csv: x", "a.csv", "mine.csv"]


@pytest.mark.parametrize("source", ["", "  ", None])
def test_estimates_without_a_source_are_refused(tmp_path, source):
    with pytest.raises(StudyInputError, match="source must name the data"):
        Recorder(str(tmp_path), "01_x").estimates(
            table(0.5), site="harrow", data_kind="published", source=source
        )


def test_interactive_recorder_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rec = Recorder(run_dir="", notebook="01_x")
    rec.estimates(table(0.5), site="harrow", data_kind="published", source="figures.csv: x")
    fig, ax = plt.subplots()
    rec.figure(fig, "f")
    plt.close(fig)
    assert list(tmp_path.iterdir()) == []


def test_unknown_data_kind_is_refused(tmp_path):
    with pytest.raises(StudyInputError, match="data_kind must be one of"):
        Recorder(str(tmp_path), "01_x").estimates(
            table(0.5), site="harrow", data_kind="real", source="x"
        )


def test_figure_files_are_byte_identical_between_runs(tmp_path):
    contents = []
    for run in ("a", "b"):
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3], [3, 1, 2], label="x")
        ax.legend()
        Recorder(str(tmp_path / run), "01_x").figure(fig, "line")
        plt.close(fig)
        folder = tmp_path / run / "figures"
        contents.append({p.name: p.read_bytes() for p in folder.iterdir()})
    assert set(contents[0]) == {"01_x__line.png", "01_x__line.svg"}
    assert contents[0] == contents[1]


def test_record_writes_a_results_labelled_rows_and_figures(tmp_path):
    from study.analyses import AnalysisResult, combine, labelled

    fig, _ = plt.subplots()
    a = AnalysisResult(
        labelled(table(0.2), site="harrow", data_kind="published", source="figures.csv: a"),
        text="first",
        figures={"a_plot": fig},
    )
    b = AnalysisResult(
        labelled(table(0.9), site="northfield", data_kind="user", source="mine.csv"), text="second"
    )
    both = combine(a, b)
    assert both.text == "first\n\nsecond" and list(both.figures) == ["a_plot"]
    Recorder(run_dir=str(tmp_path), notebook="02_y").record(both)
    plt.close(fig)
    gathered = gather_estimates(tmp_path)
    assert gathered["site"].tolist() == ["harrow", "northfield"]
    assert gathered["estimate"].tolist() == [0.2, 0.9]
    assert gathered["notebook"].tolist() == ["02_y", "02_y"]
    assert (tmp_path / "figures" / "02_y__a_plot.png").is_file()


def test_record_refuses_unlabelled_rows_and_unknown_kinds(tmp_path):
    from study.analyses import AnalysisResult, labelled

    with pytest.raises(StudyInputError, match="lacks column"):
        AnalysisResult(table(0.5))
    bad = AnalysisResult(labelled(table(0.5), site="x", data_kind="made-up", source="s"))
    with pytest.raises(StudyInputError, match="data_kind must be one of"):
        Recorder(run_dir=str(tmp_path), notebook="02_y").record(bad)
    blank = AnalysisResult(labelled(table(0.5), site="x", data_kind="user", source=" "))
    with pytest.raises(StudyInputError, match="source must name"):
        Recorder(run_dir=str(tmp_path), notebook="02_y").record(blank)
