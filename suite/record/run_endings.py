"""How a run ends: the one writer of a run's final status, and the runs this process started
and has not ended yet, each ended once as its outcome says (a store's fault leaves it as the
store holds it, for the next invocation to end)."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterator

import mlflow
from mlflow.tracking import MlflowClient

from suite.errors import Superseded, is_store_fault, store_error_types
from suite.schema import Artifact, Status
from suite.stores.uninterrupted import interrupts_held


def write_status(client: MlflowClient, run_id: str, status: str) -> None:
    """The one writer of a run's final status: the active run through MLflow's fluent API,
    which also lets it go (and stops its system metrics); any other through the client (a
    run another worker, or a fault, left RUNNING)."""
    active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:
        mlflow.end_run(status)
    else:
        client.set_terminated(run_id, status)


class OpenRuns:
    """The runs this process started and has not ended: the study's, and a trial's child."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client
        self.store_failed: list[BaseException] = []  # once it failed, it is asked no more
        self.child_run: str | None = None  # the open one of a trial, if any
        self._open: dict[str, mlflow.ActiveRun] = {}

    @contextlib.contextmanager
    def ended_by_outcome(self, active: mlflow.ActiveRun) -> Iterator[None]:
        """End the active run as its block ended (`end_run`), unless it was ended inside."""
        run_id = active.info.run_id
        self._open[run_id] = active
        try:
            yield
        except BaseException as err:
            self.end_run(run_id, err)
            raise
        else:
            self.end_run(run_id)

    def end_run(self, run_id: str, error: BaseException | None = None) -> None:
        """End a run started here (the study's, or a trial's child run) as `error` says,
        once: none FINISHED; an interrupt, or a result superseded, KILLED; a store's fault:
        left as the store holds it (see `leave_unwritten`); any other error FAILED, its
        traceback kept. A run ended already is left alone."""
        active = self._open.pop(run_id, None)
        if active is None:
            return
        if run_id == self.child_run:
            self.child_run = None
        if error is None:
            with interrupts_held(second_at_once=False):
                write_status(self.client, run_id, Status.FINISHED)
        elif isinstance(error, (KeyboardInterrupt, Superseded)):
            self._end_unless_store_failed(active, Status.KILLED)
        elif is_store_fault(error):
            self.store_failed.append(error)
            leave_unwritten(active)
        else:
            with contextlib.suppress(Exception):
                mlflow.log_text("".join(traceback.format_exception(error)), Artifact.ERROR)
            self._end_unless_store_failed(active, Status.FAILED)

    def _end_unless_store_failed(self, active: mlflow.ActiveRun, status: str) -> None:
        """End the run with `status`, unless the store has failed (now or before): then leave
        it for the next invocation, which ends it from its trial's state."""
        if self.store_failed:
            leave_unwritten(active)
            return
        try:
            with interrupts_held(second_at_once=False):  # a run half ended would stay RUNNING
                write_status(self.client, active.info.run_id, status)
        except store_error_types() as err:
            self.store_failed.append(err)
            leave_unwritten(active)


def leave_unwritten(active: mlflow.ActiveRun) -> None:
    """Leave the active run without a word to the store that just failed: every further
    request would wait out its retries again (up to a minute each on a server gone), and
    MLflow's `end_run` writes the status before it lets the run go. Written by hand because
    MLflow has no public way to drop an active run locally; the next invocation ends the run
    FAILED or KILLED (`suite.worker.left_behind.end_runs_left_running`)."""
    from mlflow.tracking.fluent import _active_run_stack, run_id_to_system_metrics_monitor

    stack = _active_run_stack.get()
    if stack and stack[-1].info.run_id == active.info.run_id:
        stack.pop()
    monitor = run_id_to_system_metrics_monitor.pop(active.info.run_id, None)
    if monitor is not None:  # its thread would ask the failed store again; let it stop
        monitor._shutdown_event.set()
