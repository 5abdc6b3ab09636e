"""The study runner end to end through the CLI, against a real SQLite MLflow store and a real
Optuna journal file under tmp_path."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from suite.study.file import load_study
from suite.study.grid import expand
from suite.train.data import bundled_mnist_path
from tests.conftest import (
    FAST,
    child_runs,
    deep_merge,
    mlflow_variables_kept,
    report_cli,
    run_cli,
    start_cli,
    store_client,
    store_uri,
    trials,
    with_logged_model,
)
from tests.helpers.report_helpers import html_tables
from tests.helpers.warm_cli import WarmProcess

CURVE_NAMES = ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_seconds")


def assert_tracked(client: MlflowClient, run, spec, parent_id: str, root: Path) -> None:
    """One training run of the tiny study as the suite records it: tags, how it executed,
    params, one curve point per epoch, final metrics, artifacts, datasets and its config."""
    name = run.info.run_name
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.parentRunId"] == parent_id
    tags = run.data.tags
    assert tags["run_key"] == spec.run_key
    assert (tags["study"], tags["cell"], tags["depth"], tags["seed"]) == ("tiny", "gru", "1", "0")
    assert tags["direction"] == ("bidirectional" if "-bi-" in name else "unidirectional")
    assert tags["env.backend"] == "tensorflow" and tags["env.keras"].startswith("3.")
    assert tags["env.device"].startswith(("CPU", "GPU"))
    # How it executed: 128 images x 2 epochs is far too small to unroll; validation (64
    # images) in one batch; Keras's "auto" jit resolves to off on a TensorFlow CPU.
    assert (tags["exec.mode"], tags["exec.kernel"], tags["exec.unroll"]) == (
        "fast",
        "loop",
        "false",
    )
    assert tags["exec.validation_batch_size"] == "64" and tags["exec.jit"] == "false"
    assert tags["exec.steps_per_execution"] == "1" and tags["exec.backend"] == "tensorflow"
    params = run.data.params
    assert params["cell"] == "gru" and params["units"] == "4" and params["epochs"] == "2"
    assert params["train_size"] == "128" and params["validation"] == "holdout"
    assert params["bidirectional"] == str("-bi-" in name)
    for curve in CURVE_NAMES:
        history = client.get_metric_history(run.info.run_id, curve)
        assert sorted(m.step for m in history) == [1, 2], curve  # epochs from 1
    metrics = run.data.metrics
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert metrics["best_epoch"] in (1.0, 2.0) and metrics["epochs_trained"] == 2.0
    directions = 2 if "-bi-" in name else 1
    gru = 3 * (4 * (28 + 4) + 8)
    assert metrics["param_count"] == directions * gru + directions * 4 * 10 + 10
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {
        "config.json",
        "model_summary.txt",
        "curves",
        "confusion_matrix.json",
        "confusion_matrix.png",
    } <= artifacts
    inputs = {d.dataset.name: {t.key: t.value for t in d.tags} for d in run.inputs.dataset_inputs}
    assert set(inputs) == {"mnist-rows-train", "mnist-rows-validation", "mnist-rows-test"}
    contexts = {dataset: given["mlflow.data.context"] for dataset, given in inputs.items()}
    assert contexts["mnist-rows-train"] == "training"
    assert contexts["mnist-rows-test"] == "testing"
    assert {dataset: given["mnist_slice"] for dataset, given in inputs.items()} == {
        "mnist-rows-train": "train[0:128]",
        "mnist-rows-validation": "train[59936:60000]",
        "mnist-rows-test": "test[0:64]",
    }
    curves = {a.path for a in client.list_artifacts(run.info.run_id, "curves")}
    assert curves == {"curves/loss.png", "curves/accuracy.png"}
    config = client.download_artifacts(run.info.run_id, "config.json", str(root))
    config = json.loads(Path(config).read_text())
    assert config["run_key"] == spec.run_key and config["model"]["units"] == 4


def assert_models_logged(client: MlflowClient, runs: dict, root: Path) -> None:
    """One logged model per run, named by its label, linked to its final epoch's metrics."""
    experiment = client.get_experiment_by_name("tiny")
    with mlflow_variables_kept():  # the test's later commands: as a user's shell starts them
        mlflow.set_tracking_uri(store_uri(root))
        models = mlflow.search_logged_models(
            experiment_ids=[experiment.experiment_id], output_format="list"
        )
    assert {m.source_run_id for m in models} == {r.info.run_id for r in runs.values()}
    for model in models:
        run = next(r for r in runs.values() if r.info.run_id == model.source_run_id)
        assert model.name == run.info.run_name  # named by the run's label
        linked = {m.key: m for m in model.metrics}  # the final epoch's, not the first's
        assert linked["test_accuracy"].step == 2
        assert linked["test_accuracy"].value == run.data.metrics["test_accuracy"]
        assert linked["val_accuracy"].value == run.data.metrics["val_accuracy"]
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"


@pytest.mark.slow
def test_a_grid_over_a_float_logs_each_runs_model(tmp_path, write_study):
    """A label that names a float ("dropout=0.1") holds a '.', which MLflow refuses in a
    logged model's name: the run keeps its label, its model gets it with '_' for '.'."""
    path = write_study(
        {
            "grid": {"cell": ["gru"], "bidirectional": [False], "dropout": [0.1, 0.25]},
            "tracking": FAST["tracking"] | {"log_model": True},
        }
    )
    result = run_cli(path, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    runs = child_runs(store_client(tmp_path))
    assert sorted(r.info.run_name for r in runs) == [
        "gru-uni-1L-dropout=0.1-s0",
        "gru-uni-1L-dropout=0.25-s0",
    ]
    mlflow.set_tracking_uri(store_uri(tmp_path))
    experiment = store_client(tmp_path).get_experiment_by_name("tiny").experiment_id
    models = mlflow.search_logged_models(experiment_ids=[experiment], output_format="list")
    assert sorted(m.name for m in models) == [
        "gru-uni-1L-dropout=0_1-s0",
        "gru-uni-1L-dropout=0_25-s0",
    ]


def assert_queue_matches_record(done: list, runs: dict) -> None:
    """Each run a COMPLETE trial holding its run id, run_key and best validation accuracy."""
    assert [t.state for t in done] == [TrialState.COMPLETE] * 2
    by_run = {t.user_attrs["mlflow_run_id"]: t for t in done}
    for run in runs.values():
        trial = by_run[run.info.run_id]
        assert trial.user_attrs["run_key"] == run.data.tags["run_key"]
        assert trial.value == pytest.approx(run.data.metrics["best_val_accuracy"])
        assert run.data.tags["optuna_trial"] == str(trial.number)
        assert trial.params == {"bidirectional": "-bi-" in run.info.run_name}


def assert_the_database_file_holds_it_all(db: Path, scratch: Path) -> None:
    """The store runs in SQLite's write-ahead-log mode (readers never block a run's writes),
    and the CLI folds the log back on its way out: the database file alone holds it all (it
    is copied before anything here opens it)."""
    alone = scratch / "mlflow.db"
    alone.parent.mkdir()
    shutil.copyfile(db, alone)
    with contextlib.closing(sqlite3.connect(db)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    copied_runs = child_runs(MlflowClient(f"sqlite:///{alone}"))
    assert sorted(r.info.status for r in copied_runs) == ["FINISHED", "FINISHED"]
    assert all("test_accuracy" in r.data.metrics for r in copied_runs)


def assert_report_reads_the_runs(path: Path, root: Path, done: list) -> None:
    """The report reads the real runs, their curves and the logged confusion matrices."""
    report = report_cli(path, "--out", root / "r.html", cwd=root)
    assert report.returncode == 0, report.stderr
    tables = html_tables(root / "r.html")
    assert {row[1] for row in tables["tiny-leaderboard"][1:]} == {"gru-uni-1L", "gru-bi-1L"}
    # One rule for "best": the report's best run is Optuna's best trial (or tied with it).
    best_run = dict(tables["tiny-best-run"][1:])["run"]
    best_value = max(t.value for t in done)
    assert best_run in {t.user_attrs["label"] for t in done if t.value == best_value}
    assert dict(tables["tiny-overview"][1:])["missing (not finished)"] == "0"
    page = (root / "r.html").read_text()
    assert (
        "Confusion matrix on the test set" in page
        and "No confusion matrix could be read" not in page
    )


@pytest.mark.slow
def test_study_end_to_end_then_resume_trains_nothing(tmp_path, trained_tiny, tiny_store):
    """The first run is trained_tiny's (write_study() trained once per session, in its own
    folder); the rest reads and resumes this test's copy of its store, in tmp_path."""
    first = trained_tiny.result
    assert "2 runs, 0 done before, 2 to train" in first.stdout
    assert "gru-uni-1L-s0" in first.stdout and "gru-bi-1L-s0" in first.stdout
    assert "oneDNN" not in first.stderr and "cuda drivers" not in first.stderr
    # Where the answer is: the report, and MLflow's UI on the experiment's training runs.
    assert f"next: python -m suite.report {trained_tiny.study}" in first.stdout
    db = trained_tiny.root / "mlruns" / "mlflow.db"
    assert f"mlflow ui --backend-store-uri sqlite:///{db}" in first.stdout
    assert "http://127.0.0.1:5000/#/experiments/1/runs?workflowType=machine_learning" in (
        first.stdout
    )
    assert_the_database_file_holds_it_all(db, tmp_path / "copy")

    path = tiny_store
    client = store_client(tmp_path)
    (parent,) = client.search_runs(
        [client.get_experiment_by_name("tiny").experiment_id],
        filter_string="tags.suite_role = 'study'",
    )
    assert parent.info.status == "FINISHED" and parent.info.run_name == "tiny"
    runs = {r.info.run_name: r for r in child_runs(client)}
    assert set(runs) == {"gru-uni-1L-s0", "gru-bi-1L-s0"}
    specs = {s.label: s for s in expand(load_study(path))}
    for name, run in runs.items():
        assert_tracked(client, run, specs[name], parent.info.run_id, tmp_path)
    assert_models_logged(client, runs, tmp_path)
    done = trials(tmp_path)
    assert_queue_matches_record(done, runs)

    second = run_cli(path, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "nothing to train" in second.stdout and "done before" in second.stdout
    assert len(child_runs(client)) == 2 and len(trials(tmp_path)) == 2

    plan = run_cli(path, "--dry-run", cwd=tmp_path)
    assert plan.returncode == 0 and plan.stdout.count(" done ") == 2
    assert_report_reads_the_runs(path, tmp_path, done)


@pytest.mark.slow
def test_dry_run_writes_nothing(tmp_path, write_study):
    result = run_cli(write_study(), "--dry-run", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("to do") == 2
    # Nothing finished yet: the estimate comes from timed steps of the largest run.
    assert "estimated time on this machine" in result.stdout
    assert "timed training steps of gru-bi-1L-s0" in result.stdout
    assert not (tmp_path / "mlruns").exists()


def wait_for_mid_training(client: MlflowClient, process: subprocess.Popen | WarmProcess) -> str:
    """Block until one run has finished and the next has logged an epoch; return that run."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        exp = client.get_experiment_by_name("tiny")
        if exp is not None:
            runs = child_runs(client)
            finished = [r for r in runs if r.info.status == "FINISHED"]
            running = [
                r
                for r in runs
                if r.info.status == "RUNNING"
                and client.get_metric_history(r.info.run_id, "val_accuracy")
            ]
            if finished and running:
                return running[0].info.run_id
        time.sleep(0.2)
    raise AssertionError("the study never reached its second run")


# Seconds each; no model logged nor system metrics sampled: only statuses are read. One
# worker needs two runs (one finished, one cut short); two workers four, so that one run has
# finished while another trains.
LONG_RUNS = {**FAST, "training": {"epochs": 40}, "grid": {"layers": [2]}}
LONG_RUNS_FOR_TWO = {**LONG_RUNS, "grid": {"layers": [1, 2]}}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("how", "workers"),
    [(signal.SIGINT, "1"), (signal.SIGKILL, "1"), (signal.SIGTERM, "2")],
    ids=["ctrl-c", "sigkill", "sigterm-to-the-workers-parent"],
)
def test_killed_run_is_retrained_and_finished_ones_are_not(tmp_path, write_study, how, workers):
    """SIGTERM to the parent of --workers alone (a job scheduler's kill) reaches its workers
    and ends as Ctrl-C does, within a bounded time."""
    path = write_study(LONG_RUNS if workers == "1" else LONG_RUNS_FOR_TWO)
    keys = {spec.run_key for spec in expand(load_study(path))}
    client = store_client(tmp_path)
    process = start_cli(path, "--workers", workers, cwd=tmp_path)
    victim = wait_for_mid_training(client, process)
    process.send_signal(how)
    _, stderr = process.communicate(timeout=60)
    finished_before = {
        r.data.tags["run_key"] for r in child_runs(client) if r.info.status == "FINISHED"
    }
    if how != signal.SIGKILL:
        assert process.returncode == 130, stderr
        assert "interrupted" in stderr and "Traceback" not in stderr
        assert client.get_run(victim).info.status == "KILLED"
        if workers == "1":  # the CLI names the run it cut short, as the record holds it
            label = client.get_run(victim).info.run_name
            assert f"interrupted: {label} is marked KILLED in MLflow" in stderr, stderr
        states = [t.state for t in trials(tmp_path)]
        assert TrialState.FAIL in states and TrialState.RUNNING not in states
    else:
        assert process.returncode == -signal.SIGKILL
        assert client.get_run(victim).info.status == "RUNNING"  # nobody could close it

    again = run_cli(path, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"{len(finished_before)} done before" in again.stdout
    assert client.get_run(victim).info.status == "KILLED"
    runs = child_runs(client)
    finished = [r.data.tags["run_key"] for r in runs if r.info.status == "FINISHED"]
    assert sorted(finished) == sorted(keys)
    victim_key = client.get_run(victim).data.tags["run_key"]
    assert victim_key in finished
    if workers == "1":  # with two, the other worker may retry it before its own stop arrives
        assert victim_key not in finished_before
    complete = [t for t in trials(tmp_path) if t.state == TrialState.COMPLETE]
    assert len(complete) == len(keys) and {t.user_attrs["run_key"] for t in complete} == keys


@pytest.mark.slow
def test_a_failed_run_does_not_stop_the_others(tmp_path, write_study):
    # 100,000 GRU units need a 120 GB weight tensor: TensorFlow fails that run at once (OOM).
    # (The memory check would refuse the study up front; turned off, the run fails as such.)
    grid = {"cell": ["gru"], "bidirectional": [False], "units": [100_000, 4]}
    path = write_study({**FAST, "grid": grid})
    result = run_cli(path, "--no-memory-check", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 run failed; its traceback is in MLflow" in result.stderr
    assert "Traceback" not in result.stderr
    client = store_client(tmp_path)
    runs = {r.data.params["units"]: r for r in child_runs(client)}
    assert runs["100000"].info.status == "FAILED"
    assert runs["4"].info.status == "FINISHED"
    error = Path(client.download_artifacts(runs["100000"].info.run_id, "error.txt", str(tmp_path)))
    assert "OOM" in error.read_text() or "ResourceExhausted" in error.read_text()
    failed = [t for t in trials(tmp_path) if t.state == TrialState.FAIL]
    assert len(failed) == 1 and "ResourceExhausted" in failed[0].user_attrs["failure"]

    again = run_cli(path, "--no-memory-check", cwd=tmp_path)  # retries the failed run only
    assert again.returncode == 1
    assert "1 done before, 1 to train" in again.stdout
    assert sum(r.info.status == "FINISHED" for r in child_runs(client)) == 1


@pytest.mark.slow
def test_the_jax_backend_runs_a_study(tmp_path, write_study):
    """The suite is Keras 3 only: on JAX (how it runs on GPU machines without TensorFlow)
    a study trains, tracks and logs its models the same way."""
    path = write_study({"name": "tiny"})
    result = subprocess.run(
        [sys.executable, "-m", "suite.run", str(path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "KERAS_BACKEND": "jax"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "oneDNN" not in result.stderr and "cuda drivers" not in result.stderr
    runs = child_runs(store_client(tmp_path))
    assert len(runs) == 2 and all(r.info.status == "FINISHED" for r in runs)
    assert {r.data.tags["env.backend"] for r in runs} == {"jax"}
    assert {r.data.tags["exec.kernel"] for r in runs} == {"loop"}  # lax.scan on the CPU
    assert {r.data.tags["exec.jit"] for r in runs} == {"true"}  # JAX always compiles the step
    for run in runs:
        history = store_client(tmp_path).get_metric_history(run.info.run_id, "val_accuracy")
        assert len(history) == 2
        assert run.data.metrics["param_count"] > 0


@pytest.mark.slow
def test_damaged_data_is_one_message_exit_2_and_nothing_written(tmp_path, write_study):
    damaged = tmp_path / "mnist.npz"
    with np.load(bundled_mnist_path()) as archive:
        arrays = {k: archive[k].copy() for k in archive.files}
    arrays["x_train"][0, 0, 0] ^= 1  # one pixel of one image
    np.savez(damaged, **arrays)
    result = run_cli(write_study(), cwd=tmp_path, env={"SUITE_MNIST": str(damaged)})
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "array x_train is damaged" in lines[0], result.stderr
    assert "unset SUITE_MNIST to read the bundled one" in lines[0]  # names the fix
    assert not (tmp_path / "mlruns").exists()  # no MLflow store, no queue


@pytest.mark.slow
def test_a_store_that_cannot_be_written_stops_the_study_once_with_exit_2(tmp_path, write_study):
    """The artifact folder's place is taken by a file: every run would fail the same way, so
    it is the setup's error (one line naming the store and the fix), not three failed runs."""
    (tmp_path / "mlruns").mkdir()
    (tmp_path / "mlruns" / "artifacts").write_text("not a folder")
    result = run_cli(write_study(), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Not a directory" in lines[0], result.stderr
    assert lines[0].startswith("error: tracking store sqlite:///") and "--tracking-uri" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert "failed in a row" not in result.stderr


THREE_BACKENDS = {
    "grid": {"cell": ["gru"], "bidirectional": [False], "backend": ["tensorflow", "jax", "torch"]},
    "tracking": {"log_model": False, "system_metrics": False},
}


def load_logged_model(root: Path, run_id: str, backend: str) -> list[str]:
    """Load the model that run `run_id` logged, in a fresh process on `backend`; what Keras
    reports: [its backend, the model's count_params()]."""
    return with_logged_model(
        root, run_id, backend, "print(keras.backend.backend(), m.count_params())"
    )[-2:]


@pytest.mark.slow
def test_one_study_trains_on_three_backends_in_one_invocation(tmp_path, write_study):
    """The backend as a grid axis: one run per backend, each trained in a process started on
    it, each its own result (run_key), its model logged and loaded back on its backend (the
    PyTorch one on the CPU build the dev extra installs); the report compares them like any
    other factor."""
    path = write_study(deep_merge(THREE_BACKENDS, {"tracking": {"log_model": True}}))
    result = run_cli(path, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 runs, 0 done before, 3 to train by 3 workers" in result.stdout
    runs = child_runs(store_client(tmp_path))
    assert len(runs) == 3 and all(r.info.status == "FINISHED" for r in runs)
    # Each run trained on the backend it names: Keras's own report of its backend, per run.
    assert {(r.data.params["backend"], r.data.tags["env.backend"]) for r in runs} == {
        (b, b) for b in ("tensorflow", "jax", "torch")
    }
    assert len({r.data.tags["run_key"] for r in runs}) == 3
    on_torch = next(r for r in runs if r.data.params["backend"] == "torch")
    assert on_torch.data.tags["exec.kernel"] == "loop"
    count = str(int(on_torch.data.metrics["param_count"]))
    assert load_logged_model(tmp_path, on_torch.info.run_id, "torch") == ["torch", count]
    again = run_cli(path, cwd=tmp_path)
    assert again.returncode == 0 and "3 done before, 0 to train" in again.stdout, again.stdout
    assert len(child_runs(store_client(tmp_path))) == 3

    report = run_cli(path, "--no-log", cwd=tmp_path, module="suite.report")
    assert report.returncode == 0, report.stdout + report.stderr
    with (tmp_path / "reports" / "tiny-leaderboard.csv").open() as board:
        rows = {row["backend"]: row for row in csv.DictReader(board)}  # a factor's column
    assert set(rows) == {"tensorflow", "jax", "torch"}
    kernels = {r.data.params["backend"]: r.data.tags["exec.kernel"] for r in runs}
    assert {b: row["kernel"] for b, row in rows.items()} == kernels  # which kernel each ran
    assert all(float(row["s / epoch"]) > 0 for row in rows.values())
    effects = (tmp_path / "reports" / "tiny-main-effects.csv").read_text()
    assert effects.count("backend,") == 3  # one main-effect row per backend


def import_hook(folder: Path, code: str) -> dict[str, str]:
    """The environment of a process that runs `code` at start-up (a sitecustomize module)."""
    hook = folder / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(code)
    return {"PYTHONPATH": f"{hook}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def test_a_backend_that_is_not_installed_is_refused_before_anything_is_written(
    tmp_path, write_study
):
    """torch made unimportable by a real import hook: the refusal names it and the install."""
    env = import_hook(
        tmp_path,
        "import sys\n"
        "class NoTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ModuleNotFoundError(name=name)\n"
        "sys.meta_path.insert(0, NoTorch())\n",
    )
    path = write_study(THREE_BACKENDS)
    result = run_cli(path, cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "backends not installed here: torch (pip install torch==2.13.0" in result.stderr
    assert not (tmp_path / "mlruns").exists()
    plan = run_cli(path, "--dry-run", cwd=tmp_path, env=env)
    assert plan.returncode == 0 and "note: backends not installed here: torch" in plan.stderr


def test_a_backend_installed_but_failing_to_import_is_refused_before_anything_is_written(
    tmp_path, write_study
):
    """jax found but broken at import (a real import hook): one line naming it and the error,
    rather than a worker that dies while the other backends' workers train."""
    env = import_hook(
        tmp_path,
        "import importlib.abc, importlib.machinery, sys\n"
        "class Broken(importlib.abc.Loader):\n"
        "    def create_module(self, spec):\n"
        "        return None\n"
        "    def exec_module(self, module):\n"
        "        raise RuntimeError('jaxlib is broken')\n"
        "class Finder:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'jax':\n"
        "            return importlib.machinery.ModuleSpec('jax', Broken())\n"
        "sys.meta_path.insert(0, Finder())\n",
    )
    path = write_study(THREE_BACKENDS)
    result = run_cli(path, cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "installed but failing to import: jax (RuntimeError: jaxlib is broken)" in line
    assert not (tmp_path / "mlruns").exists()


NOT_MNIST = {"archive", "file", "task", "fill_missing", "split_seed", "digest", "name"}


def test_a_study_without_the_backend_axis_keeps_its_run_keys(write_study):
    study = load_study(write_study({"grid": {"cell": ["gru"], "bidirectional": [False]}}))
    (spec,) = expand(study)
    assert spec.backend is None and "backend" not in spec.resolved()["model"]
    axis = {"grid": {"cell": ["gru"], "bidirectional": [False], "backend": ["jax"]}}
    with_axis = expand(load_study(write_study(axis)))
    assert with_axis[0].run_key != spec.run_key  # named, the backend is part of the identity
    # Without the axis, the payload is what it was before the axis existed: no backend in it.
    payload = {
        "version": 1,
        "data": spec.data.model_dump(mode="json", exclude=NOT_MNIST),  # as before other data
        "model": spec.model.model_dump(mode="json", exclude={"params"}),  # no budget named
        "training": spec.training.model_dump(mode="json", exclude={"execution"}),
        "seed": 0,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    assert spec.run_key == hashlib.sha256(canonical.encode()).hexdigest()[:16]
