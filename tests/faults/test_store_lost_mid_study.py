"""A store lost in the middle of a study: a tracking server that dies, a disk that fills, a
disk that turns read-only. Each ends the study within 60 s with one `error:` line (exit 2)
that names the store and says to run again; the next invocation, with the store back, leaves
no run RUNNING and trains each run to FINISHED exactly once.

The disk faults need a mount namespace of their own (see tests/helpers/store_fault_driver.py): as
root, util-linux's `unshare --mount`; otherwise inside a user namespace as well.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.conftest import FAST, ROOT, deep_merge, free_port, run_cli, start_cli
from tests.helpers.servers import mlflow_server

FAULT_STUDY = {"data": {"train_size": 1536}, "training": {"epochs": 5}, **FAST}
# With MLflow's system-metrics thread, whose requests to a lost server must stop too.
SERVER_STUDY = deep_merge(FAULT_STUDY, {"tracking": {"system_metrics": True}})
BOUND_SECONDS = 60  # the README's promise: a lost store is one line within this
RUN_KEYS = 2  # the tiny study's grid: gru uni and bi


def _one_error_line(output: str, *needles: str | tuple[str, ...], workers: int = 1) -> None:
    """One `error:` line (with --workers: the first worker's, relayed as `[wK] error: ...`;
    every worker met the same lost store) that holds each needle (a tuple: one of its
    wordings)."""
    lines = [line for line in output.splitlines() if "error" in line]
    assert len(lines) == 1, output
    if workers == 1:  # stderr holds that line alone: no library's report of the same failure
        assert len(output.strip().splitlines()) == 1, output
    for line in lines:
        assert line.startswith("error: " if workers == 1 else "["), output
        for needle in (*needles, "run the same command again"):
            wordings = needle if isinstance(needle, tuple) else (needle,)
            assert any(wording in line for wording in wordings), line


# A full disk in the OS's words (a file's write) or SQLite's (the database's).
FULL_DISK = ("No space left on device", "database or disk is full")


def _assert_recovered(
    after: list[list[str]], faulted_ended: set[str], *, run_keys: int = RUN_KEYS
) -> None:
    """No run RUNNING; each of `run_keys` FINISHED exactly once; the runs the fault hit ended
    as `faulted_ended` allows (a later invocation ended them from their trials' state)."""
    children = [(name, status, key) for name, status, key in after if key]
    assert not [row for row in after if row[1] == "RUNNING"], after
    finished = Counter(key for _, status, key in children if status == "FINISHED")
    assert len(finished) == run_keys and set(finished.values()) == {1}, after
    ended_badly = {status for _, status, _ in children if status != "FINISHED"}
    assert ended_badly == faulted_ended, after


@pytest.mark.parametrize(
    ("fault", "message", "faulted_ended", "workers"),
    [
        # The journal, on the same full disk, could not record the failure: the trial is a
        # dead worker's on the next invocation, and its run ends KILLED.
        ("full", FULL_DISK, {"KILLED"}, 1),
        ("full", FULL_DISK, {"KILLED"}, 2),
        ("readonly", "Read-only file system", {"FAILED"}, 1),
        # The queue's journal turned read-only: the trial cannot be told it failed, so it is
        # a dead worker's on the next invocation, and its run ends KILLED.
        ("queue-readonly", "Read-only file system", {"KILLED"}, 1),
    ],
)
def test_a_disk_that_fills_or_turns_read_only_mid_study(
    fault, message, faulted_ended, workers, tmp_path, write_study
):
    path = write_study(FAULT_STUDY)
    store = tmp_path / "mlruns"
    store.mkdir()
    namespace = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "-r", "--mount"]
    driver = [sys.executable, "-m", "tests.helpers.store_fault_driver", fault, str(path)]
    driver.append(str(store))
    driven = subprocess.run(
        [*namespace, *driver, "--workers", str(workers)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert driven.returncode == 0, driven.stderr[-3000:]
    result = json.loads(driven.stdout)
    first = result["first"]
    assert first["code"] == 2, first
    said = first["stderr"] if workers == 1 else first["stdout"]  # the parent relays on stdout
    _one_error_line(said, message, str(store / "mlflow.db"), workers=workers)
    if workers > 1:
        assert not first["stderr"].strip(), first["stderr"]
        assert "not started" not in said  # no table of a record the fault cut short
    assert result["ended_after"] < BOUND_SECONDS, result["ended_after"]
    assert "RUNNING" in [row[1] for row in result["before"] if row[2]]  # what it cut short
    assert result["again"]["code"] == 0, result["again"]
    _assert_recovered(result["after"], faulted_ended)


def _runs(db: Path) -> list[list[str]]:
    from tests.helpers.store_fault_driver import statuses

    return statuses(db)


# Each kind of study on a lost server: a grid (also with two workers), an Optuna search of
# two trials, a race of two seeds over the grid's two configurations.
SEARCH = {"n_trials": 2, "sampler": "random", "space": {"learning_rate": {"choices": [0.01, 0.02]}}}
STUDY_KINDS = {
    "grid": ({}, RUN_KEYS),
    "search": ({"grid": None, "search": SEARCH}, 2),
    "race": ({"race": {"min_seeds": 2, "max_seeds": 2}}, 2 * RUN_KEYS),
}


@pytest.mark.parametrize(
    ("kind", "workers"), [("grid", 1), ("grid", 2), ("search", 1), ("race", 1)]
)
def test_a_tracking_server_that_dies_mid_study(kind, workers, tmp_path, write_study):
    """The study ends with one line (with --workers 2: both workers end, the parent relays
    the first one's line, and neither spills a traceback), and the next invocation, with the
    server back on the same backend store, ends every run it cut short and trains each
    run_key once."""
    from tests.helpers.store_fault_driver import first_epoch_recorded

    changes, run_keys = STUDY_KINDS[kind]
    path = write_study(deep_merge(SERVER_STUDY, changes))
    db, port = tmp_path / "server" / "mlflow.db", free_port()
    db.parent.mkdir()
    backend, artifacts = f"sqlite:///{db}", tmp_path / "server" / "artifacts"
    study = yaml.safe_load(path.read_text())
    study["tracking"]["uri"] = f"http://127.0.0.1:{port}"
    path.write_text(yaml.safe_dump(study))
    several = ["--workers", str(workers)] if workers > 1 else []
    with mlflow_server(backend, artifacts, port=port):
        first = start_cli(path, *several, cwd=tmp_path)
        deadline = time.monotonic() + 300
        while not first_epoch_recorded(db):
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.2)
    died = time.monotonic()  # the block's end stopped the server
    out, err = first.communicate(timeout=600)
    assert time.monotonic() - died < BOUND_SECONDS
    assert first.returncode == 2, out + err
    said = err if workers == 1 else out  # the parent relays its workers' lines on stdout
    lost = (f"tracking store http://127.0.0.1:{port}", "Connection refused")
    _one_error_line(said, *lost, workers=workers)
    if workers > 1:
        assert not err.strip() and "Traceback" not in out, out + err
    with sqlite3.connect(db) as store:  # the server's own database, read while it is down
        left = store.execute("SELECT status FROM runs").fetchall()
    assert ("RUNNING",) in left  # what the lost server could not be told
    with mlflow_server(backend, artifacts, port=port):
        again = run_cli(path, *several, cwd=tmp_path, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    _assert_recovered(_runs(db), {"FAILED"}, run_keys=run_keys)


def test_a_tracking_database_locked_mid_study(tmp_path, write_study):
    """Another program holds the tracking database's write lock (a backup, a viewer in a
    transaction) mid-run: once MLflow's busy timeout is out the study stops with the suite's
    one line, without MLflow's own report of the same error and its tracebacks before it; with
    the lock gone, the next invocation ends the run the fault cut short and trains it again."""
    import sqlite3

    from tests.helpers.store_fault_driver import statuses

    path = write_study(FAULT_STUDY)
    db = tmp_path / "mlruns" / "mlflow.db"
    first = _started_past_its_first_epoch(path, db)
    holder = sqlite3.connect(db, isolation_level=None, timeout=30)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        locked = time.monotonic()
        out, err = first.communicate(timeout=300)
        ended_after = time.monotonic() - locked
    finally:
        holder.close()
    assert first.returncode == 2, out + err
    _one_error_line(err, "database is locked", str(db))
    assert "Traceback" not in err and "SQLAlchemy" not in err, err
    assert ended_after < BOUND_SECONDS, ended_after
    assert "RUNNING" in [status for _, status, key in statuses(db) if key]  # cut short

    again = run_cli(path, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    after = statuses(db)
    ended = {status for _, status, key in after if key and status != "FINISHED"}
    assert ended and ended <= {"KILLED", "FAILED"}, after  # the run cut short, ended
    _assert_recovered(after, ended)  # no run RUNNING, each run_key FINISHED exactly once


def test_the_artifact_folder_deleted_mid_study(tmp_path, write_study):
    """The local artifact folder deleted (or moved) while a run trains: MLflow's next write
    would make it again, and the run would end FINISHED without what it wrote first. The
    study stops with the store's one line instead, and the next invocation trains that run
    again, whole."""
    import shutil

    from tests.helpers.store_fault_driver import statuses

    path = write_study(FAULT_STUDY)
    db = tmp_path / "mlruns" / "mlflow.db"
    first = _started_past_its_first_epoch(path, db)
    shutil.rmtree(tmp_path / "mlruns" / "artifacts")
    out, err = first.communicate(timeout=300)
    assert first.returncode == 2, out + err
    _one_error_line(err, "artifacts are gone", str(db))
    assert "RUNNING" in [status for _, status, key in statuses(db) if key]  # cut short

    again = run_cli(path, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    _assert_recovered(statuses(db), {"FAILED"})
    configs = list((tmp_path / "mlruns" / "artifacts").glob("*/*/artifacts/config.json"))
    assert len(configs) == RUN_KEYS, configs  # each FINISHED run holds its config


def _started_past_its_first_epoch(study: Path, db: Path) -> subprocess.Popen[str]:
    """`python -m suite.run study` started, once its first epoch is in the record `db`."""
    from tests.helpers.store_fault_driver import first_epoch_recorded

    started = start_cli(study, cwd=db.parent.parent)
    deadline = time.monotonic() + 300
    while not first_epoch_recorded(db):
        assert started.poll() is None and time.monotonic() < deadline, started.communicate()
        time.sleep(0.05)
    return started
