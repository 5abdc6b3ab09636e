"""The Optuna study behind a suite study: the queue of runs and the record of which are done.

Each grid point is one trial, found again by its `run_key` user attribute. A run to train is
enqueued as a WAITING trial and claimed by switching it WAITING -> RUNNING through the storage,
which both the journal file (file lock) and the RDB storages (row lock) do atomically: a claim
that returns False means another worker took it. That storage primitive is also what
`Study.ask` uses to pop enqueued trials, but `ask` would create a fresh sampler trial when the
queue is empty, which a grid has no use for.
"""

from __future__ import annotations

import enum
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage, JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from suite.study import RunSpec, Study, sqlite_path

RDB_SCHEMES = ("postgresql", "mysql", "sqlite", "oracle", "mssql")


class PlanState(enum.StrEnum):
    DONE = "done"  # a COMPLETE trial holds its result: never trained again
    TODO = "to do"
    RETRY = "retry"  # an earlier attempt failed or was interrupted
    QUEUED = "queued"  # already enqueued, waiting for a worker
    RUNNING = "running elsewhere"  # a live worker is training it now


@dataclass(frozen=True)
class PlannedRun:
    spec: RunSpec
    state: PlanState
    record: dict[str, Any] = field(default_factory=dict)  # the COMPLETE trial's user attrs

    @property
    def needs_training(self) -> bool:
        return self.state in {PlanState.TODO, PlanState.RETRY, PlanState.QUEUED}


def storage_url(study: Study) -> str:
    """The study's Optuna storage: its `storage:` key, else a journal file beside MLflow's db."""
    if study.storage:
        return study.storage
    db = sqlite_path(study.tracking.uri)
    return str((db.parent if db is not None else Path("mlruns")) / "optuna.journal")


def open_storage(url: str) -> BaseStorage:
    if url.split(":", 1)[0].split("+", 1)[0] in RDB_SCHEMES:
        return optuna.storages.RDBStorage(url)
    path = Path(url.removeprefix("journal:"))
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


def storage_exists(url: str) -> bool:
    if url.split(":", 1)[0].split("+", 1)[0] in RDB_SCHEMES:
        return True
    return Path(url.removeprefix("journal:")).exists()


class RunQueue:
    """Plan, enqueue, claim and close the trials of one suite study."""

    def __init__(self, study: Study, *, create: bool = True) -> None:
        self.study = study
        self.url = storage_url(study)
        self.optuna_study: optuna.Study | None = None
        self.stale_mlflow_runs: list[str] = []  # runs of trials whose worker died mid-training
        if create or storage_exists(self.url):
            storage = open_storage(self.url)
            if create:
                self.optuna_study = optuna.create_study(
                    study_name=study.name,
                    storage=storage,
                    direction="maximize",  # best validation accuracy
                    load_if_exists=True,
                )
            else:
                try:
                    self.optuna_study = optuna.load_study(study_name=study.name, storage=storage)
                except KeyError:
                    self.optuna_study = None

    def _trials_by_key(self) -> dict[str, list[FrozenTrial]]:
        by_key: dict[str, list[FrozenTrial]] = {}
        if self.optuna_study is not None:
            for trial in self.optuna_study.get_trials(deepcopy=False):
                key = trial.user_attrs.get("run_key")
                if key:
                    by_key.setdefault(key, []).append(trial)
        return by_key

    def plan(self, specs: Sequence[RunSpec], *, fail_stale: bool = True) -> list[PlannedRun]:
        """Each spec's state; trials left RUNNING by a dead process are failed (if asked)."""
        by_key = self._trials_by_key()
        planned = []
        for spec in specs:
            trials = by_key.get(spec.run_key, [])
            complete = [t for t in trials if t.state == TrialState.COMPLETE]
            running = [t for t in trials if t.state == TrialState.RUNNING]
            live = [t for t in running if not _is_stale(t)]
            if fail_stale:
                for trial in running:
                    if trial not in live:
                        self._close(trial, TrialState.FAIL, "stale: its worker is gone")
                        if trial.user_attrs.get("mlflow_run_id"):
                            self.stale_mlflow_runs.append(trial.user_attrs["mlflow_run_id"])
            if complete:
                planned.append(PlannedRun(spec, PlanState.DONE, dict(complete[0].user_attrs)))
            elif live:
                planned.append(PlannedRun(spec, PlanState.RUNNING))
            elif any(t.state == TrialState.WAITING for t in trials):
                planned.append(PlannedRun(spec, PlanState.QUEUED))
            elif trials:
                planned.append(PlannedRun(spec, PlanState.RETRY))
            else:
                planned.append(PlannedRun(spec, PlanState.TODO))
        return planned

    def enqueue(self, planned: Sequence[PlannedRun]) -> None:
        """One WAITING trial for each run to train that has none yet."""
        assert self.optuna_study is not None
        for item in planned:
            if item.state in {PlanState.TODO, PlanState.RETRY}:
                self.optuna_study.enqueue_trial(
                    {},
                    user_attrs={
                        "run_key": item.spec.run_key,
                        "label": item.spec.label,
                        "config": item.spec.resolved(),
                    },
                )

    def claim(self, spec: RunSpec) -> optuna.Trial | None:
        """Take a WAITING trial of this spec for this process; None if no trial is left to take."""
        assert self.optuna_study is not None
        storage = self.optuna_study._storage
        for trial in self._trials_by_key().get(spec.run_key, []):
            if trial.state != TrialState.WAITING:
                continue
            try:
                claimed = storage.set_trial_state_values(trial._trial_id, TrialState.RUNNING)
            except optuna.exceptions.UpdateFinishedTrialError:
                claimed = False
            if claimed:
                live = optuna.Trial(self.optuna_study, trial._trial_id)
                live.set_user_attr("worker", _this_worker())
                return live
        return None

    def complete(self, trial: optuna.Trial, *, value: float, record: dict[str, Any]) -> None:
        assert self.optuna_study is not None
        for key, val in record.items():
            trial.set_user_attr(key, val)
        self.optuna_study.tell(trial, value)

    def fail(self, trial: optuna.Trial, reason: str) -> None:
        assert self.optuna_study is not None
        trial.set_user_attr("failure", reason[-2000:])
        self.optuna_study.tell(trial, state=TrialState.FAIL)

    def _close(self, trial: FrozenTrial, state: TrialState, reason: str) -> None:
        assert self.optuna_study is not None
        storage = self.optuna_study._storage
        storage.set_trial_user_attr(trial._trial_id, "failure", reason)
        storage.set_trial_state_values(trial._trial_id, state)


def _this_worker() -> dict[str, Any]:
    return {"host": platform.node(), "pid": os.getpid(), "started": _process_start(os.getpid())}


def _process_start(pid: int) -> str | None:
    """The kernel's start time of a process, so a reused pid is not mistaken for the worker."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, counted after the command name


def _is_stale(trial: FrozenTrial) -> bool:
    """A RUNNING trial whose worker process on this host no longer exists.

    A worker on another host cannot be checked from here; it counts as live.
    """
    worker = trial.user_attrs.get("worker")
    if not isinstance(worker, dict) or worker.get("host") != platform.node():
        return False
    pid = int(worker.get("pid", -1))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    started = worker.get("started")
    return started is not None and _process_start(pid) != started
