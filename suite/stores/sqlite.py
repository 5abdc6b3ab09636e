"""A local SQLite tracking store: its write-ahead log, and one creator at a time.

MLflow creates its tables the first time a client opens a fresh database. Two invocations
started at once on a fresh store both create them, and one fails ("table experiments already
exists"): whoever holds the lock opens the store first, the other then finds it made.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def one_opener_at_a_time(db: Path | None, *, create: bool) -> Iterator[None]:
    """Hold an exclusive lock on the database's folder while a client opens (and maybe
    creates) the store; `create=False` never makes the folder; `db=None` (not SQLite): none.

    The folder, not the database file: closing any descriptor of the database file would
    drop the POSIX locks SQLite's own connections in this process hold on it, and the writes
    of another process could then overwrite theirs (SQLite's "how to corrupt" list)."""
    if db is None:
        yield
        return
    if create:
        db.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(db.parent, os.O_RDONLY)
    except FileNotFoundError:
        yield  # nothing to open, nothing to race for
        return
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def use_write_ahead_log(db: Path) -> None:
    """Switch a SQLite store to SQLite's write-ahead log (once: the mode stays with the file).

    In SQLite's default mode a reader blocks every commit until it finishes, and a commit
    waits at most MLflow's 20 s busy timeout: a study's writers (each worker's epoch points,
    MLflow's system-metrics thread) and its readers (`mlflow ui`, the report, other workers'
    queue checks) then fail runs with "database is locked". With the log, readers never block
    the writer nor it them. A store that is busy right now keeps its mode; the next open
    tries again.
    """
    with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(db)) as store:
        if store.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            store.execute("PRAGMA journal_mode=WAL")


def fold_write_ahead_log(db: Path) -> None:
    """Fold the write-ahead log back into the database file, so the file alone holds every
    record (the CLI leaves without closing connections)."""
    with (
        contextlib.suppress(sqlite3.Error),
        contextlib.closing(sqlite3.connect(db, timeout=5)) as store,
    ):
        store.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def tables_of(db: Path) -> set[str]:
    """The tables an SQLite file holds, read without writing (an empty set for an empty or
    missing file); MLflow's store holds `experiments`, Optuna's `studies`."""
    if not db.is_file() or db.stat().st_size == 0:
        return set()
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as store:
            rows = store.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            return {name for (name,) in rows.fetchall()}
    except sqlite3.Error:  # not a database at all: it holds no store either
        return set()


MLFLOW_TABLE = "experiments"
OPTUNA_TABLE = "studies"


def no_store_yet(db: Path | None, table: str) -> bool:
    """A local SQLite file (`db`; None: not SQLite) that does not hold its tool's tables yet
    (`table`: MLFLOW_TABLE or OPTUNA_TABLE): opening it with the tool would create them."""
    return db is not None and table not in tables_of(db)
