"""MLflow's Keras callback, as the suite uses it (its own module: it imports Keras)."""

from __future__ import annotations

from mlflow.keras import MlflowCallback


class EpochCurves(MlflowCallback):
    """MLflow's Keras callback (optimizer params, model summary, one point per epoch), minus
    the `validation_*` copies of val_loss / val_accuracy that it logs without a step."""

    def on_test_end(self, logs: dict | None = None) -> None:
        return None
