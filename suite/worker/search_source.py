"""An Optuna search as a trial source: new points from the sampler until the search has its
`n_trials` finished trials (complete or pruned) or its timeout passes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from optuna.trial import FrozenTrial, TrialState

from suite.queue.planning import queue_attributes
from suite.queue.run_queue import RunQueue
from suite.queue.search_space import open_search, suggest
from suite.record.finished_runs import FinishedRuns
from suite.schema import counted
from suite.study.config import Study
from suite.study.grid import search_spec
from suite.worker.decisions import Decision, FromRecord, Opening, Stop, TrainThis, Wait
from suite.worker.outcomes import Fate, RunOutcome

if TYPE_CHECKING:
    from suite.worker.progress import StudyProgress


FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
MAX_RECORDED_PROPOSALS = 20  # points in a row already in the record: the space is used up


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
            headline=f"search [bold]{self.study.name}[/]:"
            f" {counted(finished, 'trial')} finished before"
            f"{f', {target} wanted' if target else ''}; sampler {search.sampler},"
            f" pruner {search.pruner}, objective {self.study.objective.metric}",
            total=target or 0,
            done=finished,
            nothing_to_do=f"nothing to train: the search has {counted(finished, 'finished trial')}"
            f" already, {target} wanted."
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
        self, trained: list[RunOutcome], *, newly_done: Fate = Fate.DONE_ELSEWHERE
    ) -> list[RunOutcome]:
        """A search has no list of runs in advance: the trials this worker trained."""
        return list(trained)
