"""One trial's whole life once a worker holds it: train and track it, then close it once.

As in Optuna's `_run_trial`, every path through a trial's life sets its ending (`Ending`):
COMPLETE or PRUNED with its result, FAIL with its traceback, FAIL as interrupted (Ctrl-C), or
a trial the record already answers (its run finished through another queue) with the recorded
result. One function at the end, `_close`, acts on it: it closes the Optuna trial and the
trial's MLflow run, in the order that keeps one result per run_key, and says it on the
progress display; a trial another worker failed as stale meanwhile is left to it and its
result is discarded as superseded. What training raised is classified in one place
(`_errors_of_training`), and what an error means for the trial in one other (`_ending_of`).
This module is the only caller of `RunQueue.close`: trial sources decide, they never close.
Grid points and search trials alike.
"""

from __future__ import annotations

import signal
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
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
from suite.queue.run_queue import RunQueue, Verdict
from suite.record.finished_runs import RecordedRun
from suite.schema import TrialAttr, TrialResult
from suite.study.run_spec import RunSpec
from suite.train.data import load_splits
from suite.worker.outcomes import CutShort, Fate, RunOutcome
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


INTERRUPTED = "interrupted by the user"


@dataclass(frozen=True)
class Ending:
    """How one path through a trial's life ended (Optuna's `state` and `func_err`): set on
    every path, acted on once by `_close`."""

    verdict: Verdict  # what the Optuna trial is told
    outcome: RunOutcome  # what the worker's loop is told
    progress: tuple[Fate, str, float | None] | None = None  # its line; None: no line
    run_id: str | None = None  # the MLflow run this worker holds open for it, if any
    error: KeyboardInterrupt | Exception | None = None  # what cut it short: the run ends so
    fatal: bool = False  # raise `error` again once closed: the worker or the study stops
    cut_short: CutShort | None = None  # an interrupt's: what it left

    def superseded(self, err: Superseded) -> Ending:
        """Its trial was failed as stale meanwhile: its result is discarded, its run KILLED."""
        outcome = RunOutcome(
            self.outcome.spec,
            Fate.SUPERSEDED,
            mlflow_run_id=self.outcome.mlflow_run_id,
            error=str(err),
        )
        progress = None if self.progress is None else (Fate.KILLED, "superseded", None)
        return replace(self, outcome=outcome, progress=progress, error=err)


@contextmanager
def _errors_of_training() -> Iterator[None]:
    """The one classification of what training raised: the user's (Ctrl-C), the setup's or
    a store's (the queue's too) pass as they are; anything else is the run's own error."""
    try:
        yield
    except StoreLostInCallback as lost:
        raise lost.error from None  # the store's, not this run's
    except (KeyboardInterrupt, SetupError, *store_error_types()):
        raise
    except Exception as err:
        raise _TrainingError from err


def _ending_of(
    err: KeyboardInterrupt | Exception, spec: RunSpec, *, run_id: str | None, recorded: bool
) -> Ending:
    """What an error that cut a trial short means for it. Ctrl-C: the trial fails as
    interrupted and the worker stops (`recorded`: MLflow holds a run of it). A setup error
    (the data's, a store's): the trial fails, for a retry once mended, and the study stops.
    Any other: the run's own; the trial fails and the study goes on."""
    if isinstance(err, KeyboardInterrupt):
        return Ending(
            Verdict.failed(INTERRUPTED),
            RunOutcome(spec, Fate.KILLED, mlflow_run_id=run_id, error=INTERRUPTED),
            progress=(Fate.KILLED, "interrupted", None),
            run_id=run_id,
            error=err,
            fatal=True,
            cut_short=CutShort(spec.label, recorded=recorded),
        )
    failed = Verdict.failed("".join(traceback.format_exception(err)))
    cause = err.__cause__ if isinstance(err, _TrainingError) else err
    error = f"{type(cause).__name__}: {cause}"
    outcome = RunOutcome(spec, Fate.FAILED, mlflow_run_id=run_id, error=error)
    if isinstance(err, SetupError):
        return Ending(failed, outcome, run_id=run_id, error=err, fatal=True)
    progress = (Fate.FAILED, error[:40], None)
    return Ending(failed, outcome, progress=progress, run_id=run_id, error=err)


def _close(
    spec: RunSpec, trial: optuna.Trial, session: WorkerSession, ending: Ending
) -> RunOutcome:
    """The one close of a trial, as Optuna's `_run_trial` tells once: its Optuna trial and
    its MLflow run as `ending` says, then its progress line. A finished trial is told first
    and its run ends FINISHED after, so a trial failed as stale meanwhile ends its run KILLED
    instead (one result per run_key); a failed trial's run ends first, so the trial opens for
    a retry only once its run has ended. Raises nothing of the ending's: the caller does."""
    queue, tracker = session.queue, session.tracker
    if ending.verdict.state != TrialState.FAIL:
        try:
            queue.close(trial, ending.verdict)
        except Superseded as err:  # another worker failed it as stale while it trained
            ending = ending.superseded(err)
    if ending.run_id is not None:
        stores = study_stores(tracker.study.tracking.uri, queue.url)
        with store_errors_stop_the_study(stores):
            tracker.end_run(ending.run_id, ending.error)
    with _second_interrupt_waits(ending):
        if ending.verdict.state == TrialState.FAIL:
            queue.close(trial, ending.verdict)
        if ending.progress is not None:
            status, detail, seconds = ending.progress
            session.progress.run_ended(spec, status, detail, seconds=seconds)
        if ending.cut_short is not None:
            session.cut_short.append(ending.cut_short)
    return ending.outcome


def _second_interrupt_waits(*endings: Ending) -> AbstractContextManager[object]:
    """While an interrupted trial closes, a second Ctrl-C waits: the trial is closed whole."""
    if any(isinstance(ending.error, KeyboardInterrupt) for ending in endings):
        return signal_handled(signal.SIGINT, signal.SIG_IGN)
    return nullcontext()


def _close_all(
    members: Sequence[tuple[RunSpec, optuna.Trial]],
    session: WorkerSession,
    err: KeyboardInterrupt | Exception,
) -> list[RunOutcome]:
    """Close the trials of members that `err` cut short before they were recorded (seeds
    trained together: one error of one program), then raise `err` if it is fatal."""
    endings = [_ending_of(err, spec, run_id=None, recorded=False) for spec, _ in members]
    with _second_interrupt_waits(*endings):
        outcomes = [
            _close(spec, trial, session, ending)
            for (spec, trial), ending in zip(members, endings, strict=True)
        ]
    if any(ending.fatal for ending in endings):
        raise err
    return outcomes


def answer_from_record(
    spec: RunSpec, trial: optuna.Trial, run: RecordedRun, session: WorkerSession, *, value: float
) -> RunOutcome:
    """Close a claimed trial with the result MLflow already holds (its run was trained through
    another queue, or a search proposed a recorded point again): nothing trains."""
    session.queue.note_finished(run)
    verdict = Verdict.finished(
        run.trial_result(spec.compared_by, spec.measure), value=value, pruned=run.pruned
    )
    outcome = RunOutcome(
        spec,
        Fate.DONE_ELSEWHERE,
        test_value=run.metrics.get(spec.measure.test),
        value=value,
        mlflow_run_id=run.run_id,
    )
    return _close(spec, trial, session, Ending(verdict, outcome))


def run_fused(
    members: Sequence[tuple[RunSpec, optuna.Trial]],
    session: WorkerSession,
) -> list[RunOutcome]:
    """Train `members` (seeds of one configuration, claimed by this worker) as one program,
    then track each as its own run through `run_trial`, which records what was trained
    instead of training it. Until all have trained, nothing is in MLflow: an interrupt or a
    crash leaves their trials to be trained again, never a half-recorded run."""
    from suite.train.execution import fused_execution
    from suite.train.fit import execution_for
    from suite.train.fused import train_fused
    from suite.train.lanes import lanes_for

    queue, progress = session.queue, session.progress
    specs = [spec for spec, _ in members]
    progress.fused_started(specs)
    try:
        stores = study_stores(session.tracker.study.tracking.uri, queue.url)
        with store_errors_stop_the_study(stores), ExitStack() as beating:
            for _, trial in members:
                beating.enter_context(queue.heartbeat(trial))
            program_started = time.perf_counter()
            splits = load_splits(specs[0].data)
            execution = fused_execution(execution_for(specs[0], splits), len(specs))
            execution = replace(execution, fused_lanes=lanes_for(execution, len(specs)))
            with _errors_of_training():
                trained = train_fused(
                    specs, splits, execution=execution, epoch_ended=progress.fused_epoch_ended
                )
            share = (time.perf_counter() - program_started) / len(specs)
    except (KeyboardInterrupt, SetupError, _TrainingError) as err:
        return _close_all(members, session, err)
    outcomes = []
    for index, ((spec, trial), done) in enumerate(zip(members, trained, strict=True)):
        try:
            trial_trained = (execution, *done, share)
            outcomes.append(run_trial(spec, trial, session, trained=trial_trained))
        except KeyboardInterrupt as err:  # this member's trial is closed; the ones after it too
            _close_all(members[index + 1 :], session, err)
            raise
    return outcomes


def run_trial(
    spec: RunSpec,
    trial: optuna.Trial,
    session: WorkerSession,
    *,
    prune: bool = False,
    trained: Trained | None = None,
) -> RunOutcome:
    """Train and track `spec` as `trial` (or, given what was `trained` for it, only track
    it), then close it once; the outcome of a run error, or raise for the setup's (or the
    user's Ctrl-C) once the trial is closed."""
    if trained is None:
        session.progress.run_started(spec)
    session.tracker.started = None
    with ExitStack() as open_until_closed:  # its heartbeat and MLflow run, for the close
        ending = _live(spec, trial, session, open_until_closed, prune=prune, trained=trained)
        outcome = _close(spec, trial, session, ending)
    if ending.fatal and ending.error is not None:
        raise ending.error
    return outcome


def _live(
    spec: RunSpec,
    trial: optuna.Trial,
    session: WorkerSession,
    open_until_closed: ExitStack,
    *,
    prune: bool,
    trained: Trained | None,
) -> Ending:
    """Every path through `spec`'s training and tracking, each to its ending; its heartbeat
    and MLflow run are entered into `open_until_closed`, so the close finds them open."""
    tracker = session.tracker
    try:
        stores = study_stores(tracker.study.tracking.uri, session.queue.url)
        with store_errors_stop_the_study(stores):
            return _train_and_track(
                spec, trial, session, open_until_closed, prune=prune, trained=trained
            )
    except (KeyboardInterrupt, Exception) as err:
        recorded = tracker.started == spec.run_key  # MLflow holds a run of it
        return _ending_of(err, spec, run_id=tracker.open_child_run(), recorded=recorded)


def _train_and_track(
    spec: RunSpec,
    trial: optuna.Trial,
    session: WorkerSession,
    open_until_closed: ExitStack,
    *,
    prune: bool,
    trained: Trained | None,
) -> Ending:
    """Train inside the trial's heartbeat and MLflow child run, left open for the close;
    the ending of a trained (or pruned) run. `trained`: what training together gave this
    run; its epochs go through the same callbacks as a live run's."""
    from suite.train.fit import ReportToTrial, execution_for, replay, train

    queue, tracker = session.queue, session.tracker
    started = time.perf_counter()
    reporter = ReportToTrial(trial, monitor=spec.compared_by.metric, prune=prune)
    splits = load_splits(spec.data)
    execution = execution_for(spec, splits) if trained is None else trained[0]
    open_until_closed.enter_context(queue.heartbeat(trial))
    run_id = open_until_closed.enter_context(
        tracker.child_run(
            spec, environment=session.environment, execution=execution, trial_number=trial.number
        )
    )
    trial.set_user_attr(TrialAttr.MLFLOW_RUN_ID, run_id)
    tracker.log_datasets(spec, splits)
    callbacks = [*tracker.callbacks(), session.progress.callback(), reporter]
    with _errors_of_training():
        if trained is None:
            model, result = train(spec, splits, execution=execution, callbacks=callbacks)
        else:
            _, model, result, _ = trained
            replay(model, result.history, callbacks)
    tracker.log_result(spec, result, model, pruned_after=reporter.pruned_after)
    shared = 0.0 if trained is None else trained[3]  # its share of the program
    run_seconds = time.perf_counter() - started + shared  # what estimates learn from
    return _trained(spec, run_id, result, run_seconds, reporter.pruned_after, trained=trained)


def _trained(
    spec: RunSpec,
    run_id: str,
    result: TrainResult,
    run_seconds: float,
    pruned_after: int | None,
    *,
    trained: Trained | None,
) -> Ending:
    """The ending of a run trained (or pruned) and recorded, its MLflow run still open."""
    trial_result = TrialResult(
        mlflow_run_id=run_id,
        measure=result.measure,
        test_value=result.test_value,
        best_val_value=result.best_val_value,
        train_seconds=result.train_seconds,
        best_epoch=result.best_epoch,
        run_seconds=run_seconds,
        selection=(result.objective.column, result.best_value),
    )
    pruned = pruned_after is not None
    verdict = Verdict.finished(trial_result, value=result.best_value, pruned=pruned)
    if pruned:
        status, detail, seconds = Fate.PRUNED, f"at epoch {pruned_after}", None
    else:
        status, detail = Fate.TRAINED, f"test {result.measure.words} {result.test_value:.4f}"
        seconds = None if trained is None else result.train_seconds  # its share of the program
    outcome = RunOutcome(
        spec,
        status,
        test_value=result.test_value,
        value=result.best_value,
        seconds=result.train_seconds,
        mlflow_run_id=run_id,
    )
    return Ending(verdict, outcome, progress=(status, detail, seconds), run_id=run_id)
