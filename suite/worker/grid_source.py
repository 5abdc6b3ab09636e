"""The grid's runs as a trial source: each run trained once, the largest unclaimed first, the
queue reconciled with MLflow's record as a worker opens the study."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from suite.forecast.plan import remaining_seconds
from suite.forecast.time_model import work
from suite.queue.planning import PlannedRun, PlanState
from suite.queue.run_queue import RunQueue
from suite.record.finished_runs import FinishedRuns, RecordedRun
from suite.schema import counted
from suite.study.backends import trains_here
from suite.study.config import Study
from suite.study.run_spec import RunSpec
from suite.worker.decisions import Decision, FromRecord, Opening, Stop, TrainThis, Wait
from suite.worker.fused_claims import claim_seeds_with, trains_fused
from suite.worker.outcomes import Fate, RunOutcome, grid_outcomes

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from suite.worker.progress import StudyProgress


class GridTrials:
    """The grid's runs, each trained once: claim the largest unclaimed run still to train."""

    prune = False
    unit = "runs"

    def __init__(self, study: Study, *, backend: str | None = None) -> None:
        """`backend`: a worker started on it sees only the runs of that backend (or of none)."""
        self.study = study
        self.objective = study.objective
        self.grid = study.runs  # the invocation's one expansion of the grid
        self.specs = [spec for spec in self.grid if trains_here(spec, backend)]
        self.queue = RunQueue(study, specs=self.grid)
        self.finished_runs = FinishedRuns(study, self.grid)
        self._done_before: set[str] = set()
        self._last_configuration: str | None = None  # of the last run this worker trained

    def _preference(self, planned: list[PlannedRun]) -> Callable[[PlannedRun], tuple]:
        """Which run to claim first: another seed of the configuration this worker trained
        last (its compiled model is reused: suite.train.compiled); then the largest runs,
        so that with several workers the study ends on small runs rather than on one worker
        training the biggest while the others wait; then configurations no other worker is
        training, so that workers split the grid by configuration."""
        elsewhere = {p.spec.configuration_key for p in planned if p.state == PlanState.RUNNING}

        def preference(item: PlannedRun) -> tuple:
            key = item.spec.configuration_key
            return (key == self._last_configuration, work(item.spec), key not in elsewhere)

        return preference

    def open(self) -> Opening:
        """Reconcile the queue with MLflow's record, then enqueue every run still to train
        (once, before workers race to); the banner says what the reconciling changed."""
        self.read_record()
        planned = self.queue.plan(self.specs)
        adopted = self.queue.adopt_recorded_runs(planned)
        self.queue.enqueue(planned)
        counted_runs = self.counted_runs(planned)
        self._done_before = {p.spec.run_key for p in counted_runs if p.state == PlanState.DONE}
        todo = sum(p.needs_training for p in planned)
        running = sum(p.state == PlanState.RUNNING for p in planned)
        lost = sum(p.state == PlanState.LOST for p in planned)
        warning = _adopted_warning(adopted, self.study.name)
        if lost:
            warning += (
                f"\n  [yellow]{counted(lost, 'run')} the queue calls finished"
                f" {'has' if lost == 1 else 'have'} no finished run in MLflow (a new or replaced"
                " tracking store?): MLflow is the record, so"
                f" {'it trains' if lost == 1 else 'they train'} again[/]"
            )
        elsewhere = f", {running} running elsewhere" if running else ""
        nothing = None if todo else self._nothing_to_train(running, len(planned) - running)
        return Opening(
            headline=f"study [bold]{self.study.name}[/]: {counted(len(counted_runs), 'run')},"
            f" {len(self._done_before)} done before{elsewhere}, {todo} to train{warning}",
            total=len(counted_runs),
            done=len(self._done_before),
            nothing_to_do=nothing,
            running=running,
        )

    def counted_runs(self, planned: list[PlannedRun]) -> list[PlannedRun]:
        """The runs the banner and the progress count, from the plan of `self.specs`: the
        grid's runs (a race counts every run it has asked for instead)."""
        return planned

    def _nothing_to_train(self, running: int, done: int) -> str:
        """Why a worker finds nothing to claim: every run finished, or some train elsewhere."""
        if running:
            rest = f"; the other {counted(done, 'run')} finished" if done else ""
            return (
                f"nothing to train here: {counted(running, 'run')} of this study"
                f" {'is' if running == 1 else 'are'} being trained by another worker now{rest}."
            )
        return "nothing to train: every run of this study has finished already."

    def read_record(self) -> None:
        """Read MLflow's record (again): from now on it says which runs are done."""
        self.queue.use_record(self.finished_runs.read(), self.finished_runs.run_exists)

    def hand_back(self, trial: FrozenTrial) -> None:
        """A stale trial's run shows as RETRY in the next plan, and is enqueued from there."""

    def answer_tags(self) -> dict[str, str]:
        return {}

    def next(self, progress: StudyProgress, *, tried: set[str]) -> Decision:
        while True:
            planned = self.queue.plan(self.specs)
            if any(p.state == PlanState.LOST for p in planned):
                # Lost, or only finished since the record was read (by another worker): read
                # it again, so only runs MLflow really lacks are trained again.
                self.read_record()
                planned = self.queue.plan(self.specs)
            counted_runs = self.counted_runs(planned)
            progress.set_done(
                sum(p.state == PlanState.DONE for p in counted_runs), total=len(counted_runs)
            )
            progress.set_estimates(remaining_seconds(planned))
            # A run this worker already tried is not retried by it: a run that always fails
            # must not loop. Runs of workers that died are retried.
            available = [p for p in planned if p.needs_training and p.spec.run_key not in tried]
            self.queue.enqueue(available)
            for item in sorted(available, key=self._preference(planned), reverse=True):
                decision = self._claim(item.spec)
                if decision is None:
                    continue
                if isinstance(decision, TrainThis) and trains_fused(
                    self.study, decision, available
                ):
                    return claim_seeds_with(decision, available, self._claim)
                return decision
            if available or any(p.state == PlanState.RUNNING for p in planned):
                return Wait()
            return Stop()

    def _claim(self, spec: RunSpec) -> TrainThis | FromRecord | None:
        """Claim `spec`'s trial: to train, to close from the record, or None (taken)."""
        trial = self.queue.claim(spec)
        if trial is None:
            return None
        # Another queue (a lost journal, another --storage) may have trained it.
        finished = self.finished_runs.finished_run(spec.run_key)
        if finished is None:
            self._last_configuration = spec.configuration_key
            return TrainThis(spec, trial)
        value = self.finished_runs.objective_value(finished, self.objective)
        return FromRecord(spec, trial, finished, value)

    def outcomes(
        self, trained: list[RunOutcome], *, newly_done: Fate = Fate.DONE_ELSEWHERE
    ) -> list[RunOutcome]:
        """Every grid run, in grid order: this worker's outcome, else the queue's record; runs
        finished since `open` by others are `newly_done` (TRAINED for the --workers parent)."""
        self.read_record()  # what every worker recorded meanwhile
        return grid_outcomes(
            self.grid,
            self.queue,
            done_before=self._done_before,
            trained_here={o.spec.run_key: o for o in trained},
            newly_done=newly_done,
        )


def _adopted_warning(adopted: Sequence[RecordedRun], study: str) -> str:
    """What the banner says of finished runs the queue lacked, by who trained them: this
    study (its queue is new or was lost), or other studies of the experiment (they share
    run_keys by design: a grid and a race of the same configurations)."""
    own = [run for run in adopted if run.study in (study, None)]
    others = sorted({run.study for run in adopted if run.study not in (study, None)})
    said = ""
    if own:
        said += (
            f"\n  {counted(len(own), 'run')} this study finished in MLflow"
            f" {'was' if len(own) == 1 else 'were'} missing from its queue (a new or lost Optuna"
            " storage?): recorded there, not trained again"
        )
    if others:
        count = len(adopted) - len(own)
        said += (
            f"\n  {counted(count, 'run')} {'was' if count == 1 else 'were'} finished already by"
            f" {', '.join(others)} (same experiment, same run_keys): recorded in this queue,"
            " not trained again"
        )
    return said
