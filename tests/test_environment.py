"""The pinned environment: lock file, pyproject and environment.yml name the same packages."""

from __future__ import annotations

import importlib.util
import re
import tomllib

import yaml

from study.config import PROJ_ROOT


def _names(reqs: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in reqs}


def pyproject_names() -> set[str]:
    meta = tomllib.loads((PROJ_ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta["optional-dependencies"].values():
        reqs.extend(extra)
    return _names(reqs)


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in (PROJ_ROOT / "requirements" / "lock.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_design_card_packages_are_dependencies():
    names = pyproject_names()
    for pkg in ["jupyterlab", "pandas", "statsmodels", "seaborn", "papermill", "nbval"]:
        assert pkg in names


def test_environment_yml_names_the_same_packages_as_pyproject():
    env = yaml.safe_load((PROJ_ROOT / "environment.yml").read_text())
    conda = {d.split("=")[0].lower() for d in env["dependencies"] if isinstance(d, str)}
    assert conda - {"python", "pip"} == pyproject_names()
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip_section == ["-e ."]


def test_environment_yml_is_generated_from_pyproject_and_lock():
    spec = importlib.util.spec_from_file_location(
        "make_env", PROJ_ROOT / "scripts/make_environment.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (PROJ_ROOT / "environment.yml").read_text() == module.render()


def test_lock_pins_every_direct_dependency_exactly():
    pins = lock_pins()
    missing = pyproject_names() - set(pins)
    assert not missing, f"not pinned in requirements/lock.txt: {sorted(missing)}"
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", v) for v in pins.values())
