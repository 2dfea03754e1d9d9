"""What a run's worker process imports (issue 18): `study run` starts its workers with
multiprocessing "spawn", so each imports the module of what it unpickles (its initializer and
the function it runs). That is `study.run.worker`, which loads no pandas, yaml, numpy or
`study.data` (a worker only runs papermill and the HTML export); `study.run.pipeline` imports
them only in the functions that use them."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import pytest

from study.run import pipeline

HEAVY = (
    "pandas",
    "numpy",
    "yaml",
    "pydantic",
    "matplotlib",
    "study.data",
    "study.run.parameters",
    "study.run.recorder",
    "study.run.pipeline",
    "papermill",
)


def _loaded_after(code: str) -> list[str]:
    """The HEAVY modules a fresh interpreter has loaded after running `code`."""
    loaded = f"[m for m in {HEAVY!r} if m in sys.modules]"
    probe = f"{code}\nimport json, sys\nprint(json.dumps({loaded}))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def test_the_worker_module_imports_no_pandas_yaml_numpy_or_study_data():
    assert _loaded_after("import study.run.worker") == []


def test_the_pipeline_imports_pandas_yaml_and_pydantic_only_where_used():
    assert _loaded_after("import study.run.cli, study.run.pipeline") == ["study.run.pipeline"]


class _Submitted(Exception):
    """Stops run_study at its first submit, before any worker or kernel starts."""


class _RecordingPool:
    """Stands in for ProcessPoolExecutor: records how run_study starts its workers."""

    seen: dict = {}

    def __init__(self, jobs, mp_context, initializer, initargs):
        _RecordingPool.seen.update(
            method=mp_context.get_start_method(), initializer=initializer, initargs=initargs
        )

    def submit(self, fn, *args):
        _RecordingPool.seen.update(fn=fn, args=args)
        raise _Submitted

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def test_a_spawned_worker_unpickles_only_the_light_worker_module(
    toy_notebooks, tmp_path, monkeypatch
):
    params = tmp_path / "p.yaml"
    params.write_text("run_name: toy\nonly: ['01']\n", encoding="utf-8")
    plan = pipeline.plan_run(params, notebooks=pipeline.discover_notebooks(toy_notebooks))
    monkeypatch.setattr(pipeline, "ProcessPoolExecutor", _RecordingPool)
    with pytest.raises(_Submitted):
        pipeline.run_study(plan, tmp_path / "run")
    seen = _RecordingPool.seen
    assert seen["method"] == "spawn"
    assert seen["initializer"].__module__ == seen["fn"].__module__ == "study.run.worker"
    # what the worker process receives, unpickled in a fresh interpreter as spawn does
    blob = pickle.dumps((seen["initializer"], seen["fn"], seen["args"]))
    assert _loaded_after(f"import pickle\npickle.loads({blob!r})") == []


def test_a_worker_skips_jsonschemas_iri_grammar_and_still_validates_notebooks():
    """`skip_iri_grammar`: jsonschema loads without rfc3987_syntax; notebooks still validate."""
    code = (
        "import sys\n"
        "from study.run.worker import skip_iri_grammar\n"
        "skip_iri_grammar()\n"
        "import jsonschema, nbformat\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1 + 1')])\n"
        "nbformat.validate(nb)\n"
        "bad = nbformat.v4.new_notebook()\n"
        "bad['cells'] = [{'cell_type': 'nonsense'}]\n"
        "try:\n"
        "    nbformat.validate(bad)\n"
        "except nbformat.ValidationError:\n"
        "    print('refused')\n"
        "print(sys.modules['rfc3987_syntax'] is None, 'jsonschema' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["refused", "True", "True"]
