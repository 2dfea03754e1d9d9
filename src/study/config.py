"""Project paths, built from the package's own location (src layout, editable install)."""

from __future__ import annotations

from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJ_ROOT / "data"
PUBLISHED_DIR = DATA_DIR / "published"
SYNTHETIC_DIR = DATA_DIR / "synthetic"
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
PARAMS_DIR = PROJ_ROOT / "params"
REPORTS_DIR = PROJ_ROOT / "reports"
DEFAULT_PARAMS = PARAMS_DIR / "default.yaml"
SEEDS_DIR = PROJ_ROOT.parent / "shared" / "seeds"
EXTERNAL_DIR = PROJ_ROOT.parent / "shared" / "external"


def resolve_path(path: str | Path) -> Path:
    """Resolve a user path: absolute paths stay, relative ones are taken from the project root."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else PROJ_ROOT / p


def data_kind(path: str | Path) -> str:
    """Label a record-level input: 'synthetic' if it lives in data/synthetic/, else 'user'."""
    p = resolve_path(path).resolve()
    return "synthetic" if p.is_relative_to(SYNTHETIC_DIR.resolve()) else "user"


def project_label(path: str | Path) -> str:
    """How a file is named in messages and provenance: relative to the project root when inside
    it, else the absolute path (the inverse of `resolve_path`)."""
    p = Path(path).resolve()
    root = PROJ_ROOT.resolve()
    return p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p)
