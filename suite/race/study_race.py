"""A study's race, from its runs: its rules (the study's race section), one race, or one per
dataset over several (each on its own), and the runs it needs and has asked for."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from suite.race.decision import Outcome, RaceRules, RaceState, race
from suite.study.config import Study
from suite.study.run_spec import RunSpec


def rules_of(study: Study) -> RaceRules:
    assert study.race is not None
    race_config = study.race
    margin = None if race_config.margin_points is None else race_config.margin_points / 100
    return RaceRules(
        race_config.min_seeds,
        race_config.max_seeds,
        race_config.confidence,
        margin,
        objective=study.objective,
    )


def race_of_runs(rules: RaceRules, specs: Sequence[RunSpec], values: Mapping[str, float]) -> Race:
    """A study's race from its finished runs' values for the objective by run_key (their best
    epoch's): `specs` is every run the race may train (`expand`). Over several datasets (a
    dataset axis), one race per dataset, each on its own (`DatasetRaces`)."""
    datasets: dict[str, list[RunSpec]] = {}
    for spec in specs:
        datasets.setdefault(spec.data.dataset_name, []).append(spec)
    if len(datasets) > 1:
        parts = {name: _race_of(rules, group, values) for name, group in datasets.items()}
        return DatasetRaces(parts, rules)
    return _race_of(rules, specs, values)


def _race_of(rules: RaceRules, specs: Sequence[RunSpec], values: Mapping[str, float]) -> RaceState:
    objective = rules.objective
    scores = {s.run_key: objective.score(values[s.run_key]) for s in specs if s.run_key in values}
    # A run whose every epoch diverged selects nothing: it counts as the worst, no accuracy
    # (0) where higher is better, else the worst finite value any run of the race reached.
    finite = [score for score in scores.values() if math.isfinite(score)]
    worst = 0.0 if objective.maximise else min(finite, default=0.0)
    results: dict[str, dict[int, float]] = {spec.configuration: {} for spec in specs}
    for spec in specs:
        score = scores.get(spec.run_key)
        if score is not None:
            results[spec.configuration][spec.seed] = score if math.isfinite(score) else worst
    return race(results, rules)


@dataclass(frozen=True)
class DatasetRaces:
    """One race per dataset, each on its own: its configurations, its leader, its rounds and
    its level (the guarantee holds on each dataset). Read as one race where a study's race is
    read: the runs each needs, each configuration's seeds, one line, the standings."""

    parts: dict[str, RaceState]  # dataset -> its race, in the grid's order
    rules: RaceRules

    @property
    def outcome(self) -> Outcome:
        outcomes = {part.outcome for part in self.parts.values()}
        if Outcome.RUNNING in outcomes:
            return Outcome.RUNNING
        return outcomes.pop() if len(outcomes) == 1 else Outcome.DECIDED

    @property
    def best(self) -> str | None:
        return None  # a best per dataset (each part's), none across them

    @property
    def needed(self) -> dict[str, tuple[int, ...]]:
        return {name: seeds for part in self.parts.values() for name, seeds in part.needed.items()}

    @property
    def seeds_of(self) -> dict[str, int]:
        return {name: n for part in self.parts.values() for name, n in part.seeds_of.items()}

    @property
    def runs(self) -> int:
        return sum(part.runs for part in self.parts.values())

    @property
    def full_grid_runs(self) -> int:
        return sum(part.full_grid_runs for part in self.parts.values())


Race = RaceState | DatasetRaces


def runs_needed(state: Race, specs: Sequence[RunSpec]) -> list[RunSpec]:
    """The runs the race's current round still needs."""
    return [s for s in specs if s.seed in state.needed.get(s.configuration, ())]


def runs_asked(state: Race, specs: Sequence[RunSpec]) -> list[RunSpec]:
    """Every run the race has asked for so far: each configuration's seeds up to its last
    round (an eliminated one's, up to the round that eliminated it)."""
    seeds = state.seeds_of
    return [s for s in specs if s.seed < seeds.get(s.configuration, 0)]
