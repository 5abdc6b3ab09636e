"""Drive a study in one worker: claim, train, track and close one trial at a time, until no
run is left to claim and none is running elsewhere (so a worker that dies is covered)."""

from __future__ import annotations

import signal
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from suite.data import DataError, load_splits
from suite.estimate import Observation, TimeModel, fit, work
from suite.scheduler import PlannedRun, PlanState, RunQueue, Superseded
from suite.schema import TrialAttr
from suite.study import RunSpec, Study, expand

MAX_CONSECUTIVE_FAILURES = 3  # like keras-tuner: a run that keeps failing is a broken setup


class StudyFailed(Exception):
    """Runs keep failing in a row: the setup, not one run, is broken; stop the study."""


@dataclass(frozen=True)
class RunOutcome:
    spec: RunSpec
    status: str  # trained | done before | done elsewhere | failed | killed | not started | ...
    test_accuracy: float | None = None
    val_accuracy: float | None = None  # the best epoch's: what ranks configurations
    seconds: float | None = None
    mlflow_run_id: str | None = None
    error: str | None = None


@dataclass
class StudyOutcome:
    study: Study
    runs: list[RunOutcome]
    interrupted: bool = False

    @property
    def failed(self) -> list[RunOutcome]:
        return [r for r in self.runs if r.status == "failed"]


class StudyInterrupted(KeyboardInterrupt):
    """Carries the outcome out of the study run, which it ends as KILLED on the way."""

    def __init__(self, outcome: StudyOutcome) -> None:
        super().__init__()
        self.outcome = outcome


def plan_study(study: Study) -> list[PlannedRun]:
    """The plan without writing anything: every run with its state (for --dry-run)."""
    return RunQueue(study, create=False).plan(expand(study), fail_stale=False)


def estimate_plan(planned: list[PlannedRun], console: Console) -> TimeModel | None:
    """The time model for a plan: from the study's finished runs, else from a few timed
    training steps of its largest run still to train (the model is thrown away)."""
    from suite.estimate import from_probes, probe

    model = time_model(planned)
    todo = [p.spec for p in planned if p.needs_training]
    if model is not None or not todo:
        return model
    from suite.backend import start_backend

    largest, smallest = max(todo, key=work), min(todo, key=work)
    with console.status("timing a few training steps of the largest and smallest runs..."):
        start_backend()
        timed = probe(largest)
        return from_probes(timed, probe(smallest) if work(smallest) < work(largest) else None)


def prepare_queue(study: Study) -> tuple[RunQueue, list[PlannedRun]]:
    """Fail stale trials and enqueue every run still to train; the plan as it stood."""
    queue = RunQueue(study)
    planned = queue.plan(expand(study))
    queue.enqueue(planned)
    return queue, planned


def summarise(
    study: Study,
    planned_at_start: list[PlannedRun],
    trained_here: dict[str, RunOutcome],
    queue: RunQueue,
    *,
    newly_done: str = "done elsewhere",
) -> list[RunOutcome]:
    """Every run's outcome: this worker's own, else what the queue records now."""
    now = {p.spec.run_key: p for p in queue.plan(expand(study), fail_stale=False)}
    before = {p.spec.run_key for p in planned_at_start if p.state == PlanState.DONE}
    outcomes = []
    for spec in expand(study):
        if spec.run_key in trained_here:
            outcomes.append(trained_here[spec.run_key])
            continue
        item = now[spec.run_key]
        if item.state == PlanState.DONE:
            status = "done before" if spec.run_key in before else newly_done
            outcomes.append(
                RunOutcome(
                    spec,
                    status,
                    test_accuracy=item.record.get("test_accuracy"),
                    val_accuracy=item.record.get("best_val_accuracy"),
                    seconds=item.record.get("train_seconds"),
                    mlflow_run_id=item.record.get(TrialAttr.MLFLOW_RUN_ID),
                )
            )
        else:
            outcomes.append(
                RunOutcome(
                    spec, "not started" if item.state != PlanState.RUNNING else "running elsewhere"
                )
            )
    return outcomes


def run_study(
    study: Study,
    *,
    console: Console,
    source_file: Path | None = None,
    worker_name: str | None = None,
) -> StudyOutcome:
    """Train the study's runs that no other worker has, until none is left anywhere."""
    queue, planned = prepare_queue(study)
    todo = [p for p in planned if p.needs_training]
    done_before = sum(p.state == PlanState.DONE for p in planned)
    console.print(
        f"study [bold]{study.name}[/]: {len(planned)} runs, {done_before} done before,"
        f" {len(todo)} to train\n  tracking {study.tracking.uri}\n  queue    {queue.url}",
        highlight=False,
    )
    if not todo:
        console.print("nothing to train: every run of this study has finished already.")
        return StudyOutcome(study, summarise(study, planned, {}, queue))

    trained: dict[str, RunOutcome] = {}
    interrupted = False
    with worker_session(
        study,
        console,
        source_file=source_file,
        worker_name=worker_name,
        total=len(planned),
        done=done_before,
    ) as (tracker, progress, env):
        try:
            _work(study, queue, tracker, progress, env, trained)
        except KeyboardInterrupt:
            interrupted = True
        outcome = StudyOutcome(study, summarise(study, planned, trained, queue), interrupted)
        if interrupted:
            raise StudyInterrupted(outcome)
    return outcome


@contextmanager
def worker_session(
    study: Study,
    console: Console,
    *,
    source_file: Path | None,
    worker_name: str | None,
    total: int,
    done: int,
) -> Iterator[tuple[Any, Any, dict[str, Any]]]:
    """What every worker trains inside, grid or search: Keras started quietly, the study's
    parent run active, the progress display, and SIGTERM (a job scheduler, `kill`) and SIGHUP
    (a closed terminal) turned into the Ctrl-C that ends a run as KILLED."""
    from suite.backend import environment, start_backend

    with console.status("starting Keras..."):
        start_backend()
    from suite.progress import StudyProgress
    from suite.tracking import Tracker

    tracker = Tracker(study)
    with (
        tracker.checkpointed(),
        _signal_handled(signal.SIGTERM, signal.default_int_handler),
        _signal_handled(signal.SIGHUP, signal.default_int_handler),
        tracker.study_run(source_file=source_file),
        StudyProgress(
            console, study=study.name, total=total, done=done, worker=worker_name
        ) as progress,
    ):
        yield tracker, progress, environment()


def _work(
    study: Study,
    queue: RunQueue,
    tracker: Any,
    progress: Any,
    env: dict[str, Any],
    trained: dict[str, RunOutcome],
) -> None:
    """Claim and train until nothing is left to claim and nothing runs elsewhere."""
    specs = expand(study)
    consecutive_failures = 0
    while True:
        planned = queue.plan(specs)  # fails stale trials: their runs come back as RETRY
        tracker.mark_killed(queue.stale_mlflow_runs)
        queue.stale_mlflow_runs.clear()
        progress.set_done(sum(p.state == PlanState.DONE for p in planned))
        progress.set_estimates(remaining_seconds(planned))
        # A run this worker already tried is not retried by it: a run that always fails
        # must not loop. Runs of workers that died are retried.
        available = [p for p in planned if p.needs_training and p.spec.run_key not in trained]
        queue.enqueue(available)
        # Largest runs first: with several workers, the study then ends on small runs rather
        # than on one worker training the biggest while the others wait.
        available.sort(key=lambda p: work(p.spec), reverse=True)
        outcome = None
        for item in available:
            trial = queue.claim(item.spec)
            if trial is not None:
                outcome = train_trial(item.spec, trial, queue, tracker, progress, env)
                trained[item.spec.run_key] = outcome
                break
        if outcome is not None:
            consecutive_failures = consecutive_failures + 1 if outcome.error else 0
            if consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
                raise StudyFailed(
                    f"{consecutive_failures} runs failed in a row; the last"
                    f" error was:\n{outcome.error}"
                )
            continue
        if any(p.state == PlanState.RUNNING for p in planned) or available:
            time.sleep(study.execution.poll_seconds)  # others are training: stand by for retries
            continue
        progress.set_done(sum(p.state == PlanState.DONE for p in queue.plan(specs)))
        return


def time_model(planned: list[PlannedRun]) -> TimeModel | None:
    """The study's time model, fitted on its finished runs (None before the first)."""
    observations = [
        Observation(p.spec, float(p.record["run_seconds"]))
        for p in planned
        if p.state == PlanState.DONE and "run_seconds" in p.record
    ]
    return fit(observations)


def remaining_seconds(planned: list[PlannedRun]) -> dict[str, float] | None:
    """Estimated seconds of each run not finished yet, by run_key; None without a model."""
    model = time_model(planned)
    if model is None:
        return None
    return {p.spec.run_key: model.seconds(p.spec) for p in planned if p.state != PlanState.DONE}


def objective_value(result: Any, objective: str) -> float:
    """The trial's value: the best validation accuracy, or the lowest validation loss."""
    curve = result.history[objective]
    return max(curve) if objective == "val_accuracy" else min(curve)


def train_trial(
    spec: RunSpec,
    trial: Any,
    queue: RunQueue,
    tracker: Any,
    progress: Any,
    env: dict[str, Any],
    *,
    objective: str = "val_accuracy",
    prune: bool = False,
) -> RunOutcome:
    """One trial's whole lifecycle once claimed: train and track, then close it either way."""
    from suite.training import ReportToTrial, execution_for, train

    progress.run_started(spec)
    started = time.perf_counter()
    run_id = None
    reporter = ReportToTrial(trial, monitor=objective, prune=prune)
    try:
        splits = load_splits(spec.data)
        plan = execution_for(spec, splits)
        with (
            queue.heartbeat(trial),
            tracker.child_run(
                spec, environment=env, execution=plan, trial_number=trial.number
            ) as run_id,
        ):
            trial.set_user_attr(TrialAttr.MLFLOW_RUN_ID, run_id)
            tracker.log_datasets(spec, splits)
            model, result = train(
                spec,
                splits,
                plan=plan,
                callbacks=[*tracker.callbacks(), progress.callback(), reporter],
            )
            tracker.log_result(spec, result, model, pruned_after=reporter.pruned_after)
            record = {
                "test_accuracy": result.test_accuracy,
                "best_val_accuracy": result.best_val_accuracy,
                "train_seconds": result.train_seconds,
                "best_epoch": result.best_epoch,
                TrialAttr.MLFLOW_RUN_ID: run_id,
                "run_seconds": time.perf_counter() - started,  # what estimates learn from
            }
            if reporter.pruned_after is not None:
                queue.prune(trial, record=record)
            else:
                queue.complete(trial, value=objective_value(result, objective), record=record)
    except KeyboardInterrupt:
        with _signal_handled(signal.SIGINT, signal.SIG_IGN):  # a second Ctrl-C waits
            queue.fail(trial, "interrupted by the user")
            progress.run_ended(spec, "killed", "interrupted")
        raise
    except DataError:  # the setup, not this run: the study stops (the trial waits for a retry)
        queue.fail(trial, traceback.format_exc())
        raise
    except Superseded as err:  # its MLflow run was marked KILLED by the tracker
        progress.run_ended(spec, "killed", "superseded")
        return RunOutcome(spec, "superseded", mlflow_run_id=run_id, error=str(err))
    except Exception as err:
        queue.fail(trial, traceback.format_exc())
        error = f"{type(err).__name__}: {err}"
        progress.run_ended(spec, "failed", error[:40])
        return RunOutcome(spec, "failed", mlflow_run_id=run_id, error=error)
    status = "trained" if reporter.pruned_after is None else "pruned"
    detail = f"test_acc {result.test_accuracy:.4f}"
    if reporter.pruned_after is not None:
        detail = f"at epoch {reporter.pruned_after}"
    progress.run_ended(spec, status, detail)
    return RunOutcome(
        spec,
        status,
        test_accuracy=result.test_accuracy,
        val_accuracy=result.best_val_accuracy,
        seconds=result.train_seconds,
        mlflow_run_id=run_id,
    )


@contextmanager
def _signal_handled(signum: int, handler: Any) -> Iterator[None]:
    """Install a signal handler for the duration, then restore the previous one."""
    previous = signal.signal(signum, handler)
    try:
        yield
    finally:
        signal.signal(signum, previous)
