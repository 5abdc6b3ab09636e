"""Where every store and the files beside it live, read from the strings that name them.

The one parser of store locations (as Optuna's `get_storage` is for its storage strings): a
tracking URI's SQLite file, whether an Optuna storage string names a database or a journal
file, the journal's path, the queue's default journal, and the files SQLite, MLflow and Optuna
keep beside a database or a journal. It reads no file and imports nothing heavy, so the CLIs
can ask it before they load MLflow or Optuna.
"""

from __future__ import annotations

from pathlib import Path

SQLITE_URI_PREFIX = "sqlite:///"  # then the database's path, relative to the cwd or absolute
JOURNAL_PREFIX = "journal:"  # a storage string may name its journal file `journal:PATH`
RDB_SCHEMES = ("postgresql", "mysql", "sqlite", "oracle", "mssql")  # Optuna's RDBStorage's
SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file

# SQLite's files beside a database: the write-ahead log and its index (WAL mode, which the
# tracker turns on), and the rollback journal (SQLite's default mode, e.g. Optuna's tables).
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
ARTIFACTS_FOLDER = "artifacts"  # MLflow's artifacts, beside a local store's database
DEFAULT_STORE_FOLDER = Path("mlruns")  # where the queue goes when MLflow's store is no file
DEFAULT_JOURNAL = "optuna.journal"  # the queue, beside the tracking store's database
JOURNAL_LOCK_SUFFIX = ".lock"  # the file Optuna's journal writers lock (its LOCK_FILE_SUFFIX)


def sqlite_path(uri: str) -> Path | None:
    """The database file of a `sqlite:///` URI (relative paths are relative to the cwd)."""
    if not uri.startswith(SQLITE_URI_PREFIX):
        return None
    return Path(uri.removeprefix(SQLITE_URI_PREFIX))


def is_rdb(url: str) -> bool:
    """A database URL (Optuna's RDBStorage; MLflow's SQLAlchemy store), by its scheme."""
    return url.split(":", 1)[0].split("+", 1)[0] in RDB_SCHEMES


def is_sqlite_rdb(url: str) -> bool:
    """Optuna's RDB storage on SQLite: not safe for several workers claiming at once."""
    return is_rdb(url) and url.startswith("sqlite")


def journal_path(url: str) -> Path | None:
    """The journal file an Optuna storage string names (a path, or `journal:PATH`); None for
    a database URL or any other URL, which no journal is."""
    if is_rdb(url) or "://" in url:
        return None
    return Path(url.removeprefix(JOURNAL_PREFIX))


def default_journal(tracking_uri: str) -> Path:
    """The queue's journal when a study names no storage: beside MLflow's SQLite database."""
    db = sqlite_path(tracking_uri)
    return (db.parent if db is not None else DEFAULT_STORE_FOLDER) / DEFAULT_JOURNAL


def artifacts_folder(db: Path) -> Path:
    """MLflow's artifact folder of a local store: beside its database."""
    return db.parent / ARTIFACTS_FOLDER


def store_folder(db: Path) -> Path:
    """The folder a local store's artifacts are recorded under: the database's folder as
    named, its links resolved. A database file that is itself a link (kept on another disk)
    still keeps its artifacts beside the link, where its runs recorded them."""
    return db.parent.resolve()


def files_beside_database(db: Path) -> list[Path]:
    """A local tracking store's files: the database, SQLite's side files, the artifacts."""
    return [db, *(db.with_name(db.name + side) for side in SQLITE_SIDE_FILES), artifacts_folder(db)]


def files_beside_journal(journal: Path) -> list[Path]:
    """An Optuna journal's files: the journal and the lock its writers take."""
    return [journal, journal.with_name(journal.name + JOURNAL_LOCK_SUFFIX)]
