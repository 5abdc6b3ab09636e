"""A race of seeds as a trial source: the grid's runs that the race's current round needs."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from suite.forecast.plan import race_of_plan
from suite.queue.planning import PlannedRun, PlanState
from suite.race.study_race import Race, runs_asked, runs_needed
from suite.race.summary import race_line
from suite.schema import Tag
from suite.study.config import Study
from suite.worker.decisions import Decision, Opening
from suite.worker.grid_source import GridTrials
from suite.worker.outcomes import Fate, RunOutcome, grid_outcomes

if TYPE_CHECKING:
    from suite.worker.progress import StudyProgress


class RaceTrials(GridTrials):
    """A race of seeds (suite.race.decision): the grid's runs that the race's current round
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

    def counted_runs(self, planned: list[PlannedRun]) -> list[PlannedRun]:
        """Every run the race has asked for so far (its rounds', this one's still to train
        among them), not only those its current round still needs: what was done before."""
        assert self.state is not None
        return self.queue.plan(runs_asked(self.state, self.every_run))

    def _nothing_to_train(self, running: int, done: int) -> str:
        if running:
            return super()._nothing_to_train(running, done)
        return "nothing to train: every run the race has asked for has finished already."

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
        self, trained: list[RunOutcome], *, newly_done: Fate = Fate.DONE_ELSEWHERE
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
