"""What a worker trains next, for each kind of study (keras-tuner's "oracle" role).

A source answers one question, again and again: train this trial, wait (others are training
what is left), or stop. `suite.worker.loop` runs the same loop over either source, so interrupts,
heartbeats, stale trials and the stop after failures in a row are handled once, for both.

- `GridTrials`: every grid point is one trial, enqueued by run_key; the largest runs first.
- `SearchTrials`: Optuna's sampler asks for new points until the search has `n_trials`
  finished trials (complete or pruned) or its timeout passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

import optuna
from optuna.trial import FrozenTrial, TrialState

from suite.forecast.outcomes import RunOutcome, RunStatus
from suite.forecast.plan import grid_outcomes, race_of_plan, remaining_seconds
from suite.forecast.race_summary import race_line
from suite.forecast.study_race import Race, runs_asked, runs_needed
from suite.forecast.time_model import work
from suite.queue.run_queue import PlannedRun, PlanState, RunQueue, queue_attributes
from suite.queue.search_space import open_search, suggest
from suite.record.finished_runs import FinishedRuns, RecordedRun
from suite.schema import Objective, Tag
from suite.study.backends import trains_here
from suite.study.config import Study
from suite.study.grid import search_spec
from suite.study.run_spec import RunSpec
from suite.train.execution import FUSED_MAX_MEMBERS
from suite.train.keras_startup import seeds_train_together_here

if TYPE_CHECKING:
    from suite.worker.progress import StudyProgress

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
MAX_RECORDED_PROPOSALS = 20  # points in a row already in the record: the space is used up


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
class TrainTogether:
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


Decision = TrainThis | TrainTogether | FromRecord | Wait | Stop


@dataclass(frozen=True)
class Opening:
    """Where the study stands as a worker starts: what the banner says."""

    headline: str  # "study NAME: 18 runs, 0 done before, 18 to train"
    total: int  # runs (grid) or wanted trials (search; 0 when unlimited)
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
        self, trained: list[RunOutcome], *, newly_done: RunStatus = RunStatus.DONE_ELSEWHERE
    ) -> list[RunOutcome]: ...


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
        self._done_before = {p.spec.run_key for p in planned if p.state == PlanState.DONE}
        todo = sum(p.needs_training for p in planned)
        done = len(self._done_before)
        lost = sum(p.state == PlanState.LOST for p in planned)
        warning = _adopted_warning(adopted, self.study.name)
        if lost:
            warning += (
                f"\n  [yellow]{lost} runs the queue calls finished have no finished run in"
                " MLflow (a new or replaced tracking store?): MLflow is the record, so they"
                " train again[/]"
            )
        return Opening(
            headline=f"study [bold]{self.study.name}[/]: {len(planned)} runs, {done} done"
            f" before, {todo} to train{warning}",
            total=len(planned),
            done=done,
            nothing_to_do=None
            if todo
            else "nothing to train: every run of this study has finished already.",
            running=sum(p.state == PlanState.RUNNING for p in planned),
        )

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
            progress.set_done(sum(p.state == PlanState.DONE for p in planned))
            progress.set_estimates(remaining_seconds(planned))
            # A run this worker already tried is not retried by it: a run that always fails
            # must not loop. Runs of workers that died are retried.
            available = [p for p in planned if p.needs_training and p.spec.run_key not in tried]
            self.queue.enqueue(available)
            for item in sorted(available, key=self._preference(planned), reverse=True):
                decision = self._claim(item.spec)
                if decision is None:
                    continue
                if isinstance(decision, TrainThis) and self._together(decision, available):
                    return self._claim_seeds_with(decision, available)
                return decision
            if available or any(p.state == PlanState.RUNNING for p in planned):
                return Wait()
            return Stop()

    def _together(self, first: TrainThis, available: list[PlannedRun]) -> bool:
        """Whether `first` trains with the other available seeds of its configuration: as the
        study asks, or by default where that is faster (only when there are others)."""
        if self.study.training.execution == "fused":
            return True
        key = first.spec.configuration_key
        if not any(p.spec.configuration_key == key and p.spec != first.spec for p in available):
            return False
        return seeds_train_together_here(self.study)

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

    def _claim_seeds_with(self, first: TrainThis, available: list[PlannedRun]) -> TrainTogether:
        """`first` and the other available seeds of its configuration that this worker can
        claim (lowest seeds first, at most FUSED_MAX_MEMBERS to train)."""
        members, recorded = [first], []
        key = first.spec.configuration_key
        seeds = sorted(
            (p.spec for p in available if p.spec.configuration_key == key and p.spec != first.spec),
            key=lambda spec: spec.seed,
        )
        for spec in seeds:
            if len(members) == FUSED_MAX_MEMBERS:
                break
            claimed = self._claim(spec)
            if isinstance(claimed, TrainThis):
                members.append(claimed)
            elif claimed is not None:
                recorded.append(claimed)
        members.sort(key=lambda member: member.spec.seed)
        # The others may have been taken or recorded meanwhile: the loop answers the recorded
        # ones and trains a lone member as a run of its own (unless the study asks for fused).
        return TrainTogether(tuple(members), tuple(recorded))

    def outcomes(
        self, trained: list[RunOutcome], *, newly_done: RunStatus = RunStatus.DONE_ELSEWHERE
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


class RaceTrials(GridTrials):
    """A race of seeds (suite.forecast.race): the grid's runs that the race's current round
    needs, decided afresh from the record at every claim, so workers on any machine train a
    round's runs in parallel and move to the next round when the record completes it."""

    def __init__(self, study: Study, *, backend: str | None = None) -> None:
        super().__init__(study, backend=backend)
        self.every_run = self.specs  # every seed the race may give each configuration
        self.state: Race | None = None

    def open(self) -> Opening:
        self.read_record()
        self._follow_the_race()
        opening = super().open()
        assert self.state is not None
        return replace(opening, headline=f"{race_line(self.state)}\n{opening.headline}")

    def next(self, progress: StudyProgress, *, tried: set[str]) -> Decision:
        self._follow_the_race()
        return super().next(progress, tried=tried)

    def _follow_the_race(self) -> None:
        """The race as the record holds it now; this worker may train its round's runs."""
        planned = self.queue.plan(self.every_run)
        if any(p.state == PlanState.LOST for p in planned):  # finished since the record was read
            self.read_record()
            planned = self.queue.plan(self.every_run)
        self.state = race_of_plan(self.study, planned)
        self.specs = runs_needed(self.state, self.every_run)

    def answer_tags(self) -> dict[str, str]:
        """The race as the record holds it now, for its parent run."""
        self.read_record()
        self._follow_the_race()
        assert self.state is not None
        return {
            Tag.RACE_OUTCOME: self.state.outcome.value,
            Tag.RACE_ANSWER: race_line(self.state),
            Tag.RACE_RUNS: str(self.state.runs),
        }

    def outcomes(
        self, trained: list[RunOutcome], *, newly_done: RunStatus = RunStatus.DONE_ELSEWHERE
    ) -> list[RunOutcome]:
        """The runs the race asked for, in grid order (not the seeds it never needed)."""
        self.read_record()
        self._follow_the_race()
        assert self.state is not None
        return grid_outcomes(
            runs_asked(self.state, self.grid),
            self.queue,
            done_before=self._done_before,
            trained_here={o.spec.run_key: o for o in trained},
            newly_done=newly_done,
        )


@dataclass
class SearchTrials:
    """New points from Optuna's sampler until the search has its finished trials."""

    study: Study
    queue: RunQueue = field(init=False)
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        assert self.study.search is not None
        self.search = self.study.search
        self.queue = open_search(self.study)
        self.finished_runs = FinishedRuns(self.study)
        self.objective = self.study.objective
        self.prune = self.search.pruner != "none"
        self.unit = "trials"
        self._recorded_in_a_row = 0

    def _counts(self) -> tuple[int, int]:
        """(finished, running) trials of the search, by every worker."""
        trials = self.queue.optuna_study.get_trials(deepcopy=False)
        finished = sum(t.state in FINISHED for t in trials)
        return finished, sum(t.state == TrialState.RUNNING for t in trials)

    def open(self) -> Opening:
        finished, running = self._counts()
        target, search = self.search.n_trials, self.search
        return Opening(
            headline=f"search [bold]{self.study.name}[/]: {finished} trials finished before"
            f"{f', {target} wanted' if target else ''}; sampler {search.sampler},"
            f" pruner {search.pruner}, objective {self.study.objective.metric}",
            total=target or 0,
            done=finished,
            nothing_to_do=f"nothing to train: the search has its {target} finished trials already."
            if target is not None and finished >= target
            else None,
            running=running,
        )

    def hand_back(self, trial: FrozenTrial) -> None:
        """Enqueue a stale trial's point again, so the next `ask` anywhere retries it (as
        Optuna's RetryFailedTrialCallback would)."""
        self.queue.optuna_study.enqueue_trial(dict(trial.params), skip_if_exists=False)

    def answer_tags(self) -> dict[str, str]:
        return {}

    def next(self, progress: StudyProgress, *, tried: set[str]) -> Decision:
        finished, running = self._counts()
        progress.set_done(finished)
        target = self.search.n_trials
        if target is not None and finished + running >= target:
            return Wait() if running else Stop()  # others finish the last ones
        timeout = self.search.timeout_seconds
        if timeout and time.monotonic() - self.started > timeout:
            return Stop()
        if self._recorded_in_a_row >= MAX_RECORDED_PROPOSALS:
            return Stop()  # the sampler keeps proposing points the record already holds
        trial = self.queue.adopt(self.queue.optuna_study.ask())
        params = {n: suggest(trial, n, param) for n, param in self.search.space.items()}
        spec = search_spec(self.study, params)
        for name, value in queue_attributes(spec).items():
            trial.set_user_attr(name, value)
        recorded = self.finished_runs.finished_run(spec.run_key)
        if recorded is None:
            self._recorded_in_a_row = 0
            return TrainThis(spec, trial)
        # A point trained before (the sampler proposed it again, or the journal was lost):
        # its recorded result answers the trial; MLflow gets no second run.
        self._recorded_in_a_row += 1
        return FromRecord(
            spec, trial, recorded, self.finished_runs.objective_value(recorded, self.objective)
        )

    def outcomes(
        self, trained: list[RunOutcome], *, newly_done: RunStatus = RunStatus.DONE_ELSEWHERE
    ) -> list[RunOutcome]:
        """A search has no list of runs in advance: the trials this worker trained."""
        return list(trained)


def _adopted_warning(adopted: Sequence[RecordedRun], study: str) -> str:
    """What the banner says of finished runs the queue lacked, by who trained them: this
    study (its queue is new or was lost), or other studies of the experiment (they share
    run_keys by design: a grid and a race of the same configurations)."""
    own = [run for run in adopted if run.study in (study, None)]
    others = sorted({run.study for run in adopted if run.study not in (study, None)})
    said = ""
    if own:
        said += (
            f"\n  {len(own)} runs this study finished in MLflow were missing from its queue (a"
            " new or lost Optuna storage?): recorded there, not trained again"
        )
    if others:
        count = len(adopted) - len(own)
        said += (
            f"\n  {count} runs were finished already by {', '.join(others)} (same experiment,"
            " same run_keys): recorded in this queue, not trained again"
        )
    return said


def trial_source(study: Study, *, backend: str | None = None) -> TrialSource:
    """The source of a study's trials: its search, else its grid (created on first use);
    `backend`: only the grid's runs a worker on that backend may train."""
    if study.search is not None:
        return SearchTrials(study)
    if study.race is not None:
        return RaceTrials(study, backend=backend)
    return GridTrials(study, backend=backend)
