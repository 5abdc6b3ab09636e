"""One computation, one run_key; a study reads only its own runs.

A run_key hashes what changes the result, the backend included unless it is TensorFlow: the
expected keys are computed here by hand from the payload, not by the code under test. The
record and report cases use real MLflow stores of synthetic runs with chosen keys and tags.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from suite.study.file import load_study
from suite.study.grid import expand
from suite.study.run_spec import RunSpec
from tests.conftest import make_spec, report_cli, run_cli, snapshot, store_uri, study_file
from tests.helpers.report_helpers import html_tables
from tests.helpers.synthetic_store import SyntheticRun, make_store


def model_payload(spec: RunSpec) -> dict:
    """The model section as the key hashes it: a parameter budget only where one is named."""
    dumped = spec.model.model_dump(mode="json")
    return {k: v for k, v in dumped.items() if not (k == "params" and v is None)}


MNIST_DATA_FIELDS = {"view", "validation", "validation_size", "train_size", "test_size"}
MNIST_DATA_FIELDS |= {"permutation_seed"}


def hand_key(spec: RunSpec, backend: str | None) -> str:
    """The run_key's definition written out: sha256 of the canonical JSON payload."""
    payload = {
        "version": 1,
        # MNIST's fields, as the data section had them before other data existed.
        "data": spec.data.model_dump(mode="json", include=MNIST_DATA_FIELDS),
        "model": model_payload(spec),
        "training": spec.training.model_dump(mode="json", exclude={"execution"}),
        "seed": spec.seed,
    }
    if backend is not None:
        payload["backend"] = backend
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def test_naming_the_default_backend_keeps_the_run_key():
    unnamed, named = make_spec(cell="gru"), make_spec(cell="gru", backend="tensorflow")
    assert unnamed.run_key == named.run_key == hand_key(unnamed, None)
    # The key it had when the axis named it, read as the same computation's.
    assert named.former_run_keys == (hand_key(named, "tensorflow"),)
    assert unnamed.former_run_keys == ()


def test_runs_on_other_backends_never_share_a_tensorflow_key(write_study, monkeypatch):
    tensorflow = make_spec(cell="gru", bidirectional=False)
    jax = make_spec(cell="gru", bidirectional=False, backend="jax")
    assert jax.run_key == hand_key(jax, "jax") != tensorflow.run_key
    # KERAS_BACKEND=jax without the axis computes on JAX: the axis's JAX key, not TensorFlow's.
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    (spec,) = expand(load_study(write_study({"grid": {"cell": ["gru"], "bidirectional": [False]}})))
    assert spec.keras_backend == "jax" and spec.backend is None
    assert spec.run_key == hand_key(spec, "jax")
    monkeypatch.delenv("KERAS_BACKEND")
    (spec,) = expand(load_study(write_study({"grid": {"cell": ["gru"], "bidirectional": [False]}})))
    assert spec.run_key == hand_key(spec, None)


def test_a_bogus_keras_backend_is_one_line_and_nothing_written(tmp_path, write_study):
    path = write_study()
    for module in ("suite.run", "suite.report"):
        result = run_cli(path, cwd=tmp_path, module=module, env={"KERAS_BACKEND": "theano"})
        assert result.returncode == 2, result.stdout + result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "KERAS_BACKEND='theano'" in lines[0], result.stderr
        assert "tensorflow, jax, torch" in lines[0]
    assert not (tmp_path / "mlruns").exists()


GRU = {"cell": ["gru"], "bidirectional": [False]}


def classic_study(folder: Path, name: str, grid: dict, experiment: str | None = None) -> Path:
    """A study file of the classic setup (the synthetic runs' specs), stores under folder."""
    study: dict[str, Any] = {"name": name, "grid": grid}
    if experiment:
        study["experiment"] = experiment
    return study_file(folder, study, name=f"{name}.yaml", base={})


def test_a_run_recorded_with_the_backend_named_counts_once_under_either_form(tmp_path):
    """The same TensorFlow run recorded under the key the axis used to give (backend named)
    and under today's: a study with the axis named and one without both find it done, and
    the report counts one result, not two seeds."""
    uri = store_uri(tmp_path)
    former = make_spec(cell="gru", backend="tensorflow").former_run_keys[0]
    make_store(
        uri,
        [
            SyntheticRun("gru", False, 1, 0, 0.91, recorded_key=former, backend="tensorflow"),
            SyntheticRun("gru", False, 1, 0, 0.93, backend="tensorflow"),
        ],
        experiment="tiny",
        study="tiny",
    )
    for grid in (GRU, {**GRU, "backend": ["tensorflow"]}):
        path = classic_study(tmp_path, "tiny", grid)
        plan = run_cli(path, "--dry-run", cwd=tmp_path)
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert "│ done" in plan.stdout and "0 to train, 1 not" in plan.stdout, plan.stdout
    report = report_cli(path, "--out", tmp_path / "tiny.html", "--no-log", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    with (tmp_path / "tiny-leaderboard.csv").open() as board:
        (row,) = list(csv.DictReader(board))
    assert row["seeds"] == "1"


def test_a_run_computed_on_another_backend_is_not_this_studys_result(tmp_path):
    """A JAX run recorded under the TensorFlow key (KERAS_BACKEND=jax before keys named the
    backend): not done for the TensorFlow study, and left out of its report."""
    uri = store_uri(tmp_path)
    make_store(uri, [SyntheticRun("gru", False, 1, 0, 0.9, computed_on="jax")], experiment="tiny")
    path = classic_study(tmp_path, "tiny", GRU)
    before = snapshot(tmp_path / "mlruns")
    plan = run_cli(path, "--dry-run", cwd=tmp_path)
    assert "│ to do" in plan.stdout and "1 to train, 0 not" in plan.stdout, plan.stdout
    report = report_cli(path, "--out", tmp_path / "r.html", "--no-log", cwd=tmp_path)
    assert report.returncode == 1
    assert "which holds 1 run of other studies (or of another KERAS_BACKEND)" in report.stderr
    assert snapshot(tmp_path / "mlruns") == before


def test_two_studies_sharing_an_experiment_each_report_only_their_own(tmp_path):
    uri = store_uri(tmp_path)
    gru = [SyntheticRun("gru", False, 1, seed, 0.90 + 0.01 * seed) for seed in (0, 1)]
    lstm = [SyntheticRun("lstm", False, 1, seed, 0.97 + 0.01 * seed) for seed in (0, 1)]
    make_store(uri, gru, experiment="shared", study="a")
    make_store(uri, lstm, experiment="shared", study="b")
    grid = {"bidirectional": [False], "seed": [0, 1]}
    for name, cell, accuracies in (("a", "gru", (0.90, 0.91)), ("b", "lstm", (0.97, 0.98))):
        path = classic_study(tmp_path, name, {**grid, "cell": [cell]}, experiment="shared")
        out = tmp_path / f"{name}.html"
        report = report_cli(path, "--out", out, "--no-log", cwd=tmp_path)
        assert report.returncode == 0, report.stderr
        runs = html_tables(out)
        overview = dict(runs[f"{name}-overview"][1:])
        assert overview["other runs in the experiment (left out)"].startswith("2 ")
        assert overview["finished"] == "2"
        with (tmp_path / f"{name}-leaderboard.csv").open() as board:
            (row,) = list(csv.DictReader(board))
        assert row["configuration"] == f"{cell}-uni-1L" and row["seeds"] == "2"
        # The mean of this study's two seeds alone (another study's seeds would move it).
        assert float(row["test accuracy (mean)"]) == pytest.approx(sum(accuracies) / 2)


def test_the_report_of_a_deleted_experiment_says_how_to_restore_it(tmp_path):
    uri = store_uri(tmp_path)
    make_store(uri, [SyntheticRun("gru", False, 1, 0, 0.9)], experiment="tiny")
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("tiny")
    client.delete_experiment(experiment.experiment_id)
    path = classic_study(tmp_path, "tiny", GRU)
    report = report_cli(path, "--out", tmp_path / "tiny.html", "--no-log", cwd=tmp_path)
    assert report.returncode == 1
    (line,) = report.stderr.strip().splitlines()
    assert "'tiny' is deleted; restore it (mlflow experiments restore --experiment-id" in line
    assert "train the study first" not in line


def test_a_study_trained_under_keras_backend_is_reported_on_that_backend(tmp_path):
    """Trained with KERAS_BACKEND=torch and no axis, reported without it: the report finds
    the study's runs on the one backend they computed on; told TensorFlow, it finds none."""
    uri = store_uri(tmp_path)
    on_torch = make_spec(cell="gru", backend="torch").run_key
    make_store(
        uri,
        [SyntheticRun("gru", False, 1, 0, 0.9, recorded_key=on_torch, computed_on="torch")],
        experiment="tiny",
    )
    path = classic_study(tmp_path, "tiny", GRU)
    report = report_cli(path, "--out", tmp_path / "tiny.html", "--no-log", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    overview = dict(html_tables(tmp_path / "tiny.html")["tiny-overview"][1:])
    assert overview["finished"] == "1" and overview["backend"] == "torch"
    told = run_cli(
        path,
        "--out",
        tmp_path / "tf.html",
        "--no-log",
        cwd=tmp_path,
        module="suite.report",
        env={"KERAS_BACKEND": "tensorflow"},
    )
    assert told.returncode == 1 and "another KERAS_BACKEND" in told.stderr
