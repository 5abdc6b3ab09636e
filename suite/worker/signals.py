"""Signals a worker turns into Ctrl-C, so every way of stopping it ends the run as KILLED."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from types import FrameType

from suite.stores.uninterrupted import INTERRUPTS

Handler = Callable[[int, FrameType | None], object] | int | None

# SIGTERM: a job scheduler or `kill`; SIGHUP: a closed terminal (the interrupts besides Ctrl-C,
# listed once, where store writes hold them).
STOP_SIGNALS = tuple(signum for signum in INTERRUPTS if signum != signal.SIGINT)


@contextmanager
def signal_handled(signum: int, handler: Handler) -> Iterator[None]:
    """Install a signal handler for the duration, then restore the previous one."""
    previous = signal.signal(signum, handler)
    try:
        yield
    finally:
        signal.signal(signum, previous)


@contextmanager
def stops_as_interrupts() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt for the duration, as Ctrl-C does."""
    with ExitStack() as stack:
        for signum in STOP_SIGNALS:
            stack.enter_context(signal_handled(signum, signal.default_int_handler))
        yield
