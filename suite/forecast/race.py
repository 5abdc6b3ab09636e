"""A race of seeds: which configurations still get seeds, decided from recorded results alone.

Every configuration gets `min_seeds` seeds (0, 1, ...). Then, round by round, each
configuration that is worse than the round's leader with the stated confidence stops getting
seeds, and the survivors get one more each, until one survives (separated), the survivors are
equivalent within the margin, or every survivor has `max_seeds` (tied).

The test: a padded Welch test. Each configuration of a round is compared with the round's
leader by a one-sided t-test of the gap in means whose variance is the pair's own (Welch's)
plus a share of every other survivor's, with Satterthwaite's degrees of freedom, at level
alpha / ((K - 1) R) for K configurations and at most R rounds (Bonferroni).

Why padding. At two seeds a pair's own variances have one or two degrees of freedom, and
Welch's test at a level like 0.05 / 153 needs a t of 39 (two, the pair's noise equal) to 974
(one, one side's noise dominant): a configuration 16 points behind lasted to the last seed.
Power needs the other configurations' seeds. Borrowing them as a common variance (a pooled
t-test, or limma's moderated t, Smyth 2004, which shrinks each variance toward a pooled prior)
assumes the seed noise is alike across configurations, and real grids' is not (simple_rnn's
seeds are noisier than the gated cells'): where the true best is the noisiest, a pool of
quieter ones understates its noise. In this module's simulation (`race_simulation`, 18 equal
configurations, the best at 0.8 points of seed noise and every rival at 0.1) the best fell in
38% of 10,000 races with a pooled t-test (tests/test_race.py keeps it as a broken rule the
simulation must catch) and, in an exploration not kept, 21% with a moderated t and 11% with the
larger of the pooled and the pair's own variance; 5% is allowed. Padding borrows the degrees of
freedom without that assumption: the padded variance's expectation is the gap's true variance
plus a share of the others', whatever each configuration's noise, so it may overstate the gap's
noise but not understate it on average, and the others' variances bring their degrees of
freedom (Satterthwaite's approximation, the one Welch's test rests on). The share is chosen
before any result, from the survivors, the seeds and the level alone (`padding_share`): the
hundredth in [0, 1] that detects the smallest gap when every survivor has the same noise; 0.19
for 18 survivors at 2 seeds (95%, 9 rounds), and 0 (Welch's test) once a pair's own seeds
suffice. It can cost more than it buys where gaps are small: the simulation's "one ahead" grid
with shuffled noise spends 93% of the full grid's runs, against 91% with Welch's test
(benchmarks/race_simulation.py).

The guarantee, in one sentence: `GUARANTEE`. Why: the best is eliminated only if one of its
(K - 1) R possible tests against a configuration that is truly no better rejects; each rejects
with probability at most its level (padding only adds variance; the degrees of freedom are
Satterthwaite's approximation, as in Welch's test, hence the simulation), and Bonferroni's
union bound caps their sum at 1 - confidence. The simulation (tests/test_race.py) checks it
by 10,000 races per scenario, noise layouts chosen against it included. The margin only stops
the race early (two one-sided tests on the same padded variance, each at that same level); it
never eliminates, so it cannot weaken the guarantee.

`race` is a pure function of the results: a resumed race, a second machine and the report
all derive the same rounds from the same record. Seeds beyond a round's count (a grid's, or
a round not yet complete elsewhere) are not used until the round that counts them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

import numpy as np

from suite.schema import Objective
from suite.study.config import Study
from suite.study.run_spec import RunSpec

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


def standings(state: Race) -> list[Standing]:
    """Every configuration, survivors first (best first), then by the round that eliminated
    them, each over the seeds the race gave it (a grid's extra seeds are not counted); over
    several datasets, each dataset's race in turn."""
    if isinstance(state, DatasetRaces):
        return [row for part in state.parts.values() for row in standings(part)]
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
            from scipy import stats  # imported here: see _t_sf

            low, high = stats.t.interval(
                state.rules.confidence, len(values) - 1, loc=mean, scale=stats.sem(values)
            )
        mean, low, high = sign * mean, *sorted((sign * low, sign * high))
        elimination = state.eliminated.get(name)
        status = f"eliminated in round {elimination.round}" if elimination else final
        rows.append(Standing(name, len(values), mean, low, high, status, elimination))
    return rows


def race_line(state: Race) -> str:
    """The race in one line: its answer once decided, else where it stands; over several
    datasets, each dataset's in a clause of its own."""
    confidence = f"{state.rules.confidence:.0%} confidence"
    full = f"a full grid to {state.rules.max_seeds} seeds: {state.full_grid_runs}"
    spent = f"after {state.runs} runs ({full})"
    if isinstance(state, DatasetRaces):
        each = "; ".join(f"{name}: {_verdict(part)}" for name, part in state.parts.items())
        return f"race on each of {len(state.parts)} datasets at {confidence} {spent}: {each}"
    if state.outcome == Outcome.RUNNING:
        return f"race: {_verdict(state)}"
    if len(state.survivors) + len(state.eliminated) == 1:  # no confidence: nothing compared
        return f"race: {_verdict(state)} {spent}"
    return f"race: {_verdict(state)} at {confidence} {spent}"


def _verdict(state: RaceState) -> str:
    """The race's answer, or where it stands (its round, what it still needs)."""
    names = ", ".join(state.survivors)
    if state.outcome == Outcome.RUNNING:
        to_train = sum(len(seeds) for seeds in state.needed.values())
        return (
            f"round {state.rounds + 1} ({state.seeds} seeds each), {len(state.survivors)}"
            f" configurations left, {len(state.eliminated)} eliminated; {to_train} runs to"
            " train in this round"
        )
    if len(state.survivors) + len(state.eliminated) == 1:  # nothing to compare it with
        return f"{names} is the only configuration, compared with none"
    if state.outcome == Outcome.SEPARATED:
        return f"{state.best} is the best configuration"
    if state.outcome == Outcome.EQUIVALENT:
        return f"{names} are equivalent within the margin"
    return f"{names} are tied (none separated)"


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


# --- the test: every configuration of a round against its leader ------------------------------


class LeaderComparison(NamedTuple):
    """Every configuration of a round against the round's leader, over any leading axes (one
    race, or the simulation's many races at once); the configurations are the last axis."""

    leader: np.ndarray  # (...): the leader's index, the first highest mean of those racing
    gap: np.ndarray  # (..., K): the leader's mean minus each one's
    scale: np.ndarray  # (..., K): the gap's padded standard error (0: no spread at all)
    df: np.ndarray  # (..., K): its degrees of freedom (Satterthwaite's)

    def p_better(self) -> np.ndarray:
        """One-sided p-values that the leader's mean is above each one's."""
        return _t_sf(self.gap, self.scale, self.df)

    def p_within(self, margin: float) -> np.ndarray:
        """The larger p-value of two one-sided tests (TOST) that each one's mean is within
        `margin` of the leader's, below and above: under the level, they are equivalent."""
        below = _t_sf(margin - self.gap, self.scale, self.df)  # leader - margin below it
        above = _t_sf(self.gap + margin, self.scale, self.df)  # leader + margin above it
        return np.maximum(below, above)


def compare_with_leader(
    values: np.ndarray,
    racing: np.ndarray | None = None,
    *,
    level: float,
    share: float | np.ndarray | None = None,
) -> LeaderComparison:
    """The padded Welch test of each configuration against the leader: `values` (..., K, n)
    are each configuration's scores over the round's n seeds, `racing` (..., K) which of
    them race (all by default; the others take no part), `level` each test's level (it
    chooses the padding), `share` the padding (default `padding_share`; 0 is Welch's test).

    Written out, vectorised over any leading axes, rather than one scipy call per pair: the
    race's simulation (tests, benchmark) decides hundreds of thousands of races."""
    seeds = values.shape[-1]
    if racing is None:
        racing = np.ones(values.shape[:-1], dtype=bool)
    means = values.mean(axis=-1)
    leader = np.where(racing, means, -np.inf).argmax(axis=-1)
    if share is None:
        share = _shares(racing.sum(axis=-1), seeds, level)
    variance, df = _padded(
        np.where(racing, values.var(axis=-1, ddof=1), 0.0) / seeds,
        leader,
        np.asarray(share, dtype=float)[..., None],
        seeds,
    )
    gap = np.take_along_axis(means, leader[..., None], axis=-1) - means
    return LeaderComparison(leader, gap, np.sqrt(variance), df)


def _padded(
    own: np.ndarray, leader: np.ndarray, share: np.ndarray, seeds: int
) -> tuple[np.ndarray, np.ndarray]:
    """The gap's variance, the leader's and each one's variance of its mean (`own`, 0 for a
    configuration not racing) plus `share` of every other's, and its Satterthwaite degrees
    of freedom: the variances are independent, each with seeds - 1 degrees of freedom."""
    lead = np.take_along_axis(own, leader[..., None], axis=-1)
    others = np.maximum(own.sum(axis=-1, keepdims=True) - lead - own, 0.0)
    others_squared = np.maximum((own**2).sum(axis=-1, keepdims=True) - lead**2 - own**2, 0.0)
    variance = lead + own + share * others
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (seeds - 1) * variance**2 / (lead**2 + own**2 + share**2 * others_squared)
    return variance, df


@functools.cache
def padding_share(survivors: int, seeds: int, level: float) -> float:
    """The share of every other survivor's variance a pair's test adds to its own, chosen
    before any result: the hundredth in [0, 1] whose test, at `level`, detects the smallest
    gap where every survivor has the same seed noise. A pair alone is Welch's test."""
    if survivors <= 2:
        return 0.0
    from scipy import stats  # imported here: see _t_sf

    share = np.linspace(0.0, 1.0, 101)
    variance = 2 + share * (survivors - 2)  # the gap's, in units of one's variance of a mean
    df = (seeds - 1) * variance**2 / (2 + share**2 * (survivors - 2))
    detectable = stats.t.isf(level, df) * np.sqrt(variance)
    return float(share[np.argmin(detectable)])


def _shares(survivors: np.ndarray, seeds: int, level: float) -> np.ndarray:
    """`padding_share` of each race's survivor count."""
    counts, where = np.unique(survivors, return_inverse=True)
    shares = np.array([padding_share(int(count), seeds, level) for count in counts])
    return shares[where].reshape(np.shape(survivors))


def _t_sf(difference: np.ndarray, scale: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Student's t survival function of difference / scale; without spread (scale 0) the
    statistic is undefined: no evidence, p = 1."""
    # scipy.stats is slow to import (the largest part of the CLI's start before Keras);
    # imported here, not at the top: every `python -m suite.run` imports this module (its
    # plan), and most never race.
    from scipy import stats

    with np.errstate(divide="ignore", invalid="ignore"):
        p = stats.t.sf(difference / scale, df)
    return np.where(scale > 0, p, 1.0)


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
