"""The one objective: which epoch is best, which run is better, and which way a race goes, for
a maximised and a minimised metric alike. Expected values are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from suite.race.decision import RaceRules, race
from suite.race.study_race import race_of_runs
from suite.race.summary import standings
from suite.schema import Objective
from suite.study.data_config import DataConfig
from suite.train.data import load_splits
from suite.train.fit import train
from tests.conftest import make_spec

NAN = math.nan


@pytest.mark.parametrize(
    ("metric", "curve", "epoch", "value"),
    [
        ("val_accuracy", [0.5, 0.7, 0.7, NAN], 2, 0.7),  # the first of equal bests
        ("val_loss", [0.9, 0.4, NAN, 0.4, 0.6], 2, 0.4),
        ("val_rmse", [NAN, 3.0, 2.5, 2.9], 3, 2.5),  # a NaN epoch is skipped, not best
        ("val_loss", [NAN, NAN], None, NAN),
    ],
)
def test_best_epoch_and_value_by_the_objective(metric, curve, epoch, value):
    objective = Objective(metric)
    assert objective.best_epoch(curve) == epoch
    best = objective.best_of(curve)
    assert (math.isnan(best) and math.isnan(value)) or best == value


def test_which_way_is_better():
    assert Objective("val_accuracy").better(0.9, 0.8) and not Objective().better(0.8, 0.9)
    assert Objective("val_rmse").better(1.5, 2.0) and not Objective("val_loss").better(2.0, 1.5)
    assert not Objective("val_loss").better(NAN, 10.0)  # NaN is never better
    assert Objective("val_rmse").score(2.0) == -2.0 and Objective().score(NAN) == -math.inf
    assert Objective.default_for("regression").metric == "val_rmse"
    assert Objective.default_for("classification").optuna_direction == "maximize"


def test_a_run_compared_by_val_loss_records_its_best_epoch_by_val_loss():
    """Training picks the best epoch by the run's objective, not by validation accuracy."""
    slices = {"train_size": 128, "validation_size": 64, "test_size": 64}
    spec = make_spec(study="t", seed=3, cell="gru", units=4, batch_size=32, epochs=4, **slices)
    spec = spec.model_copy(update={"objective": "val_loss"})
    _, result = train(spec, load_splits(DataConfig(**slices)))
    losses = result.history["val_loss"]
    assert result.best_epoch == int(np.argmin(losses)) + 1  # numpy's, not the objective's
    assert result.best_value == min(losses)
    assert result.best_val_value == max(result.history["val_accuracy"])
    assert result.final_metrics()["best_val_loss"] == min(losses)


RMSE_RULES = RaceRules(min_seeds=2, max_seeds=4, confidence=0.95, objective=Objective("val_rmse"))
ACCURACY_RULES = RaceRules(min_seeds=2, max_seeds=4, confidence=0.95)


def test_a_race_on_a_minimised_objective_keeps_the_lowest():
    """RMSE a (1.0-1.2) is clearly below b (5.0-5.2): b is eliminated, a is the best, and the
    standings show RMSE itself (means 1.1 and 5.1 by hand), not its negation."""
    a, b = (make_spec(study="r", units=u).model_copy(update={"varied": ("units",)}) for u in (4, 5))
    specs = [s.model_copy(update={"seed": seed}) for s in (a, b) for seed in range(4)]
    values = {}
    for spec in specs:
        base = 1.0 if spec.model.units == 4 else 5.0
        values[spec.run_key] = base + 0.2 * (spec.seed % 2)
    state = race_of_runs(RMSE_RULES, specs, values)
    assert state.survivors[0] == a.configuration and b.configuration in state.eliminated
    by_name = {row.configuration: row for row in standings(state)}
    assert by_name[a.configuration].mean == pytest.approx(1.1)
    assert by_name[b.configuration].mean == pytest.approx(5.1)
    low, high = by_name[a.configuration].low, by_name[a.configuration].high
    assert low < 1.1 < high
    # Mirrored: the same values as accuracies would keep b.
    mirrored = race_of_runs(ACCURACY_RULES, specs, values)
    assert mirrored.survivors[0] == b.configuration


def test_a_diverged_run_counts_as_the_worst_value_seen():
    """A NaN result on a minimised objective counts as the worst finite value of the race (here
    9.0), so its configuration is not taken for the best."""
    a, b = (make_spec(study="r", units=u).model_copy(update={"varied": ("units",)}) for u in (4, 5))
    specs = [s.model_copy(update={"seed": seed}) for s in (a, b) for seed in range(2)]
    values = {specs[0].run_key: 1.0, specs[1].run_key: 1.1}
    values |= {specs[2].run_key: NAN, specs[3].run_key: 9.0}
    state = race_of_runs(RMSE_RULES, specs, values)
    assert state.results[b.configuration] == {0: -9.0, 1: -9.0}
    assert race(state.results, RMSE_RULES).survivors[0] == a.configuration


@pytest.mark.parametrize(
    ("data", "search", "expected"),
    [
        ({}, {}, "val_accuracy"),  # MNIST: classes
        ({"archive": "Tecator"}, {}, "val_rmse"),  # a regression search: the task's own
        ({"archive": "Tecator"}, {"objective": "val_loss"}, "val_loss"),
        ({"archive": "Tecator"}, {"objective": "val_accuracy"}, "does not apply to regression"),
        ({}, {"objective": "val_rmse"}, "does not apply to classification"),
    ],
)
def test_a_search_compares_by_its_tasks_objective_unless_it_names_one(
    tmp_path, data, search, expected
):
    import yaml

    from suite.study.config import StudyError
    from suite.study.file import load_study

    path = tmp_path / "s.yaml"
    space = {"units": {"low": 8, "high": 16}}
    path.write_text(yaml.safe_dump({"data": data, "search": {"space": space, **search}}))
    if expected.startswith("val_"):
        assert load_study(path).objective == Objective(expected)
        return
    with pytest.raises(StudyError) as refused:
        load_study(path)
    assert any(expected in problem for problem in refused.value.problems), refused.value
