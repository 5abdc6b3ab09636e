from __future__ import annotations

from pathlib import Path

import pytest

from suite.study.config import StudyError
from suite.study.file import load_study
from suite.study.grid import expand
from suite.study.grid_keys import GRID_SECTIONS

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_studies_expand_to_their_grids():
    grid = load_study(ROOT / "studies/grid.yaml")
    specs = expand(grid)
    assert len(specs) == 3 * 2 * 3 * 3
    assert {s.model.cell for s in specs} == {"simple_rnn", "lstm", "gru"}
    assert {s.seed for s in specs} == {0, 1, 2}
    assert all(s.model.units == 50 and s.model.dropout == 0.2 for s in specs)
    assert all(s.training.epochs == 10 and s.training.batch_size == 64 for s in specs)
    assert all(s.training.optimizer == "adam" and s.training.learning_rate == 1e-3 for s in specs)
    assert all(s.data.validation == "holdout" and s.data.validation_size == 10_000 for s in specs)
    assert len(expand(load_study(ROOT / "studies/smoke.yaml"))) == 12  # layers 1 and 2

    (seed,) = expand(load_study(ROOT / "studies/seed.yaml"))
    assert (seed.model.cell, seed.model.bidirectional, seed.model.layers) == ("lstm", True, 2)
    assert seed.data.validation == "test"


@pytest.mark.parametrize("path", sorted((ROOT / "studies").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_study_is_valid(path):
    """Each file under studies/ reads, data and all; the regression study compares by RMSE."""
    study = load_study(path)
    assert study.name == path.stem
    if path.stem == "tecator":
        assert study.task == "regression" and study.objective.metric == "val_rmse"
        assert {spec.measure.name for spec in expand(study)} == {"rmse"}


def test_minimal_study_uses_defaults_and_file_stem(tmp_path):
    path = tmp_path / "my study.yaml"
    path.write_text("grid: {cell: [lstm]}\n")
    study = load_study(path)
    (spec,) = expand(study)
    assert study.name == "my-study"
    assert study.experiment_name == "my-study"
    assert spec.seed == 0
    assert (spec.model.cell, spec.model.layers, spec.model.units) == ("lstm", 1, 50)
    assert spec.label == "lstm-uni-1L-s0"


def test_grid_expands_in_file_order_with_other_fields(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("grid: {units: [8, 16], learning_rate: [0.01, 0.001], view: [pixels]}\n")
    specs = expand(load_study(path))
    assert [(s.model.units, s.training.learning_rate) for s in specs] == [
        (8, 0.01),
        (8, 0.001),
        (16, 0.01),
        (16, 0.001),
    ]
    assert all(s.data.view == "pixels" and s.data.input_shape == (784, 1) for s in specs)
    assert specs[0].label == "lstm-uni-1L-units=8-learning_rate=0.01-s0"


def test_run_key_is_stable_and_changes_with_every_input(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("grid: {cell: [lstm], seed: [0, 1]}\n")
    a0, a1 = expand(load_study(path))
    again0, _ = expand(load_study(path))
    assert a0.run_key == again0.run_key and len(a0.run_key) == 16
    assert a0.run_key != a1.run_key
    renamed = expand(load_study(path, overrides=["name=other", "experiment=x"]))[0]
    assert renamed.run_key == a0.run_key  # labels are not inputs
    for override in [
        "training.epochs=3",
        "model.units=7",
        "data.train_size=100",
        "data.view=permuted",
        "training.optimizer=sgd",
    ]:
        changed = expand(load_study(path, overrides=[override]))[0]
        assert changed.run_key != a0.run_key, override


def test_override_sets_nested_keys_as_yaml(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("grid: {cell: [lstm]}\n")
    study = load_study(
        path, overrides=["training.early_stopping={patience: 2}", "grid.layers=[1,2]"]
    )
    assert study.training.early_stopping.patience == 2
    assert len(expand(study)) == 2


def test_grid_keys_cover_model_and_training_fields():
    assert {
        "cell",
        "bidirectional",
        "layers",
        "units",
        "dropout",
        "params",
        "epochs",
        "batch_size",
        "optimizer",
        "learning_rate",
        "seed",
        "view",
        "dataset",
        "archive",
        "file",
        "backend",
    } == set(GRID_SECTIONS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("grid: {cell: [lstm, transformer]}", "grid.cell[1]"),
        ("grid: {cell: [lstm]}\nmodel: {layers: 0}", "model.layers"),
        ("grid: {cell: [lstm]}\nmodel: {dropout: -0.1}", "model.dropout"),
        ("grid: {cell: [lstm]}\nmodle: {units: 3}", "modle: unknown key"),
        ("grid: {cell: [lstm]}\ndata: {train_size: 60000}", "train_size must be at most 50000"),
        ("grid: {cell: [lstm]}\ndata: {validation: test, validation_size: 5}", "validation_size"),
        ("grid: {cell: [lstm], layers: [1, 1]}", "grid.layers[1]: 1 is listed twice"),
    ],
)
def test_bad_values_name_their_key(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text + "\n")
    with pytest.raises(StudyError) as caught:
        load_study(path)
    assert expected in caught.value.message
    assert str(path) in caught.value.message


def test_several_problems_are_listed_together(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("grid: {cell: [lstm]}\nmodel: {layers: 0, units: -1}\n")
    with pytest.raises(StudyError) as caught:
        load_study(path)
    assert caught.value.problems[0].startswith("model.layers")
    assert caught.value.problems[1].startswith("model.units")
    assert "2 problems" in caught.value.message
