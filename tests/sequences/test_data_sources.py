"""Sequences other than MNIST through the real CLI: a user's file trains, is recorded with its
content hash and classes, is never trained twice, and gets new runs once edited; bad data is
one line, exit 2, nothing written; MNIST's run_keys are pinned in
tests/study/test_param_budget.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from suite.sequences import SequenceError
from tests.conftest import (
    FAST,
    assert_refused,
    child_runs,
    deep_merge,
    report_cli,
    run_cli,
    store_client,
    study_file,
    trials,
)

LABELS = np.array(["walk", "run", "sit"])


def write_npz(path: Path, *, nudge: float = 0.0) -> Path:
    """60 training and 15 test series of 2 channels, 4 to 8 steps (NaN after), labels as text."""
    rng = np.random.default_rng(7)

    def split(cases: int) -> tuple[np.ndarray, np.ndarray]:
        y = LABELS[np.arange(cases) % 3]
        x = rng.normal(size=(cases, 8, 2)) + (np.arange(cases) % 3)[:, None, None]
        for case in range(cases):
            x[case, 4 + case % 5 :, :] = np.nan
        return x, y

    (x_train, y_train), (x_test, y_test) = split(60), split(15)
    x_train[0, 0, 0] += nudge
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def write_study(folder: Path, data: dict, **changes) -> Path:
    study = {
        "name": "own",
        "data": data,
        "model": {"units": 4},
        "training": {"epochs": 2, "batch_size": 16},
        "grid": {"cell": ["gru"], "bidirectional": [False, True]},
        "tracking": {"log_model": False},
    }
    return study_file(folder, deep_merge(deep_merge(study, FAST), changes), base={})


@pytest.mark.slow
def test_a_users_file_trains_is_recorded_and_an_edit_gets_new_runs(tmp_path):
    data = write_npz(tmp_path / "moves.npz")
    study = write_study(tmp_path, {"file": "moves.npz"})  # relative: read from the cwd
    first = run_cli(study, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    client = store_client(tmp_path)
    runs = child_runs(client, "own")
    assert len(runs) == 2 and {r.info.status for r in runs} == {"FINISHED"}
    run = runs[0]
    assert run.data.params["dataset"] == "moves" and run.data.params["classes"] == "3"
    assert run.data.params["task"] == "classification"
    recorded = json.loads(Path(client.download_artifacts(run.info.run_id, "data.json")).read_text())
    assert recorded["classes"] == ["run", "sit", "walk"]  # sorted as text
    assert recorded["cases"] == {"train": 48, "validation": 12, "test": 15}  # 20% held out
    assert (recorded["min_length"], recorded["max_length"]) == (4, 8)
    inputs = run.inputs.dataset_inputs
    assert sorted(i.dataset.name for i in inputs) == [
        "moves-test",
        "moves-train",
        "moves-validation",
    ]
    digests = {tag.value for i in inputs for tag in i.tags if tag.key == "content_digest"}
    assert digests == {recorded["digest"]}
    assert run.data.metrics["test_accuracy"] * 15 == pytest.approx(
        round(run.data.metrics["test_accuracy"] * 15)
    )

    again = run_cli(study, cwd=tmp_path)
    assert again.returncode == 0 and "nothing to train" in again.stdout, again.stdout

    write_npz(data, nudge=0.5)  # one value edited: another content, other run_keys
    edited = run_cli(study, cwd=tmp_path)
    assert edited.returncode == 0, edited.stdout + edited.stderr
    keys = {r.data.tags["run_key"] for r in child_runs(client, "own")}
    assert len(keys) == 4


def _object_npz(path: Path) -> None:
    np.savez(path, x_train=np.array([[1.0], "a"], dtype=object), y_train=np.array([0, 1]))


def _nan_inside(path: Path) -> None:
    x = np.ones((20, 5, 1))
    x[3, 1, 0] = np.nan  # a gap before the series' end
    np.savez(path, x_train=x, y_train=np.arange(20) % 2)


def _one_class(path: Path) -> None:
    np.savez(path, x_train=np.ones((20, 5, 1)), y_train=np.zeros(20, dtype=int))


def _larger_than_memory(path: Path) -> None:
    """A sparse file as large as all the memory available: no disk is used, and only its size
    (os.stat) is read before it is refused."""
    import psutil

    with path.open("wb") as handle:
        handle.truncate(psutil.virtual_memory().available)


def _constant_target(path: Path) -> None:
    np.savez(path, x_train=np.ones((20, 5, 1)), y_train=np.full(20, 2.5))


BAD_DATA = {
    "missing file": (None, {"file": "absent.npz"}, "absent.npz"),
    "object array": (_object_npz, {"file": "bad.npz"}, "pickle"),
    "NaN inside a series": (_nan_inside, {"file": "bad.npz"}, "fill_missing"),
    "one class": (_one_class, {"file": "bad.npz"}, "class"),
    "unknown archive": (None, {"archive": "NoSuchSet"}, "JapaneseVowels"),
    "larger than memory": (_larger_than_memory, {"file": "bad.npz"}, "of memory available"),
    "MNIST's view beside an archive": (
        None,
        {"archive": "GunPoint", "view": "pixels"},
        "view only applies to MNIST",
    ),
    "a target that never varies": (_constant_target, {"file": "bad.npz"}, "targets that vary"),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_data_is_one_line_and_nothing_is_written(tmp_path, case):
    make, data, needle = BAD_DATA[case]
    if make is not None:
        make(tmp_path / "bad.npz")
    study = write_study(tmp_path, data)
    result = run_cli(study, cwd=tmp_path)
    assert_refused(result, "study.yaml: data", needle)
    assert not (tmp_path / "mlruns").exists()


def test_a_dry_run_describes_each_dataset(tmp_path):
    study = write_study(tmp_path, {"archive": "japanesevowels"})  # any case
    result = run_cli(study, "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "data: JapaneseVowels (archive): 216/54/370 cases (train/validation/test), length 7-29,"
        " 12 channels, 9 classes" in " ".join(result.stdout.split())
    )
    assert not (tmp_path / "mlruns").exists()


def test_the_size_limit_is_a_quarter_of_the_memory_available():
    from suite.sequences.read import refuse_too_large

    refuse_too_large("a.npz", 250, available=1000)  # exactly a quarter: read
    with pytest.raises(SequenceError, match=r"^a\.npz: is 0\.0 GiB, more than a quarter"):
        refuse_too_large("a.npz", 251, available=1000)


def write_regression_npz(path: Path) -> Path:
    """80 training and 20 test series of 6 steps, 1 channel; the target is each series' mean
    plus 10.25: non-whole numbers, so the task is read as regression."""
    rng = np.random.default_rng(3)
    x_train, x_test = rng.normal(size=(80, 6, 1)), rng.normal(size=(20, 6, 1))
    y_train, y_test = x_train.mean(axis=(1, 2)) + 10.25, x_test.mean(axis=(1, 2)) + 10.25
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


@pytest.mark.slow
def test_a_regression_target_trains_on_rmse_and_is_recorded_so(tmp_path):
    write_regression_npz(tmp_path / "level.npz")
    study = write_study(tmp_path, {"file": "level.npz"}, training={"epochs": 3})
    first = run_cli(study, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    out = " ".join(first.stdout.split())
    assert "the target holds non-whole numbers: treated as regression" in out
    assert "val RMSE" in out and "test RMSE" in out and "accuracy" not in out
    client = store_client(tmp_path)
    runs = child_runs(client, "own")
    assert len(runs) == 2 and {r.info.status for r in runs} == {"FINISHED"}
    for run in runs:
        metrics, params = run.data.metrics, run.data.params
        assert params["task"] == "regression" and "classes" not in params
        assert "test_accuracy" not in metrics and "best_val_accuracy" not in metrics
        curve = [m.value for m in client.get_metric_history(run.info.run_id, "val_rmse")]
        assert len(curve) == 3 and {"rmse", "val_loss"} <= set(metrics)
        # Lower is better: the best epoch is numpy's argmin, the value its minimum.
        assert metrics["best_val_rmse"] == min(curve)
        assert metrics["best_epoch"] == int(np.argmin(curve)) + 1
        assert metrics["test_loss"] == pytest.approx(metrics["test_rmse"] ** 2, rel=1e-12)
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert "confusion_matrix.json" not in artifacts
    journal = trials(tmp_path, "own")
    assert {t.value for t in journal} == {r.data.metrics["best_val_rmse"] for r in runs}
    again = run_cli(study, cwd=tmp_path)
    assert again.returncode == 0 and "nothing to train" in again.stdout


def test_a_report_whose_data_file_is_gone_names_the_way_to_report_anyway(tmp_path):
    """The grid's run_keys hold the data's content, so a study file whose data has vanished
    cannot pick out its runs: refused in one line that names --experiment, which reports
    what MLflow recorded without reading the data."""
    (tmp_path / "s.yaml").write_text("name: h\ndata: {file: gone.npz}\ngrid: {cell: [gru]}\n")
    result = report_cli("s.yaml", cwd=tmp_path)
    assert_refused(result, "gone.npz: no such file", "python -m suite.report --experiment NAME")
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "reports").exists()
