"""Drive a study: plan from the queue, then claim, train, track and close one trial at a time."""

from __future__ import annotations

import signal
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from suite.scheduler import PlannedRun, PlanState, RunQueue
from suite.study import RunSpec, Study, expand

MAX_CONSECUTIVE_FAILURES = 3  # like keras-tuner: a run that keeps failing is a broken setup


class StudyFailed(Exception):
    """Runs keep failing in a row: the setup, not one run, is broken; stop the study."""


@dataclass(frozen=True)
class RunOutcome:
    spec: RunSpec
    status: str  # trained | done before | failed | killed | not started | running elsewhere
    test_accuracy: float | None = None
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


def plan_study(study: Study) -> list[PlannedRun]:
    """The plan without writing anything: every run with its state (for --dry-run)."""
    return RunQueue(study, create=False).plan(expand(study), fail_stale=False)


def run_study(study: Study, *, console: Console, source_file: Path | None = None) -> StudyOutcome:
    """Train every run of the study that is not done yet; return every run's outcome."""
    from suite.backend import environment, start_backend

    queue = RunQueue(study)
    planned = queue.plan(expand(study))
    todo = [p for p in planned if p.needs_training]
    outcomes = {p.spec.run_key: _outcome_of_plan(p) for p in planned}
    done_before = sum(p.state == PlanState.DONE for p in planned)
    console.print(
        f"study [bold]{study.name}[/]: {len(planned)} runs, {done_before} done before,"
        f" {len(todo)} to train\n  tracking {study.tracking.uri}\n  queue    {queue.url}",
        highlight=False,
    )
    if not todo:
        console.print("nothing to train: every run of this study has finished already.")
        return StudyOutcome(study, list(outcomes.values()))

    queue.enqueue(todo)
    with console.status("starting Keras..."):
        start_backend()
    from suite.progress import StudyProgress
    from suite.tracking import Tracker

    tracker = Tracker(study)
    tracker.mark_killed(queue.stale_mlflow_runs)
    env = environment()
    interrupted = False
    # SIGTERM (a job scheduler, `kill`) and SIGHUP (a closed terminal) stop it as Ctrl-C does.
    with (
        _signal_handled(signal.SIGTERM, signal.default_int_handler),
        _signal_handled(signal.SIGHUP, signal.default_int_handler),
        tracker.study_run(source_file=source_file),
    ):
        with StudyProgress(console, study=study.name, specs=[p.spec for p in todo]) as progress:
            consecutive_failures = 0
            try:
                for item in todo:
                    outcome = _train_one(item.spec, queue, tracker, progress, env)
                    outcomes[item.spec.run_key] = outcome
                    consecutive_failures = consecutive_failures + 1 if outcome.error else 0
                    if consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
                        raise StudyFailed(
                            f"{consecutive_failures} runs failed in a row; the last error was:\n"
                            f"{outcome.error}"
                        )
            except KeyboardInterrupt:
                interrupted = True
                for key, outcome in outcomes.items():
                    if outcome.status == "to do":
                        outcomes[key] = RunOutcome(outcome.spec, "not started")
        if interrupted:
            raise StudyInterrupted(StudyOutcome(study, list(outcomes.values()), True))
    return StudyOutcome(study, list(outcomes.values()))


class StudyInterrupted(KeyboardInterrupt):
    """Carries the outcome out of the study run, which it ends as KILLED on the way."""

    def __init__(self, outcome: StudyOutcome) -> None:
        super().__init__()
        self.outcome = outcome


def _outcome_of_plan(item: PlannedRun) -> RunOutcome:
    if item.state == PlanState.DONE:
        return RunOutcome(
            item.spec,
            "done before",
            test_accuracy=item.record.get("test_accuracy"),
            seconds=item.record.get("train_seconds"),
            mlflow_run_id=item.record.get("mlflow_run_id"),
        )
    if item.state == PlanState.RUNNING:
        return RunOutcome(item.spec, "running elsewhere")
    return RunOutcome(item.spec, "to do")


def _train_one(
    spec: RunSpec, queue: RunQueue, tracker: Any, progress: Any, env: dict[str, Any]
) -> RunOutcome:
    """One trial's whole lifecycle: claim, train and track, then close it either way."""
    from suite.data import load_splits
    from suite.training import train

    trial = queue.claim(spec)
    if trial is None:
        return RunOutcome(spec, "running elsewhere")
    progress.run_started(spec)
    run_id = None
    try:
        with tracker.child_run(spec, environment=env, trial_number=trial.number) as run_id:
            trial.set_user_attr("mlflow_run_id", run_id)
            model, result = train(
                spec,
                load_splits(spec.data),
                callbacks=[*tracker.callbacks(), progress.callback()],
            )
            tracker.log_result(spec, result, model)
    except KeyboardInterrupt:
        with _signal_handled(signal.SIGINT, signal.SIG_IGN):  # a second Ctrl-C waits
            queue.fail(trial, "interrupted by the user")
            progress.run_ended(spec, "killed", "interrupted")
        raise
    except Exception as err:
        queue.fail(trial, traceback.format_exc())
        error = f"{type(err).__name__}: {err}"
        progress.run_ended(spec, "failed", error[:40])
        return RunOutcome(spec, "failed", mlflow_run_id=run_id, error=error)
    record = {
        "test_accuracy": result.test_accuracy,
        "train_seconds": result.train_seconds,
        "best_epoch": result.best_epoch,
        "mlflow_run_id": run_id,
    }
    queue.complete(trial, value=result.best_val_accuracy, record=record)
    progress.run_ended(spec, "trained", f"test_acc {result.test_accuracy:.4f}")
    return RunOutcome(
        spec,
        "trained",
        test_accuracy=result.test_accuracy,
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
