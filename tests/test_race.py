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
import yaml
from scipy import stats

from suite.forecast.race import Outcome, RaceRules, race, standings, welch_greater
from suite.forecast.race_simulation import (
    SCENARIOS,
    scenario_means,
    scenario_noise,
    scenario_seconds,
    simulate,
)
from suite.study.config import StudyError
from suite.study.file import load_study
from suite.study.grid import expand

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

SIMULATION_RULES = RaceRules(min_seeds=2, max_seeds=10, confidence=0.95)
RACES_PER_SCENARIO = 2_500  # four scenarios: 10,000 races


@pytest.mark.parametrize("kind", SCENARIOS)
def test_the_best_is_eliminated_at_most_at_one_minus_confidence(kind):
    rng = np.random.default_rng(2026)
    found = simulate(
        scenario_means(kind),
        scenario_noise(rng),
        scenario_seconds(),
        SIMULATION_RULES,
        races=RACES_PER_SCENARIO,
        rng=rng,
    )
    alpha = 1 - SIMULATION_RULES.confidence
    monte_carlo = 3 * math.sqrt(alpha * (1 - alpha) / RACES_PER_SCENARIO)
    assert found.best_eliminated <= alpha + monte_carlo, (kind, found)
    assert found.best_kept == pytest.approx(1 - found.best_eliminated)
    if kind == "spread":  # where the answer is clear, the race spends far less than the grid
        assert found.run_share < 0.5 and found.second_share < 0.5, found


def test_without_the_correction_the_simulation_catches_a_broken_rule(monkeypatch):
    """The simulation can fail: with each test at 1 - confidence (no Bonferroni), the best
    is eliminated far more often than the stated level when every rival ties it."""
    monkeypatch.setattr(RaceRules, "level", lambda self, configurations: 1 - self.confidence)
    rng = np.random.default_rng(7)
    found = simulate(
        scenario_means("all equal"),
        scenario_noise(rng),
        scenario_seconds(),
        SIMULATION_RULES,
        races=500,
        rng=rng,
    )
    assert found.best_eliminated > 0.2


# --- replay on real results -------------------------------------------------------------------

DATA = Path(__file__).parent / "data"


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
    grid_best = max(results, key=lambda name: np.mean(list(results[name].values())))
    state = race(results, RaceRules(min_seeds=2, max_seeds=6, confidence=0.95))
    assert state.outcome != Outcome.RUNNING
    assert grid_best in state.survivors
    assert state.runs < 18 * 6


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
