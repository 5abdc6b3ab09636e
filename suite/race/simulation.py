"""Races simulated from known means: how often the true best is eliminated, what a race spends
against the full grid, and in which round the clearly worse configurations go. The decision
rule's test (tests/race/test_race.py) and its benchmark (benchmarks/race_simulation.py) both run
these: many races at once (`race_many`), each round decided by the `race` function's own test
(`compare_with_leader`); the test checks race by race that `race_many` and `race` agree."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suite.race.decision import RaceRules
from suite.race.padded_welch import compare_with_leader


@dataclass(frozen=True)
class Simulated:
    best_eliminated: float  # share of races that eliminated configuration 0 (the true best)
    run_share: float  # the race's runs / the full grid's (every configuration at max_seeds)
    second_share: float  # the same for training seconds, with each configuration's cost
    # (configurations, rounds): the share of races that eliminated each configuration in
    # that round (round 1: min_seeds seeds each) or before
    eliminated_by_round: np.ndarray


def race_many(
    draws: np.ndarray, rules: RaceRules, *, share: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Races decided at once from `draws` (races, configurations, max_seeds): every seed's
    score, drawn up front (the rule uses a seed only in the round that counts it, so these
    are the races the rounds would run). Returns each configuration's seeds in its race and
    whether it was eliminated, both (races, configurations). `share`: the padding (default:
    the race's own; 0 races with Welch's test unpadded, the rule before padding)."""
    if rules.margin is not None:
        raise ValueError("race_many races without a margin; got RaceRules(margin=...)")
    races, configurations, _ = draws.shape
    level = rules.level(configurations)
    racing = np.ones((races, configurations), dtype=bool)
    running = np.arange(races)  # the races not yet decided
    seeds_of = np.zeros((races, configurations), dtype=int)
    for seeds in range(rules.min_seeds, rules.max_seeds + 1):
        now = racing[running]
        seeds_of[running] = np.where(now, seeds, seeds_of[running])
        comparison = compare_with_leader(draws[running, :, :seeds], now, level=level, share=share)
        out = now & (comparison.p_better() < level)
        out[np.arange(len(running)), comparison.leader] = False
        racing[running] = now & ~out
        running = running[racing[running].sum(axis=1) > 1]
        if not len(running):
            break
    return seeds_of, ~racing


def simulate(
    means: np.ndarray,
    noise: np.ndarray,
    seconds: np.ndarray,
    rules: RaceRules,
    *,
    races: int,
    rng: np.random.Generator,
    share: float | None = None,
) -> Simulated:
    """`races` races of len(means) configurations whose seeds draw N(means, noise) results
    (configuration 0 the true best, or tied for it), each run costing `seconds` of its
    configuration; `share` as `race_many`'s."""
    draws = rng.normal(means[:, None], noise[:, None], size=(races, len(means), rules.max_seeds))
    seeds_of, eliminated = race_many(draws, rules, share=share)
    rounds = np.arange(rules.min_seeds, rules.max_seeds + 1)
    by_round = (eliminated[:, :, None] & (seeds_of[:, :, None] <= rounds)).mean(axis=0)
    full_runs, full_cost = len(means) * rules.max_seeds, float(seconds.sum()) * rules.max_seeds
    return Simulated(
        best_eliminated=float(eliminated[:, 0].mean()),
        run_share=float(seeds_of.sum() / (races * full_runs)),
        second_share=float((seeds_of @ seconds).sum() / (races * full_cost)),
        eliminated_by_round=by_round,
    )


# --- the scenarios: effect sizes, and seed noise laid out for and against the test -----------

SCENARIOS = ("spread", "near-tie", "all equal", "one ahead", "race smoke")
# Which configuration gets which seed noise: shuffled (each scenario its own draw), or chosen
# against the test: the true best the noisiest and every rival the quietest (a variance shared
# across configurations understates the best's noise), or the other way round (many noisy
# rivals: the union bound over them is nearly tight).
LAYOUTS = ("shuffled", "best noisiest", "best quietest")


@dataclass(frozen=True)
class Scenario:
    kind: str
    layout: str
    means: np.ndarray  # configuration 0 the true best (or tied for it)
    noise: np.ndarray  # each configuration's seed standard deviation
    seconds: np.ndarray  # each configuration's cost per run
    rules: RaceRules


def scenario(kind: str, layout: str, *, confidence: float = 0.95) -> Scenario:
    """One scenario's configurations: mean best validation accuracies, seed noise, costs and
    the race's rules. 18 configurations with seeds 2 to 10 and seed noise 0.1 to 0.8 points,
    or the race smoke study's 6 with seeds 2 to 4 and seed noise 1 to 2 points."""
    if kind not in SCENARIOS or layout not in LAYOUTS:
        raise ValueError(
            f"unknown scenario {kind!r} / {layout!r}; one of {', '.join(SCENARIOS)}"
            f" / one of {', '.join(LAYOUTS)}"
        )
    means = scenario_means(kind)
    k = len(means)
    low, high = (0.01, 0.02) if kind == "race smoke" else (0.001, 0.008)
    if layout == "shuffled":  # each scenario its own layout, seeded by the scenario
        rng = np.random.default_rng([39, SCENARIOS.index(kind)])
        noise = np.linspace(low, high, k)[rng.permutation(k)]
    elif layout == "best noisiest":
        noise = np.r_[high, np.full(k - 1, low)]
    else:
        noise = np.r_[low, np.full(k - 1, high)]
    max_seeds = 4 if kind == "race smoke" else 10
    return Scenario(
        kind,
        layout,
        means,
        noise,
        np.linspace(1, 6, k),  # unequal cost per run, 1 to 6 units (smallest to largest run)
        RaceRules(min_seeds=2, max_seeds=max_seeds, confidence=confidence),
    )


def scenario_means(kind: str) -> np.ndarray:
    """Mean best validation accuracies, configuration 0 the true best (or tied for it)."""
    if kind == "spread":  # the smoke grid's shape: 25 points from best to worst
        return 0.97 - np.linspace(0, 0.25, 18)
    if kind == "near-tie":  # two rivals a tenth and three tenths of a point behind
        return np.r_[0.97, 0.969, 0.967, 0.96 - np.linspace(0, 0.2, 15)]
    if kind == "all equal":  # the hardest case for the guarantee: every rival is a best
        return np.full(18, 0.97)
    if kind == "one ahead":  # the best half a point clear of all the others
        return np.r_[0.97, np.full(17, 0.965)]
    if kind == "race smoke":  # studies/race-smoke.yaml's shape: one cell 16 points behind
        return np.array([0.90, 0.89, 0.88, 0.87, 0.86, 0.74])
    raise ValueError(f"unknown scenario {kind!r}; one of {', '.join(SCENARIOS)}")
