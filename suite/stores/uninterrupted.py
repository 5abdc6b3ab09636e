"""A tracking store's database sessions are never cut in half by Ctrl-C.

An interrupt (Ctrl-C, or SIGTERM / SIGHUP turned into one) that lands inside one of MLflow's
SQLAlchemy sessions on a SQLite store can leave that session's connection holding SQLite's
write lock. The run's own `end_run(KILLED)` then waits out MLflow's 20 s busy timeout and
fails ("database is locked", or the same as a "Query-invoked autoflush"), MLflow logs a
traceback, and the run stays RUNNING until the next invocation. Holding the signal for the
session's few milliseconds, then raising it, closes that window: tests/faults/test_interrupts.py
interrupts a logging loop at random points. MLflow has no hook around its sessions, so the
store's session factory is wrapped by hand.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

# Ctrl-C, a job scheduler's SIGTERM, a closed terminal's SIGHUP: each raises KeyboardInterrupt
# in a worker (suite.worker.signals).
INTERRUPTS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def interrupts_held(*, second_at_once: bool = True) -> Iterator[None]:
    """Hold the interrupts whose handler is Python code until the block ends, then run that
    handler (it raises KeyboardInterrupt). With `second_at_once`, a second one while held
    runs it at once: a user who presses Ctrl-C twice is not kept waiting. Signals reach only
    the main thread, so elsewhere this holds nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous: dict[int, Callable[..., Any]] = {}

    def hold(signum: int, frame: object) -> None:
        if held and second_at_once:
            previous[signum](signum, frame)
        held.append(signum)

    for signum in INTERRUPTS:
        handler = signal.getsignal(signum)
        if callable(handler):
            previous[signum] = handler
            signal.signal(signum, hold)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if held:
            previous[held[0]](held[0], None)


def hold_interrupts_in_sessions(store: object) -> None:
    """Make every database session of an MLflow SQLAlchemy store (`ManagedSessionMaker`)
    uninterruptible; any other store (a tracking server: nothing local to leave locked) is
    left alone."""
    sessions = getattr(store, "ManagedSessionMaker", None)
    if sessions is None or getattr(sessions, "holds_interrupts", False):
        return

    @contextlib.contextmanager
    def held_session(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with interrupts_held(), sessions(*args, **kwargs) as session:
            yield session

    held_session.holds_interrupts = True  # type: ignore[attr-defined]
    store.ManagedSessionMaker = held_session  # type: ignore[attr-defined]
