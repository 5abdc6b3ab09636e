"""Where each store and the files beside it live (suite/stores/locations.py): paths read from
the strings that name stores, and side files checked against the ones SQLite and Optuna
really make."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
from optuna.storages.journal import JournalFileSymlinkLock

from suite.stores.locations import (
    SQLITE_HEADER,
    default_journal,
    files_beside_database,
    files_beside_journal,
    is_rdb,
    journal_path,
    sqlite_path,
)


def test_a_tracking_uri_names_its_sqlite_file():
    assert sqlite_path("sqlite:///mlruns/mlflow.db") == Path("mlruns/mlflow.db")
    assert sqlite_path("sqlite:////abs/store/mlflow.db") == Path("/abs/store/mlflow.db")
    for no_file in ("http://localhost:5000", "postgresql://u@h/db", "sqlite://", "mlruns"):
        assert sqlite_path(no_file) is None, no_file


@pytest.mark.parametrize(
    ("url", "journal", "database"),
    [
        ("mlruns/optuna.journal", Path("mlruns/optuna.journal"), False),
        ("journal:queue/optuna.journal", Path("queue/optuna.journal"), False),
        ("journal:/abs/q.journal", Path("/abs/q.journal"), False),
        ("sqlite:///optuna.db", None, True),
        ("postgresql+psycopg2://user@host/db", None, True),
        ("mysql://user@host/db", None, True),
        ("redis://host:6379", None, False),  # a URL, but of no kind the suite knows
    ],
)
def test_a_storage_string_is_a_journal_or_a_database(url, journal, database):
    assert journal_path(url) == journal
    assert is_rdb(url) is database


def test_the_queue_goes_beside_mlflows_database_by_default():
    assert default_journal("sqlite:///runs/here/mlflow.db") == Path("runs/here/optuna.journal")
    assert default_journal("http://localhost:5000") == Path("mlruns/optuna.journal")


def test_the_header_is_the_one_sqlite_writes(tmp_path):
    db = tmp_path / "made.db"
    with contextlib.closing(sqlite3.connect(db)) as store:
        store.execute("CREATE TABLE t (x)")
        store.commit()
    assert db.read_bytes()[:16] == SQLITE_HEADER


@pytest.mark.parametrize(
    ("mode", "side"), [("WAL", "-wal"), ("WAL", "-shm"), ("DELETE", "-journal")]
)
def test_the_files_sqlite_makes_beside_a_database_are_known(tmp_path, mode, side):
    """A write in progress: SQLite's write-ahead log and its index (WAL mode), or its rollback
    journal (the default mode), exist beside the database; each is one the suite protects."""
    db = tmp_path / "mlflow.db"
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as store:
        store.execute(f"PRAGMA journal_mode={mode}")
        store.execute("CREATE TABLE t (x)")
        store.execute("BEGIN")
        store.execute("INSERT INTO t VALUES (1)")
        made = set(tmp_path.iterdir())
        store.execute("ROLLBACK")
    assert tmp_path / f"mlflow.db{side}" in made
    assert made <= set(files_beside_database(db))
    assert tmp_path / "artifacts" in files_beside_database(db)


def test_the_lock_optuna_takes_beside_a_journal_is_known(tmp_path):
    journal = tmp_path / "optuna.journal"
    journal.touch()
    lock = JournalFileSymlinkLock(str(journal))
    lock.acquire()
    try:
        made = set(tmp_path.iterdir())
    finally:
        lock.release()
    assert len(made) == 2  # the journal and Optuna's lock
    assert made <= set(files_beside_journal(journal))
