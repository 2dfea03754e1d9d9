"""Interrupts during `study run`: SIGINT (Ctrl-C) and SIGTERM end a run promptly and cleanly.

Only the main process reacts: the first signal raises `RunInterrupted` in its main thread,
every later one is counted and ignored, so the clean-up that follows (stopping the workers and
their kernels, marking the run folder) cannot itself be interrupted and is bounded in time.
Worker processes ignore SIGINT (a terminal's Ctrl-C goes to the whole process group); the
signals are blocked while they start, so none can reach a half-started worker. The main process
stops the workers with SIGKILL and their kernels (which start in sessions of their own) with
SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

HANDLED = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None)
EXIT_CODE = 130  # 128 + SIGINT, what a shell reports for Ctrl-C


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by SIGINT or SIGTERM (a KeyboardInterrupt, so libraries let it through)."""

    def __init__(self, signum: int, message: str = ""):
        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        super().__init__(message or f"interrupted by {self.signal_name}")


@contextmanager
def interrupts_raise() -> Iterator[dict]:
    """Inside the block the first SIGINT/SIGTERM raises RunInterrupted; later ones are counted
    in the yielded state (`state["signals"]`) and ignored. Previous handlers are restored on
    leaving, unless a signal came: then both stay ignored until the process exits."""
    state = {"signals": 0}

    def handler(signum, _frame):
        state["signals"] += 1
        if state["signals"] == 1:
            raise RunInterrupted(signum)

    previous = {s: signal.signal(s, handler) for s in HANDLED}
    try:
        yield state
    finally:
        for s, h in previous.items():  # once interrupted, later signals stay ignored to the exit
            signal.signal(s, signal.SIG_IGN if state["signals"] else h)


@contextmanager
def signals_blocked() -> Iterator[None]:
    """Block SIGINT/SIGTERM in this thread (POSIX); a signal that arrives meanwhile is
    delivered when the block ends. Processes started inside inherit the block."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def worker_ignores_interrupts() -> None:
    """In a worker: ignore SIGINT (the main process decides), then lift the inherited block."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)


def descendants(pid: int) -> list[int]:
    """Process ids below `pid` (children, grandchildren, ...), read from /proc (Linux); empty
    where /proc does not list children (the kernels then exit when their parent dies, through
    ipykernel's parent poller)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        kids: list[int] = []
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                kids += [int(x) for x in task.read_text().split()]
            except (OSError, ValueError):
                continue
        found += kids
        todo += kids
    return found


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _send(pids: Iterable[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def stop_processes(workers: Iterable, grace: float = 2.0) -> list[int]:
    """Stop worker processes (multiprocessing.Process) and everything they started.

    The kernels below each worker get SIGTERM, the workers SIGKILL; whatever still runs after
    `grace` seconds gets SIGKILL. Returns the ids of processes that could not be stopped."""
    workers = [w for w in workers if w.pid is not None]
    below = [pid for w in workers for pid in descendants(w.pid)]
    _send(below, signal.SIGTERM)
    for w in workers:
        if w.is_alive():
            w.kill()
    deadline = time.monotonic() + grace
    for w in workers:
        w.join(max(0.0, deadline - time.monotonic()))
    while any(alive(p) for p in below) and time.monotonic() < deadline:
        time.sleep(0.05)
    _send([p for p in below if alive(p)], signal.SIGKILL)
    end = time.monotonic() + 1.0
    while any(alive(p) for p in below) and time.monotonic() < end:
        time.sleep(0.05)
    return [p for p in below if alive(p)] + [w.pid for w in workers if w.is_alive()]
