"""What the user watches while a study trains: rich progress, one line per finished run."""

from __future__ import annotations

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
    TimeRemainingColumn,
)

from suite.study import RunSpec


class StudyProgress:
    """Two bars: the study (runs done / total, ETA over the epochs left) and the current run."""

    def __init__(self, console: Console, *, study: str, specs: list[RunSpec]) -> None:
        self.console = console
        self.runs = len(specs)
        self.finished = 0
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.study_task: TaskID = self.progress.add_task(
            study, total=max(sum(s.training.epochs for s in specs), 1), status=self._runs_status()
        )
        self.run_task: TaskID | None = None
        self._run_started = 0.0
        self._epochs_done = 0

    def __enter__(self) -> StudyProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def _runs_status(self) -> str:
        return f"runs {self.finished}/{self.runs}"

    def run_started(self, spec: RunSpec) -> None:
        if self.run_task is not None:
            self.progress.remove_task(self.run_task)
        self._run_started = time.perf_counter()
        self._epochs_done = 0
        self._run_epochs = spec.training.epochs
        self.run_task = self.progress.add_task(
            spec.label, total=spec.training.epochs, status=f"epoch 0/{spec.training.epochs}"
        )

    def epoch_ended(self, epoch: int, logs: dict[str, Any]) -> None:
        assert self.run_task is not None
        status = f"epoch {epoch + 1}/{self._run_epochs}"
        if "val_accuracy" in logs:
            status += f"  val_acc {logs['val_accuracy']:.4f}"
        self._epochs_done = epoch + 1
        self.progress.update(self.run_task, completed=epoch + 1, status=status)
        self.progress.advance(self.study_task)

    def run_ended(self, spec: RunSpec, status: str, detail: str) -> None:
        """One permanent line per run; the study bar skips epochs the run did not train."""
        self.finished += 1
        skipped = max(spec.training.epochs - self._epochs_done, 0)
        self.progress.update(self.study_task, advance=skipped, status=self._runs_status())
        seconds = time.perf_counter() - self._run_started
        mark = {"trained": "[green]✓", "failed": "[red]✗", "killed": "[yellow]■"}.get(status, "·")
        self.console.print(
            f"{mark}[/] {self.finished:>3}/{self.runs} {spec.label:<24} {status:<8}"
            f" {detail:<16} {seconds:6.1f} s",
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
