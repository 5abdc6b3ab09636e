"""Hostile stores and names: each is refused with one line and exit 2, before anything is written.

Every case breaks a store the way a user can (a path in the way, a file that is not a
database, a server that is down or silent, a missing driver, a read-only disk, a deleted or
copied experiment, a damaged journal, a name that climbs out of the store) and checks three
things: exit status 2, one `error:` line that names the problem, and the files on disk exactly
as they were (SQLite's -wal/-shm side files aside: any reader of a WAL database makes them).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from suite.stores.optuna_storage import open_storage
from suite.study.file import load_study
from suite.worker.local_processes import worker_count
from tests.conftest import (
    FAST,
    assert_refused,
    finished_per_key,
    free_port,
    new_mlflow_db,
    once_each,
    run_cli,
    snapshot,
    start_cli,
)
from tests.helpers.servers import mlflow_server

STORE_FAULTS = {
    # name: (how to break the folder, extra CLI arguments, what the one line must say)
    "tracking file is not a database": (
        lambda d: (d / "x").mkdir() or (d / "x" / "mlflow.db").write_text("hello\n"),
        ["--tracking-uri", "sqlite:///x/mlflow.db"],
        ["x/mlflow.db is not an SQLite database", "--tracking-uri"],
    ),
    "tracking folder is a file": (
        lambda d: (d / "afile").write_text("hi\n"),
        ["--tracking-uri", "sqlite:///afile/mlflow.db"],
        ["afile is a file, not a folder"],
    ),
    "storage is a folder": (
        lambda d: (d / "sdir").mkdir(),
        ["--storage", "sdir"],
        ["Optuna storage sdir", "is a folder"],
    ),
    "storage folder is a file": (
        lambda d: (d / "afile").write_text("hi\n"),
        ["--storage", "afile/q.journal"],
        ["afile is a file, not a folder", "--storage"],
    ),
    "storage driver missing": (
        lambda d: None,
        ["--storage", "postgresql+pg8000://u:p@127.0.0.1/db"],
        ["driver (pg8000) is not installed", "pip install pg8000"],
    ),
    "tracking driver missing": (
        lambda d: None,
        ["--tracking-uri", "mysql://u:p@127.0.0.1/db"],
        ["driver (MySQLdb) is not installed"],
    ),
    "database server down": (
        lambda d: None,
        ["--storage", f"postgresql+psycopg2://u:p@127.0.0.1:{free_port()}/db"],
        ["cannot connect", "Connection refused"],
    ),
    "tracking server down": (
        lambda d: None,
        ["--tracking-uri", f"http://127.0.0.1:{free_port()}"],
        ["does not answer within 10 s", "Connection refused"],
    ),
    "unknown storage scheme": (
        lambda d: None,
        ["--storage", "redis://localhost/0"],
        ["unknown kind of storage"],
    ),
    "folder as tracking store": (
        lambda d: None,
        ["--tracking-uri", "mlruns_folder"],
        ["MLflow's file store", "sqlite:///"],
    ),
    "storage is MLflow's database": (
        lambda d: new_mlflow_db(d / "m.db"),  # the tables MLflow makes
        ["--storage", "sqlite:///m.db"],
        ["is a database but not an Optuna storage (it is an MLflow tracking store)"],
    ),
    "tracking store is Optuna's database": (
        lambda d: optuna.create_study(storage=f"sqlite:///{d / 'q.db'}"),
        ["--tracking-uri", "sqlite:///q.db"],
        ["is a database but not an MLflow tracking store (it is an Optuna storage)"],
    ),
    "SQLite storage with several workers": (
        lambda d: None,
        ["--workers", "2", "--storage", "sqlite:///q.db"],
        ["not safe for several workers"],
    ),
    "empty option": (lambda d: None, ["--storage", ""], ["--storage: empty"]),
    "a pipe as the journal": (
        lambda d: (d / "mlruns").mkdir() or os.mkfifo(d / "mlruns" / "optuna.journal"),
        [],
        ["is not a regular file"],
    ),
    "markup in a value": (
        lambda d: None,
        ["--set", 'tracking.uri="[/x]"'],
        ["tracking store [/x]:"],  # printed as written, not read as rich markup
    ),
}


@pytest.mark.parametrize("fault", list(STORE_FAULTS))
def test_a_store_that_cannot_be_used_is_one_line_exit_2_and_nothing_written(
    fault, tmp_path, write_study
):
    path = write_study(FAST)
    breaks, arguments, needles = STORE_FAULTS[fault]
    breaks(tmp_path)
    before = snapshot(tmp_path)
    for dry_run in ([], ["--dry-run"]):
        result = run_cli(path, *arguments, *dry_run, cwd=tmp_path, timeout=60)
        assert_refused(result, *needles)
        assert "Traceback" not in result.stdout + result.stderr
    assert snapshot(tmp_path) == before  # no journal, no database, no folder


def test_empty_files_stay_empty_and_a_plan_creates_no_database(tmp_path, write_study):
    """A 0-byte tracking file and a missing SQLite storage: --dry-run plans from them without
    writing MLflow's or Optuna's tables into either."""
    (tmp_path / "e.db").touch()
    path = write_study(FAST)
    arguments = ["--tracking-uri", "sqlite:///e.db", "--storage", "sqlite:///q.db", "--dry-run"]
    result = run_cli(path, *arguments, cwd=tmp_path)
    assert result.returncode == 0 and "2 to train, 0 not" in result.stdout, result.stderr
    assert (tmp_path / "e.db").stat().st_size == 0 and not (tmp_path / "q.db").exists()
    report = run_cli(path, "--tracking-uri", "sqlite:///e.db", cwd=tmp_path, module="suite.report")
    assert report.returncode == 1 and "no tracking store" in report.stderr, report.stderr
    assert (tmp_path / "e.db").stat().st_size == 0


def test_the_report_names_a_tracking_file_that_is_no_database(tmp_path, write_study):
    """Not "no tracking store: train a study first" (exit 1): the file is there, and it is not
    a database, as suite.run says of it."""
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "mlflow.db").write_text("hello\n")
    path = write_study(FAST)
    report = run_cli(
        path, "--tracking-uri", "sqlite:///x/mlflow.db", cwd=tmp_path, module="suite.report"
    )
    assert_refused(report, "x/mlflow.db is not an SQLite database", "--tracking-uri")
    assert (tmp_path / "x" / "mlflow.db").read_text() == "hello\n"


def test_a_pipe_as_study_file_is_refused_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "study.yaml")
    assert_refused(run_cli(tmp_path / "study.yaml", cwd=tmp_path, timeout=60), "not a regular")


def test_a_server_whose_api_fails_is_refused_within_seconds(tmp_path, write_study):
    """It answers /health but fails every API call: refused at once, not after minutes of
    MLflow's retries."""
    import http.server
    import threading

    class HealthyButBroken(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/health" else 500)
            self.end_headers()
            self.wfile.write(b"OK")

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HealthyButBroken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        uri = f"http://127.0.0.1:{server.server_address[1]}"
        result = run_cli(write_study(FAST), "--tracking-uri", uri, "--dry-run", cwd=tmp_path)
    finally:
        server.shutdown()
    assert_refused(result, "answers HTTP 500 at /api/2.0/mlflow/experiments/search")


def test_a_server_that_accepts_but_never_answers_is_given_up_on(tmp_path, write_study):
    """A host that takes the connection and then says nothing (a hung server, a firewall):
    refused after the 10 s reach timeout, not after minutes of MLflow's retries."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # never accepted: the request is never read
        uri = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        result = run_cli(write_study(FAST), "--tracking-uri", uri, cwd=tmp_path, timeout=60)
        elapsed = time.monotonic() - started
        report = run_cli(
            tmp_path / "study.yaml", "--tracking-uri", uri, cwd=tmp_path, module="suite.report"
        )
    assert_refused(result, uri, "does not answer within 10 s")
    assert elapsed < 45, elapsed  # the 10 s timeout plus start-up; MLflow's retries take minutes
    assert not (tmp_path / "mlruns").exists()  # the journal was not written first
    assert_refused(report, uri, "does not answer within 10 s")  # the report, too


def _read_only_cli(folder: Path, store: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI with `store` read-only. Not root: by its modes. As root, whom modes do not stop:
    by a read-only bind mount of it in a mount namespace of the command's own (util-linux's
    unshare), as on a read-only disk."""
    command = [sys.executable, "-m", "suite.run", *args]
    if os.geteuid() == 0:
        remount = 'mount --bind -o ro "$0" "$0" && exec "$@"'
        command = ["unshare", "--mount", "sh", "-c", remount, str(store), *command]
    else:
        for path in [store, *store.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
    env = {**os.environ, "COLUMNS": "160"}
    try:
        return subprocess.run(
            command, cwd=folder, env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        for path in [store, *store.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_a_read_only_store_is_refused_and_still_planned(write_study, tmp_path):
    new_mlflow_db(tmp_path / "mlruns" / "mlflow.db")
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    client.create_experiment("tiny")
    path = write_study(FAST)
    before = snapshot(tmp_path)
    refused = _read_only_cli(tmp_path, tmp_path / "mlruns", str(path))
    assert_refused(refused, "mlflow.db is read-only")
    planned = _read_only_cli(tmp_path, tmp_path / "mlruns", str(path), "--dry-run")
    assert planned.returncode == 0, planned.stdout + planned.stderr  # reading is enough
    assert "2 to train, 0 not" in planned.stdout
    assert snapshot(tmp_path) == before


def test_a_deleted_experiment_is_refused_before_anything_is_enqueued(tmp_path, write_study):
    new_mlflow_db(tmp_path / "mlruns" / "mlflow.db")
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    client.delete_experiment(client.create_experiment("tiny"))
    path = write_study(FAST)
    before = snapshot(tmp_path)
    result = run_cli(path, cwd=tmp_path)
    assert_refused(result, "'tiny' is deleted", "mlflow experiments restore --experiment-id 1")
    assert snapshot(tmp_path) == before  # no journal: nothing was enqueued


@pytest.mark.parametrize(
    ("key", "value"),
    [("experiment", "../outside"), ("experiment", "a#b"), ("name", "../x"), ("name", "a/b")],
)
def test_names_that_reach_paths_are_refused(key, value, tmp_path, write_study):
    result = run_cli(write_study(FAST), "--set", f"{key}={value}", cwd=tmp_path)
    assert_refused(result, f"{key}: must start with a letter or digit", repr(value))
    assert not (tmp_path / "mlruns").exists()


@pytest.mark.slow
def test_a_copied_store_never_writes_into_the_originals_artifacts(tmp_path, fast_store):
    assert finished_per_key(tmp_path) == once_each(fast_store)  # write_study(FAST), trained
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path / "mlruns", copy / "mlruns")
    study = copy / "study.yaml"
    study.write_text((tmp_path / "study.yaml").read_text().replace(str(tmp_path), str(copy)))
    original = snapshot(tmp_path / "mlruns")

    refused = run_cli(study, "--set", "grid.cell=[gru,lstm]", cwd=copy)
    assert_refused(refused, "outside this store's folder", str(tmp_path / "mlruns"))
    report = run_cli(study, cwd=copy, module="suite.report")
    assert report.returncode == 0, report.stdout + report.stderr
    assert "The report is not logged to MLflow" in report.stderr
    assert snapshot(tmp_path / "mlruns") == original  # nothing of the copy's landed there

    renamed = run_cli(study, "--set", "experiment=tiny-copy", "--dry-run", cwd=copy)
    assert renamed.returncode == 0, renamed.stdout + renamed.stderr  # the fix the line names


def test_a_database_linked_from_another_disk_keeps_its_artifacts_beside_the_link(
    tmp_path, fast_store
):
    database = tmp_path / "mlruns" / "mlflow.db"
    elsewhere = tmp_path / "other-disk" / "tracking.db"
    elsewhere.parent.mkdir()
    shutil.move(database, elsewhere)
    database.symlink_to(elsewhere)

    planned = run_cli(fast_store, "--dry-run", cwd=tmp_path)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "0 to train" in planned.stdout
    report = run_cli(fast_store, cwd=tmp_path, module="suite.report")
    assert report.returncode == 0, report.stdout + report.stderr
    assert "not logged to MLflow" not in report.stderr
    logged = list((tmp_path / "mlruns" / "artifacts").rglob("*.html"))
    assert logged, "the report was not logged beside the link"


def _journal_with_two_trials(path: Path) -> bytes:
    storage = open_storage(str(path))
    study = optuna.create_study(study_name="tiny", storage=storage, direction="maximize")
    for _ in range(2):
        study.enqueue_trial({})
    return path.read_bytes()


@pytest.mark.parametrize(
    "damage", [b"not json\n", b"123\n", b'{"op_code": 99, "worker_id": "w"}\n']
)
def test_damage_inside_a_journal_is_explained_and_left_alone(damage, tmp_path, write_study):
    journal = tmp_path / "mlruns" / "optuna.journal"
    lines = _journal_with_two_trials(journal).splitlines(keepends=True)
    lines[1] = damage  # not JSON; JSON but no entry; an entry Optuna has no operation for
    journal.write_bytes(b"".join(lines))
    path = write_study(FAST)
    before = snapshot(tmp_path)
    result = run_cli(path, cwd=tmp_path)
    assert_refused(result, f"line 2 of {len(lines)} is not a journal entry", "mv ")
    assert snapshot(tmp_path) == before


@pytest.mark.slow
def test_a_journal_cut_short_by_a_crash_is_repaired_keeping_a_copy(tmp_path, write_study):
    journal = tmp_path / "mlruns" / "optuna.journal"
    whole = _journal_with_two_trials(journal)
    cut = whole[:-7]  # the last entry, cut mid-line as by a crash while appending
    journal.write_bytes(cut)
    path = write_study(FAST)

    planned = run_cli(path, "--dry-run", cwd=tmp_path)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "last line is incomplete" in planned.stderr and journal.read_bytes() == cut

    result = run_cli(path, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "repaired Optuna storage" in result.stderr
    (copy,) = journal.parent.glob("optuna.journal.damaged-*")
    assert copy.read_bytes() == cut
    repaired = journal.read_bytes().splitlines(keepends=True)
    kept = whole.splitlines(keepends=True)[:-1]  # every complete entry, unchanged
    assert repaired[: len(kept)] == kept
    assert all(json.loads(line) for line in repaired)  # Optuna reads it again
    assert finished_per_key(tmp_path) == once_each(path)


@pytest.mark.slow
def test_two_first_invocations_at_once_on_a_fresh_store_train_each_run_once(tmp_path, write_study):
    path = write_study(FAST)
    both = [start_cli(path, cwd=tmp_path) for _ in range(2)]
    trained = 0
    for process in both:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        trained += stdout.count("✓")  # one line per run this process trained
    assert trained == 2  # each of the 2 runs trained once, by one of the two
    assert finished_per_key(tmp_path) == once_each(path)
    # Every run that wrote artifacts is in the database: no process's records were lost.
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tiny").experiment_id
    in_store = {run.info.run_id for run in client.search_runs([experiment])}
    artifact_folders = {p.name for p in (tmp_path / "mlruns" / "artifacts" / "tiny").iterdir()}
    assert artifact_folders == in_store


def test_a_plan_never_builds_a_model_too_large_for_this_machine(tmp_path, write_study):
    # 100,000 units: a 120 GB weight tensor. The plan says so and times no training step.
    path = write_study({**FAST, "model": {"units": 100_000}})
    result = run_cli(path, "--dry-run", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "note: model: the largest run" in result.stderr
    assert "estimated time" not in result.stdout  # no probe was built to time
    # --no-memory-check lifts the refusal, never the guard on the probe.
    unchecked = run_cli(path, "--dry-run", "--no-memory-check", cwd=tmp_path, timeout=120)
    assert unchecked.returncode == 0, unchecked.stdout + unchecked.stderr
    assert "estimated time" not in unchecked.stdout and "Traceback" not in unchecked.stderr
    refused = run_cli(path, "--workers", "2", cwd=tmp_path)
    assert_refused(refused, "x 2 workers training at once", "--no-memory-check")


def test_the_report_refuses_an_out_path_it_cannot_write(tmp_path, write_study):
    path = write_study(FAST)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    for out, needle in (("afile/r.html", "afile is a file"), ("adir", "adir is a folder")):
        result = run_cli(path, "--out", out, cwd=tmp_path, module="suite.report")
        assert_refused(result, f"report file {out}", needle)


@pytest.mark.slow
def test_brackets_in_paths_are_printed_as_written(tmp_path, fast_store):
    folder = tmp_path / "a[" / "b]"  # the path a[/b]: a closing tag to rich's markup
    folder.mkdir(parents=True)
    study = folder / "study.yaml"
    study.write_text(fast_store.read_text())  # its store trained: a run prints the same lines
    result = run_cli(study, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "next: python -m suite.report " + str(study) in result.stdout
    report = run_cli(
        study, "--no-log", "--out", "r[/x]/rep.html", cwd=tmp_path, module="suite.report"
    )
    assert report.returncode == 0, report.stderr
    assert "report: r[/x]/rep.html" in report.stdout


def test_workers_are_never_more_than_the_runs_left(tmp_path, write_study):
    path = write_study({**FAST, "workers": {"count": 64}})
    assert worker_count(load_study(path)) == 2  # two runs to train: two processes, not 64


def test_markup_in_messages_is_printed_as_written(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    result = run_cli(empty, cwd=tmp_path)
    assert_refused(result, "grid: {cell: [lstm]}")  # the hint's [lstm] is not eaten
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid: {cell: ['[/x]', '[bold]y[/bold]']}\n")
    result = run_cli(bad, cwd=tmp_path)
    assert result.returncode == 2 and "'[/x]'" in result.stderr, result.stderr
    assert "'[bold]y[/bold]'" in result.stderr and "Traceback" not in result.stderr


def test_a_server_that_refuses_the_host_name_says_which_option_lets_it_in(tmp_path, write_study):
    """A real `mlflow server` that allows only another host name answers the suite's requests
    with HTTP 403 "Invalid Host header": one line naming --allowed-hosts, not a hint about
    disks and reachability after MLflow's retries."""
    artifacts = tmp_path / "server" / "artifacts"
    backend = f"sqlite:///{tmp_path / 'server' / 'mlflow.db'}"
    new_mlflow_db(tmp_path / "server" / "mlflow.db")
    with mlflow_server(backend, artifacts, options=["--allowed-hosts", "db-host:5000"]) as url:
        result = run_cli(write_study(FAST), "--tracking-uri", url, cwd=tmp_path, timeout=120)
    host = url.removeprefix("http://")
    assert_refused(result, url, f"refuses requests addressed to {host}", f"--allowed-hosts {host}")
    assert not (tmp_path / "mlruns").exists()
