"""One worker's loop, for every kind of study: ask the study's trial source what next, train
it through the one trial lifecycle, until the source says stop.

Handled here once, for grids and searches alike: the sweep of dead workers' trials before
each claim (suite.worker.left_behind), the stop after failures in a row, Ctrl-C
and the signals that mean it, and the session every trial trains in.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from suite.errors import StudyFailed, store_errors_stop_the_study, study_stores, tracking_store
from suite.study.backends import process_backend, study_backends
from suite.study.config import Study
from suite.worker.decisions import (
    FromRecord,
    Opening,
    Stop,
    TrainFused,
    TrialSource,
    Wait,
)
from suite.worker.left_behind import (
    close_dead_workers_trials,
    end_runs_left_running,
    end_study_runs_left_running,
    sweep_dead_workers,
)
from suite.worker.lifecycle import WorkerSession, answer_from_record, run_fused, run_trial
from suite.worker.outcomes import RunOutcome, StudyInterrupted, StudyOutcome
from suite.worker.signals import stops_as_interrupts
from suite.worker.sources import trial_source

if TYPE_CHECKING:
    from suite.record.tracker import Tracker

MAX_CONSECUTIVE_FAILURES = 3  # like keras-tuner: a run that keeps failing is a broken setup


def run_worker(
    study: Study,
    *,
    console: Console,
    source_file: Path | None = None,
    worker_name: str | None = None,
) -> StudyOutcome:
    """Train what the study's source hands this worker, until it says stop (a worker of a
    study with a backend axis: only the runs of the backend it was started on)."""
    # A study with a backend axis trains in workers (one per backend); its parent plans all.
    backend = None if worker_name is None and study_backends(study) else process_backend()
    from suite.record.tracker import Tracker  # MLflow loads once a study is valid

    source = trial_source(study, backend=backend)
    stores = study_stores(study.tracking.uri, source.queue.url)
    with store_errors_stop_the_study(stores):
        tracker = Tracker(study)
        end_runs_left_running(source.queue, tracker)
        opening = source.open()
        if opening.nothing_to_do and close_dead_workers_trials(source, tracker):
            opening = source.open()  # their runs, where the record holds them, are done again
    if worker_name is None:  # a worker of --workers: its parent printed the banner
        console.print(opening.banner(study, source.queue.url), highlight=False)
    if opening.nothing_to_do:
        console.print(opening.nothing_to_do)
        return StudyOutcome(study, source.outcomes([]))
    trained: list[RunOutcome] = []
    try:
        with worker_session(
            tracker, source, console, opening, source_file=source_file, worker_name=worker_name
        ) as session:
            try:
                with store_errors_stop_the_study(stores):  # a store lost mid-study: one line
                    _work(source, session, trained)
                    session.tracker.tag_study_run(source.answer_tags())
            except KeyboardInterrupt:
                outcome = StudyOutcome(study, source.outcomes(trained), True, session.cut_short)
                raise StudyInterrupted(outcome) from None
    except StudyInterrupted:
        raise
    except KeyboardInterrupt:  # as the session ended: never "nothing is lost" after training
        if not trained:
            raise
        raise StudyInterrupted(StudyOutcome(study, trained, True)) from None
    with store_errors_stop_the_study(stores):
        end_study_runs_left_running(source.queue, tracker)
    return StudyOutcome(study, source.outcomes(trained))


def _work(source: TrialSource, session: WorkerSession, trained: list[RunOutcome]) -> None:
    consecutive_failures = 0
    while True:
        sweep_dead_workers(source, session.tracker)
        decision = source.next(session.progress, tried={o.spec.run_key for o in trained})
        if isinstance(decision, Stop):
            return
        if isinstance(decision, Wait):
            time.sleep(source.study.workers.poll_seconds)  # others train: stand by for retries
            continue
        if isinstance(decision, FromRecord):  # closed with the recorded result; nothing trains
            answer_from_record(
                decision.spec, decision.trial, decision.run, session, value=decision.value
            )
            continue
        if isinstance(decision, TrainFused):
            for recorded in decision.recorded:
                answer_from_record(
                    recorded.spec, recorded.trial, recorded.run, session, value=recorded.value
                )
            if len(decision.members) == 1 and source.study.training.execution != "fused":
                decision = decision.members[0]  # the others were taken or recorded: alone
        if isinstance(decision, TrainFused):
            members = [(member.spec, member.trial) for member in decision.members]
            outcomes = run_fused(members, session)
        else:
            outcomes = [
                run_trial(
                    decision.spec,
                    decision.trial,
                    session,
                    prune=source.prune,
                )
            ]
        trained += outcomes
        # Failed trials never count as done: a study whose every run fails would go on asking
        # for more (a search forever). Failures in a row mean a broken setup: stop. Seeds
        # trained together fail together: one failure of one program.
        failed = all(outcome.error for outcome in outcomes)
        consecutive_failures = consecutive_failures + 1 if failed else 0
        if consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
            raise StudyFailed(
                f"{consecutive_failures} {source.unit} failed in a row; the last error was:\n"
                f"{trained[-1].error}"
            )


@contextmanager
def worker_session(
    tracker: Tracker,
    source: TrialSource,
    console: Console,
    opening: Opening,
    *,
    source_file: Path | None,
    worker_name: str | None,
) -> Iterator[WorkerSession]:
    """What every trial trains inside: Keras started quietly, the study's parent run active,
    the progress display, and SIGTERM / SIGHUP turned into the Ctrl-C that ends a run KILLED.
    `tracker`: the one this worker opened the study with (one experiment look-up)."""
    from suite.record.environment import environment
    from suite.train.keras_startup import start_backend

    with console.status("starting Keras..."):
        start_backend()
    from suite.worker.progress import StudyProgress

    study = tracker.study
    with ExitStack() as stack:
        with store_errors_stop_the_study(tracking_store(study.tracking.uri)):
            stack.enter_context(tracker.checkpointed())
            stack.enter_context(stops_as_interrupts())
            stack.enter_context(tracker.study_run(source_file=source_file))
        progress = stack.enter_context(
            StudyProgress(
                console,
                study=study.name,
                total=opening.total,
                done=opening.done,
                worker=worker_name,
                unit=source.unit,
            )
        )
        yield WorkerSession(source.queue, tracker, progress, environment())
