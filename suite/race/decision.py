"""A race of seeds: which configurations still get seeds, decided from recorded results alone.

Every configuration gets `min_seeds` seeds (0, 1, ...). Then, round by round, each
configuration that is worse than the round's leader with the stated confidence stops getting
seeds, and the survivors get one more each, until one survives (separated), the survivors are
equivalent within the margin, or every survivor has `max_seeds` (tied).

Each round's test is the padded Welch test (padded_welch): each configuration of the round
against the round's leader, at level alpha / ((K - 1) R) for K configurations and at most R
rounds (Bonferroni).

The guarantee, in one sentence: `GUARANTEE`. Why: the best is eliminated only if one of its
(K - 1) R possible tests against a configuration that is truly no better rejects; each rejects
with probability at most its level (padding only adds variance; the degrees of freedom are
Satterthwaite's approximation, as in Welch's test, hence the simulation), and Bonferroni's
union bound caps their sum at 1 - confidence. The simulation (tests/race/test_race.py) checks it
by 10,000 races per scenario, noise layouts chosen against it included. The margin only stops
the race early (two one-sided tests on the same padded variance, each at that same level); it
never eliminates, so it cannot weaken the guarantee.

`race` is a pure function of the results: a resumed race, a second machine and the report
all derive the same rounds from the same record. Seeds beyond a round's count (a grid's, or
a round not yet complete elsewhere) are not used until the round that counts them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from suite.race.padded_welch import LeaderComparison, compare_with_leader
from suite.schema import Objective

GUARANTEE = (
    "Guarantee: if each configuration's results over seeds are normally distributed (with any"
    " variance), the truly best configuration is eliminated with probability at most"
    " 1 - confidence (one-sided Welch tests against the leader, their variance padded with a"
    " share of the other survivors' and their degrees of freedom Satterthwaite's,"
    " Bonferroni-corrected over every other configuration and every round)."
)


class Outcome(StrEnum):
    RUNNING = "running"  # a round still waits for runs
    SEPARATED = "separated"  # one configuration is the best at the stated confidence
    EQUIVALENT = "equivalent"  # the survivors are within the margin of each other
    TIED = "tied"  # every survivor has max_seeds: the answer is the tied set
    DECIDED = "decided"  # one race per dataset, each ended, not all in the same way


@dataclass(frozen=True)
class RaceRules:
    min_seeds: int
    max_seeds: int
    confidence: float
    margin: float | None = None  # accuracy (0..1) within which survivors count as equivalent
    # What the results are values of: the race compares `objective.score` of each (higher is
    # better), and shows means in the objective's own units (`standings`).
    objective: Objective = field(default_factory=Objective)

    def level(self, configurations: int) -> float:
        """Each elimination test's level: 1 - confidence, split over every other configuration
        and every round the race can have (Bonferroni)."""
        rounds = self.max_seeds - self.min_seeds + 1
        return (1 - self.confidence) / (max(configurations - 1, 1) * rounds)


@dataclass(frozen=True)
class Elimination:
    round: int  # from 1
    seeds: int  # each configuration's seeds in that round
    leader: str
    gap: float  # leader's mean minus this configuration's
    p_value: float  # the padded Welch test's, one-sided: leader better than this one
    level: float  # the p-value it had to be below


@dataclass(frozen=True)
class RaceState:
    rules: RaceRules
    outcome: Outcome
    rounds: int  # complete rounds decided
    survivors: tuple[str, ...]  # best first, by mean over the round's seeds
    eliminated: dict[str, Elimination]
    seeds: int  # each survivor's seeds in the round now running (or the last one decided)
    # The runs the round now running still needs: configuration -> its missing seeds.
    needed: dict[str, tuple[int, ...]] = field(default_factory=dict)
    results: Mapping[str, Mapping[int, float]] = field(default_factory=dict)  # the input

    @property
    def best(self) -> str | None:
        return self.survivors[0] if self.outcome == Outcome.SEPARATED else None

    @property
    def seeds_of(self) -> dict[str, int]:
        """Each configuration's seeds in the race so far: up to its elimination, or now."""
        return {
            **{name: e.seeds for name, e in self.eliminated.items()},
            **{name: self.seeds for name in self.survivors},
        }

    @property
    def runs(self) -> int:
        """Runs the race has asked for so far."""
        return sum(self.seeds_of.values())

    @property
    def full_grid_runs(self) -> int:
        """Runs of the same grid with every configuration at max_seeds."""
        return (len(self.survivors) + len(self.eliminated)) * self.rules.max_seeds


def race(results: Mapping[str, Mapping[int, float]], rules: RaceRules) -> RaceState:
    """The race so far, from each configuration's score by seed (higher is better: the
    objective's `score` of each run's value, as `race_of_runs` gives them).

    `results` names every configuration of the race, with {} for one without results yet."""
    level = rules.level(len(results))
    survivors = list(results)
    eliminated: dict[str, Elimination] = {}
    seeds, rounds = rules.min_seeds, 0
    while True:
        needed = {
            name: missing
            for name in survivors
            if (missing := tuple(s for s in range(seeds) if s not in results[name]))
        }
        if needed:
            ranked = _ranked(survivors, results, seeds)
            return RaceState(
                rules, Outcome.RUNNING, rounds, ranked, eliminated, seeds, needed, results
            )
        rounds += 1
        racing = list(survivors)
        values = np.array([[results[name][s] for s in range(seeds)] for name in racing])
        comparison = compare_with_leader(values, level=level)
        leader = racing[int(comparison.leader)]
        for name, gap, p_value in zip(racing, comparison.gap, comparison.p_better(), strict=True):
            if name != leader and p_value < level:
                eliminated[name] = Elimination(
                    rounds, seeds, leader, float(gap), float(p_value), level
                )
                survivors.remove(name)
        outcome = _decided(survivors, racing, comparison, seeds, rules, level)
        if outcome is not None:
            ranked = _ranked(survivors, results, seeds)
            return RaceState(rules, outcome, rounds, ranked, eliminated, seeds, {}, results)
        seeds += 1


def _decided(
    survivors: list[str],
    racing: list[str],
    comparison: LeaderComparison,
    seeds: int,
    rules: RaceRules,
    level: float,
) -> Outcome | None:
    if len(survivors) == 1:
        return Outcome.SEPARATED
    if rules.margin is not None:
        leader = racing[int(comparison.leader)]
        p_within = dict(zip(racing, comparison.p_within(rules.margin), strict=True))
        if all(p_within[name] < level for name in survivors if name != leader):
            return Outcome.EQUIVALENT
    if seeds >= rules.max_seeds:
        return Outcome.TIED
    return None


def _ranked(
    survivors: list[str], results: Mapping[str, Mapping[int, float]], seeds: int
) -> tuple[str, ...]:
    """Survivors by their mean over the seeds they have of this round's count, best first."""

    def mean(name: str) -> float:
        values = [results[name][s] for s in range(seeds) if s in results[name]]
        return float(np.mean(values)) if values else -math.inf

    return tuple(sorted(survivors, key=mean, reverse=True))
