"""Where a study's Optuna study lives: its storage URL, and opening or creating it there.

The default is a journal file beside MLflow's SQLite store (one machine, several workers);
`storage:` may name PostgreSQL or MySQL (several machines). Optuna's RDB storage on SQLite is
not safe for concurrent claiming, so workers refuse it.
"""

from __future__ import annotations

import random
import time
import warnings
from typing import Any

import optuna
from optuna.storages import BaseStorage, JournalStorage
from optuna.storages.journal import JournalFileBackend

from suite.errors import StoreError
from suite.schema import Objective
from suite.stores.locations import default_journal, is_rdb, journal_path, sqlite_path
from suite.stores.sqlite import OPTUNA_TABLE, no_store_yet
from suite.study.config import Study

STUDY_KIND = "suite_kind"  # an Optuna study attribute: "grid" or "search"


def storage_url(study: Study) -> str:
    """The study's Optuna storage: its `storage:` key, else a journal file beside MLflow's db."""
    if study.storage:
        return study.storage
    return str(default_journal(study.tracking.uri))


def open_storage(url: str) -> BaseStorage:
    """The storage, its local folder made where missing (as the tracking store's is). A URL
    that is no journal goes to Optuna's RDBStorage, which names what it cannot use (the checks
    refuse a URL of no known kind before this)."""
    path = journal_path(url)
    if path is None:
        if (db := sqlite_path(url)) is not None:
            db.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.RDBStorage(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


def storage_exists(url: str) -> bool:
    """Whether the storage holds an Optuna storage already (reading never creates one)."""
    if (path := journal_path(url)) is not None:
        return path.exists()
    if not is_rdb(url):
        return False  # a URL of no kind the suite knows holds nothing it could read
    return not no_store_yet(sqlite_path(url), OPTUNA_TABLE)


def create_or_load(
    name: str,
    url: str,
    *,
    objective: Objective,
    kind: str,
    attempts: int = 6,
    **options: Any,
) -> tuple[BaseStorage, optuna.Study]:
    """Open the study's storage and Optuna study, creating tables and study when missing. An
    Optuna study of that name that optimises the other way, or is of another kind (a search's
    queue opened by a grid), is another study's: refused, before anything is written to it.

    Workers of a job array start at the same moment: on a fresh database they all try to
    create Optuna's tables, and all but one fail on a unique constraint. Trying again, after
    a random pause, finds the tables made.
    """
    from sqlalchemy.exc import SQLAlchemyError

    for attempt in range(attempts):
        try:
            storage = open_storage(url)
            try:  # loaded, not created, when it exists: creating appends to a journal
                study = optuna.load_study(study_name=name, storage=storage, **options)
            except KeyError:
                study = optuna.create_study(
                    study_name=name,
                    storage=storage,
                    load_if_exists=True,  # another worker may create it first
                    direction=objective.optuna_direction,
                    **options,
                )
        except (SQLAlchemyError, optuna.exceptions.StorageInternalError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 + random.random())
            continue
        _refuse_another_studys(study, url, objective=objective, kind=kind)
        if study.metric_names != [objective.name]:  # optuna-dashboard's objective name
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names([objective.name])
        return storage, study
    raise AssertionError("unreachable")


def _refuse_another_studys(
    study: optuna.Study, url: str, *, objective: Objective, kind: str
) -> None:
    """The Optuna study must be this study's queue: same direction, same kind (grid, search).
    A study made before kinds were recorded takes this one's."""
    theirs = study.user_attrs.get(STUDY_KIND)
    if study.direction.name.lower() == objective.optuna_direction and theirs in (None, kind):
        if theirs is None:
            study.set_user_attr(STUDY_KIND, kind)
        return
    what = f"a {theirs}" if theirs and theirs != kind else "a study"
    raise StoreError(
        f"Optuna storage {url}: the study {study.study_name!r} there is {what} that"
        f" {study.direction.name.lower()}s, not this {kind}, which {objective.optuna_direction}s"
        f" {objective.metric}; give this study another name (name: in the study file) or"
        " another --storage"
    )
