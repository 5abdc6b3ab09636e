"""Read a search's Optuna trials into an in-memory study: the report's only Optuna read.

The copy keeps the stored study's trials, direction(s), metric names and user attributes, so
build draws Optuna's own plots from it (pure computation) and never opens the storage.
"""

from __future__ import annotations

import warnings

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.storages import InMemoryStorage

from suite.stores.optuna_storage import open_storage, storage_exists


def read_search(study_name: str, storage_url: str) -> optuna.Study | None:
    """An in-memory copy of the Optuna study `study_name`; None when the storage or the study
    is missing (the MLflow runs are the record; the report says the trials are unavailable)."""
    if not storage_exists(storage_url):  # opening a journal file would create it
        return None
    try:
        stored = optuna.load_study(study_name=study_name, storage=open_storage(storage_url))
    except KeyError:  # the storage holds no study of that name
        return None
    copy = optuna.create_study(
        storage=InMemoryStorage(), study_name=study_name, directions=stored.directions
    )
    if stored.metric_names is not None:  # what optuna's plots label the objective with
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            copy.set_metric_names(stored.metric_names)
    for key, value in stored.user_attrs.items():
        copy.set_user_attr(key, value)
    # In number order, so each copy keeps its trial number; the storage copies each trial.
    copy.add_trials(stored.get_trials(deepcopy=False))
    return copy
