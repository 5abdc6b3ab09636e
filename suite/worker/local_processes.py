"""`--workers N`: N worker processes on this machine, sharing the study's queue.

Each worker is the ordinary command (`python -m suite.run STUDY ... --worker-name wK`) with its
share of the CPU threads; the queue in the Optuna storage keeps them from training the same run
(see `suite.queue.run_queue`). This process only starts them, relays their lines, shows what every
worker is training (read from the storage) and prints the summary when they are all done.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack

from rich.console import Console
from rich.live import Live
from rich.table import Table

from suite.errors import (
    STORE_ERRORS_FIX,
    ExitCode,
    store_error_types,
    store_errors_stop_the_study,
    study_stores,
)
from suite.machine import machine_cores, worker_cores
from suite.queue.planning import PlannedRun, PlanState
from suite.queue.run_queue import RunQueue
from suite.schema import TrialAttr
from suite.study.config import Study
from suite.study.run_spec import RunSpec
from suite.study.sections import MAX_AUTO_WORKERS
from suite.study.sequences import digests_for_workers
from suite.worker.decisions import Opening, TrialSource
from suite.worker.grid_source import GridTrials
from suite.worker.outcomes import RECORDED, Fate, RunOutcome
from suite.worker.signals import STOP_SIGNALS, signal_handled
from suite.worker.sources import trial_source


def most_workers(study: Study) -> int:
    """The most worker processes the study may start ("auto": one per core, at most
    MAX_AUTO_WORKERS), before the runs left are counted."""
    wanted = study.workers.count
    return min(machine_cores(), MAX_AUTO_WORKERS) if wanted == "auto" else wanted


def workers_at_most(study: Study) -> int:
    """The most workers this study can start, before any store is read: never more than its
    grid has runs (a search: than it wants trials), at least one per backend of its axis.
    What the memory check multiplies one run's memory by."""
    from suite.study.backends import study_backends

    workers = most_workers(study)
    if study.grid is not None:
        workers = min(workers, len(study.runs))
    elif study.search is not None and study.search.n_trials:
        workers = min(workers, study.search.n_trials)
    return max(workers, len(study_backends(study)), 1)


def worker_count(study: Study, *, runs_left: int | None = None) -> int:
    """`workers.count` as a number, never more than the grid's runs left to train (a
    worker with nothing to claim is a process for nothing; `runs_left` from a plan already
    made, else planned here). "auto": one per core, at most MAX_AUTO_WORKERS; one where the
    storage cannot take several."""
    wanted = study.workers.count
    workers = most_workers(study)
    if wanted == "auto":
        from suite.stores.locations import is_sqlite_rdb
        from suite.stores.optuna_storage import storage_url

        if is_sqlite_rdb(storage_url(study)):
            return 1
    if study.grid is not None and workers > 1:
        if runs_left is None:
            from suite.forecast.plan import plan_study

            runs_left = sum(item.needs_training for item in plan_study(study))
        workers = min(workers, runs_left)
    return max(workers, 1)


def worker_environment(workers: int) -> dict[str, str]:
    """Each worker's share of the machine: CPU threads split evenly; GPU memory grown, not
    taken whole, so several workers fit on one card."""
    threads = worker_cores(workers)
    return {
        **os.environ,
        "SUITE_THREADS": str(threads),
        "OMP_NUM_THREADS": str(threads),
        "TF_FORCE_GPU_ALLOW_GROWTH": "true",
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",  # their lines are relayed, not wrapped by a narrow pipe width
        **digests_for_workers(),  # a data file edited since this process read it is refused
    }


def open_for_workers(study: Study) -> tuple[TrialSource, Opening]:
    """The queue reconciled with the record and every run to train enqueued, and the store and
    experiment created, once, before workers race to: the parent's one read of the study."""
    from suite.record.tracker import Tracker
    from suite.worker.left_behind import close_dead_workers_trials, end_runs_left_running

    source = trial_source(study)
    with store_errors_stop_the_study(study_stores(study.tracking.uri, source.queue.url)):
        tracker = Tracker(study)
        end_runs_left_running(source.queue, tracker)
        opening = source.open()
        if opening.nothing_to_do and close_dead_workers_trials(source, tracker):
            opening = source.open()  # their runs, where the record holds them, are done again
    return source, opening


def run_workers(
    study: Study,
    opened: tuple[TrialSource, Opening],
    command: Sequence[str],
    workers: int,
    console: Console,
    *,
    backends: Sequence[str] = (),
) -> tuple[ExitCode, list[RunOutcome] | None]:
    """Start `workers` copies of `command`, wait for them all; (exit status, run outcomes;
    None where a worker refused to go on, or a store failed: each worker said why).
    With `backends`, worker i starts on backends[i % len]: each trains that backend's runs.
    The workers print no banner of their own: this process said it (`opened`)."""
    source, opening = opened
    console.print(
        opening.banner(study, source.queue.url, by=f" by {workers} worker{'s' * (workers > 1)}"),
        highlight=False,
    )
    if opening.nothing_to_do and not opening.running:
        console.print(opening.nothing_to_do)
        return ExitCode.OK, source.outcomes([])
    processes = _start(command, workers, backends)
    store_failure = _SaidOnce()
    relays = [
        threading.Thread(target=_relay, args=(name, process, console, store_failure), daemon=True)
        for name, process in processes.items()
    ]
    for relay in relays:
        relay.start()
    interrupted, signalled = False, []
    try:
        with ExitStack() as stack:  # SIGTERM / SIGHUP to this process alone: tell the workers
            for signum in STOP_SIGNALS:
                stack.enter_context(signal_handled(signum, _interrupt_noting(signalled)))
            _watch(study, source, processes, console)
    except KeyboardInterrupt:
        interrupted = True
        _stop(processes, at_once=bool(signalled))
    for relay in relays:
        relay.join(timeout=5)
    code = _exit_code([p.returncode for p in processes.values()], interrupted)
    if code == ExitCode.BAD_INPUT:  # each worker said what is wrong; a table read now would
        return code, None  # call a run that a failed store cut short "not started"
    try:
        outcomes = source.outcomes([], newly_done=Fate.TRAINED)  # by a worker of ours
    except store_error_types():  # a store failed: the workers each said so, in one line
        outcomes = None
    if not interrupted:
        _say_killed_workers(processes, outcomes, console)
    return code, outcomes


def _say_killed_workers(
    processes: dict[str, subprocess.Popen[str]],
    outcomes: list[RunOutcome] | None,
    console: Console,
) -> None:
    """One line for each worker a signal ended (SIGKILL: out of memory, or a kill from
    outside): it could say nothing itself, and its exit status alone fails the study
    unexplained. Its trial is a dead worker's: another worker, or the next invocation,
    trains it again."""
    killed = {
        name: signal.Signals(-process.returncode).name
        for name, process in processes.items()
        if process.returncode < 0 and process.returncode != -signal.SIGINT
    }
    left = outcomes is None or any(outcome.status not in RECORDED for outcome in outcomes)
    what = (
        "run the same command again to train what it left: nothing finished is trained again"
        if left
        else "the other workers trained what it left"
    )
    for name, how in killed.items():
        console.print(
            f"[{name}] error: ended by {how} (out of memory, or killed); {what}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


def _start(
    command: Sequence[str], workers: int, backends: Sequence[str]
) -> dict[str, subprocess.Popen[str]]:
    environment = worker_environment(workers)
    return {
        f"w{i}": subprocess.Popen(
            [*command, "--worker-name", f"w{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**environment, "KERAS_BACKEND": backends[(i - 1) % len(backends)]}
            if backends
            else environment,
        )
        for i in range(1, workers + 1)
    }


def _watch(
    study: Study,
    source: TrialSource,
    processes: dict[str, subprocess.Popen[str]],
    console: Console,
) -> None:
    """The workers' table, redrawn each second until every worker has ended. It reads the
    queue's trials alone, not the whole MLflow record: a worker completes a trial once its
    run is in MLflow (looked up once each, then kept)."""
    specs = source.specs if isinstance(source, GridTrials) else []
    counted = source.counted_runs if isinstance(source, GridTrials) else None
    with Live(console=console, refresh_per_second=2, transient=True) as live:
        while any(p.poll() is None for p in processes.values()):
            # A store that fails mid-study: the workers say so; the table waits for it.
            with contextlib.suppress(*store_error_types()):
                table = _status_table(study, source.queue, processes, specs=specs, counted=counted)
                live.update(table)
            time.sleep(1.0)


def _interrupt_noting(signalled: list[int]) -> Callable[[int, object], None]:
    def interrupt(signum: int, frame: object) -> None:
        signalled.append(signum)
        raise KeyboardInterrupt

    return interrupt


def _stop(processes: dict[str, subprocess.Popen[str]], *, at_once: bool = False) -> None:
    """From a terminal the workers got the same Ctrl-C and are recording it; a second one now
    could cut that short. Only those still running after a moment are told: 5 s, or 1 s
    `at_once` (a SIGTERM or SIGHUP to this process, which they may never have seen)."""
    deadline = time.monotonic() + (1 if at_once else 5)
    while time.monotonic() < deadline and any(p.poll() is None for p in processes.values()):
        time.sleep(0.1)
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in processes.values():
        process.wait()


def _exit_code(codes: list[int], interrupted: bool) -> ExitCode:
    if interrupted or any(code in (ExitCode.INTERRUPTED, -signal.SIGINT) for code in codes):
        return ExitCode.INTERRUPTED
    if all(code == ExitCode.OK for code in codes):
        return ExitCode.OK
    if any(code == ExitCode.BAD_INPUT for code in codes):  # a setup error, said by the worker
        return ExitCode.BAD_INPUT
    return ExitCode.FAILED


class _SaidOnce:
    """A lost store is met by every worker, and each says so in the same one line (it names
    the stores and the fix): the first is relayed, the others would repeat it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._said = False

    def first(self, text: str) -> bool:
        """Whether to relay `text`: any line but a store failure said already."""
        if STORE_ERRORS_FIX not in text:
            return True
        with self._lock:
            said, self._said = self._said, True
        return not said


def _relay(
    name: str, process: subprocess.Popen[str], console: Console, store_failure: _SaidOnce
) -> None:
    """A worker's lines, as they come; a store failure once for all workers."""
    assert process.stdout is not None
    for line in process.stdout:
        text = line.rstrip()
        if text and store_failure.first(text):
            console.print(
                text if text.startswith(f"[{name}]") else f"[{name}] {text}",
                highlight=False,
                markup=False,
                soft_wrap=True,  # a worker's one-line error stays one line
            )


def _status_table(
    study: Study,
    queue: RunQueue,
    processes: dict[str, subprocess.Popen[str]],
    *,
    specs: Sequence[RunSpec],
    counted: Callable[[list[PlannedRun]], list[PlannedRun]] | None = None,
) -> Table:
    """What each worker trains now, read from the storage: run, epoch, latest val accuracy;
    the runs done out of those `counted` from the plan of `specs` (a race: every run it has
    asked for, not only its round's)."""
    from optuna.trial import TrialState

    from suite.forecast.plan import calibrate
    from suite.forecast.time_model import format_duration

    names = {process.pid: name for name, process in processes.items()}
    if study.search is not None:
        finished = queue.optuna_study.get_trials(
            deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)
        )
        title = f"{study.name}: trials finished {len(finished)}/{study.search.n_trials or '-'}"
    else:
        planned = queue.plan(specs)
        if counted is not None:
            planned = counted(planned)
        done = sum(p.state == PlanState.DONE for p in planned)
        title = f"{study.name}: runs {done}/{len(planned)}"
        model = calibrate(planned)  # the same estimate as --dry-run and a single worker's ETA
        left = [p.spec for p in planned if p.state != PlanState.DONE]
        if model is not None and left:
            title += f", eta {format_duration(model.wall(left, len(processes)))}"
    table = Table(title=title, title_justify="left")
    for column in ("worker", "run", "epoch", "objective"):
        table.add_column(column)
    for trial in queue.optuna_study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get(TrialAttr.WORKER, {})
        name = names.get(worker.get("pid"), f"{worker.get('host', '?')}:{worker.get('pid', '?')}")
        values = trial.intermediate_values
        epochs = trial.user_attrs.get(TrialAttr.EPOCHS, "?")
        last = f"{values[max(values)]:.4f}" if values else ""
        label = trial.user_attrs.get(TrialAttr.LABEL, "?")
        table.add_row(name, label, f"{len(values)}/{epochs}", last)
    return table


def worker_command(argv: Sequence[str]) -> list[str]:
    """This invocation's own command line, less `--workers N`, for each worker."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--workers":
            skip = True
            continue
        if arg.startswith("--workers="):
            continue
        kept.append(arg)
    return [sys.executable, "-m", "suite.run", *kept]
