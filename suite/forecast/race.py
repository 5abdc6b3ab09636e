"""A race of seeds: which configurations still get seeds, decided from recorded results alone.

Every configuration gets `min_seeds` seeds (0, 1, ...). Then, round by round, each
configuration that is worse than the round's leader with the stated confidence stops getting
seeds, and the survivors get one more each, until one survives (separated), the survivors are
equivalent within the margin, or every survivor has `max_seeds` (tied).

The guarantee, in one sentence: if each configuration's results over seeds are normal (with
any variance, configuration by configuration), the true best configuration is eliminated with
probability at most 1 - confidence. Why: a configuration is eliminated only by a one-sided
Welch t-test (scipy) against the leader at level alpha / ((K - 1) R), for K configurations and
at most R rounds, and the best is eliminated only if one of its (K - 1) R possible tests
against a configuration that is truly no better rejects: Bonferroni's union bound over them.
The margin only stops the race early (two one-sided tests, each at that same level); it never
eliminates, so it cannot weaken the guarantee.

`race` is a pure function of the results: a resumed race, a second machine and the report
all derive the same rounds from the same record. Seeds beyond a round's count (a grid's, or
a round not yet complete elsewhere) are not used until the round that counts them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from suite.schema import Objective
from suite.study.config import RunSpec, Study

GUARANTEE = (
    "Guarantee: if each configuration's results over seeds are normally distributed (with any"
    " variance), the truly best configuration is eliminated with probability at most"
    " 1 - confidence (one-sided Welch tests against the leader, Bonferroni-corrected over every"
    " other configuration and every round)."
)


class Outcome(StrEnum):
    RUNNING = "running"  # a round still waits for runs
    SEPARATED = "separated"  # one configuration is the best at the stated confidence
    EQUIVALENT = "equivalent"  # the survivors are within the margin of each other
    TIED = "tied"  # every survivor has max_seeds: the answer is the tied set


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
    p_value: float  # Welch's one-sided test: leader better than this configuration
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


@dataclass(frozen=True)
class Standing:
    """One configuration in the race: its seeds so far, their mean and t-interval."""

    configuration: str
    seeds: int
    mean: float
    low: float  # the mean's t-interval at the race's confidence (nan below two seeds)
    high: float
    status: str  # "best", "racing", "tied", "equivalent" or "eliminated in round N"
    elimination: Elimination | None = None


def standings(state: RaceState) -> list[Standing]:
    """Every configuration, survivors first (best first), then by the round that eliminated
    them, each over the seeds the race gave it (a grid's extra seeds are not counted)."""
    final = {
        Outcome.SEPARATED: "best",
        Outcome.TIED: "tied",
        Outcome.EQUIVALENT: "equivalent",
        Outcome.RUNNING: "racing",
    }[state.outcome]
    seeds_of = state.seeds_of
    rows = []
    order = [*state.survivors, *sorted(state.eliminated, key=lambda n: -state.eliminated[n].round)]
    sign = 1.0 if state.rules.objective.maximise else -1.0  # scores back to the metric's units
    for name in order:
        values = [state.results[name][s] for s in range(seeds_of[name]) if s in state.results[name]]
        mean = float(np.mean(values)) if values else math.nan
        low = high = math.nan
        if len(values) >= 2 and np.std(values) > 0:
            from scipy import stats  # imported here: see welch_greater

            low, high = stats.t.interval(
                state.rules.confidence, len(values) - 1, loc=mean, scale=stats.sem(values)
            )
        mean, low, high = sign * mean, *sorted((sign * low, sign * high))
        elimination = state.eliminated.get(name)
        status = f"eliminated in round {elimination.round}" if elimination else final
        rows.append(Standing(name, len(values), mean, low, high, status, elimination))
    return rows


def race_line(state: RaceState) -> str:
    """The race in one line: its answer once decided, else where it stands."""
    confidence = f"{state.rules.confidence:.0%} confidence"
    full = f"a full grid to {state.rules.max_seeds} seeds: {state.full_grid_runs}"
    spent = f"after {state.runs} runs ({full})"
    if state.outcome == Outcome.SEPARATED:
        return f"race: {state.best} is the best configuration at {confidence} {spent}"
    names = ", ".join(state.survivors)
    if state.outcome == Outcome.EQUIVALENT:
        return f"race: {names} are equivalent within the margin at {confidence} {spent}"
    if state.outcome == Outcome.TIED:
        return f"race: {names} are tied (none separated at {confidence}) {spent}"
    to_train = sum(len(seeds) for seeds in state.needed.values())
    return (
        f"race: round {state.rounds + 1} ({state.seeds} seeds each), {len(state.survivors)}"
        f" configurations left, {len(state.eliminated)} eliminated; {to_train} runs to train"
        " in this round"
    )


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
        values = {name: np.array([results[name][s] for s in range(seeds)]) for name in survivors}
        leader = max(survivors, key=lambda name: values[name].mean())
        others = [name for name in survivors if name != leader]
        for name, p_value in zip(others, _p_better(values[leader], values, others), strict=True):
            if p_value < level:
                gap = float(values[leader].mean() - values[name].mean())
                eliminated[name] = Elimination(rounds, seeds, leader, gap, p_value, level)
                survivors.remove(name)
        outcome = _decided(survivors, values, leader, seeds, rules, level)
        if outcome is not None:
            ranked = _ranked(survivors, results, seeds)
            return RaceState(rules, outcome, rounds, ranked, eliminated, seeds, {}, results)
        seeds += 1


def _decided(
    survivors: list[str],
    values: Mapping[str, np.ndarray],
    leader: str,
    seeds: int,
    rules: RaceRules,
    level: float,
) -> Outcome | None:
    if len(survivors) == 1:
        return Outcome.SEPARATED
    if rules.margin is not None and all(
        _p_within(values[leader], values[name], rules.margin) < level
        for name in survivors
        if name != leader
    ):
        return Outcome.EQUIVALENT
    if seeds >= rules.max_seeds:
        return Outcome.TIED
    return None


def _p_better(
    leader: np.ndarray, values: Mapping[str, np.ndarray], others: list[str]
) -> list[float]:
    """Welch's one-sided p-values for "the leader's mean is above each other's"."""
    return [float(p) for p in welch_greater(leader, [values[name] for name in others])]


def welch_greater(a: np.ndarray, others: list[np.ndarray]) -> np.ndarray:
    """One-sided Welch t-test p-values, mean(a) > mean(b) for each b (equal sample sizes).

    Written out, vectorised over every b, rather than one `scipy.stats.ttest_ind` call each:
    scipy's checks cost about 0.3 ms a call, and the race's simulation (tests, benchmark)
    decides tens of thousands of races. The tests check it against scipy's. Without spread
    in either sample the statistic is undefined: no evidence, p = 1."""
    if not others:
        return np.array([])
    b = np.column_stack(others)
    n = len(a)
    var_a, var_b = np.var(a, ddof=1) / n, np.var(b, axis=0, ddof=1) / n
    spread = var_a + var_b
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (a.mean() - b.mean(axis=0)) / np.sqrt(spread)
        df = spread**2 / (var_a**2 / (n - 1) + var_b**2 / (n - 1))
    # scipy.stats is slow to import (the largest part of the CLI's start before Keras);
    # imported here, not at the top: every `python -m suite.run` imports this module (its
    # plan), and most never race.
    from scipy import stats

    p = stats.t.sf(t, df)
    return np.where(spread > 0, p, 1.0)


def _p_within(leader: np.ndarray, other: np.ndarray, margin: float) -> float:
    """The larger p-value of two one-sided Welch tests (TOST) that the means differ by less
    than `margin` in each direction: below the level, they are equivalent."""
    below = welch_greater(other, [leader - margin])[0]  # leader - margin below other
    above = welch_greater(leader + margin, [other])[0]
    return float(max(below, above))


def _ranked(
    survivors: list[str], results: Mapping[str, Mapping[int, float]], seeds: int
) -> tuple[str, ...]:
    """Survivors by their mean over the seeds they have of this round's count, best first."""

    def mean(name: str) -> float:
        values = [results[name][s] for s in range(seeds) if s in results[name]]
        return float(np.mean(values)) if values else -math.inf

    return tuple(sorted(survivors, key=mean, reverse=True))


# --- a study's race, from its runs -----------------------------------------------------------


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


def race_of_runs(
    rules: RaceRules, specs: Sequence[RunSpec], values: Mapping[str, float]
) -> RaceState:
    """A study's race from its finished runs' values for the objective by run_key (their best
    epoch's): `specs` is every run the race may train (`expand`)."""
    objective = rules.objective
    scores = {key: objective.score(value) for key, value in values.items()}
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


def runs_needed(state: RaceState, specs: Sequence[RunSpec]) -> list[RunSpec]:
    """The runs the race's current round still needs."""
    return [s for s in specs if s.seed in state.needed.get(s.configuration, ())]


def runs_asked(state: RaceState, specs: Sequence[RunSpec]) -> list[RunSpec]:
    """Every run the race has asked for so far: each configuration's seeds up to its last
    round (an eliminated one's, up to the round that eliminated it)."""
    seeds = state.seeds_of
    return [s for s in specs if s.seed < seeds.get(s.configuration, 0)]
