"""The race's decision rule (suite.forecast.race): hand-computed tests, replay, simulation.

The guarantee under test: if each configuration's seed results are normal (any variance),
the true best is eliminated with probability at most 1 - confidence.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from suite.forecast.race import Outcome, RaceRules, race, standings, welch_greater

RULES = RaceRules(min_seeds=2, max_seeds=4, confidence=0.95)


def test_each_elimination_test_spends_its_share_of_one_minus_confidence():
    # 4 configurations, rounds at 2, 3 and 4 seeds: 0.05 / (3 x 3).
    assert RULES.level(4) == pytest.approx(0.05 / 9)
    assert RaceRules(3, 10, 0.9).level(18) == pytest.approx(0.1 / (17 * 8))


def test_welch_p_values_match_scipy_and_the_formula():
    a = np.array([0.97, 0.975, 0.972])
    others = [np.array([0.95, 0.96, 0.955]), np.array([0.971, 0.969, 0.98])]
    ours = welch_greater(a, others)
    for b, p in zip(others, ours, strict=True):
        # Welch by hand: t = diff / sqrt(s1^2/n + s2^2/n), Welch-Satterthwaite df.
        v1, v2 = a.var(ddof=1) / 3, b.var(ddof=1) / 3
        t = (a.mean() - b.mean()) / math.sqrt(v1 + v2)
        df = (v1 + v2) ** 2 / (v1**2 / 2 + v2**2 / 2)
        assert p == pytest.approx(stats.t.sf(t, df), rel=1e-9)
        scipy_p = stats.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue
        assert p == pytest.approx(scipy_p, rel=1e-9)
    same = np.array([0.9, 0.9])
    assert welch_greater(same, [same.copy()])[0] == 1.0  # no spread: no evidence


def test_the_first_round_asks_for_min_seeds_of_every_configuration():
    state = race({"a": {}, "b": {0: 0.9}, "c": {0: 0.8, 1: 0.81}}, RULES)
    assert state.outcome == Outcome.RUNNING and state.rounds == 0 and state.seeds == 2
    assert state.needed == {"a": (0, 1), "b": (1,)}


def test_a_clearly_worse_configuration_is_eliminated_and_the_survivors_get_one_more_seed():
    results = {
        "best": {0: 0.970, 1: 0.972},
        "close": {0: 0.969, 1: 0.973},
        "bad": {0: 0.70, 1: 0.701},
    }
    state = race(results, RULES)
    assert state.rounds == 1 and state.outcome == Outcome.RUNNING
    assert set(state.eliminated) == {"bad"}
    elimination = state.eliminated["bad"]
    # By hand: best mean 0.971 (var 2e-6), bad 0.7005 (var 5e-7); t = 0.2705/sqrt(1.25e-6).
    t = 0.2705 / math.sqrt(2e-6 / 2 + 5e-7 / 2)
    df = (1.25e-6) ** 2 / ((1e-6) ** 2 + (2.5e-7) ** 2)
    assert elimination.p_value == pytest.approx(stats.t.sf(t, df), rel=1e-6)
    assert elimination.leader == "best" and elimination.round == 1 and elimination.seeds == 2
    assert elimination.gap == pytest.approx(0.2705)
    assert state.needed == {"best": (2,), "close": (2,)}


def test_extra_seeds_do_not_change_the_rounds_and_the_race_ends_tied_at_max_seeds():
    """A grid's extra seeds of one configuration are not used before the round that counts
    them: the state is the same with or without them; both survivors tie at max_seeds."""
    results = {"a": {0: 0.9, 1: 0.92}, "b": {0: 0.91, 1: 0.905}}
    with_extra = {"a": {**results["a"], 2: 0.1, 3: 0.1}, "b": dict(results["b"])}
    assert race(results, RULES).needed == {"a": (2,), "b": (2,)}
    assert race(with_extra, RULES).needed == {"b": (2,)}
    assert race(with_extra, RULES).eliminated == race(results, RULES).eliminated == {}
    full = {"a": {0: 0.9, 1: 0.92, 2: 0.91, 3: 0.93}, "b": {0: 0.91, 1: 0.905, 2: 0.92, 3: 0.9}}
    state = race(full, RULES)
    assert state.outcome == Outcome.TIED and state.rounds == 3 and state.seeds == 4
    assert state.runs == 8 == state.full_grid_runs


def test_equivalent_survivors_end_the_race_within_the_margin():
    rules = RaceRules(min_seeds=3, max_seeds=10, confidence=0.95, margin=0.01)
    results = {"a": {0: 0.950, 1: 0.951, 2: 0.952}, "b": {0: 0.9505, 1: 0.9515, 2: 0.9512}}
    state = race(results, rules)
    assert state.outcome == Outcome.EQUIVALENT and state.rounds == 1
    # Without a margin the same results need more seeds.
    assert race(results, RaceRules(3, 10, 0.95)).outcome == Outcome.RUNNING


def test_standings_give_each_configuration_its_mean_and_t_interval():
    results = {"best": {0: 0.970, 1: 0.972}, "bad": {0: 0.70, 1: 0.701}}
    state = race(results, RULES)
    assert state.outcome == Outcome.SEPARATED and state.best == "best"
    rows = {row.configuration: row for row in standings(state)}
    assert rows["best"].status == "best" and rows["bad"].status == "eliminated in round 1"
    # The 95% t-interval of two values by hand: mean +- t(0.975, 1) * s / sqrt(2).
    half = stats.t.ppf(0.975, 1) * np.std([0.970, 0.972], ddof=1) / math.sqrt(2)
    assert (rows["best"].low, rows["best"].high) == pytest.approx((0.971 - half, 0.971 + half))


# --- simulation: the guarantee, and what the race spends --------------------------------------

K = 18
SIMULATION_RULES = RaceRules(min_seeds=2, max_seeds=10, confidence=0.95)
RACES_PER_SCENARIO = 2_500  # four scenarios: 10,000 races


def scenario_means(kind: str) -> np.ndarray:
    """Configuration 0 is the true best (or tied for it)."""
    if kind == "spread":  # the smoke grid's shape: 25 points from best to worst
        return 0.97 - np.linspace(0, 0.25, K)
    if kind == "near-tie":  # two rivals a tenth and three tenths of a point behind
        return np.r_[0.97, 0.969, 0.967, 0.96 - np.linspace(0, 0.2, K - 3)]
    if kind == "all equal":  # the hardest case for the guarantee: every rival is a best
        return np.full(K, 0.97)
    return np.r_[0.97, np.full(K - 1, 0.965)]  # "one ahead": the best half a point clear


def simulate(kind: str, rng: np.random.Generator) -> tuple[float, float, float]:
    """(rate at which configuration 0 is eliminated, share of the full grid's runs, share of
    its seconds) over RACES_PER_SCENARIO races with unequal seed noise per configuration."""
    means = scenario_means(kind)
    noise = np.linspace(0.001, 0.008, K)[rng.permutation(K)]  # unequal, the best's included
    seconds = np.linspace(1, 6, K)  # unequal cost per run
    names = [f"c{i}" for i in range(K)]
    eliminated = runs = cost = 0.0
    for _ in range(RACES_PER_SCENARIO):
        draws = rng.normal(means, noise, size=(SIMULATION_RULES.max_seeds, K))
        results = {n: dict(enumerate(draws[:, i])) for i, n in enumerate(names)}
        state = race(results, SIMULATION_RULES)  # each seed used only in the round counting it
        eliminated += "c0" in state.eliminated
        used = state.seeds_of
        runs += state.runs
        cost += sum(used[n] * seconds[i] for i, n in enumerate(names))
    full_runs, full_cost = K * SIMULATION_RULES.max_seeds, seconds.sum() * 10
    n = RACES_PER_SCENARIO
    return eliminated / n, runs / (n * full_runs), cost / (n * full_cost)


@pytest.mark.parametrize("kind", ["spread", "near-tie", "all equal", "one ahead"])
def test_the_best_is_eliminated_at_most_at_one_minus_confidence(kind):
    rate, run_share, second_share = simulate(kind, np.random.default_rng(2026))
    alpha = 1 - SIMULATION_RULES.confidence
    monte_carlo = 3 * math.sqrt(alpha * (1 - alpha) / RACES_PER_SCENARIO)
    assert rate <= alpha + monte_carlo, (kind, rate)
    if kind == "spread":  # where the answer is clear, the race spends far less than the grid
        assert run_share < 0.5 and second_share < 0.5, (run_share, second_share)


# --- replay on real results -------------------------------------------------------------------

SIX_SEEDS = Path(__file__).parent / "data" / "smoke-six-seeds.csv"


def test_the_race_replayed_on_a_six_seed_grid_names_its_best_with_fewer_runs():
    """The smoke grid trained with six seeds (best validation accuracy per run): the race's
    answer contains the grid's best by mean, for fewer runs than the grid's."""
    results: dict[str, dict[int, float]] = {}
    with SIX_SEEDS.open() as table:
        for row in csv.DictReader(table):
            results.setdefault(row["configuration"], {})[int(row["seed"])] = float(
                row["best_val_accuracy"]
            )
    assert len(results) == 18 and all(len(seeds) == 6 for seeds in results.values())
    grid_best = max(results, key=lambda name: np.mean(list(results[name].values())))
    state = race(results, RaceRules(min_seeds=2, max_seeds=6, confidence=0.95))
    assert state.outcome != Outcome.RUNNING
    assert grid_best in state.survivors
    assert state.runs < 18 * 6
