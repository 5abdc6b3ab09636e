"""python -m suite.report STUDY.yaml [...]: one self-contained HTML comparison report.

Exit status: 0 written, 1 nothing to report or an unreadable store, 2 bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from suite.cli.messages import print_message
from suite.errors import ExitCode
from suite.schema import Artifact
from suite.stores.locations import sqlite_path
from suite.study.backends import BACKENDS, DEFAULT_BACKEND, backend_problem, study_backends
from suite.study.config import StudyError
from suite.study.file import load_study
from suite.study.sections import DEFAULT_TRACKING_URI

if TYPE_CHECKING:  # the report's modules load once the arguments are read
    from suite.report.collect import Source
    from suite.report.content import Report
    from suite.report.render import Written


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m suite.report",
        description="Turn the tracked runs of one or more studies into one HTML report"
        " (plus a Markdown summary and CSV tables). Trains nothing.",
    )
    parser.add_argument("studies", nargs="*", type=Path, help="study files, e.g. studies/grid.yaml")
    parser.add_argument(
        "--experiment",
        action="append",
        default=[],
        metavar="NAME",
        help="an MLflow experiment to report without a study file (repeatable)",
    )
    parser.add_argument(
        "--tracking-uri",
        help=f"MLflow tracking URI (default: the study's, or {DEFAULT_TRACKING_URI})",
    )
    parser.add_argument("--out", type=Path, help="HTML file to write (default reports/NAME.html)")
    parser.add_argument(
        "--mlflow-url",
        help="MLflow UI address, e.g. http://localhost:5000: links each leaderboard row to its run",
    )
    parser.add_argument(
        "--no-log", action="store_true", help="do not log the report to the study's parent run"
    )
    args = parser.parse_args(argv)
    if not args.studies and not args.experiment:
        parser.error("give at least one study file or --experiment NAME")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    errors = Console(stderr=True)
    read = _read_sources(args, errors)
    if read is None:
        return ExitCode.BAD_INPUT
    sources, protected = read

    from suite.library_logs import quiet_library_logs
    from suite.report.build import build_report, slug
    from suite.report.collect import ReportError, collect
    from suite.schema import counted
    from suite.stores.http_limits import bound_tracking_requests

    quiet_library_logs()
    bound_tracking_requests()  # a server that dies as it is read: one line within 60 s
    console = Console()
    out = args.out or Path("reports") / f"{'+'.join(slug(s.name) for s in sources)}.html"
    if refused := _refusal(sources, out, protected):
        code, message = refused
        print_message(errors, message)
        return code
    try:
        with console.status("reading the tracking store..."):
            collected = collect(sources)
        with console.status("computing statistics and drawing plots..."):
            report = build_report(collected, mlflow_url=args.mlflow_url)
    except ReportError as err:
        print_message(errors, str(err))
        return ExitCode.FAILED
    except KeyboardInterrupt:  # a report only reads until it writes: nothing to undo
        print_message(errors, "before anything was written; nothing changed.", label="interrupted")
        return ExitCode.INTERRUPTED
    written = _write(report, out, protected, errors)
    if written is None:
        return ExitCode.BAD_INPUT
    console.print(
        f"report: {written.html}\nsummary: {written.markdown}\n"
        f"tables: {counted(len(written.csvs), 'CSV file')} beside them",
        highlight=False,
        markup=False,  # paths are the user's, brackets and all
    )
    if not args.no_log:
        for note in _log_to_parent_runs(collected, written):
            print_message(errors, note, label="note", style="yellow")
    return ExitCode.OK


def _read_sources(
    args: argparse.Namespace, errors: Console
) -> tuple[list[Source], list[Path]] | None:
    """`_sources`, or None once the bad input has been said (exit 2)."""
    if problem := backend_problem():  # a study's run_keys name the backend they compute on
        print_message(errors, problem)
        return None
    try:
        return _sources(args)
    except StudyError as err:
        message = err.message
        if any(problem.startswith(("data", "grid.dataset")) for problem in err.problems):
            # The grid's run_keys hold the data's content: without it, the study's runs cannot
            # be picked out, but the experiment's can still be reported.
            message += (
                "; to report what MLflow recorded without reading the data:"
                " python -m suite.report --experiment NAME (the study's experiment)"
            )
        print_message(errors, message)
        return None


def _write(report: Report, out: Path, protected: list[Path], errors: Console) -> Written | None:
    """The report's files written whole, or None once the refusal has been said (exit 2)."""
    from suite.report.outputs import OutputError
    from suite.report.render import write_report

    try:
        return write_report(report, out, protected=protected)
    except OutputError as err:  # a CSV named after a table that lands on a protected path
        print_message(errors, str(err))
        return None
    except OSError as err:  # e.g. the disk filled up, or the folder changed meanwhile
        print_message(
            errors,
            f"cannot write the report to {out}: {err.strerror or err}; nothing was written"
            " (files from an earlier report are as they were)",
        )
        return None


def _refusal(sources: list, out: Path, protected: list[Path]) -> tuple[ExitCode, str] | None:
    """Why the report cannot be made, before anything is read or written: an output path it
    must not write, or a store it cannot read (exit status and message), else None."""
    from suite.errors import StoreError
    from suite.report.collect import ReportError
    from suite.report.outputs import OutputError, check_outputs
    from suite.stores.checks import check_local_file, check_tracking_store

    try:
        check_local_file(out, f"report file {out}", "choose another --out", writing=True)
        check_outputs([out, out.with_suffix(".md")], protected=protected)
        for source in sources:
            # A file that is no database, a server that is down: before "no store yet".
            check_tracking_store(source.tracking_uri, writing=False)
            _check_store(source.tracking_uri)
    except (StoreError, OutputError) as err:
        return ExitCode.BAD_INPUT, str(err)
    except ReportError as err:
        return ExitCode.FAILED, str(err)
    return None


def _sources(args: argparse.Namespace) -> tuple[list, list[Path]]:
    """The studies to report, and what they read or a store holds (outputs land on none)."""
    from suite.race.study_race import rules_of
    from suite.report.collect import Source
    from suite.stores.locations import files_beside_database, files_beside_journal, journal_path
    from suite.stores.optuna_storage import storage_url

    sources = []
    protected: list[Path] = list(args.studies)
    for path in args.studies:
        study = load_study(path)
        uri = args.tracking_uri or study.tracking.uri
        queue = storage_url(study)  # a grid's queue is a store too, though its report skips it
        if (journal := journal_path(queue)) is not None:
            protected += files_beside_journal(journal)
        if study.search is not None:
            sources.append(
                Source(
                    study.name,
                    study.experiment_name,
                    uri,
                    None,
                    storage_url(study),
                    objective=study.objective,
                )
            )
        else:
            specs = study.runs
            sources.append(
                Source(
                    study.name,
                    study.experiment_name,
                    uri,
                    specs,
                    on_other_backends=_on_other_backends(study, specs),
                    race=rules_of(study) if study.race else None,
                )
            )
    for name in args.experiment:
        sources.append(Source(name, name, args.tracking_uri or DEFAULT_TRACKING_URI))
    sources = _each_once(sources)
    for source in sources:
        if (db := sqlite_path(source.tracking_uri)) is not None:
            protected += files_beside_database(db)
    return sources, protected


def _each_once(sources: list[Source]) -> list[Source]:
    """Each study once, however often it is named (`s.yaml s.yaml`, a study and its own
    experiment): its runs are one result each, never counted twice. Two different studies of
    one name in one experiment cannot be told apart in the report: refused."""
    kept: dict[tuple[str, str, str], Source] = {}
    for source in sources:
        key = (source.name, source.experiment, source.tracking_uri)
        other = kept.get(key)
        if other is None or other.expected is None:  # a study file knows more than its experiment
            kept[key] = source
        elif source.expected is not None and source != other:
            raise StudyError(
                "suite.report",
                [
                    f"two different studies are named {source.name!r} in experiment"
                    f" {source.experiment!r}: their runs cannot be told apart; give one"
                    " another name (name: in its study file)"
                ],
            )
    return list(kept.values())


def _on_other_backends(study, specs: tuple) -> tuple:
    """The grid on each backend but TensorFlow, for a study that names no backend axis read
    without KERAS_BACKEND: its runs may have computed on the backend it was trained under."""
    if study_backends(study) or os.environ.get("KERAS_BACKEND"):
        return ()
    return tuple(
        tuple(spec.model_copy(update={"keras_backend": backend}) for spec in specs)
        for backend in BACKENDS
        if backend != DEFAULT_BACKEND
    )


def _check_store(uri: str) -> None:
    """A report never creates a store: a missing SQLite file is an error, not an empty report."""
    from suite.report.collect import ReportError
    from suite.stores.sqlite import MLFLOW_TABLE, no_store_yet

    db = sqlite_path(uri)
    if no_store_yet(db, MLFLOW_TABLE):  # opening it would make one
        raise ReportError(
            f"no tracking store at {db}: train a study first (python -m suite.run STUDY.yaml)"
            " or point --tracking-uri at the store"
        )


def _log_to_parent_runs(collected, written) -> list[str]:
    """The report becomes an artifact of each study's parent run, under report/; returns why
    a study's was not (its store was copied or moved, so its artifacts live elsewhere)."""
    from mlflow.tracking import MlflowClient

    from suite.stores.checks import artifacts_outside_store

    notes = []
    for source in collected.sources:
        run_id = collected.parent_runs.get(source.name)
        if run_id is None:
            continue
        client = MlflowClient(source.tracking_uri)
        db = sqlite_path(source.tracking_uri)
        if db is not None:
            experiment = client.get_experiment(client.get_run(run_id).info.experiment_id)
            if problem := artifacts_outside_store(db, experiment):
                notes.append(f"{problem}. The report is not logged to MLflow")
                continue
        for path in (written.html, written.markdown, *written.csvs):
            client.log_artifact(run_id, str(path), Artifact.REPORT_DIR)
    return notes


if __name__ == "__main__":
    sys.exit(main())
