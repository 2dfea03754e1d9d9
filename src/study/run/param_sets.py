"""New parameter sets and finding them: `study new-params` copies a set with each value's help
(`new_params_text`), `find_params_file` finds a set by name or path."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from study.config import PARAMS_DIR
from study.errors import StudyInputError
from study.run.parameters import BY_NAME, notebook_number, notebooks_using, yaml_literal


def help_for(name: str, numbers: list[str]) -> str:
    """A parameter's help text for a set running `numbers`: that of those notebooks if they
    agree, else the parameter's own."""
    p = BY_NAME.get(name)
    if p is None:
        return ""
    texts = {p.help_in(n) for n in numbers}
    return texts.pop() if len(texts) == 1 else p.help


def new_params_text(raw: Mapping, *, name: str, source: str) -> str:
    """A commented parameters file copied from the parsed file `raw` under a new run name.

    Each shared value gets a trailing comment with the notebooks that use it (those this set
    runs) and its help text; each per-notebook value gets that notebook's help text, so a new
    user can see what to change. The result parses back to the same parameters.
    """
    original = str(raw.get("description") or "").strip()
    description = f"{name}: describe this evaluation here (copied from {source}" + (
        f": {original})" if original else ")"
    )
    lines = [
        f"# Parameter set '{name}', copied from {source} by 'study new-params'.",
        "# Point the *_path parameters at your own extract (check it first with",
        "# 'study validate FILE'), change the assumptions you disagree with, then run",
        f"# 'study run --params params/{name}.yaml'. Dates are 'YYYY-MM-DD'.",
        "# Below are the values the copied set changes; every other parameter keeps its",
        "# notebook default. 'study list' shows them all, and any of them can be added here.",
        "# The description is printed at the top of the report: say what this run is.",
        f"run_name: {name}",
        f"description: {yaml_literal(description)}",
    ]
    only = [str(n) for n in raw.get("only") or []]
    if only:
        lines.append(f"only: {yaml_literal(only)}  # notebooks this set runs")
    runs = {notebook_number(n) for n in only}

    def line(indent: str, key: str, value: object, comment: str) -> str:
        return f"{indent}{key}: {yaml_literal(value)}" + (f"  # {comment}" if comment else "")

    lines.append("parameters:")
    for key, value in (raw.get("parameters") or {}).items():
        numbers = [n for n in notebooks_using(key) if not runs or n in runs]
        tag = f"[{', '.join(numbers)}] " if numbers else ""
        lines.append(line("  ", key, value, f"{tag}{help_for(key, numbers)}".strip()))
    overrides = raw.get("notebooks") or {}
    if overrides:
        lines.append("notebooks:  # per-notebook values where the same name differs")
        for nb, values in overrides.items():
            lines.append(f"  {nb}:")
            for key, value in (values or {}).items():
                lines.append(line("    ", key, value, help_for(key, [notebook_number(nb)])))
    return "\n".join(lines) + "\n"


def find_params_file(name_or_path: str | Path) -> Path:
    """A parameters file given as a path, or by name in params/ ('harrow-2019-20')."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    named = PARAMS_DIR / f"{p.name.removesuffix('.yaml')}.yaml"
    if named.is_file():
        return named
    have = ", ".join(sorted(f.stem for f in PARAMS_DIR.glob("*.yaml")))
    raise StudyInputError(f"no parameters file {name_or_path!r} (params/ has: {have})")
