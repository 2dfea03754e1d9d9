"""Shared fixtures: tiny notebooks for exercising the pipeline without the real study."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from its_series import harrow_like_series
from its_series import step_series as harrow_step_series

from study.data.published import load_events, load_figures, load_review_tables
from study.run.worker import skip_iri_grammar

skip_iri_grammar()  # as a run's workers do: nbformat's jsonschema without its IRI grammar

try:
    import fcntl  # POSIX: pytest-xdist workers share one run_01 (below)
except ImportError:  # pragma: no cover - Windows
    fcntl = None


@pytest.fixture(autouse=True)
def _wide_cli_output(monkeypatch):
    """The CLI's rich consoles wrap at the width they had when study.run.cli was imported (80
    in a pytest-xdist worker): a long temporary path (xdist workers' temp folders are longer)
    would be split mid-name. Every test sees them 250 columns wide, serial or in parallel."""
    from study.run import cli

    monkeypatch.setenv("COLUMNS", "250")
    for console in (cli.out, cli.err):
        monkeypatch.setattr(console, "width", 250)


# The published tables, loaded once per test module (tests that need other rows define their own).
@pytest.fixture(scope="module")
def figures():
    return load_figures()


@pytest.fixture(scope="module")
def events():
    return load_events()


@pytest.fixture(scope="module")
def review_tables():
    """Harrow Tables 1a/1b as published (data/published/harrow_reviews_tables.csv)."""
    return load_review_tables()


#: the Harrow-like weekly series of the ITS tests (tests/its_series.py), built once per module
harrow_like = pytest.fixture(scope="module")(harrow_like_series)
step_series = pytest.fixture(scope="module", name="step_series")(harrow_step_series)


@pytest.fixture(scope="module")
def step_weekly(step_series):
    """`step_series` as a weekly file: Harrow's new long-term starts."""
    return step_series[["week_start", "count"]].assign(site="harrow", series="new_long_term_starts")


def make_notebook(path: Path, params: str, body: str, title: str = "# Toy") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    param_cell = nbformat.v4.new_code_cell(params)
    param_cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(title), param_cell, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def toy_notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    make_notebook(
        folder / "01_toy.ipynb",
        'alpha: float = 0.05  # 1 - confidence level\nlabel: str = "x"  # a label\n'
        'run_dir: str = ""  # run folder',
        "import pandas as pd\n"
        "from study.run.recorder import Recorder\n"
        "from study.tidy import estimate_table\n"
        "rec = Recorder(run_dir=run_dir, notebook='01_toy')\n"
        "t = estimate_table([dict(quantity=label, estimate=1 - alpha, ci_low=0.0, ci_high=1.0,"
        " level=1 - alpha, method='toy', n=10)])\n"
        "rec.estimates(t, site='harrow', data_kind='published', source='toy')",
    )
    make_notebook(
        folder / "02_fails.ipynb",
        'n: int = 3  # a count\nrun_dir: str = ""  # run folder',
        "x = n + 1\nraise ValueError('boom in toy')",
    )
    return folder


WEEKLY_SYNTHETIC = "data/synthetic/harrow_weekly_synthetic.csv"


def design_setup(figures, **overrides):
    """Notebook 07's `evaluation_design.prepare` on the committed synthetic weekly series with
    the default periods, windows and planned sites (`overrides` replace any argument)."""
    from study import config
    from study.analyses import evaluation_design
    from study.data.records import read_records
    from study.run.parameters import DESIGN_SITES, PERIODS, WINDOWS

    args = dict(
        site="harrow",
        series="new_long_term_starts",
        periods=PERIODS,
        windows=WINDOWS,
        last_week="",
        harmonics=1,
        weeks_before=52,
        design_sites=DESIGN_SITES,
        nuisance="fitted",
        dispersion=1.0,
        autocorrelation=0.0,
        data_kind="synthetic",
        source=WEEKLY_SYNTHETIC,
    )
    weekly = read_records(config.resolve_path(WEEKLY_SYNTHETIC), "weekly")
    return evaluation_design.prepare(weekly, figures, **{**args, **overrides})


def _study_run_01(folder: Path) -> Path:
    from cli_helpers import invoke

    code, lines = invoke("run", "--only", "01", "--out", folder)
    assert code == 0, lines
    return folder


@pytest.fixture(scope="session")
def run_01(tmp_path_factory) -> Path:
    """`study run --only 01 --out <tmp>/run` (the real notebook 01 with the default parameters),
    once per test session, for tests that only read the run folder (test_browser, test_compare's
    rerun). Under pytest-xdist the first worker to need it writes it into the session's shared
    temporary folder while the others wait on a lock (fcntl, POSIX); elsewhere once per process."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None or fcntl is None:
        return _study_run_01(tmp_path_factory.mktemp("run_01") / "run")
    shared = tmp_path_factory.getbasetemp().parent / "run_01"  # this session's, all workers'
    shared.mkdir(exist_ok=True)
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            folder, done = shared / "run", shared / "done"
            if not done.exists():
                shutil.rmtree(folder, ignore_errors=True)  # a worker that failed midway
                _study_run_01(folder)
                done.touch()
            return folder
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
