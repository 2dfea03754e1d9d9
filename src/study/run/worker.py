"""What a run's worker process executes: one notebook with papermill, then its HTML rendering.

`study run` (`study.run.pipeline.run_study`) starts its workers with multiprocessing "spawn",
so each worker imports this module to unpickle `quiet_worker` and `execute_notebook`. It
imports only the standard library, `study.config` and `study.run.signals` at module level
(papermill and nbconvert when a notebook runs): no pandas, yaml, numpy or `study.data`, which a
worker never uses (issue 18; tests/test_worker_imports.py).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from study import config
from study.run.signals import worker_ignores_interrupts

KERNEL = "python3"

# Kernels run side by side (`jobs`), so each gets one BLAS/OpenMP thread: on 2 cores two
# kernels with a multi-threaded OpenBLAS each oversubscribe the cores, and a busy-waiting
# thread made one dense least-squares fit 40 times slower (benchmarks/README.md, issue 18).
# A value the user has set is kept.
KERNEL_THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def skip_iri_grammar() -> None:
    """Keep jsonschema from importing its optional IRI checker, `rfc3987_syntax`, which builds
    a parser grammar at import (0.8 s CPU in each worker; jsonschema comes in with nbformat).
    Only jsonschema's "iri" format check uses it, and nothing a run validates (notebook JSON
    against nbformat's schema) has that format; jsonschema imports it under
    `suppress(ImportError)`, which the None entry in `sys.modules` triggers."""
    sys.modules.setdefault("rfc3987_syntax", None)


def quiet_worker(log: str) -> None:
    """Worker start-up: ignore Ctrl-C (the main process stops the run), send the worker's
    stderr, and so its kernels' stderr, to the run's kernel.log, and start its kernels with
    `KERNEL_THREADS` (unless the variables are set)."""
    worker_ignores_interrupts()
    for name, value in KERNEL_THREADS.items():
        os.environ.setdefault(name, value)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)


def export_html(notebook: Path, target: Path) -> None:
    """Render an executed notebook to HTML (nbconvert's HTMLExporter, default template)."""
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    target.write_text(body, encoding="utf-8")


def execute_notebook(nb_path: str, out_nb: str, parameters: dict, html: str) -> dict:
    """Run one notebook with papermill (kernel `KERNEL`, working folder notebooks/) and render
    it to HTML.

    Returns {"seconds": ...} or, if a cell raised, {"cell": ..., "error": ..., "ename": ...}.
    """
    skip_iri_grammar()
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    t0 = time.perf_counter()
    try:
        pm.execute_notebook(
            nb_path,
            out_nb,
            parameters=parameters,
            kernel_name=KERNEL,
            cwd=str(config.NOTEBOOKS_DIR),
            progress_bar=False,
            log_output=False,
        )
    except PapermillExecutionError as exc:
        return {"cell": exc.cell_index, "error": f"{exc.ename}: {exc.evalue}", "ename": exc.ename}
    export_html(Path(out_nb), Path(html))
    return {"seconds": time.perf_counter() - t0}
