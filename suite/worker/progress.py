"""What the user watches while a study trains: rich progress, one line per finished run."""

from __future__ import annotations

import math
import time
from typing import Any

import keras
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from suite.forecast.time_model import format_duration
from suite.schema import Objective
from suite.study.run_spec import RunSpec
from suite.worker.outcomes import Fate


class StudyProgress:
    """Two bars: the study (runs done / total by any worker, ETA) and the current run."""

    def __init__(
        self,
        console: Console,
        *,
        study: str,
        total: int,
        done: int,
        worker: str | None = None,
        unit: str = "runs",
    ) -> None:
        """`total`: the runs (or trials) the study wants; 0 where it sets no number (a
        search without n_trials). `unit`: what is counted."""
        self.console = console
        self.total = total
        self.unit = unit
        self.prefix = f"[{worker}] " if worker else ""
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}"),
            console=console,
            transient=True,
        )
        self.study_task: TaskID = self.progress.add_task(
            study, total=max(total, 1), completed=done, status=self._count(done), eta=""
        )
        self.run_task: TaskID | None = None
        self._run_started = 0.0
        self._run_epochs = 0
        self._run_key: str | None = None
        self._objective = Objective()  # the current run's: what its epochs show
        self._estimates: dict[str, float] | None = None  # seconds of each unfinished run

    def __enter__(self) -> StudyProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def _count(self, done: int) -> str:
        """Where the study stands: "runs 3/8", or "trials 3" where no number is wanted."""
        return f"{self.unit} {done}/{self.total}" if self.total else f"{self.unit} {done}"

    def set_done(self, done: int, *, total: int | None = None) -> None:
        """Runs finished so far by every worker (read from the queue), out of `total` where
        the study's count changed (a race's next round asks for more)."""
        if total is not None:
            self.total = total
        self.progress.update(
            self.study_task,
            completed=done,
            total=max(self.total, 1),
            status=self._count(done),
        )

    def set_estimates(self, remaining: dict[str, float] | None) -> None:
        """Estimated seconds of every unfinished run (suite.forecast.time_model), for the ETA."""
        self._estimates = remaining
        self._show_eta()

    def _show_eta(self) -> None:
        """ETA: the runs not started, plus what the current run should still take."""
        if not self._estimates:
            self.progress.update(self.study_task, eta="eta ?" if self._estimates is None else "")
            return
        left = sum(s for key, s in self._estimates.items() if key != self._run_key)
        if self._run_key in self._estimates:
            elapsed = time.perf_counter() - self._run_started
            left += max(0.0, self._estimates[self._run_key] - elapsed)
        self.progress.update(self.study_task, eta=f"eta {format_duration(left)}")

    def run_started(self, spec: RunSpec) -> None:
        if self.run_task is not None:
            self.progress.remove_task(self.run_task)
        self._run_key = spec.run_key
        self._run_started = time.perf_counter()
        self._run_epochs = spec.training.epochs
        self._objective = spec.compared_by
        self.run_task = self.progress.add_task(
            spec.label, total=spec.training.epochs, status=f"epoch 0/{spec.training.epochs}", eta=""
        )

    def fused_started(self, specs: list[RunSpec]) -> None:
        """Seeds of one configuration training as one program: one bar for all of them."""
        self.run_started(specs[0])
        seeds = ", ".join(str(spec.seed) for spec in specs)
        label = f"{specs[0].configuration} seeds {seeds}"
        self.progress.update(self.run_task, description=label)  # type: ignore[arg-type]

    def fused_epoch_ended(self, epoch: int, each: list[dict[str, Any]]) -> None:
        """An epoch of seeds trained together: the best member's value of the objective."""
        metric = self._objective.metric
        self.epoch_ended(
            epoch, max(each, key=lambda logs: self._objective.score(logs.get(metric, math.nan)))
        )

    def epoch_ended(self, epoch: int, logs: dict[str, Any]) -> None:
        assert self.run_task is not None
        status = f"epoch {epoch + 1}/{self._run_epochs}"
        metric = self._objective.metric
        if metric in logs:
            status += f"  {metric} {logs[metric]:.4f}"
        self.progress.update(self.run_task, completed=epoch + 1, status=status)
        self._show_eta()

    def run_ended(
        self, spec: RunSpec, status: Fate, detail: str, *, seconds: float | None = None
    ) -> None:
        """One permanent line per run this worker trained (`seconds`: its share of a program
        that trained it together with other seeds; else the time since it started)."""
        if seconds is None:
            seconds = time.perf_counter() - self._run_started
        mark = {
            Fate.TRAINED: "[green]✓",
            Fate.FAILED: "[red]✗",
            Fate.KILLED: "[yellow]■",
            Fate.PRUNED: "[cyan]✂",
        }.get(status, "[dim]·")
        self.console.print(
            f"{self.prefix}{mark}[/] {spec.label:<24} {status:<8} {detail:<16} {seconds:6.1f} s",
            highlight=False,
        )

    def callback(self) -> keras.callbacks.Callback:
        return _EpochProgress(self)


class _EpochProgress(keras.callbacks.Callback):
    def __init__(self, progress: StudyProgress) -> None:
        super().__init__()
        self._progress = progress

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._progress.epoch_ended(epoch, logs or {})
