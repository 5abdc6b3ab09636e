"""Before anything is written: can the study's tracking store and Optuna storage be used?

Each problem is one StoreError line that names the store, what is wrong and the fix, raised
before the first write, so a refused study leaves nothing behind. The checks only read, and
a store that does not answer is given up on after REACH_SECONDS. The one write is the repair
of a journal whose last line a crash cut short (under Optuna's own lock, keeping a copy).
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

from suite.errors import StoreError, first_line
from suite.stores.journal import check_journal
from suite.stores.locations import (
    SQLITE_HEADER,
    is_rdb,
    is_sqlite_rdb,
    journal_path,
    sqlite_path,
    store_folder,
)
from suite.stores.optuna_storage import storage_url
from suite.stores.sqlite import (
    MLFLOW_TABLE,
    OPTUNA_TABLE,
    tables_of,
)
from suite.study.config import Study

# As long as one of MLflow's own requests may take (stores/http_limits.py): a server that is
# up on a busy machine answers within it.
REACH_SECONDS = 10.0
# What to install for each database driver module SQLAlchemy may ask for.
DRIVER_PACKAGES = {
    "psycopg2": "pip install psycopg2-binary (pip install -e '.[postgres]' does)",
    "psycopg": "pip install 'psycopg[binary]', or write postgresql+psycopg2:// to use"
    " psycopg2-binary (pip install -e '.[postgres]' installs it)",
    "MySQLdb": "pip install mysqlclient, or write mysql+pymysql:// and pip install PyMySQL",
    "pymysql": "pip install PyMySQL",
    "pg8000": "pip install pg8000",
    "pyodbc": "pip install pyodbc",
}
TRACKING_FIX = "set tracking.uri in the study file, or --tracking-uri"
STORAGE_FIX = "set storage: in the study file, or --storage"


def check_stores(study: Study, *, writing: bool) -> list[str]:
    """Raise StoreError for the first store that cannot be used; return notes to print (a
    repaired journal). `writing=False` (--dry-run) only needs the stores to be readable."""
    check_tracking_store(study.tracking.uri, writing=writing)
    repair = _check_queue_storage(storage_url(study), writing=writing)
    _check_experiment(study)
    return [repair()] if repair is not None else []  # written only once nothing refused


def several_workers_problem(study: Study) -> str | None:
    """Optuna's SQLite storage is not safe for concurrent claiming: refused with `workers`,
    and with a backend axis of several backends (one worker process each)."""
    from suite.study.backends import study_backends

    url = storage_url(study)
    workers = study.workers.count
    several = workers != "auto" and workers > 1
    backends = len(study_backends(study))
    if (several or backends > 1) and is_sqlite_rdb(url):
        why = "several workers" if several else f"the {backends} backends' workers (one each)"
        return (
            f"storage {url}: Optuna's SQLite storage is not safe for {why}; use the"
            " default journal file (remove storage:) or PostgreSQL/MySQL"
        )
    return None


# --- the tracking store ---------------------------------------------------------------------


def check_tracking_store(uri: str, *, writing: bool) -> None:
    what = f"tracking store {uri}"
    db = sqlite_path(uri)
    scheme = urlparse(uri).scheme if "://" in uri else ""
    if db is not None:
        _check_sqlite_file(db, what, TRACKING_FIX, writing=writing, holds=MLFLOW_TABLE)
    elif scheme in {"http", "https"}:
        _check_server(uri, what)
    elif is_rdb(uri):
        _check_database(uri, what, TRACKING_FIX)
    elif scheme in {"", "file"}:
        raise StoreError(
            f"{what}: a folder is MLflow's file store, which MLflow 3 refuses; use"
            " sqlite:///PATH/mlflow.db (mlflow migrate-filestore converts an old one)"
        )
    elif scheme != "databricks":
        raise StoreError(
            f"{what}: unknown kind of store '{scheme}://'; use sqlite:///PATH (a local file),"
            " http://HOST:PORT (an MLflow server) or a database URL (postgresql+psycopg2://...)"
        )


def _check_server(uri: str, what: str) -> None:
    """An MLflow server answers /health and its API at once; a server that is down, hung or
    failing would otherwise cost minutes of MLflow's retries in silence."""
    for endpoint in ("/health", "/api/2.0/mlflow/experiments/search?max_results=1"):
        _probe(uri, endpoint, what)


def _probe(uri: str, endpoint: str, what: str) -> None:
    try:
        urllib.request.urlopen(f"{uri.rstrip('/')}{endpoint}", timeout=REACH_SECONDS).close()
    except urllib.error.HTTPError as err:
        if err.code == 403 and b"Invalid Host header" in err.read():
            host = urlparse(uri).netloc
            raise StoreError(
                f"{what} refuses requests addressed to {host} (HTTP 403: Invalid Host header):"
                f" start mlflow server with --allowed-hosts {host}, or reach it by an address"
                " it allows"
            ) from None
        if err.code in {401, 403}:
            return  # it answers, and wants credentials: MLflow's own calls send them
        raise StoreError(
            f"{what} answers HTTP {err.code} at {endpoint.split('?')[0]}, which every MLflow"
            f" server serves: is it an MLflow server, and up? {TRACKING_FIX}"
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise StoreError(
            f"{what} does not answer within {REACH_SECONDS:.0f} s ({reason}); start the server"
            f" (mlflow server --host HOST --port PORT) or check the address: {TRACKING_FIX}"
        ) from None


# --- the Optuna storage ---------------------------------------------------------------------


def _check_queue_storage(url: str, *, writing: bool) -> Callable[[], str] | None:
    """Refuse what cannot be used; return the repair a damaged journal needs, if any."""
    what = f"Optuna storage {url}"
    if is_rdb(url):
        db = sqlite_path(url)
        if db is not None:
            _check_sqlite_file(db, what, STORAGE_FIX, writing=writing, holds=OPTUNA_TABLE)
        else:
            _check_database(url, what, STORAGE_FIX)
        return None
    path = journal_path(url)
    if path is None:
        raise StoreError(
            f"{what}: unknown kind of storage; use a journal file path (the default) or a"
            " database URL (postgresql+psycopg2://USER@HOST/DB, the password in ~/.pgpass):"
            f" {STORAGE_FIX}"
        )
    check_local_file(path, what, STORAGE_FIX, writing=writing)
    if path.exists() and not path.is_file():  # a pipe or a device would never end
        raise StoreError(f"{what}: {path} is not a regular file; {STORAGE_FIX}")
    return check_journal(path, what, writing=writing)


# --- local files and databases --------------------------------------------------------------


def check_local_file(path: Path, what: str, fix: str, *, writing: bool) -> None:
    """The file, or the folders it will be made in: a folder in the way, a file in the way of
    a folder, a symbolic link to nowhere, or nowhere to write."""
    if path.is_symlink() and not path.exists():
        target = Path(os.path.realpath(path))
        missing = target if target.parent.exists() else target.parent
        raise StoreError(
            f"{what}: {path} is a symbolic link to {target}, but {missing} does not exist;"
            f" create it, or {fix}"
        )
    existing = next(p for p in (path, *path.parents) if p.exists() or p == p.parent)
    if existing != path and not existing.is_dir():
        raise StoreError(f"{what}: {existing} is a file, not a folder; {fix}")
    if path.is_dir():
        raise StoreError(f"{what}: {path} is a folder; name a file (e.g. {path}/FILE); {fix}")
    if not writing:
        return
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise StoreError(f"{what}: {path} is read-only; make it writable or {fix}")
    folder = path.parent if path.exists() else existing
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StoreError(f"{what}: the folder {folder} is read-only; make it writable or {fix}")


def _check_sqlite_file(db: Path, what: str, fix: str, *, writing: bool, holds: str) -> None:
    """A database file of the right kind: MLflow's tables in a tracking store, Optuna's in a
    storage (each tool would add its own tables to the other's file), or none yet."""
    check_local_file(db, what, fix, writing=writing)
    if not db.is_file():
        return
    with db.open("rb") as opened:
        header = opened.read(len(SQLITE_HEADER))
    if header and header != SQLITE_HEADER:
        raise StoreError(f"{what}: {db} is not an SQLite database; {fix}")
    tables = tables_of(db)
    if tables and holds not in tables:
        kind = {MLFLOW_TABLE: "MLflow tracking store", OPTUNA_TABLE: "Optuna storage"}[holds]
        other = (
            " (it is an Optuna storage)"
            if OPTUNA_TABLE in tables
            else " (it is an MLflow tracking store)"
            if MLFLOW_TABLE in tables
            else ""
        )
        raise StoreError(
            f"{what}: {db} is a database but not an {kind}{other}; give each its own file: {fix}"
        )
    if writing and not _sqlite_takes_writes(db):
        raise StoreError(f"{what}: {db} is read-only (a read-only file system?); {fix}")


def _sqlite_takes_writes(db: Path) -> bool:
    """Take SQLite's write lock and let go, writing nothing: the file system, not only the
    file's mode, decides (root ignores modes)."""
    import sqlite3

    try:
        connection = sqlite3.connect(f"file:{db}?mode=rw", uri=True, timeout=0.5)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.rollback()
        finally:
            connection.close()
    except sqlite3.OperationalError as err:
        return "readonly" not in str(err) and "read-only" not in str(err)
    return True


def _check_database(url: str, what: str, fix: str) -> None:
    """Its driver is installed, and the server accepts a connection within REACH_SECONDS."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError
    from sqlalchemy.pool import NullPool

    try:
        parsed = make_url(url)
        dialect = parsed.get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as err:
        raise StoreError(f"{what}: not a database URL ({first_line(err)}); {fix}") from None
    try:
        dialect.import_dbapi()
    except ImportError as err:
        module = err.name or str(err)
        install = DRIVER_PACKAGES.get(module, f"install the Python package that provides {module}")
        raise StoreError(
            f"{what}: its database driver ({module}) is not installed; {install}"
        ) from None
    problem: list[str] = []

    def connect() -> None:
        try:
            create_engine(parsed, poolclass=NullPool).connect().close()
        except Exception as err:  # any driver's error: its first line is the message
            problem.append(first_line(err))

    attempt = threading.Thread(target=connect, daemon=True)
    attempt.start()
    attempt.join(REACH_SECONDS)
    if attempt.is_alive():
        raise StoreError(f"{what} does not answer within {REACH_SECONDS:.0f} s; {fix}")
    if problem:
        raise StoreError(f"{what}: cannot connect ({problem[0]}); {fix}")


# --- the study's experiment -----------------------------------------------------------------


def _check_experiment(study: Study) -> None:
    """A deleted experiment, or one whose artifacts live outside this store (a copied or
    moved store), is refused before anything is enqueued."""
    from suite.errors import store_errors_stop_the_study, tracking_store
    from suite.stores.experiment import existing_experiment

    uri = study.tracking.uri
    with store_errors_stop_the_study(tracking_store(uri)):
        experiment = existing_experiment(uri, study.experiment_name)
    if experiment is None:
        return  # a fresh store or experiment: made when the study begins
    db = sqlite_path(uri)
    refuse_if_deleted(experiment, uri)
    if db is not None and (problem := artifacts_outside_store(db, experiment)):
        raise StoreError(problem)


def refuse_if_deleted(experiment, uri: str) -> None:
    """A deleted experiment is refused with the command that restores it."""
    if experiment.lifecycle_stage == "deleted":
        raise StoreError(
            f"MLflow experiment {experiment.name!r} is deleted; restore it (mlflow"
            f" experiments restore --experiment-id {experiment.experiment_id}"
            f" --backend-store-uri {uri}) or set another experiment: in the study file"
        )


def artifacts_outside_store(db: Path, experiment) -> str | None:
    """Why new artifacts of this experiment would land outside the store's folder, or None.

    A local store records each experiment's artifact folder as an absolute path. A store
    copied or moved elsewhere still names the original's folder, so its new runs (and the
    report) would write into the original's files."""
    location = experiment.artifact_location or ""
    if not location.startswith("file:"):
        return None
    folder = Path(unquote(urlparse(location).path))
    store = store_folder(db)
    if folder.resolve().is_relative_to(store):
        return None
    return (
        f"MLflow experiment {experiment.name!r} in {db} keeps its artifacts in {folder},"
        f" outside this store's folder {store}: the store was copied or moved, and writing"
        " would change the original's files. Use the original store, or record into a new"
        " experiment here (--set experiment=NEW_NAME)"
    )
