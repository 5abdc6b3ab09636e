"""MLflow's Keras callback, as the suite uses it (its own module: it imports Keras)."""

from __future__ import annotations

import mlflow
from mlflow.keras import MlflowCallback

from suite.errors import StoreLostInCallback, store_error_types


class EpochCurves(MlflowCallback):
    """MLflow's Keras callback (optimizer params, model summary, one point per epoch), minus
    the `validation_*` copies of val_loss / val_accuracy that it logs without a step, and
    with epochs numbered from 1 as Keras prints them ("Epoch 1/10"), not from 0.

    Epoch points are written synchronously: MLflow's asynchronous queue must be drained when
    the run ends, and its logging thread polls with a one-second timeout, so every run waited
    about 0.7 s at its end for a handful of points that take milliseconds to write.
    """

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not logs:
            return
        try:
            mlflow.log_metrics(dict(logs), step=epoch + 1, synchronous=True, model_id=self.model_id)
        except store_error_types() as err:  # the store is gone: stop now, not at the run's end
            raise StoreLostInCallback(err) from err

    def on_test_end(self, logs: dict | None = None) -> None:
        return None
