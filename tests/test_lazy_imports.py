"""Start-up imports: the CLI, planning and the run's parameters load no statistics library
(issue 18: a run pays for the models only in the notebooks that fit them)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("statsmodels", "scipy.stats", "study.its.models", "study.proportions")


def _imported(code: str) -> dict[str, bool]:
    found = f"{{m: m in sys.modules for m in {HEAVY!r}}}"
    probe = f"{code}\nimport json, sys\nprint(json.dumps({found}))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def test_cli_and_pipeline_import_no_statistics_library():
    got = _imported("import study.run.cli, study.run.pipeline, study.run.parameters")
    assert got == dict.fromkeys(HEAVY, False)


def test_its_names_load_their_module_on_first_use():
    got = _imported("from study.its import FAMILIES\nfrom study import its\nassert its.fit_its")
    assert got["study.its.models"] and got["statsmodels"]
    assert _imported("from study.its import FAMILIES") == dict.fromkeys(HEAVY, False)


def test_planning_and_preflight_of_the_default_run_import_no_statistics_library():
    # the parameter check reads notebook 07's design_sites (study.data.design_sites) and the
    # preflight selects notebook 02's compared episodes (study.analyses.long_term_design)
    # without importing the notebooks' estimators: 1.1 s before every run's first kernel
    code = (
        "from study import config\n"
        "from study.run.pipeline import discover_notebooks, plan_run, preflight\n"
        "plan = plan_run(config.DEFAULT_PARAMS, [], notebooks=discover_notebooks())\n"
        "assert plan.parameters['07_evaluation_design']['design_sites']\n"
        "preflight(plan)"
    )
    assert _imported(code) == dict.fromkeys(HEAVY, False)
