"""Bad study files through the real CLI: one clear message, exit 2, no traceback, no store."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli

GOOD_HEAD = "name: bad\ntracking: {uri: 'sqlite:///mlruns/mlflow.db'}\n"

BAD_FILES = {
    "unknown top-level key": (
        GOOD_HEAD + "grid: {cell: [lstm]}\nepochs: 3\n",
        "epochs: unknown key; allowed keys here: name, experiment",
    ),
    "unknown nested key": (
        GOOD_HEAD + "grid: {cell: [lstm]}\ntraining: {epoch: 3}\n",
        "training.epoch: unknown key; allowed keys here: epochs, batch_size",
    ),
    "wrong type": (
        GOOD_HEAD + "grid: {cell: [lstm]}\ntraining: {epochs: ten}\n",
        "training.epochs: input should be a valid integer",
    ),
    "unknown cell": (
        GOOD_HEAD + "grid: {cell: [lstm, transformer]}\n",
        "grid.cell[1]: input should be 'simple_rnn', 'lstm' or 'gru'",
    ),
    "unknown execution": (
        GOOD_HEAD + "grid: {cell: [lstm]}\ntraining: {execution: turbo}\n",
        "training.execution: input should be 'fast', 'plain' or 'fused', got 'turbo'",
    ),
    "the workers section under its old name": (
        GOOD_HEAD + "grid: {cell: [lstm]}\nexecution: {workers: 2}\n",
        "execution: renamed to workers (execution.workers is now workers.count)",
    ),
    "fused on tensorflow": (
        GOOD_HEAD + "grid: {cell: [lstm]}\ntraining: {execution: fused}\n",
        "training.execution: fused trains seeds together as one JAX program, but this process"
        " runs tensorflow: set KERAS_BACKEND=jax",
    ),
    "fused beside a tensorflow axis": (
        GOOD_HEAD + "grid: {cell: [lstm], backend: [jax, tensorflow]}\n"
        "training: {execution: fused}\n",
        "but grid.backend lists jax, tensorflow: set KERAS_BACKEND=jax",
    ),
    "fused with early stopping": (
        GOOD_HEAD + "grid: {cell: [lstm]}\ntraining: {execution: fused, early_stopping: {}}\n",
        "early stopping would end each at its own: remove training.early_stopping",
    ),
    "fused search": (
        GOOD_HEAD + "search: {n_trials: 2, space: {units: {low: 4, high: 8}}}\n"
        "training: {execution: fused}\n",
        "a search trains one point per trial: use training.execution: fast",
    ),
    "execution is no grid key": (
        GOOD_HEAD + "grid: {cell: [lstm], execution: [fast, plain]}\n",
        "grid.execution: unknown grid key",
    ),
    "too many workers": (
        GOOD_HEAD + "grid: {cell: [lstm]}\nworkers: {count: 1000}\n",
        "workers.count: workers must be a whole number from 1 to 64, or 'auto'",
    ),
    "workers not a number": (
        GOOD_HEAD + "grid: {cell: [lstm]}\nworkers: {count: many}\n",
        "workers.count: workers must be a whole number from 1 to 64, or 'auto' (one per"
        " core), got 'many'",
    ),
    "empty grid": (GOOD_HEAD + "grid: {}\n", "grid: empty"),
    "empty grid list": (GOOD_HEAD + "grid: {cell: []}\n", "grid.cell: empty list"),
    "no grid": (GOOD_HEAD, "grid: missing"),
    "layers 0": (
        GOOD_HEAD + "grid: {cell: [lstm], layers: [0, 1]}\n",
        "grid.layers[0]: input should be greater than or equal to 1",
    ),
    "negative dropout": (
        GOOD_HEAD + "grid: {cell: [lstm]}\nmodel: {dropout: -0.2}\n",
        "model.dropout: input should be greater than or equal to 0",
    ),
    "bad YAML syntax": (GOOD_HEAD + "grid: {cell: [lstm\n", "invalid YAML"),
    "unknown grid key": (
        GOOD_HEAD + "grid: {cells: [lstm]}\n",
        "grid.cells: unknown grid key; allowed keys: cell, bidirectional",
    ),
    "unknown view": (
        GOOD_HEAD + "grid: {cell: [lstm]}\ndata: {view: columns}\n",
        "data.view: input should be 'rows', 'pixels' or 'permuted'",
    ),
    "negative learning rate": (
        GOOD_HEAD + "grid: {cell: [lstm]}\ntraining: {learning_rate: -1}\n",
        "training.learning_rate: input should be greater than 0",
    ),
    "list at top level": ("- lstm\n- gru\n", "the top level must be a mapping"),
    "empty file": ("", "the file is empty"),
    "bad seed": (
        GOOD_HEAD + "grid: {cell: [lstm], seed: [0, -1]}\n",
        "grid.seed[1]: a seed must be a non-negative integer",
    ),
    # The value refused is shown once, even where pydantic's message already says "got".
    "fraction for a whole number": (
        GOOD_HEAD + "grid: {cell: [lstm]}\ndata: {validation_size: 0.5}\n",
        "data.validation_size: input should be a valid integer, got a number with a fractional"
        " part (0.5)\n",
    ),
    "fraction in a grid list": (
        GOOD_HEAD + "grid: {cell: [lstm], units: [8, 1.5]}\n",
        "got a number with a fractional part (1.5)\n",
    ),
    # Only keys a user may write are offered: not the digest the suite fills in itself.
    "unknown data key": (
        GOOD_HEAD + "grid: {cell: [lstm]}\ndata: {archive: GunPoint, colour: red}\n",
        "data.colour: unknown key; allowed keys here: archive, file, task, fill_missing,"
        " split_seed, view,",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_study_file_is_one_clear_message(tmp_path, case):
    text, expected = BAD_FILES[case]
    (tmp_path / "bad.yaml").write_text(text)
    result = run_cli("bad.yaml", cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr, result.stderr
    assert result.stderr.startswith("error: bad.yaml")
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "mlruns").exists(), "bad input must write nothing"


def test_missing_file_is_named(tmp_path):
    result = run_cli("studies/nope.yaml", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "error: studies/nope.yaml: no such file" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "mlruns").exists()


def test_bad_override_is_named(tmp_path):
    (tmp_path / "ok.yaml").write_text(GOOD_HEAD + "grid: {cell: [lstm]}\n")
    result = run_cli("ok.yaml", "--set", "training.epochs=0", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "training.epochs: input should be greater than 0, got 0" in result.stderr
    assert not (tmp_path / "mlruns").exists()
