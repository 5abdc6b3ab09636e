"""The Optuna study behind a suite study: the queue of runs and the record of which are done.

Each grid point is one trial, found again by its `run_key` user attribute. How this gives
"every grid point trained to completion exactly once, however many workers":

- A run to train is enqueued as a WAITING trial. Any worker may enqueue (workers start
  independently, on any machine), so two workers can enqueue the same run_key at once:
  `enqueue_trial(skip_if_exists=True)` races the same way (optuna#4690-style), and Optuna's
  GridSampler can hand the same point to two workers. We accept duplicates and make them
  harmless with one rule: of the unfinished trials of a run_key, only the lowest-numbered
  may be trained. Trial numbers are assigned by the storage, so every worker agrees on it.
- A worker claims that trial by switching it WAITING -> RUNNING through the storage, which
  both the journal file (a file lock) and the RDB storages (a row lock) do atomically; a claim
  that returns False means another worker has it. This is the primitive `Study.ask` uses to
  pop enqueued trials, but `ask` would create a fresh sampler trial when the queue is empty.
- The claiming worker writes a heartbeat (a trial system attribute with a timestamp) while it
  trains. A RUNNING trial whose worker is gone (same host: its pid no longer exists; any host:
  no heartbeat for `stale_after_seconds`) is failed by whichever worker notices, its MLflow run
  is marked KILLED, and the run is enqueued again. Optuna's own heartbeat exists only for RDB
  storages and only inside `study.optimize`, so the suite keeps its own, for every storage.
- Before a worker records a result it checks that its trial is still RUNNING (not failed as
  stale in the meantime); if it is not, the result is discarded as superseded.

Optuna's RDB storage on SQLite is not safe for concurrent claiming; several workers need the
journal file (one machine) or PostgreSQL / MySQL (several machines).
"""

from __future__ import annotations

import contextlib
import enum
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from suite.errors import Superseded
from suite.queue.worker_identity import process_alive, this_worker
from suite.record.environment import host_name
from suite.record.finished_runs import RecordedRun, RecordSnapshot
from suite.schema import TrialAttr, TrialResult
from suite.stores.optuna_storage import create_or_load, open_storage, storage_exists, storage_url
from suite.study.config import Study
from suite.study.grid_keys import allowed_values
from suite.study.run_spec import RunSpec

HEARTBEAT = TrialAttr.HEARTBEAT


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


@dataclass(frozen=True)
class Verdict:
    """How a claimed trial ends: COMPLETE with its value, PRUNED, or FAIL with the reason."""

    state: TrialState
    value: float | None = None
    result: TrialResult | None = None
    failure: str | None = None

    @classmethod
    def failed(cls, reason: str) -> Verdict:
        return cls(TrialState.FAIL, failure=reason)

    @classmethod
    def finished(cls, result: TrialResult, *, value: float, pruned: bool) -> Verdict:
        if pruned:
            return cls(TrialState.PRUNED, result=result)
        return cls(TrialState.COMPLETE, value=value, result=result)


def queue_attributes(spec: RunSpec) -> dict[str, Any]:
    """What every trial of a run carries from the moment it is queued (or asked for). Short
    attributes only: optuna-dashboard shows each on one line; the full configuration is the
    MLflow run's config.json and params."""
    return {
        TrialAttr.RUN_KEY: spec.run_key,
        TrialAttr.LABEL: spec.label,
        TrialAttr.EPOCHS: spec.training.epochs,
    }


class RunQueue:
    """Plan, enqueue, claim and close the trials of one suite study."""

    def __init__(
        self,
        study: Study,
        *,
        specs: Sequence[RunSpec] | None = None,
        create: bool = True,
        **study_options: Any,
    ) -> None:
        """`specs`: the runs to plan and claim (else all of the grid's: `Study.runs`);
        `study_options` (sampler, pruner) go to `optuna.create_study`."""
        self.study = study
        self.url = storage_url(study)
        self.optuna_study: optuna.Study | None = None
        self._storage: BaseStorage | None = None
        self._trial_ids: dict[int, int] = {}  # trial number -> storage id; never changes
        # MLflow's finished runs by run_key, once read (`use_record`): then they, not COMPLETE
        # trials, say which runs are done. Without it, the queue alone does.
        self.recorded: dict[str, RecordedRun] | None = None
        self._run_ids: set[str] = set()
        self._run_exists: Callable[[str], bool] = lambda run_id: False
        self._looked_up: dict[str, bool] = {}
        self._planned_from: dict[str, list[FrozenTrial]] = {}  # the trials the last plan read
        if specs is None:
            specs = study.runs
        self.distributions = grid_distributions(study, specs)
        if create:
            self._storage, self.optuna_study = create_or_load(
                study.name,
                self.url,
                objective=study.objective,
                kind="search" if study.search else "grid",
                **study_options,
            )
        elif storage_exists(self.url):
            with contextlib.suppress(KeyError):
                self._storage = open_storage(self.url)
                self.optuna_study = optuna.load_study(study_name=study.name, storage=self._storage)

    @property
    def storage(self) -> BaseStorage:
        assert self._storage is not None
        return self._storage

    def _trials_by_key(self) -> dict[str, list[FrozenTrial]]:
        by_key: dict[str, list[FrozenTrial]] = {}
        if self.optuna_study is not None:
            for trial in self.optuna_study.get_trials(deepcopy=False):
                key = trial.user_attrs.get(TrialAttr.RUN_KEY)
                if key:
                    by_key.setdefault(key, []).append(trial)
        return by_key

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

    def fail_stale_trials(self) -> list[FrozenTrial]:
        """Fail every RUNNING trial whose worker is gone; return them (as they were before), so
        the caller marks their MLflow runs KILLED and hands their work back to the queue."""
        if self.optuna_study is None:
            return []
        running = self.optuna_study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        stale = [trial for trial in running if self.is_stale(trial)]
        for trial in stale:
            self._close(trial, "stale: its worker is gone")
        return stale

    def trial_id(self, trial: FrozenTrial | optuna.Trial) -> int:
        """The storage's id of a trial, through the storage's public look-up by number."""
        if trial.number not in self._trial_ids:
            study_id = self.storage.get_study_id_from_name(self.study.name)
            self._trial_ids[trial.number] = self.storage.get_trial_id_from_study_id_trial_number(
                study_id, trial.number
            )
        return self._trial_ids[trial.number]

    def enqueue(self, planned: Sequence[PlannedRun]) -> None:
        """One WAITING trial for each run to train that has none yet."""
        assert self.optuna_study is not None
        for item in planned:
            if item.state in {PlanState.TODO, PlanState.RETRY, PlanState.LOST}:
                self.optuna_study.enqueue_trial({}, user_attrs=queue_attributes(item.spec))

    def claim(self, spec: RunSpec) -> optuna.Trial | None:
        """Take this spec's trial for this worker; None if it is done or another worker has it.

        Only the lowest-numbered unfinished trial of a run_key may be trained (see the module
        docstring); higher-numbered duplicates are failed so they never run.
        """
        assert self.optuna_study is not None
        trials = self._claimable_view(spec.run_key)
        if self._is_done(spec.run_key, trials):
            return None
        open_trials = [t for t in trials if t.state in {TrialState.WAITING, TrialState.RUNNING}]
        if not open_trials:
            return None
        first, duplicates = open_trials[0], open_trials[1:]
        for duplicate in duplicates:
            if duplicate.state == TrialState.WAITING:
                self._close(duplicate, f"duplicate of trial {first.number}")
        if first.state != TrialState.WAITING:
            return None
        try:
            claimed = self.storage.set_trial_state_values(self.trial_id(first), TrialState.RUNNING)
        except optuna.exceptions.UpdateFinishedTrialError:
            claimed = False
        if not claimed:
            return None
        self._set_grid_params(self.trial_id(first), spec)
        return self.adopt(optuna.Trial(self.optuna_study, self.trial_id(first)))

    def _claimable_view(self, run_key: str) -> list[FrozenTrial]:
        """The run's trials by number, as the last `plan` read them where that shows exactly
        one open trial: a worker plans, then tries its runs one by one, and reading the whole
        queue again for each try made every claim cost the length of the queue. A stale view
        is safe: only a WAITING trial can be made RUNNING (the storage checks, atomically), so
        it costs a failed claim, never a second owner. Read afresh where the view has no open
        trial (enqueued since) or several (duplicates are closed only on what is true now)."""

        def by_number(trials: list[FrozenTrial]) -> list[FrozenTrial]:
            return sorted(trials, key=lambda t: t.number)

        seen = by_number(self._planned_from.get(run_key, []))
        if sum(t.state in {TrialState.WAITING, TrialState.RUNNING} for t in seen) == 1:
            return seen
        return by_number(self._trials_by_key().get(run_key, []))

    def _set_grid_params(self, trial_id: int, spec: RunSpec) -> None:
        """The grid point as the trial's Optuna params, as a sampled trial would carry them:
        optuna-dashboard's trial list, importances, slice and parallel-coordinate plots read
        them. Recorded at claim time, so trials enqueued by older versions get them too."""
        for name, distribution in self.distributions.items():
            value = distribution.to_internal_repr(spec.value_of(name))
            # A distribution changed by an edited grid (Optuna refuses that for one study) costs
            # the dashboard one parameter of this trial, never the run.
            with contextlib.suppress(ValueError):
                self.storage.set_trial_param(trial_id, name, value, distribution)

    def adopt(self, trial: optuna.Trial) -> optuna.Trial:
        """Record this worker as the trial's owner, with a first heartbeat."""
        trial.set_user_attr(TrialAttr.WORKER, this_worker())
        self._beat(trial)
        return trial

    def _beat(self, trial: optuna.Trial) -> None:
        self.storage.set_trial_system_attr(self.trial_id(trial), HEARTBEAT, time.time())

    @contextlib.contextmanager
    def heartbeat(self, trial: optuna.Trial) -> Iterator[None]:
        """Beat every `heartbeat_seconds` while the trial trains, from a background thread."""
        stop = threading.Event()
        interval = self.study.execution.heartbeat_seconds

        def beat() -> None:
            while not stop.wait(interval):
                with contextlib.suppress(Exception):  # a missed beat is retried next time
                    self._beat(trial)

        thread = threading.Thread(target=beat, name=f"heartbeat-{trial.number}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def still_mine(self, trial: optuna.Trial) -> bool:
        return self.storage.get_trial(self.trial_id(trial)).state == TrialState.RUNNING

    def close(self, trial: optuna.Trial, verdict: Verdict) -> None:
        """End a trial this worker claimed, as the verdict says (the only way one ends; the
        worker's trial lifecycle is its one caller). A trial failed as stale meanwhile is
        another worker's now: a result for it raises Superseded, a failure is dropped."""
        assert self.optuna_study is not None
        if not self.still_mine(trial):
            if verdict.state == TrialState.FAIL:
                return
            raise Superseded(f"trial {trial.number} was failed as stale while it trained")
        attributes = verdict.result.attributes() if verdict.result else {}
        if verdict.failure is not None:
            attributes[TrialAttr.FAILURE] = verdict.failure[-2000:]
        for key, value in attributes.items():
            trial.set_user_attr(key, value)
        if verdict.state == TrialState.COMPLETE:
            self.optuna_study.tell(trial, verdict.value)
        else:
            self.optuna_study.tell(trial, state=verdict.state)

    def is_stale(self, trial: FrozenTrial) -> bool:
        """RUNNING, but its worker is gone: a dead pid on this host, or no recent heartbeat."""
        worker = trial.user_attrs.get(TrialAttr.WORKER)
        here = isinstance(worker, dict) and worker.get("host") == host_name()
        if here and not process_alive(int(worker.get("pid", -1)), worker.get("started")):
            return True
        last = trial.system_attrs.get(HEARTBEAT)
        if last is None:  # claimed a moment ago, before its first beat: judge by its start
            start = trial.datetime_start
            last = start.timestamp() if start else time.time()
        return time.time() - float(last) > self.study.execution.stale_after_seconds

    def _close(self, trial: FrozenTrial, reason: str) -> None:
        """Fail another worker's (or nobody's) trial; quietly skip one that finished meanwhile."""
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError, RuntimeError):
            self.storage.set_trial_user_attr(self.trial_id(trial), TrialAttr.FAILURE, reason)
            self.storage.set_trial_state_values(self.trial_id(trial), TrialState.FAIL)


# Grid keys whose values are open-ended (a dataset's name or path): no fixed choices for Optuna
# to hold, so they are not trial parameters; each trial still names its run_key and label.
FREE_TEXT_KEYS = frozenset({"dataset", "archive", "file"})


def grid_distributions(study: Study, specs: Sequence[RunSpec]) -> dict[str, BaseDistribution]:
    """An Optuna distribution for each grid key that varies, keyed by the grid key.

    Text and boolean keys get every value the field allows, not only the grid's, and numbers a
    range: Optuna refuses a categorical parameter whose choices change within a study, and a
    study's grid may grow (another seed, another cell) between invocations.
    """
    distributions: dict[str, BaseDistribution] = {}
    for key in study.grid or {}:
        values = {spec.value_of(key) for spec in specs}
        if len(values) < 2 or key in FREE_TEXT_KEYS:
            continue
        sample = next(iter(values))
        if isinstance(sample, bool):
            distributions[key] = CategoricalDistribution([False, True])
        elif isinstance(sample, str):
            distributions[key] = CategoricalDistribution(list(allowed_values(key)))
        elif isinstance(sample, int):
            distributions[key] = IntDistribution(min(values), max(values))
        else:
            log = key == "learning_rate"
            distributions[key] = FloatDistribution(min(values), max(values), log=log)
    return distributions
