"""MLflow's system-metrics warnings, held while a run is tracked and shown only if its store
did not fail.

The monitor's thread reaches the tracking store on its own, so when the store is lost it
warns ("Failed to get mlflow run: ... Connection refused") before the suite's own one line
reports the same failure. Its warnings are held until the run ends: shown then, as MLflow
would have shown them, when the store held up (they are the only report of what went wrong);
dropped when the suite reports the store's failure itself. Written by hand: MLflow has no
setting for it, and logging's MemoryHandler only needs the hold-or-drop decision added."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
from collections.abc import Iterator

MONITOR_LOGGER = "mlflow.system_metrics"


class _Held(logging.handlers.MemoryHandler):
    """Buffers records until flushed; once dropping, keeps none (the monitor's thread may
    still warn after its run was left, while the store is gone)."""

    dropping = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.dropping:
            super().emit(record)


@contextlib.contextmanager
def held_monitor_warnings(store_failed: list[BaseException]) -> Iterator[None]:
    """Hold the monitor's records for the block; `store_failed`: non-empty once the suite has
    reported the store's failure (then they are dropped, and any later ones too)."""
    logger = logging.getLogger(MONITOR_LOGGER)
    target = next(iter(logging.getLogger("mlflow").handlers), None) or logging.lastResort
    held = _Held(capacity=1000, flushLevel=logging.CRITICAL + 1, target=target)
    propagates = logger.propagate
    logger.addHandler(held)
    logger.propagate = False
    try:
        yield
    finally:
        if store_failed:
            held.dropping = True
            held.buffer.clear()  # left in place: the thread may warn again before it stops
        else:
            held.flush()
            logger.removeHandler(held)
            logger.propagate = propagates
