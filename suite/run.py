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
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from suite.backend import quiet_library_logs
from suite.study import MAX_AUTO_WORKERS, Study, StudyError, load_study

if TYPE_CHECKING:  # the runner imports Optuna; bad input is answered before that
    from suite.runner import StudyOutcome

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


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
        " overrides execution.workers (default 1)",
    )
    parser.add_argument("--worker-name", help=argparse.SUPPRESS)  # set by --workers for each
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    console = Console()
    errors = Console(stderr=True, soft_wrap=True)  # an error is one line, however long
    overrides = list(args.overrides)
    if args.tracking_uri:
        overrides.append(f"tracking.uri={args.tracking_uri}")
    if args.storage:
        overrides.append(f"storage={args.storage}")
    if args.workers:
        overrides.append(f"execution.workers={args.workers}")
    try:
        study = load_study(args.study, overrides=overrides)
    except StudyError as err:
        errors.print(f"[red]error:[/] {err.message}", highlight=False, markup=True)
        return EXIT_BAD_INPUT
    quiet_library_logs()
    if args.dry_run:
        return print_plan(study, console)
    from suite.data import DataError, load_mnist

    try:  # a setup error stops the study before anything is written, not as failed runs
        load_mnist()
    except DataError as err:
        errors.print(f"[red]error:[/] {escape(str(err))}", highlight=False)
        return EXIT_BAD_INPUT
    workers = 1 if args.worker_name else local_workers(study)  # a worker never spawns more
    if workers > 1:
        return train_with_workers(
            study, argv, workers, console, errors, source_file=str(args.study)
        )
    return train_study(study, console, errors, source_file=args.study, worker=args.worker_name)


def local_workers(study: Study) -> int:
    """`execution.workers` as a number. "auto": one per core, at most MAX_AUTO_WORKERS and no
    more than the grid's runs left to train; one where the storage cannot take several."""
    wanted = study.execution.workers
    if wanted != "auto":
        return wanted
    from suite.scheduler import is_rdb, storage_url

    url = storage_url(study)
    if is_rdb(url) and url.startswith("sqlite"):
        return 1
    workers = min(os.cpu_count() or 1, MAX_AUTO_WORKERS)
    if study.grid is not None:
        from suite.runner import plan_study

        workers = min(workers, sum(item.needs_training for item in plan_study(study)))
    return max(workers, 1)


def train_with_workers(
    study: Study,
    argv: list[str],
    workers: int,
    console: Console,
    errors: Console,
    *,
    source_file: str,
) -> int:
    from suite.scheduler import is_rdb, storage_url
    from suite.workers import run_workers, worker_command

    url = storage_url(study)
    if is_rdb(url) and url.startswith("sqlite"):
        errors.print(
            f"[red]error:[/] storage {url}: Optuna's SQLite storage is not safe for several"
            " workers; use the default journal file (remove storage:) or PostgreSQL/MySQL",
            highlight=False,
        )
        return EXIT_BAD_INPUT
    code, outcomes = run_workers(study, worker_command(argv), workers, console)
    from suite.runner import StudyOutcome

    print_summary(StudyOutcome(study, outcomes), console)
    if code == EXIT_OK:
        print_next_steps(study, console, source_file=source_file)
    if code == EXIT_INTERRUPTED:
        errors.print("[yellow]interrupted:[/] run the same command again to resume.")
    return code


def print_plan(study: Study, console: Console) -> int:
    from suite.estimate import format_duration
    from suite.runner import estimate_plan, plan_study

    if study.search is not None:
        return print_search_plan(study, console)
    planned = plan_study(study)
    model = estimate_plan(planned, console)
    table = Table(title=f"plan of study {study.name} ({len(planned)} runs)", title_justify="left")
    for column in ("run", "run_key", "state"):
        table.add_column(column)
    table.add_column("estimate", justify="right")
    for item in planned:
        estimate = (
            format_duration(model.seconds(item.spec))
            if model is not None and item.needs_training
            else ""
        )
        table.add_row(item.spec.label, item.spec.run_key, item.state.value, estimate)
    console.print(table)
    todo = [item.spec for item in planned if item.needs_training]
    console.print(
        f"{len(todo)} to train, {len(planned) - len(todo)} not; --dry-run trained nothing and"
        " wrote nothing."
    )
    if model is not None and todo:
        workers = local_workers(study)
        with_workers = (
            f", {format_duration(model.wall(todo, workers))} with {workers} workers"
            if workers > 1
            else ""
        )
        console.print(
            f"estimated time on this machine: {format_duration(model.total(todo))} with one"
            f" worker{with_workers} (from {model.source})",
            highlight=False,
        )
    return EXIT_OK


def print_search_plan(study: Study, console: Console) -> int:
    """A search has no list of runs in advance: its space, and how far it has come."""
    from suite.scheduler import RunQueue

    search = study.search
    assert search is not None
    table = Table(title=f"search space of study {study.name}", title_justify="left")
    for column in ("parameter", "values"):
        table.add_column(column)
    for name, param in search.space.items():
        if param.choices is not None:
            values = ", ".join(map(str, param.choices))
        else:
            values = f"{param.low} .. {param.high}" + (" (log)" if param.log else "")
        table.add_row(name, values)
    console.print(table)
    queue = RunQueue(study, create=False)
    trials = queue.optuna_study.get_trials(deepcopy=False) if queue.optuna_study else []
    states = {}
    for trial in trials:
        states[trial.state.name.lower()] = states.get(trial.state.name.lower(), 0) + 1
    finished = states.get("complete", 0) + states.get("pruned", 0)
    console.print(
        f"{finished} of {search.n_trials or 'unlimited'} trials finished"
        f" ({', '.join(f'{n} {s}' for s, n in sorted(states.items())) or 'none yet'});"
        f" sampler {search.sampler}, pruner {search.pruner}, objective {search.objective}."
        " --dry-run trained nothing."
    )
    return EXIT_OK


def train_study(
    study: Study, console: Console, errors: Console, *, source_file: Path, worker: str | None
) -> int:
    from suite.data import DataError
    from suite.runner import StudyFailed, StudyInterrupted, run_study
    from suite.search import run_search

    run = run_search if study.search is not None else run_study
    try:
        outcome: StudyOutcome = run(
            study, console=console, source_file=source_file, worker_name=worker
        )
    except StudyInterrupted as stop:
        print_summary(stop.outcome, console)
        errors.print(
            "[yellow]interrupted:[/] the run in progress is marked KILLED in MLflow and its trial"
            f" failed; run the same command again to resume:\n  python -m suite.run {source_file}",
            highlight=False,
        )
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        errors.print("[yellow]interrupted[/] before any run started training; nothing is lost.")
        return EXIT_INTERRUPTED
    except DataError as err:  # damaged while the study ran: a setup error, not a run's
        errors.print(f"[red]error:[/] {escape(str(err))}", highlight=False)
        return EXIT_BAD_INPUT
    except StudyFailed as err:
        errors.print(f"[red]error:[/] {err}", highlight=False)
        return EXIT_RUN_FAILED
    if worker is None:  # with --workers, the parent prints the one summary
        print_summary(outcome, console)
        if not outcome.failed:
            print_next_steps(study, console, source_file=str(source_file))
    if outcome.failed:
        errors.print(
            f"[red]{len(outcome.failed)} run(s) failed[/]; their tracebacks are in MLflow"
            " (artifact error.txt). Running the same command again retries them.",
            highlight=False,
        )
        return EXIT_RUN_FAILED
    return EXIT_OK


def print_summary(outcome: StudyOutcome, console: Console) -> None:
    if not outcome.runs:
        return
    table = Table(title=f"study {outcome.study.name}", title_justify="left")
    table.add_column("run")
    table.add_column("status")
    table.add_column("val accuracy", justify="right")
    table.add_column("test accuracy", justify="right")
    table.add_column("train s", justify="right")
    for run in outcome.runs:
        validation = "" if run.val_accuracy is None else f"{run.val_accuracy:.4f}"
        accuracy = "" if run.test_accuracy is None else f"{run.test_accuracy:.4f}"
        seconds = "" if run.seconds is None else f"{run.seconds:.1f}"
        table.add_row(run.spec.label, run.status, validation, accuracy, seconds)
    console.print(table)


def print_next_steps(study: Study, console: Console, *, source_file: str) -> None:
    """Where the answer is: the report (best chosen on validation) and MLflow's UI."""
    from suite.tracking import browse_hint

    console.print(
        f"next: python -m suite.report {source_file}   (the comparison: best configuration by"
        " validation accuracy, test accuracy as its estimate)",
        highlight=False,
        soft_wrap=True,  # commands and links stay whole lines, to copy
    )
    for number, line in enumerate(browse_hint(study)):
        prefix = "      MLflow: " if number == 0 else "              "
        console.print(prefix + line, highlight=False, markup=False, soft_wrap=True)


def _leave_without_teardown(code: int) -> None:
    """The last exit handler: every run, file and library exit handler is closed by now, so
    skip tearing TensorFlow's and Python's objects down one by one (about 2 s per process,
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


if __name__ == "__main__":
    cli()
