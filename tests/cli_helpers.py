"""The `study` command in tests: in this process (`invoke`, typer's CliRunner on
`study.run.cli.app`, a few milliseconds) or as `python -m study` in a subprocess (`study_process`,
about 1.5 s of interpreter start and imports), kept for the tests where the real entry point and
process boundary are what is checked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

import study

SRC = Path(study.__file__).resolve().parents[1]  # the source tree under test


def invoke(*args: object, width: int = 250) -> tuple[int, list[str]]:
    """`study ARGS` in this process, its consoles `width` columns wide (as COLUMNS=width gives a
    subprocess): (exit code, stdout lines then stderr lines).

    An exception escaping the command (what a subprocess would print as a traceback) is raised
    again here, so the calling test fails with it."""
    from study.run import cli

    widths = {console: console.width for console in (cli.out, cli.err)}
    try:
        for console in widths:
            console.width = width
        result = CliRunner().invoke(cli.app, list(map(str, args)), env={"COLUMNS": str(width)})
    finally:
        for console, previous in widths.items():
            console.width = previous
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, (result.stdout + result.stderr).splitlines()


def process_env(columns: int) -> dict[str, str]:
    """The environment of a `python -m study` subprocess: the source tree under test first on
    PYTHONPATH, COLUMNS=columns."""
    path = os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "COLUMNS": str(columns)}


def study_process(*args: object, timeout: float = 120, columns: int = 80) -> tuple[int, list[str]]:
    """`python -m study ARGS` in a subprocess: (exit code, stdout lines then stderr lines)."""
    done = subprocess.run(
        [sys.executable, "-m", "study", *map(str, args)],
        capture_output=True, text=True, env=process_env(columns), timeout=timeout, check=False,
    )  # fmt: skip
    return done.returncode, (done.stdout + done.stderr).splitlines()
