"""What became of each run of a study in one invocation: the rows of the CLI's summary, from
what this worker trained and what the queue records of the rest (grid_outcomes)."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from suite.queue.planning import PlanState
from suite.queue.run_queue import RunQueue
from suite.schema import Metric, TrialAttr
from suite.study.config import Study
from suite.study.run_spec import RunSpec


class Fate(enum.StrEnum):
    TRAINED = "trained"  # by this worker, in this invocation
    PRUNED = "pruned"  # stopped early by the search's pruner; its curves are kept
    FAILED = "failed"  # its traceback is the MLflow run's error.txt; a rerun retries it
    KILLED = "killed"  # interrupted (Ctrl-C, SIGTERM): its MLflow run is KILLED, a rerun retries
    SUPERSEDED = "superseded"  # failed as stale while it trained; another worker retries it
    DONE_BEFORE = "done before"  # finished in an earlier invocation: never trained again
    DONE_ELSEWHERE = "done elsewhere"  # finished by another worker meanwhile
    RUNNING_ELSEWHERE = "running elsewhere"
    NOT_STARTED = "not started"


# The fates whose result is in the record: nothing of them is left to train.
RECORDED = frozenset({Fate.TRAINED, Fate.PRUNED, Fate.DONE_BEFORE, Fate.DONE_ELSEWHERE})


@dataclass(frozen=True)
class RunOutcome:
    spec: RunSpec
    status: Fate
    test_value: float | None = None  # its test accuracy, or test RMSE (spec.measure)
    value: float | None = None  # the best epoch's value of the study's objective: what ranks
    seconds: float | None = None
    mlflow_run_id: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class CutShort:
    """A run an interrupt cut short: whether MLflow holds a run of it (then marked KILLED),
    or none yet (seeds trained together are recorded only once their program ends)."""

    label: str
    recorded: bool


@dataclass
class StudyOutcome:
    study: Study
    runs: list[RunOutcome]
    interrupted: bool = False
    cut_short: list[CutShort] = field(default_factory=list)

    def interruption(self) -> str:
        """What the interrupt left, as the CLI says it: derived from the runs it cut short."""
        recorded = [c.label for c in self.cut_short if c.recorded]
        unrecorded = [c.label for c in self.cut_short if not c.recorded]
        said = []
        if recorded:
            said.append(
                f"{', '.join(recorded)} {'is' if len(recorded) == 1 else 'are'} marked KILLED in"
                f" MLflow and {'its trial' if len(recorded) == 1 else 'their trials'} failed"
            )
        if unrecorded:
            said.append(
                f"{', '.join(unrecorded)} (trained together) had nothing in MLflow yet;"
                f" {'its trial' if len(unrecorded) == 1 else 'their trials'} failed"
            )
        return "; ".join(said) or "no run was in progress"

    @property
    def failed(self) -> list[RunOutcome]:
        return [r for r in self.runs if r.status == Fate.FAILED]


class StudyInterrupted(KeyboardInterrupt):
    """Carries the outcome out of the study run, which it ends as KILLED on the way."""

    def __init__(self, outcome: StudyOutcome) -> None:
        super().__init__()
        self.outcome = outcome


def grid_outcomes(
    specs: Sequence[RunSpec],
    queue: RunQueue,
    *,
    done_before: set[str],
    trained_here: Mapping[str, RunOutcome],
    newly_done: Fate = Fate.DONE_ELSEWHERE,
) -> list[RunOutcome]:
    """Every grid run's outcome: this worker's own, else what the queue records now."""
    now = {p.spec.run_key: p for p in queue.plan(specs)}
    outcomes = []
    for spec in specs:
        if spec.run_key in trained_here:
            outcomes.append(trained_here[spec.run_key])
            continue
        item = now[spec.run_key]
        if item.state == PlanState.DONE:
            outcomes.append(
                RunOutcome(
                    spec,
                    Fate.DONE_BEFORE if spec.run_key in done_before else newly_done,
                    test_value=item.attributes.get(spec.measure.test),
                    value=item.attributes.get(spec.compared_by.column),
                    seconds=item.attributes.get(Metric.TRAIN_SECONDS),
                    mlflow_run_id=item.attributes.get(TrialAttr.MLFLOW_RUN_ID),
                )
            )
        elif item.state == PlanState.RUNNING:
            outcomes.append(RunOutcome(spec, Fate.RUNNING_ELSEWHERE))
        else:
            outcomes.append(RunOutcome(spec, Fate.NOT_STARTED))
    return outcomes
