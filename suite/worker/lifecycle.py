"""One trial's whole life once a worker holds it: train and track it, then close it once.

As in Optuna's `_run_trial`, the trial's final state is decided in one place and the trial is
closed exactly once, whatever happens: COMPLETE or PRUNED with its result, FAIL with its
traceback, FAIL as interrupted (Ctrl-C), or left alone when another worker failed it as stale
meanwhile (its result is discarded as superseded). A trial the record already answers (its
run finished through another queue) is closed here too, with the recorded result. This module
is the only caller of `RunQueue.close`: trial sources decide, they never close. Grid points
and search trials alike.
"""

from __future__ import annotations

import signal
import time
import traceback
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import optuna
from optuna.trial import TrialState

from suite.errors import (
    SetupError,
    StoreLostInCallback,
    Superseded,
    store_error_types,
    store_errors_stop_the_study,
    study_stores,
)
from suite.forecast.outcomes import CutShort, RunOutcome, RunStatus
from suite.queue.run_queue import RunQueue, Verdict
from suite.record.finished_runs import RecordedRun
from suite.schema import Status, TrialAttr, TrialResult
from suite.study.run_spec import RunSpec
from suite.train.data import load_splits
from suite.worker.signals import signal_handled

if TYPE_CHECKING:
    import keras

    from suite.record.tracker import Tracker
    from suite.train.execution import Execution
    from suite.train.fit import TrainResult
    from suite.worker.progress import StudyProgress

    # What training together gave one run: the program's execution, its model, its result,
    # and its share of the program's whole seconds (building the members, compiling, training
    # and testing them), which a separate run's seconds count too.
    Trained = tuple[Execution, keras.Model, TrainResult, float]


@dataclass(frozen=True)
class WorkerSession:
    """What every trial of one worker trains with (see `suite.worker.loop.worker_session`)."""

    queue: RunQueue
    tracker: Tracker
    progress: StudyProgress
    environment: dict[str, str]  # versions, backend, device, commit: the run's env tags
    cut_short: list[CutShort] = field(default_factory=list)  # by an interrupt: what it left


class _TrainingError(Exception):
    """An error raised by Keras while this run trained: the run's own, never the setup's."""


def answer_from_record(
    spec: RunSpec, trial: optuna.Trial, run: RecordedRun, session: WorkerSession, *, value: float
) -> RunOutcome:
    """Close a claimed trial with the result MLflow already holds (its run was trained through
    another queue, or a search proposed a recorded point again): nothing trains."""
    session.queue.note_finished(run)
    verdict = Verdict.finished(
        run.trial_result(spec.compared_by, spec.measure), value=value, pruned=run.pruned
    )
    try:
        session.queue.close(trial, verdict)
    except Superseded as err:
        return RunOutcome(spec, RunStatus.SUPERSEDED, mlflow_run_id=run.run_id, error=str(err))
    return RunOutcome(
        spec,
        RunStatus.DONE_ELSEWHERE,
        test_value=run.metrics.get(spec.measure.test),
        value=value,
        mlflow_run_id=run.run_id,
    )


def run_together(
    members: Sequence[tuple[RunSpec, optuna.Trial]],
    session: WorkerSession,
) -> list[RunOutcome]:
    """Train `members` (seeds of one configuration, claimed by this worker) as one program,
    then track each as its own run through `run_trial`, which records what was trained
    instead of training it. Until all have trained, nothing is in MLflow: an interrupt or a
    crash leaves their trials to be trained again, never a half-recorded run."""
    from suite.train.execution import together
    from suite.train.fit import execution_for
    from suite.train.fused import train_together
    from suite.train.lanes import lanes_for

    queue, progress = session.queue, session.progress
    specs = [spec for spec, _ in members]
    progress.together_started(specs)
    try:
        stores = study_stores(session.tracker.study.tracking.uri, queue.url)
        with store_errors_stop_the_study(stores), ExitStack() as beating:
            for _, trial in members:
                beating.enter_context(queue.heartbeat(trial))
            program_started = time.perf_counter()
            splits = load_splits(specs[0].data)
            execution = together(execution_for(specs[0], splits), len(specs))
            execution = replace(execution, fused_lanes=lanes_for(execution, len(specs)))
            try:
                trained = train_together(
                    specs, splits, execution=execution, epoch_ended=progress.together_epoch_ended
                )
            except (KeyboardInterrupt, SetupError, *store_error_types()):
                raise
            except Exception as err:
                raise _TrainingError from err
            share = (time.perf_counter() - program_started) / len(specs)
    except KeyboardInterrupt:
        _interrupted(members, session)
        raise
    except SetupError:
        for _, trial in members:
            queue.close(trial, Verdict.failed(traceback.format_exc()))
        raise
    except _TrainingError as err:
        cause = err.__cause__
        error = f"{type(cause).__name__}: {cause}"
        outcomes = []
        for spec, trial in members:
            queue.close(trial, Verdict.failed(traceback.format_exc()))
            progress.run_ended(spec, RunStatus.FAILED, error[:40])
            outcomes.append(RunOutcome(spec, RunStatus.FAILED, error=error))
        return outcomes
    outcomes = []
    for index, ((spec, trial), done) in enumerate(zip(members, trained, strict=True)):
        try:
            trial_trained = (execution, *done, share)
            outcomes.append(run_trial(spec, trial, session, trained=trial_trained))
        except KeyboardInterrupt:  # this member's trial is closed; the ones after it too
            _interrupted(members[index + 1 :], session)
            raise
    return outcomes


def _interrupted(members: Sequence[tuple[RunSpec, optuna.Trial]], session: WorkerSession) -> None:
    """Fail the trials of members that Ctrl-C cut short before they were recorded."""
    with signal_handled(signal.SIGINT, signal.SIG_IGN):  # a second Ctrl-C waits
        for spec, trial in members:
            session.queue.close(trial, Verdict.failed("interrupted by the user"))
            session.progress.run_ended(spec, RunStatus.KILLED, "interrupted")
            session.cut_short.append(CutShort(spec.label, recorded=False))


def run_trial(
    spec: RunSpec,
    trial: optuna.Trial,
    session: WorkerSession,
    *,
    prune: bool = False,
    trained: Trained | None = None,
) -> RunOutcome:
    """Train and track `spec` as `trial` (or, given what was `trained` for it, only track
    it); the outcome of a run error, or raise for the setup's."""
    queue, progress = session.queue, session.progress
    if trained is None:
        progress.run_started(spec)
    session.tracker.started = None
    run_id: str | None = None
    try:
        stores = study_stores(session.tracker.study.tracking.uri, queue.url)
        with store_errors_stop_the_study(stores):
            run_id, result, pruned_after = _train_and_track(
                spec, trial, session, prune=prune, trained=trained
            )
    except KeyboardInterrupt:
        with signal_handled(signal.SIGINT, signal.SIG_IGN):  # a second Ctrl-C waits
            queue.close(trial, Verdict.failed("interrupted by the user"))
            progress.run_ended(spec, RunStatus.KILLED, "interrupted")
            recorded = session.tracker.started == spec.run_key  # ended KILLED on the way
            session.cut_short.append(CutShort(spec.label, recorded=recorded))
        raise
    except Superseded as err:  # its MLflow run was marked KILLED by the worker that failed it
        progress.run_ended(spec, RunStatus.KILLED, "superseded")
        return RunOutcome(spec, RunStatus.SUPERSEDED, mlflow_run_id=run_id, error=str(err))
    except SetupError:  # the data's or the store's: the trial waits for a retry once mended
        queue.close(trial, Verdict.failed(traceback.format_exc()))
        raise
    except Exception as err:
        cause = err.__cause__ if isinstance(err, _TrainingError) else err
        queue.close(trial, Verdict.failed(traceback.format_exc()))
        error = f"{type(cause).__name__}: {cause}"
        progress.run_ended(spec, RunStatus.FAILED, error[:40])
        return RunOutcome(spec, RunStatus.FAILED, mlflow_run_id=run_id, error=error)
    seconds = None if trained is None else result.train_seconds  # its share of the program
    if pruned_after is not None:
        progress.run_ended(spec, RunStatus.PRUNED, f"at epoch {pruned_after}")
        status = RunStatus.PRUNED
    else:
        detail = f"test {result.measure.words} {result.test_value:.4f}"
        progress.run_ended(spec, RunStatus.TRAINED, detail, seconds=seconds)
        status = RunStatus.TRAINED
    return RunOutcome(
        spec,
        status,
        test_value=result.test_value,
        value=result.best_value,
        seconds=result.train_seconds,
        mlflow_run_id=run_id,
    )


def _train_and_track(
    spec: RunSpec,
    trial: optuna.Trial,
    session: WorkerSession,
    *,
    prune: bool,
    trained: Trained | None,
) -> tuple[str, TrainResult, int | None]:
    """Train inside the trial's heartbeat and MLflow child run, and close the trial with its
    result before the run ends FINISHED (a superseded result ends it KILLED instead).
    `trained`: what training together gave this run; its epochs go through the same
    callbacks as a live run's. (run id, result, pruned at)."""
    from suite.train.fit import ReportToTrial, execution_for, replay, train

    queue, tracker = session.queue, session.tracker
    started = time.perf_counter()
    reporter = ReportToTrial(trial, monitor=spec.compared_by.metric, prune=prune)
    splits = load_splits(spec.data)
    execution = execution_for(spec, splits) if trained is None else trained[0]
    with (
        queue.heartbeat(trial),
        tracker.child_run(
            spec, environment=session.environment, execution=execution, trial_number=trial.number
        ) as run_id,
    ):
        trial.set_user_attr(TrialAttr.MLFLOW_RUN_ID, run_id)
        tracker.log_datasets(spec, splits)
        callbacks = [*tracker.callbacks(), session.progress.callback(), reporter]
        try:
            if trained is None:
                model, result = train(spec, splits, execution=execution, callbacks=callbacks)
            else:
                _, model, result, _ = trained
                replay(model, result.history, callbacks)
        except StoreLostInCallback as lost:
            raise lost.error from None  # the store's, not this run's
        except (KeyboardInterrupt, SetupError, *store_error_types()):
            raise  # the user's, the setup's or a store's (the queue's, too): not this run's
        except Exception as err:
            raise _TrainingError from err
        tracker.log_result(spec, result, model, pruned_after=reporter.pruned_after)
        shared = 0.0 if trained is None else trained[3]  # its share of the program
        trial_result = TrialResult(
            mlflow_run_id=run_id,
            measure=result.measure,
            test_value=result.test_value,
            best_val_value=result.best_val_value,
            train_seconds=result.train_seconds,
            best_epoch=result.best_epoch,
            run_seconds=time.perf_counter() - started + shared,  # what estimates learn from
            selection=(result.objective.column, result.best_value),
        )
        value = result.best_value
        pruned = reporter.pruned_after is not None
        queue.close(trial, Verdict.finished(trial_result, value=value, pruned=pruned))
    return run_id, result, reporter.pruned_after


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


def close_dead_workers_trials(queue: RunQueue, tracker: Tracker) -> int:
    """Fail every trial whose worker is gone and end its MLflow run KILLED where it was left
    RUNNING (a SIGKILL, or a journal repaired after a crash); how many there were. Every
    invocation with nothing to train does it (else the worker loop does, as it claims), and
    then ends the study's own run if a fault left it RUNNING: no run stays RUNNING."""
    stale = queue.fail_stale_trials()
    for trial in stale:
        tracker.mark_killed(trial.user_attrs.get(TrialAttr.MLFLOW_RUN_ID))
    if not queue.optuna_study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        tracker.end_study_run_left_running()
    return len(stale)
