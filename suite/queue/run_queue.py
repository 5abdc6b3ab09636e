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

from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from suite.errors import Superseded
from suite.queue.claims import ClaimingQueue
from suite.schema import TrialAttr, TrialResult


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


class RunQueue(ClaimingQueue):
    """Plan, enqueue, claim and close the trials of one suite study: planning, claims and the
    storage underneath are its bases; how a claimed trial ends, and a dead worker's, is here."""

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
