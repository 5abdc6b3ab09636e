"""A parameter budget as a grid axis: the units each configuration gets, checked against
Keras's own count_params(); the run_keys of studies that name units, unchanged; naming both a
budget and units, refused; the dry run and the run's record showing the choice."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import pytest
import yaml

from suite.study.config import StudyError
from suite.study.file import load_study
from suite.study.grid import expand
from tests.conftest import (
    FAST,
    ROOT,
    assert_refused,
    child_runs,
    run_cli,
    snapshot,
    store_client,
)

BUDGETS = [20_000, 80_000]


def _study(folder: Path, text: str) -> Path:
    path = folder / "budget.yaml"
    path.write_text(text)
    return path


def test_each_configuration_gets_the_units_whose_keras_count_is_nearest_the_budget(tmp_path):
    """For every cell, direction and depth at two budgets: Keras's count_params() of the
    chosen units is at least as near the budget as that of one unit fewer or one more."""

    from suite.train.models import build_model

    grid = "grid: {params: [20000, 80000], cell: [simple_rnn, lstm, gru],"
    grid += " bidirectional: [false, true], layers: [1, 2, 3]}\n"
    specs = expand(load_study(_study(tmp_path, grid)))
    assert len(specs) == 2 * 18

    def keras_count(spec, units: int) -> int:
        # No clear_session() per model: its garbage collection cost more than the builds.
        changed = spec.model_copy(update={"model": spec.model.model_copy(update={"units": units})})
        return build_model(changed).count_params()

    for spec in specs:
        budget, units = spec.model.params, spec.model.units
        assert budget in BUDGETS
        miss = abs(keras_count(spec, units) - budget)
        assert miss <= abs(keras_count(spec, units + 1) - budget), spec.label
        if units > 1:
            assert miss <= abs(keras_count(spec, units - 1) - budget), spec.label


def test_a_budget_by_hand(tmp_path):
    """A 1-layer SimpleRNN on rows has u x (28 + u) + u weights, then Dense 10u + 10:
    u^2 + 39u + 10. At 20,000: u = 123 gives 19,936 (64 short), u = 124 gives 20,222 (222
    over), so 123. A 1-layer LSTM: 4 x (u x (28 + u) + u) + 10u + 10 = 4u^2 + 126u + 10; at
    20,000: u = 57 gives 20,188 (188 over), u = 56 gives 19,610 (390 short), so 57."""
    from suite.study.model_size import model_size

    path = _study(tmp_path, "grid: {params: [20000], cell: [simple_rnn, lstm]}\n")
    rnn, lstm = expand(load_study(path))
    assert (rnn.model.units, lstm.model.units) == (123, 57)
    assert model_size(rnn.model, rnn.data.input_shape).parameters == 19_936
    assert model_size(lstm.model, lstm.data.input_shape).parameters == 20_188


# Every run_key of the shipped studies, hashed, as computed before the budget existed.
SHIPPED_KEYS = {
    "grid": "37429e22c0dedcd5",
    "smoke": "72461dc872b5e680",
    "race": "0218ba68e47e0afa",
    "seed": "ea24a25d1f50c40d",
    "backends": "a7eea2070cfcdec6",
}
# Settings a shipped study has changed since its hash was taken, set back to that time's: the
# smoke study was 8,192 images at learning rate 1e-3, and had 3-layer configurations, until
# 2026-12-04.
SETTINGS_AT_THE_HASH = {
    "smoke": [
        "data.train_size=8192",
        "training.learning_rate=1.0e-3",
        "grid.layers=[1, 2, 3]",
    ]
}


@pytest.mark.parametrize("name", sorted(SHIPPED_KEYS))
def test_studies_that_name_units_keep_their_run_keys(name):
    study = load_study(ROOT / f"studies/{name}.yaml", overrides=SETTINGS_AT_THE_HASH.get(name, []))
    keys = " ".join(spec.run_key for spec in expand(study))
    assert hashlib.sha256(keys.encode()).hexdigest()[:16] == SHIPPED_KEYS[name]


def test_a_budget_joins_the_run_key_when_named(tmp_path):
    """The budget's run with 57 units and the 57-unit run compute the same model, but one was
    chosen by a budget: they are two results, never one counted twice."""
    (by_budget,) = expand(load_study(_study(tmp_path, "grid: {params: [20000]}\n")))
    (by_units,) = expand(load_study(_study(tmp_path, "grid: {units: [57]}\n")))
    assert by_budget.model.units == by_units.model.units == 57
    assert by_budget.run_key != by_units.run_key
    assert by_budget.label == "lstm-uni-1L-s0"  # one budget: not a varied factor


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("grid: {params: [20000], units: [8, 16]}\n", "grid.params and grid.units"),
        ("model: {units: 8}\ngrid: {params: [20000, 80000]}\n", "grid.params and model.units"),
        ("model: {params: 20000}\ngrid: {units: [8]}\n", "model.params and grid.units"),
    ],
)
def test_a_budget_and_units_together_are_refused(tmp_path, text, named):
    with pytest.raises(StudyError) as refused:
        load_study(_study(tmp_path, text))
    assert f"{named}: a parameter budget (params) chooses each configuration's units" in str(
        refused.value
    )


def test_a_search_varies_units_not_a_budget(tmp_path):
    text = "search: {space: {params: {low: 1000, high: 9000}}}\n"
    with pytest.raises(StudyError, match=r"search\.space\.params: unknown parameter"):
        load_study(_study(tmp_path, text))


def test_the_cli_refuses_both_in_one_line_and_writes_nothing(tmp_path):
    path = _study(tmp_path, "grid: {params: [20000]}\n")
    before = snapshot(tmp_path)
    result = run_cli(path, "--set", "model.units=8", cwd=tmp_path)
    assert_refused(result, "grid.params and model.units", "remove model.units")
    assert snapshot(tmp_path) == before


def test_the_dry_run_shows_each_configurations_units_and_count(tmp_path):
    path = _study(
        tmp_path, "data: {train_size: 256}\ngrid: {params: [20000], cell: [simple_rnn, lstm]}\n"
    )
    result = run_cli(path, "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "│" in line}
    cells = [c.strip() for c in rows["simple_rnn-uni-1L-s0"].split("│")]
    assert cells[4:6] == ["123", "19,936"]
    cells = [c.strip() for c in rows["lstm-uni-1L-s0"].split("│")]
    assert cells[4:6] == ["57", "20,188"]


@pytest.mark.slow
def test_a_budget_run_records_its_budget_units_and_count(tmp_path, write_study):
    """Two budgets of a tiny GRU (Keras 3's, two bias vectors per gate): 3 x (u x (28 + u)
    + 2u) + 10u + 10 = 3u^2 + 100u + 10 weights. At 1,000: u = 7 gives 857, u = 8 1,002, so
    8. At 3,000: u = 19 gives 2,993, u = 20 3,210, so 19."""
    study = {"grid": {"cell": ["gru"], "bidirectional": [False], "params": [1000, 3000]}}
    path = write_study({**FAST, **study})
    raw = yaml.safe_load(path.read_text())
    raw["model"].pop("units")  # the tiny study names units; a budget replaces them
    path.write_text(yaml.safe_dump(raw))
    result = run_cli(path, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    runs = child_runs(store_client(tmp_path))
    recorded = {
        (r.data.params["params"], r.data.params["units"], r.data.metrics["param_count"])
        for r in runs
    }
    assert recorded == {("1000", "8", 1002.0), ("3000", "19", 2993.0)}
    assert {r.info.run_name for r in runs} == {
        "gru-uni-1L-params=1000-s0",
        "gru-uni-1L-params=3000-s0",
    }


def test_a_study_without_a_budget_records_no_budget_param():
    """The run's MLflow params of a units study are what they were: no 'params' key."""
    from suite.record.run_content import run_params

    for spec in itertools.islice(expand(load_study(ROOT / "studies/smoke.yaml")), 3):
        assert "params" not in run_params(spec) and run_params(spec)["units"] == 32


def test_a_budget_below_the_smallest_model_is_refused(tmp_path):
    """At one unit an LSTM has 4 + 126 + 10 = 140 weights and a GRU 3 + 100 + 10 = 113 (the
    formulas above): a budget of 100 fits neither, 120 only the GRU."""
    path = _study(tmp_path, "grid: {params: [100, 120, 20000], cell: [lstm, gru]}\n")
    with pytest.raises(StudyError) as refused:
        load_study(path)
    assert refused.value.problems == [
        "grid.params: a budget of 100 weights is below the smallest lstm-uni-1L (140 weights"
        " at 1 unit per direction); give at least 140",
        "grid.params: a budget of 100 weights is below the smallest gru-uni-1L (113 weights"
        " at 1 unit per direction); give at least 113",
        "grid.params: a budget of 120 weights is below the smallest lstm-uni-1L (140 weights"
        " at 1 unit per direction); give at least 140",
    ]


def test_a_budget_beside_another_bad_value_names_that_value(tmp_path):
    """The budget's units are sized only on a valid grid: a bad cell is named, not raised."""
    path = _study(tmp_path, "grid: {params: [20000], cell: [lstm, transformer]}\n")
    with pytest.raises(StudyError) as refused:
        load_study(path)
    assert refused.value.problems == [
        "grid.cell[1]: input should be 'simple_rnn', 'lstm' or 'gru', got 'transformer'"
    ]
