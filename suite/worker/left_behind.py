"""What dead workers and faults left behind, closed: each MLflow run left RUNNING ended as its
trial says (end_runs_left_running), the one sweep of dead workers' trials, which fails
each, ends its run KILLED and hands its work back (sweep_dead_workers), and the study runs
left RUNNING, ended once no worker trains (end_study_runs_left_running)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import optuna
from optuna.trial import TrialState

from suite.queue.run_queue import RunQueue
from suite.schema import Status, TrialAttr

if TYPE_CHECKING:
    from suite.record.tracker import Tracker
    from suite.worker.decisions import TrialSource


def end_runs_left_running(queue: RunQueue, tracker: Tracker) -> None:
    """Every invocation's first step: end each of the study's MLflow runs that no live worker
    is training, as the trial it was created for says. A fault can leave a run RUNNING at any
    moment: a store lost (a server gone, a disk full or read-only) before the run ended, or
    even before its trial learned its id; a worker killed. So a run is matched to its trial by
    the number it was created with (its tags), not by the id the trial may not hold:

    - its trial closed with this run: FINISHED (complete or pruned: its result is all there)
      or FAILED (failed: trained again);
    - its trial's worker is gone (stale), its trial closed without it, its trial is another
      run's (a new or lost storage), or there is no such trial: KILLED; the stale trial
      itself is failed and its work handed back by the worker loop's sweep.

    Safe beside live workers: a live worker's trial is RUNNING and not stale, and its run is
    left alone; a trial closes only after its run has ended, except that a complete trial
    closes just before its run ends FINISHED, which is what this does too."""
    left = tracker.running_child_runs()
    if not left:
        return
    trials = {t.number: t for t in queue.optuna_study.get_trials(deepcopy=False)}
    for run in left:
        trial = trials.get(run.trial_number) if run.trial_number is not None else None
        status = _status_of_left_run(queue, trial, run.run_id, run.run_key)
        if status is not None:
            tracker.end_left_running(run.run_id, status)


def _status_of_left_run(
    queue: RunQueue, trial: optuna.trial.FrozenTrial | None, run_id: str, run_key: str | None
) -> str | None:
    """The status a run left RUNNING ends with, from its trial; None: a live worker's."""
    if trial is None:
        return Status.KILLED
    trial_key = trial.user_attrs.get(TrialAttr.RUN_KEY)
    if trial_key is not None and run_key is not None and trial_key != run_key:
        return Status.KILLED  # the number is another run's trial: this one's queue is gone
    if trial.state == TrialState.RUNNING:
        return Status.KILLED if queue.is_stale(trial) else None
    if trial.user_attrs.get(TrialAttr.MLFLOW_RUN_ID) != run_id:
        return Status.KILLED  # closed (or enqueued again) without this run
    if trial.state == TrialState.FAIL:
        return Status.FAILED
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return Status.FINISHED
    return Status.KILLED


def sweep_dead_workers(source: TrialSource, tracker: Tracker) -> int:
    """The one sweep of dead workers' trials: fail every trial whose worker is gone, end its
    MLflow run KILLED where it was left RUNNING (a SIGKILL, or a journal repaired after a
    crash) and hand its work back to the source (Optuna's RetryFailedTrialCallback's role);
    how many there were. The worker loop sweeps before each claim."""
    stale = source.queue.fail_stale_trials()
    for trial in stale:
        tracker.mark_killed(trial.user_attrs.get(TrialAttr.MLFLOW_RUN_ID))
        source.hand_back(trial)
    return len(stale)


def close_dead_workers_trials(source: TrialSource, tracker: Tracker) -> int:
    """What an invocation with nothing to train does instead of the worker loop: sweep dead
    workers' trials, then end the study's runs left RUNNING. How many trials there were."""
    swept = sweep_dead_workers(source, tracker)
    end_study_runs_left_running(source.queue, tracker)
    return swept


def end_study_runs_left_running(queue: RunQueue, tracker: Tracker) -> None:
    """Where no worker trains (no trial RUNNING), end every study run still RUNNING: one a
    fault cut short, or a second one that two workers starting together both kept (each
    found only its own before the other's was written). Every invocation's last worker does
    it as it ends, and one with nothing to train does it at once: no run stays RUNNING."""
    if not queue.optuna_study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        tracker.end_study_run_left_running()
