"""A run's trial claimed by this worker (WAITING -> RUNNING through the storage, atomically),
its grid point set as the trial's params, and the worker's heartbeat while it trains."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import optuna
from optuna.trial import FrozenTrial, TrialState

from suite.queue.planning import PlanningQueue
from suite.queue.queue_storage import HEARTBEAT
from suite.queue.worker_identity import this_worker
from suite.schema import TrialAttr
from suite.study.run_spec import RunSpec


class ClaimingQueue(PlanningQueue):
    """Claims and heartbeats: only the lowest-numbered open trial of a run_key is trained."""

    def claim(self, spec: RunSpec) -> optuna.Trial | None:
        """Take this spec's trial for this worker; None if it is done or another worker has it.

        Only the lowest-numbered unfinished trial of a run_key may be trained (see
        `suite.queue.run_queue`); higher-numbered duplicates are failed so they never run.
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
        interval = self.study.workers.heartbeat_seconds

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
