"""python -m suite.run STUDY.yaml: train a study's runs and track each in MLflow.

Exit status: 0 every run finished, 1 some run failed, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import atexit
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from suite.cli.messages import print_message
from suite.errors import ExitCode, SetupError
from suite.library_logs import quiet_library_logs
from suite.schema import counted
from suite.stores.http_limits import bound_tracking_requests
from suite.study.backends import backend_problem
from suite.study.config import Study, StudyError
from suite.study.file import load_study

# Only what answers bad input is imported up front: the worker modules import Optuna, MLflow
# and Keras, and a bad study file is answered before any of them loads.


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m suite.run",
        description="Train every run of a study (grid) that is not done yet, or run its Optuna"
        " search; track every run in MLflow.",
    )
    parser.add_argument("study", type=Path, help="study file, e.g. studies/smoke.yaml")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (every run, done or to do); train nothing",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a study field, e.g. --set training.epochs=1 (repeatable; VALUE is YAML)",
    )
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (overrides tracking.uri)")
    parser.add_argument("--storage", help="Optuna storage URL or journal file (overrides storage)")
    parser.add_argument(
        "--workers",
        metavar="N",
        help="N worker processes on this machine sharing the queue, or 'auto' (one per core);"
        " overrides workers.count (default 1)",
    )
    parser.add_argument(
        "--no-memory-check",
        action="store_true",
        help="train even when the largest run's estimated memory exceeds what this machine has"
        " available (the estimate is rough: swap, or a framework's savings, may make it fit)",
    )
    parser.add_argument("--worker-name", help=argparse.SUPPRESS)  # set by --workers for each
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    console = Console()
    errors = Console(stderr=True, soft_wrap=True)  # an error is one line, however long
    study = _load(args, errors)
    if study is None:
        return ExitCode.BAD_INPUT
    quiet_library_logs()
    bound_tracking_requests()  # a server that dies mid-study: one line within 60 s
    fits = True
    if not args.worker_name:  # --workers: the parent checked before starting them
        try:
            fits = preflight(study, args, errors)
        except SetupError as err:
            return _setup_error(err, errors)
    if args.dry_run:
        from suite.cli.output import print_plan

        print_plan(study, console, probe_allowed=fits)  # never build what cannot fit
        return ExitCode.OK
    return _train(study, args, argv, console, errors)


def _load(args: argparse.Namespace, errors: Console) -> Study | None:
    """The study file with the command line's options as overrides, or None once the bad
    input has been said (exit 2)."""
    for flag, value in (
        ("--tracking-uri", args.tracking_uri),
        ("--storage", args.storage),
        ("--workers", args.workers),
    ):
        if value is not None and not value.strip():
            print_message(errors, f"{flag}: empty; give a value or leave the option out")
            return None
    overrides = list(args.overrides)
    if args.tracking_uri is not None:
        overrides.append(f"tracking.uri={args.tracking_uri}")
    if args.storage is not None:
        overrides.append(f"storage={args.storage}")
    if args.workers is not None:
        overrides.append(f"workers.count={args.workers}")
    if problem := backend_problem():  # every run_key names the backend it computes on
        print_message(errors, problem)
        return None
    try:
        return load_study(args.study, overrides=overrides)
    except StudyError as err:
        print_message(errors, err.message)
        return None


def _train(
    study: Study, args: argparse.Namespace, argv: list[str], console: Console, errors: Console
) -> int:
    """Train the study here, or in worker processes where it takes several (or backends)."""
    from suite.study.backends import study_backends
    from suite.train.data import load_mnist
    from suite.worker.local_processes import most_workers, open_for_workers, worker_count

    try:  # a setup error stops the study before anything is written, not as failed runs
        load_mnist()
    except SetupError as err:
        return _setup_error(err, errors)
    backends = [] if args.worker_name else study_backends(study)
    opened = None
    if not args.worker_name and (most_workers(study) > 1 or backends):
        try:
            opened = open_for_workers(study)  # the parent's one read of the study
        except SetupError as err:
            return _setup_error(err, errors)
        workers = worker_count(study, runs_left=opened[1].to_train)
        if backends:  # each run trains in a process started on its backend: one worker each
            workers = max(workers, len(backends))
        if workers > 1 or backends:
            return train_with_workers(
                study, opened, argv, workers, console, errors, source_file=str(args.study)
            )
    return train_study(study, console, errors, source_file=args.study, worker=args.worker_name)


def preflight(study: Study, args: argparse.Namespace, errors: Console) -> bool:
    """Everything that can refuse the study, before anything is written: the workers'
    storage, the backends, the memory, the stores. Raise SetupError (one line, exit 2); a
    --dry-run gets notes instead where it can still plan. Returns whether the study fits."""
    from suite.forecast.memory import check_fits_this_machine
    from suite.stores.checks import check_stores, several_workers_problem
    from suite.study.backends import broken_backends, missing_backends
    from suite.worker.local_processes import workers_at_most

    if problem := several_workers_problem(study):
        raise SetupError(problem)
    notes = []
    if missing := missing_backends(study):
        notes.append(f"backends not installed here: {'; '.join(missing)}")
        if not args.dry_run:
            raise SetupError(f"{notes[-1]}; nothing was trained")
    if not args.dry_run and (broken := broken_backends(study)):
        raise SetupError(
            f"backends installed but failing to import: {'; '.join(broken)}; repair the"
            " install, or remove them from grid.backend; nothing was trained"
        )
    # Checked even with --no-memory-check: a --dry-run never builds, to time it, a model that
    # cannot fit (its probe would take the machine down); only the refusal is skipped.
    too_big = check_fits_this_machine(study, workers=workers_at_most(study))
    if too_big and not args.no_memory_check:
        notes.append(too_big)
        if not args.dry_run:
            raise SetupError(f"{too_big}, or pass --no-memory-check to train anyway")
    notes += check_stores(study, writing=not args.dry_run)
    for note in notes:
        print_message(errors, note, label="note", style="yellow")
    return too_big is None


def _setup_error(err: SetupError, errors: Console) -> ExitCode:
    print_message(errors, str(err))
    return ExitCode.BAD_INPUT


def train_with_workers(
    study: Study,
    opened: tuple,
    argv: list[str],
    workers: int,
    console: Console,
    errors: Console,
    *,
    source_file: str,
) -> int:
    from suite.cli.output import print_next_steps, print_summary
    from suite.study.backends import study_backends
    from suite.worker.local_processes import run_workers, worker_command
    from suite.worker.outcomes import StudyOutcome

    code, outcomes = run_workers(
        study, opened, worker_command(argv), workers, console, backends=study_backends(study)
    )
    if outcomes is not None:  # None: a store failed or a worker refused; each said why
        print_summary(StudyOutcome(study, outcomes), console)
    if code == ExitCode.OK:
        print_next_steps(study, console, source_file=source_file)
    if code == ExitCode.INTERRUPTED:
        print_message(
            errors, "run the same command again to resume.", label="interrupted", style="yellow"
        )
    return code


def train_study(
    study: Study, console: Console, errors: Console, *, source_file: Path, worker: str | None
) -> int:
    from suite.cli.output import print_next_steps, print_summary
    from suite.errors import StudyFailed
    from suite.worker.loop import run_worker
    from suite.worker.outcomes import StudyInterrupted

    try:
        outcome = run_worker(study, console=console, source_file=source_file, worker_name=worker)
    except StudyInterrupted as stop:
        print_summary(stop.outcome, console)
        print_message(
            errors,
            f"{stop.outcome.interruption()}; run the same command again to resume:\n"
            f"  python -m suite.run {source_file}",
            label="interrupted",
            style="yellow",
        )
        return ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        print_message(
            errors,
            "before any run started training; nothing is lost.",
            label="interrupted",
            style="yellow",
        )
        return ExitCode.INTERRUPTED
    except SetupError as err:  # e.g. data damaged while the study ran: not one run's error
        return _setup_error(err, errors)
    except StudyFailed as err:
        print_message(errors, str(err))
        return ExitCode.FAILED
    if worker is None:  # with --workers, the parent prints the one summary
        print_summary(outcome, console)
        if not outcome.failed:
            print_next_steps(study, console, source_file=str(source_file))
    if outcome.failed:
        print_message(
            errors,
            f"{counted(len(outcome.failed), 'run')} failed;"
            f" {'its traceback is' if len(outcome.failed) == 1 else 'their tracebacks are'} in"
            " MLflow (artifact error.txt). Running the same command again retries"
            f" {'it' if len(outcome.failed) == 1 else 'them'}.",
        )
        return ExitCode.FAILED
    return ExitCode.OK


def _leave_without_teardown(code: int) -> None:
    """The last exit handler: every run, file and library exit handler is closed by now, so
    skip tearing TensorFlow's and Python's objects down one by one (seconds per process,
    paid again by every worker at the end of a study)."""
    import logging

    logging.shutdown()  # flushes any log handler, whenever its module registered its own
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def cli() -> None:
    """The command: `python -m suite.run` and the `suite-run` script."""
    code: list[int] = []
    # Registered before any library is imported, so it runs after all of their handlers; an
    # unexpected exception leaves `code` empty and Python exits the ordinary way.
    atexit.register(lambda: code and _leave_without_teardown(code[0]))
    code.append(main())
    sys.exit(code[0])
