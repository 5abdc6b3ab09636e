"""Races simulated from known means: how often the true best is eliminated, and what a race
spends against the full grid. The decision rule's test (tests/test_race.py) and its benchmark
(benchmarks/race_simulation.py) both run these, on the real `race` function."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suite.forecast.race import RaceRules, race


@dataclass(frozen=True)
class Simulated:
    best_eliminated: float  # share of races that eliminated configuration 0 (the true best)
    best_kept: float  # share of races whose answer (the best, or the tied set) contains it
    run_share: float  # the race's runs / the full grid's (every configuration at max_seeds)
    second_share: float  # the same for training seconds, with each configuration's cost


def simulate(
    means: np.ndarray,
    noise: np.ndarray,
    seconds: np.ndarray,
    rules: RaceRules,
    *,
    races: int,
    rng: np.random.Generator,
) -> Simulated:
    """`races` races of len(means) configurations whose seeds draw N(means, noise) results
    (configuration 0 the true best, or tied for it), each run costing `seconds` of its
    configuration. Each race is decided in one call with every seed drawn: the rule uses a
    seed only in the round that counts it, so this is the race the rounds would run."""
    names = [f"c{i}" for i in range(len(means))]
    eliminated = kept = runs = cost = 0.0
    for _ in range(races):
        draws = rng.normal(means, noise, size=(rules.max_seeds, len(means)))
        results = {name: dict(enumerate(draws[:, i])) for i, name in enumerate(names)}
        state = race(results, rules)
        eliminated += "c0" in state.eliminated
        kept += "c0" in state.survivors
        used = state.seeds_of
        runs += state.runs
        cost += sum(used[name] * seconds[i] for i, name in enumerate(names))
    full_runs, full_cost = len(means) * rules.max_seeds, float(seconds.sum()) * rules.max_seeds
    return Simulated(
        eliminated / races, kept / races, runs / (races * full_runs), cost / (races * full_cost)
    )


SCENARIOS = ("spread", "near-tie", "all equal", "one ahead")


def scenario_means(kind: str, configurations: int = 18) -> np.ndarray:
    """Mean best validation accuracies, configuration 0 the true best (or tied for it)."""
    k = configurations
    if kind == "spread":  # the smoke grid's shape: 25 points from best to worst
        return 0.97 - np.linspace(0, 0.25, k)
    if kind == "near-tie":  # two rivals a tenth and three tenths of a point behind
        return np.r_[0.97, 0.969, 0.967, 0.96 - np.linspace(0, 0.2, k - 3)]
    if kind == "all equal":  # the hardest case for the guarantee: every rival is a best
        return np.full(k, 0.97)
    if kind == "one ahead":  # the best half a point clear of all the others
        return np.r_[0.97, np.full(k - 1, 0.965)]
    raise ValueError(f"unknown scenario {kind!r}; one of {', '.join(SCENARIOS)}")


def scenario_noise(rng: np.random.Generator, configurations: int = 18) -> np.ndarray:
    """Unequal seed noise, 0.1 to 0.8 accuracy points, shuffled over configurations."""
    return np.linspace(0.001, 0.008, configurations)[rng.permutation(configurations)]


def scenario_seconds(configurations: int = 18) -> np.ndarray:
    """Unequal cost per run, 1 to 6 units (the grid's smallest to largest run)."""
    return np.linspace(1, 6, configurations)
