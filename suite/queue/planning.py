"""The queue planned against the record: each run's state (done, to do, lost, retry, queued,
running elsewhere), the record's finished runs brought into the queue, and a WAITING trial
enqueued for each run to train."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from suite.queue.queue_storage import QueueStorage
from suite.record.finished_runs import RecordedRun, RecordSnapshot
from suite.schema import TrialAttr
from suite.study.config import Study
from suite.study.run_spec import RunSpec


class PlanState(enum.StrEnum):
    DONE = "done"  # MLflow holds a FINISHED run of it (else: a COMPLETE trial): never again
    TODO = "to do"
    LOST = "lost from MLflow"  # the queue says COMPLETE, the record has no run: train again
    RETRY = "retry"  # an earlier attempt failed or was interrupted
    QUEUED = "queued"  # already enqueued, waiting for a worker
    RUNNING = "running elsewhere"  # a live worker is training it now


@dataclass(frozen=True)
class PlannedRun:
    spec: RunSpec
    state: PlanState
    attributes: dict[str, Any] = field(default_factory=dict)  # the done trial's user attrs

    @property
    def needs_training(self) -> bool:
        return self.state in {PlanState.TODO, PlanState.RETRY, PlanState.QUEUED, PlanState.LOST}


def queue_attributes(spec: RunSpec) -> dict[str, Any]:
    """What every trial of a run carries from the moment it is queued (or asked for). Short
    attributes only: optuna-dashboard shows each on one line; the full configuration is the
    MLflow run's config.json and params."""
    return {
        TrialAttr.RUN_KEY: spec.run_key,
        TrialAttr.LABEL: spec.label,
        TrialAttr.EPOCHS: spec.training.epochs,
    }


class PlanningQueue(QueueStorage):
    """The queue's plan: which runs are done (by the record, once read), which to train."""

    def __init__(
        self,
        study: Study,
        *,
        specs: Sequence[RunSpec] | None = None,
        create: bool = True,
        **study_options: Any,
    ) -> None:
        super().__init__(study, specs=specs, create=create, **study_options)
        # MLflow's finished runs by run_key, once read (`use_record`): then they, not COMPLETE
        # trials, say which runs are done. Without it, the queue alone does.
        self.recorded: dict[str, RecordedRun] | None = None
        self._run_ids: set[str] = set()
        self._run_exists: Callable[[str], bool] = lambda run_id: False
        self._looked_up: dict[str, bool] = {}
        self._planned_from: dict[str, list[FrozenTrial]] = {}  # the trials the last plan read

    def use_record(
        self, snapshot: RecordSnapshot, run_exists: Callable[[str], bool] | None = None
    ) -> None:
        """From now on a run is done when MLflow holds a FINISHED run of it, or a COMPLETE
        trial names an MLflow run the store still has (it may be ending right now). A COMPLETE
        trial whose run the store lacks was lost with it: train again.

        A run is made before its trial completes, so a trial seen COMPLETE whose run is not in
        the snapshot (another invocation trained it since the read) is looked up in the store
        itself (`run_exists`): the answer is then final, and kept."""
        self.recorded, self._run_ids = dict(snapshot.finished), set(snapshot.run_ids)
        self._run_exists = run_exists or (lambda run_id: False)
        self._looked_up: dict[str, bool] = {}

    def note_finished(self, run: RecordedRun) -> None:
        """A FINISHED run found at claim (trained through another queue): done from now on."""
        if self.recorded is not None:
            self.recorded[run.run_key] = run
            self._run_ids.add(run.run_id)

    def _is_done(self, run_key: str, trials: Sequence[FrozenTrial]) -> bool:
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        if self.recorded is None:
            return bool(complete)
        if run_key in self.recorded:
            return True
        return any(
            self._run_still_there(t.user_attrs.get(TrialAttr.MLFLOW_RUN_ID)) for t in complete
        )

    def _run_still_there(self, run_id: str | None) -> bool:
        if run_id is None:
            return False
        if run_id in self._run_ids:
            return True
        if run_id not in self._looked_up:
            self._looked_up[run_id] = self._run_exists(run_id)
        return self._looked_up[run_id]

    def plan(self, specs: Sequence[RunSpec]) -> list[PlannedRun]:
        """Each spec's state, as the storage (and the record, if given) hold it now. Reads
        only: a trial whose worker is gone shows as RETRY and is failed by
        `fail_stale_trials`; a run the record holds but the queue does not is recorded by
        `adopt_recorded_runs`."""
        by_key = self._trials_by_key()
        self._planned_from = by_key
        planned = []
        for spec in specs:
            trials = by_key.get(spec.run_key, [])
            live = [t for t in trials if t.state == TrialState.RUNNING and not self.is_stale(t)]
            complete = [t for t in trials if t.state == TrialState.COMPLETE]
            if self._is_done(spec.run_key, trials):
                attrs = dict(complete[0].user_attrs) if complete else {}
                if self.recorded is not None and spec.run_key in self.recorded:
                    # The record wins, except for the trial's own claim-to-close seconds,
                    # which MLflow's start-to-end only stands in for where the trial has none.
                    recorded = self.recorded[spec.run_key].trial_result(
                        self.study.objective, self.study.measure
                    )
                    recorded = recorded.attributes()
                    if TrialAttr.RUN_SECONDS in attrs:
                        recorded.pop(TrialAttr.RUN_SECONDS, None)
                    attrs.update(recorded)
                planned.append(PlannedRun(spec, PlanState.DONE, attrs))
            elif live:
                planned.append(PlannedRun(spec, PlanState.RUNNING))
            elif any(t.state == TrialState.WAITING for t in trials):
                planned.append(PlannedRun(spec, PlanState.QUEUED))
            elif complete:
                planned.append(PlannedRun(spec, PlanState.LOST))
            elif trials:
                planned.append(PlannedRun(spec, PlanState.RETRY))
            else:
                planned.append(PlannedRun(spec, PlanState.TODO))
        return planned

    def adopt_recorded_runs(self, planned: Sequence[PlannedRun]) -> list[RecordedRun]:
        """Bring the queue in line with the record: a COMPLETE trial for each run MLflow holds
        as FINISHED and the queue does not (so optuna-dashboard and older workers agree), and
        the open trials of such runs closed. The recorded runs the queue lacked."""
        assert self.optuna_study is not None
        if self.recorded is None:
            return []
        by_key = self._trials_by_key()
        added: list[RecordedRun] = []
        for item in planned:
            run = self.recorded.get(item.spec.run_key)
            if item.state != PlanState.DONE or run is None:
                continue
            trials = by_key.get(item.spec.run_key, [])
            for trial in trials:
                if trial.state == TrialState.WAITING:
                    self._close(trial, f"finished in MLflow as run {run.run_id}")
            if not any(t.state == TrialState.COMPLETE for t in trials):
                self._add_complete(item.spec, run)
                added.append(run)
        return added

    def _add_complete(self, spec: RunSpec, run: RecordedRun) -> None:
        assert self.optuna_study is not None
        value = run.metrics.get(self.study.objective.column)
        if value is None:  # not a grid run's record: nothing to put in the queue
            return
        attrs = {
            **queue_attributes(spec),
            **run.trial_result(self.study.objective, self.study.measure).attributes(),
        }
        params = {name: spec.value_of(name) for name in self.distributions}
        try:
            trial = optuna.trial.create_trial(
                value=value, params=params, distributions=dict(self.distributions), user_attrs=attrs
            )
        except ValueError:  # a point outside the study's distributions (an edited grid)
            trial = optuna.trial.create_trial(value=value, user_attrs=attrs)
        self.optuna_study.add_trial(trial)

    def enqueue(self, planned: Sequence[PlannedRun]) -> None:
        """One WAITING trial for each run to train that has none yet."""
        assert self.optuna_study is not None
        for item in planned:
            if item.state in {PlanState.TODO, PlanState.RETRY, PlanState.LOST}:
                self.optuna_study.enqueue_trial({}, user_attrs=queue_attributes(item.spec))
