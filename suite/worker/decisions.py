"""What a trial source answers the worker loop (train this, train these seeds together, close
from the record, wait, stop), how a study opens (its banner), and the protocol every source
follows (keras-tuner's "oracle" role)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import optuna
from optuna.trial import FrozenTrial

from suite.queue.run_queue import RunQueue
from suite.record.finished_runs import RecordedRun
from suite.schema import Objective
from suite.study.config import Study
from suite.study.run_spec import RunSpec
from suite.worker.outcomes import Fate, RunOutcome

if TYPE_CHECKING:
    from suite.worker.progress import StudyProgress


@dataclass(frozen=True)
class TrainThis:
    spec: RunSpec
    trial: optuna.Trial  # claimed by this worker: RUNNING, with its first heartbeat


@dataclass(frozen=True)
class FromRecord:
    """A claimed trial whose run MLflow already holds as FINISHED: close it with that result."""

    spec: RunSpec
    trial: optuna.Trial
    run: RecordedRun
    value: float  # the trial's value for the study's objective


@dataclass(frozen=True)
class TrainFused:
    """Seeds of one configuration, each claimed by this worker, to train as one program
    (`training.execution: fused`); `recorded`: claimed ones MLflow already holds as
    FINISHED, to close with that result."""

    members: tuple[TrainThis, ...]
    recorded: tuple[FromRecord, ...] = ()


@dataclass(frozen=True)
class Wait:
    """Nothing to claim now, but other workers train: one of them may die and leave a retry."""


@dataclass(frozen=True)
class Stop:
    """Nothing is left for this worker."""


Decision = TrainThis | TrainFused | FromRecord | Wait | Stop


@dataclass(frozen=True)
class Opening:
    """Where the study stands as a worker starts: what the banner says."""

    headline: str  # "study NAME: 18 runs, 0 done before, 18 to train"
    total: int  # runs (grid; a race: those it asked for) or wanted trials (search; 0: unset)
    done: int
    nothing_to_do: str | None  # the message when nothing is left to train, else None
    running: int = 0  # trials other workers are training now

    @property
    def to_train(self) -> int:
        """Runs (or wanted trials) neither done nor being trained by another worker."""
        return max(self.total - self.done - self.running, 0)

    def banner(self, study: Study, queue_url: str, *, by: str = "") -> str:
        """The lines a study opens with (rich markup, the stores escaped): the headline, the
        stores, and how numbers were read where the study did not name its task."""
        from rich.markup import escape

        lines = [self.headline + by, f"  tracking {escape(study.tracking.uri)}"]
        lines.append(f"  queue    {escape(queue_url)}")
        from suite.study.file import data_sections

        for data in dict.fromkeys(data_sections(study)):
            if not data.is_mnist and data.description.task_note:
                lines.append(f"  data     {escape(data.description.task_note)}")
        return "\n".join(lines)


class TrialSource(Protocol):
    """What a worker trains next (keras-tuner's Oracle): the worker loop asks nothing else."""

    study: Study
    queue: RunQueue
    objective: Objective
    prune: bool  # whether the study's pruner may stop a trial early
    unit: str  # what the study's messages count: "runs" or "trials"

    def open(self) -> Opening: ...

    def next(self, progress: StudyProgress, *, tried: set[str]) -> Decision: ...

    def hand_back(self, trial: FrozenTrial) -> None: ...

    def answer_tags(self) -> dict[str, str]:
        """Tags for the study's parent run once this worker is done ({} but for a race)."""
        ...

    def outcomes(
        self, trained: list[RunOutcome], *, newly_done: Fate = Fate.DONE_ELSEWHERE
    ) -> list[RunOutcome]: ...
