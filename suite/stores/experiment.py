"""The one lookup of a study's MLflow experiment by name, for every reader.

Reading must not create: a local SQLite store that does not hold MLflow's tables yet has no
experiment (opening it with a client would create the tables), and a store another process is
creating right now is opened after it (`one_opener_at_a_time`). The tracker, which creates the
experiment, looks it up under its own creating lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from suite.stores.locations import sqlite_path
from suite.stores.sqlite import MLFLOW_TABLE, no_store_yet, one_opener_at_a_time

if TYPE_CHECKING:
    from mlflow.entities import Experiment


def existing_experiment(uri: str, name: str) -> Experiment | None:
    """The experiment `name` in the store at `uri` (deleted ones too: callers say what to do
    with them), or None where the store or the experiment does not exist yet."""
    from mlflow.tracking import MlflowClient

    db = sqlite_path(uri)
    if no_store_yet(db, MLFLOW_TABLE):
        return None
    with one_opener_at_a_time(db, create=False):
        return MlflowClient(uri).get_experiment_by_name(name)
