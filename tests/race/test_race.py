"""The race's decision rule (suite.race.decision, its test suite.race.padded_welch):
hand-computed tests, replay, simulation.

The guarantee under test: if each configuration's seed results are normal (any variance),
the true best is eliminated with probability at most 1 - confidence; each elimination is a
padded Welch test (the pair's variance plus a share of the other survivors').
"""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats

from suite.race import padded_welch
from suite.race.decision import Outcome, RaceRules, race
from suite.race.padded_welch import compare_with_leader, padding_share
from suite.race.simulation import (
    LAYOUTS,
    SCENARIOS,
    race_many,
    scenario,
    simulate,
)
from suite.race.summary import standings
from suite.study.config import StudyError
from suite.study.file import load_study
from suite.study.grid import expand

RULES = RaceRules(min_seeds=2, max_seeds=4, confidence=0.95)


def test_each_elimination_test_spends_its_share_of_one_minus_confidence():
    # 4 configurations, rounds at 2, 3 and 4 seeds: 0.05 / (3 x 3).
    assert RULES.level(4) == pytest.approx(0.05 / 9)
    assert RaceRules(3, 10, 0.9).level(18) == pytest.approx(0.1 / (17 * 8))


def test_unpadded_the_test_is_welchs_and_matches_scipy():
    a = np.array([0.97, 0.975, 0.972])
    others = [np.array([0.95, 0.96, 0.955]), np.array([0.971, 0.969, 0.96])]
    comparison = compare_with_leader(np.array([a, *others]), level=0.01, share=0.0)
    assert comparison.leader == 0
    for b, p in zip(others, comparison.p_better()[1:], strict=True):
        # Welch by hand: t = diff / sqrt(s1^2/n + s2^2/n), Welch-Satterthwaite df.
        v1, v2 = a.var(ddof=1) / 3, b.var(ddof=1) / 3
        t = (a.mean() - b.mean()) / math.sqrt(v1 + v2)
        df = (v1 + v2) ** 2 / (v1**2 / 2 + v2**2 / 2)
        assert p == pytest.approx(stats.t.sf(t, df), rel=1e-9)
        scipy_p = stats.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue
        assert p == pytest.approx(scipy_p, rel=1e-9)
    same = np.array([0.9, 0.9])
    assert compare_with_leader(np.array([same, same]), level=0.01).p_better()[1] == 1.0


def test_the_padded_test_by_hand_on_three_configurations_of_two_seeds():
    """The pair's variances of the mean plus a share of the third's, Satterthwaite's df."""
    values = np.array([[0.970, 0.974], [0.960, 0.961], [0.950, 0.956]])
    comparison = compare_with_leader(values, level=0.01, share=0.5)
    assert comparison.leader == 0
    # Each one's variance of its mean, (x1 - x2)^2 / 2 / 2 seeds, and its means by hand.
    v = [0.004**2 / 4, 0.001**2 / 4, 0.006**2 / 4]
    gap = {1: 0.972 - 0.9605, 2: 0.972 - 0.953}
    for rival, third in ((1, 2), (2, 1)):
        padded = v[0] + v[rival] + 0.5 * v[third]
        df = padded**2 / (v[0] ** 2 + v[rival] ** 2 + 0.25 * v[third] ** 2)  # 1 df each
        t = gap[rival] / math.sqrt(padded)
        assert comparison.gap[rival] == pytest.approx(gap[rival], abs=1e-12)
        assert comparison.df[rival] == pytest.approx(df, rel=1e-9)
        assert comparison.p_better()[rival] == pytest.approx(stats.t.sf(t, df), rel=1e-9)
    # The same margin test (TOST) on the padded variance: the larger of its two p-values.
    padded = v[0] + v[1] + 0.5 * v[2]
    df = padded**2 / (v[0] ** 2 + v[1] ** 2 + 0.25 * v[2] ** 2)
    below = stats.t.sf((0.02 - gap[1]) / math.sqrt(padded), df)
    above = stats.t.sf((gap[1] + 0.02) / math.sqrt(padded), df)
    assert comparison.p_within(0.02)[1] == pytest.approx(max(below, above), rel=1e-9)
    # Configurations not racing take no part: the pair alone is Welch's test again.
    pair = compare_with_leader(values, np.array([True, True, False]), level=0.01, share=0.5)
    welch = stats.ttest_ind(values[0], values[1], equal_var=False, alternative="greater")
    assert pair.p_better()[1] == pytest.approx(welch.pvalue, rel=1e-9)


def _detectable(share: float, survivors: int, seeds: int, level: float) -> float:
    """The smallest gap, in standard errors of one mean, that the padded test detects when
    every survivor has the same noise: its variance is (2 + share (m - 2)) of one's and
    Satterthwaite's df (n - 1) (2 + share (m - 2))^2 / (2 + share^2 (m - 2))."""
    variance = 2 + share * (survivors - 2)
    df = (seeds - 1) * variance**2 / (2 + share**2 * (survivors - 2))
    return stats.t.isf(level, df) * math.sqrt(variance)


@pytest.mark.parametrize(("survivors", "seeds"), [(18, 2), (18, 3), (6, 2), (3, 2), (18, 10)])
def test_the_padding_is_the_share_that_detects_the_smallest_gap(survivors, seeds):
    level = 0.05 / 153 if survivors == 18 else 0.05 / 15
    share = padding_share(survivors, seeds, level)
    best = _detectable(share, survivors, seeds, level)
    for other in (0.0, 1.0, share - 0.01, share + 0.01):
        if 0 <= other <= 1:
            assert best <= _detectable(other, survivors, seeds, level) + 1e-9, (share, other)
    if seeds == 2:  # where Welch's test has two degrees of freedom at best
        assert _detectable(0.0, survivors, seeds, level) / best > 1.5
    assert padding_share(2, 2, level) == 0.0  # a pair alone: Welch's test


def test_the_padding_for_18_configurations_at_two_seeds():
    assert padding_share(18, 2, 0.05 / 153) == 0.19
    # By hand: Welch's t at 0.05 / 153 with 2 df (equal noise) is 39.1, times sqrt(2): 55.3
    # standard errors of one mean; padded, the variance is 2 + 0.19 x 16 = 5.04 of one's with
    # 5.04^2 / (2 + 0.19^2 x 16) = 9.85 df: t 4.90, times sqrt(5.04): 11.0, five times less.
    assert stats.t.isf(0.05 / 153, 2) * math.sqrt(2) == pytest.approx(55.3, abs=0.05)
    assert _detectable(0.19, 18, 2, 0.05 / 153) == pytest.approx(11.0, abs=0.05)
    assert padding_share(18, 10, 0.05 / 153) == 0.0  # with ten seeds, the pair's own suffice


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
    # By hand: variances of the mean, best 2e-6 / 2, bad 5e-7 / 2, close (the third) 8e-6 / 2
    # padded by its share; t = 0.2705 / sqrt(padded), Satterthwaite's df (1 df each).
    share = padding_share(3, 2, 0.05 / 6)
    padded = 1e-6 + 2.5e-7 + share * 4e-6
    df = padded**2 / (1e-12 + 6.25e-14 + share**2 * 1.6e-11)
    t = 0.2705 / math.sqrt(padded)
    assert elimination.p_value == pytest.approx(stats.t.sf(t, df), rel=1e-6)
    assert elimination.level == pytest.approx(0.05 / 6)
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

# 10,000 races per scenario and noise layout, the benchmark's own draws: affordable in a unit
# test because every round of all of them is decided at once (race_many).
RACES = 10_000
CASES = [(kind, layout) for kind in SCENARIOS for layout in LAYOUTS]


def _simulate(kind: str, layout: str, *, races: int = RACES, share: float | None = None):
    case = scenario(kind, layout)
    rng = np.random.default_rng([2026, SCENARIOS.index(kind), LAYOUTS.index(layout)])
    return case, simulate(
        case.means, case.noise, case.seconds, case.rules, races=races, rng=rng, share=share
    )


def _allowed(races: int, alpha: float = 0.05) -> float:
    """The most eliminations of the best a rule at exactly `alpha` gives in 99.9% of runs of
    `races` races (binomial): above it, the rule breaks its guarantee."""
    return stats.binom.ppf(0.999, races, alpha) / races


@pytest.mark.parametrize(("kind", "layout"), CASES)
def test_the_best_is_eliminated_at_most_at_one_minus_confidence(kind, layout):
    _, found = _simulate(kind, layout)
    assert found.best_eliminated <= _allowed(RACES), (kind, layout, found)


def test_where_a_rival_is_clearly_worse_it_goes_at_two_or_three_seeds():
    """The power the padding buys, on the same draws as Welch's test unpadded (the rule
    before): the spread grid and the race smoke study's shape (a cell 16 points behind)."""
    for kind, runs_at_most, gone_by_two in (("spread", 0.34, 0.7), ("race smoke", 0.94, 0.4)):
        case, padded = _simulate(kind, "shuffled")
        _, welch = _simulate(kind, "shuffled", share=0.0)
        worse = case.means <= case.means[0] - 0.10  # 10 points or more behind the best
        by_two, by_three = padded.eliminated_by_round[worse, :2].mean(axis=0)
        assert by_two > gone_by_two and by_three > 0.95, (kind, by_two, by_three)
        assert welch.eliminated_by_round[worse, 0].mean() < 0.2  # Welch: rarely at two seeds
        assert padded.run_share < runs_at_most and padded.run_share < welch.run_share
        assert padded.second_share < welch.second_share


# --- the level itself: where the union bound is nearly tight, a weaker correction shows ------

# Under the null every configuration is a true best, so the guarantee holds for each one.
# Rules and noise that make the bound nearly tight: one quiet configuration (0.1 point) among
# noisy rivals (0.8), so its tests against them are nearly independent. One round of five
# seeds (Welch's test, no padding) spends the whole level over the configurations; nine rounds
# from two seeds spread it over the rounds too.
NULL_SHAPES = {
    "6 configurations, one round": (6, RaceRules(min_seeds=5, max_seeds=5, confidence=0.95)),
    "18 configurations, nine rounds": (18, RaceRules(min_seeds=2, max_seeds=10, confidence=0.95)),
}
NULL_RACES = 20_000


def _null_rates(shape: str, races: int = NULL_RACES) -> np.ndarray:
    """Each configuration's share of `races` null races (every mean 0.97) that eliminated it;
    configuration 0 the quiet one."""
    configurations, rules = NULL_SHAPES[shape]
    noise = np.r_[0.001, np.full(configurations - 1, 0.008)]
    rng = np.random.default_rng([41, list(NULL_SHAPES).index(shape)])  # each shape its own
    draws = rng.normal(0.97, noise[:, None], size=(races, configurations, rules.max_seeds))
    _, eliminated = race_many(draws, rules)
    return eliminated.mean(axis=0)


def _null_allowed(races: int, configurations: int, alpha: float = 0.05) -> float:
    """The largest share of `races` races eliminating a configuration that a rule at exactly
    `alpha` gives, for every one of `configurations` at once, in 99.9% of simulations: the
    binomial's 1 - 0.001 / configurations quantile (a union bound over them)."""
    return stats.binom.ppf(1 - 0.001 / configurations, races, alpha) / races


@pytest.mark.parametrize("shape", NULL_SHAPES)
def test_under_the_null_no_configuration_is_eliminated_above_one_minus_confidence(shape):
    """The guarantee where it is nearly tight: all configurations equal, each is eliminated in
    at most 1 - confidence of races (up to the binomial margin of NULL_RACES races). Only each
    one's elimination is bounded: that of any of them is not (each has its own tests)."""
    rates = _null_rates(shape)
    allowed = _null_allowed(NULL_RACES, len(rates))
    assert allowed == pytest.approx(0.0555, abs=0.0007)  # 0.05 + about 3.6 standard errors
    assert rates.max() <= allowed, (shape, rates)
    assert rates[0] == rates.max() > 0.01  # the quiet one falls most, and the check is live


def _rounds(rules: RaceRules) -> int:
    return rules.max_seeds - rules.min_seeds + 1


# Weaker splits of 1 - confidence than Bonferroni's over (K - 1) x R tests, each with the
# shape that shows it: doubling on one round, whose level is spent over the configurations
# alone; the rounds left out on nine rounds.
WEAKENED = {
    "1 - confidence doubled": (
        lambda rules, k: 2 * (1 - rules.confidence) / ((k - 1) * _rounds(rules)),
        "6 configurations, one round",
    ),
    "rounds not counted": (
        lambda rules, k: (1 - rules.confidence) / (k - 1),
        "18 configurations, nine rounds",
    ),
    "configurations not counted": (
        lambda rules, k: (1 - rules.confidence) / _rounds(rules),
        "6 configurations, one round",
    ),
}


@pytest.mark.parametrize("weakened", WEAKENED)
def test_the_null_check_catches_a_weakened_correction(monkeypatch, weakened):
    """The check above can fail: with each weaker correction some configuration is eliminated
    above what it allows, on 4,000 races."""
    level, shape = WEAKENED[weakened]
    monkeypatch.setattr(RaceRules, "level", level)
    rates = _null_rates(shape, races=4_000)
    assert rates.max() > _null_allowed(4_000, len(rates)), (weakened, rates)


@pytest.mark.parametrize("kind", ["near-tie", "race smoke"])
def test_race_many_decides_each_race_as_race_does(kind):
    """The simulation's races at once are `race`'s, race by race: each configuration's seeds
    and whether it was eliminated."""
    case = scenario(kind, "shuffled")
    rng = np.random.default_rng(11)
    size = (200, len(case.means), case.rules.max_seeds)
    draws = rng.normal(case.means[:, None], case.noise[:, None], size=size)
    seeds_of, eliminated = race_many(draws, case.rules)
    names = [f"c{i}" for i in range(len(case.means))]
    for one, seeds, out in zip(draws, seeds_of, eliminated, strict=True):
        state = race({name: dict(enumerate(one[i])) for i, name in enumerate(names)}, case.rules)
        assert [state.seeds_of[name] for name in names] == list(seeds)
        assert [name in state.eliminated for name in names] == list(out)
    assert eliminated.any() and (seeds_of > case.rules.min_seeds).any()  # rounds were raced


def test_each_scenario_draws_its_own_noise_layout():
    shuffled = [scenario(kind, "shuffled").noise for kind in SCENARIOS[:4]]
    assert all(not np.array_equal(a, b) for a, b in itertools.pairwise(shuffled))
    assert all(sorted(noise) == pytest.approx(np.linspace(0.001, 0.008, 18)) for noise in shuffled)
    noisiest = scenario("all equal", "best noisiest").noise
    assert noisiest[0] == 0.008 and set(noisiest[1:]) == {0.001}
    quietest = scenario("race smoke", "best quietest").noise
    assert quietest[0] == 0.01 and set(quietest[1:]) == {0.02}


def test_without_the_correction_the_simulation_catches_a_broken_rule(monkeypatch):
    """The simulation can fail: with each test at 1 - confidence (no Bonferroni), the best
    is eliminated far more often than the stated level when every rival ties it."""
    monkeypatch.setattr(RaceRules, "level", lambda self, configurations: 1 - self.confidence)
    _, found = _simulate("all equal", "shuffled", races=2_000)
    assert found.best_eliminated > 0.2


def _pooled(own, leader, share, seeds):
    """A common seed variance, every survivor's pooled, with their degrees of freedom: the
    t-test of a grid whose configurations share one noise (those racing: a variance above 0,
    as every simulated one's is)."""
    racing = (own > 0).sum(axis=-1, keepdims=True)
    every = np.ones_like(own)  # the same for each configuration of a race
    return every * 2 * own.sum(axis=-1, keepdims=True) / racing, every * racing * (seeds - 1)


def test_a_common_variance_breaks_the_guarantee_where_the_best_is_the_noisiest(monkeypatch):
    """The simulation catches a rule whose assumption the noise breaks: a pooled variance
    understates the noisiest configuration's noise; where that is the best, it falls often."""
    monkeypatch.setattr(padded_welch, "_padded", _pooled)
    _, found = _simulate("all equal", "best noisiest", races=2_000)
    assert found.best_eliminated > 0.2


# --- replay on real results -------------------------------------------------------------------

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize(
    "recording",
    [
        "smoke-six-seeds.csv",  # the smoke study on 8,192 images at learning rate 1e-3
        "smoke-six-seeds-4096.csv",  # the smoke study since: 4,096 images at 3e-3
    ],
)
def test_the_race_replayed_on_a_six_seed_grid_names_its_best_with_fewer_runs(recording):
    """The smoke grid trained with six seeds (best validation accuracy per run): the race's
    answer contains the grid's best by mean, for fewer runs than the grid's."""
    results: dict[str, dict[int, float]] = {}
    with (DATA / recording).open() as table:
        for row in csv.DictReader(table):
            results.setdefault(row["configuration"], {})[int(row["seed"])] = float(
                row["best_val_accuracy"]
            )
    assert len(results) == 18 and all(len(seeds) == 6 for seeds in results.values())
    mean = {name: np.mean(list(seeds.values())) for name, seeds in results.items()}
    grid_best = max(results, key=mean.__getitem__)
    state = race(results, RaceRules(min_seeds=2, max_seeds=6, confidence=0.95))
    assert grid_best in state.survivors
    assert state.runs < 18 * 6
    assert state.eliminated  # it eliminated, each at its level: 0.05 / (17 others x 5 rounds)
    for name, elimination in state.eliminated.items():
        assert elimination.level == pytest.approx(0.05 / 85)
        assert elimination.p_value < elimination.level
        assert mean[name] < mean[grid_best]  # over all six seeds, not only those raced


# --- the race: section of a study file ---------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"grid": {"cell": ["gru"], "seed": [0, 1]}}, "grid.seed: a race chooses the seeds"),
        ({"race": {"min_seeds": 1}}, "race.min_seeds: input should be greater than or equal to 2"),
        ({"race": {"min_seeds": 5, "max_seeds": 3}}, "max_seeds (3) must be at least min_seeds"),
        ({"race": {"confidence": 1.0}}, "race.confidence: input should be less than 1"),
        ({"race": {"margin_points": -0.1}}, "race.margin_points: input should be greater than 0"),
        ({"race": {"seeds": 3}}, "race.seeds: unknown key; allowed keys here: min_seeds"),
        (
            {"race": {"margin_points": 0.5}, "data": {"archive": "Tecator"}},
            "race.margin_points: is in accuracy points, and this study's data is a regression",
        ),
    ],
)
def test_a_bad_race_is_one_clear_problem(tmp_path, changes, expected):
    study = {"name": "r", "grid": {"cell": ["gru", "lstm"]}, "race": {}}
    for key, value in changes.items():
        study[key] = {**study[key], **value} if key == "race" else value
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(study))
    with pytest.raises(StudyError) as raised:
        load_study(path)
    assert len(raised.value.problems) == 1 and expected in raised.value.problems[0], raised.value


def test_a_race_may_train_every_seed_up_to_max_seeds_and_no_other(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"grid": {"cell": ["gru", "lstm"]}, "race": {"max_seeds": 4}}))
    specs = expand(load_study(path))
    assert sorted((s.configuration, s.seed) for s in specs) == sorted(
        (f"{cell}-uni-1L", seed) for cell in ("gru", "lstm") for seed in range(4)
    )
