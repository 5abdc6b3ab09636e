"""What a child run holds: its tags and params, the resolved config, the splits as dataset
inputs, the final metrics, the confusion matrix, the curve figures and the Keras model, each
logged into the active run."""

from __future__ import annotations

import errno
import json
import random
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import mlflow
from mlflow.exceptions import MlflowException

from suite.schema import Artifact, Role, Tag, logged_model_name
from suite.study.data_config import DataConfig
from suite.study.run_spec import RunSpec, unnamed
from suite.study.sections import ModelConfig, TrackingConfig
from suite.train.execution import Execution

if TYPE_CHECKING:  # Keras loads only once a worker trains
    import keras

    from suite.train.fit import TrainResult

DATASET_ATTEMPTS = 4


def child_run_tags(
    spec: RunSpec, *, environment: dict[str, str], execution: Execution, trial_number: int
) -> dict[str, str]:
    """The tags a child run is created with: what it is, its trial, how it executes."""
    return {
        Tag.ROLE: Role.RUN,
        Tag.RUN_KEY: spec.run_key,
        Tag.STUDY: spec.study,
        Tag.CELL: spec.model.cell,
        Tag.DIRECTION: spec.direction,
        Tag.DEPTH: str(spec.model.layers),
        Tag.SEED: str(spec.seed),
        Tag.OPTUNA_STUDY: spec.study,
        Tag.OPTUNA_TRIAL: str(trial_number),
        **{f"{Tag.ENV_PREFIX}{k}": str(v) for k, v in environment.items()},
        **execution.tags(),
    }


def log_run_setup(spec: RunSpec) -> None:
    """The params, the resolved config and, for data other than MNIST, its description."""
    mlflow.log_params(run_params(spec))
    mlflow.log_dict(spec.resolved(), Artifact.CONFIG)
    if not spec.data.is_mnist:  # classes, standardisation, split, content hash
        mlflow.log_dict(spec.data.description.as_dict(), Artifact.DATA)


def check_artifacts_kept() -> None:
    """The active run's artifacts written at its start (its config) are still there. A local
    artifact folder moved or deleted mid-study is made again by MLflow's next write, and the
    run would end FINISHED without what it held: a store's fault (OSError), not a result."""
    uri = urlparse(mlflow.get_artifact_uri(Artifact.CONFIG))
    if uri.scheme != "file":  # a server's, or a remote store's: it keeps its own
        return
    config = Path(url2pathname(uri.path))
    if not config.is_file():
        raise FileNotFoundError(
            errno.ENOENT, "this run's artifacts are gone (moved or deleted?)", str(config)
        )


def run_params(spec: RunSpec) -> dict[str, Any]:
    """Every study field that shapes the run, flat, as MLflow params."""
    params: dict[str, Any] = {"seed": spec.seed}
    if spec.backend is not None:  # a study axis: the report compares it like any factor
        params["backend"] = spec.backend
    for section in (spec.data, spec.model, spec.training):
        left_out = unnamed(section) if isinstance(section, ModelConfig) else set()
        if isinstance(section, DataConfig):
            left_out = section.unused() | {"name"}  # logged as `dataset`
        for name, value in section.model_dump(mode="json", exclude=left_out).items():
            if isinstance(value, dict):
                params.update({f"{name}.{k}": v for k, v in value.items()})
            else:
                params[name] = "none" if value is None else value
    params["dataset"] = spec.data.dataset_name  # the report's datasets, MNIST's too
    if not spec.data.is_mnist:  # what chance is on it
        description = spec.data.description
        if description.classes:  # chance: 1 / classes
            params["classes"] = len(description.classes)
        if description.target_scale is not None:  # chance: the RMSE of guessing the mean
            params["target_std"] = description.target_scale[1]
    return params


def log_inputs(datasets: list, contexts: list[str], tags: list[dict[str, str]]) -> None:
    """The splits as the active run's dataset inputs (the runs table's Dataset column)."""
    for attempt in range(DATASET_ATTEMPTS):
        try:
            mlflow.log_inputs(datasets=datasets, contexts=contexts, tags_list=tags)
            return
        except MlflowException:
            # Workers starting together log the same new datasets at once; MLflow looks a
            # dataset up, then inserts it, so all but one insert break the unique key (and
            # roll back). Again, a moment later, finds the row made and links to it.
            if attempt == DATASET_ATTEMPTS - 1:
                raise
            time.sleep(0.1 + random.random() * 0.4)


def log_result(
    spec: RunSpec,
    result: TrainResult,
    model: keras.Model,
    *,
    tracking: TrackingConfig,
    pruned_after: int | None,
) -> None:
    """Final metrics and the artifacts of a finished run, as `tracking` asks for them."""
    check_artifacts_kept()
    if pruned_after is not None:
        mlflow.set_tags({Tag.PRUNED: "true", Tag.PRUNED_AFTER_EPOCH: str(pruned_after)})
    # Final metrics at the last epoch's step: the logged model below links every metric
    # of that step (MLflow's `log_model(step=...)`), so it carries the run's final values.
    last_epoch = result.epochs_trained
    mlflow.log_metrics(result.final_metrics(), step=last_epoch)
    mlflow.set_tag(Tag.JIT, str(result.jit_compile).lower())
    if result.confusion is not None:  # classes only
        mlflow.log_text(confusion_json(result.confusion), Artifact.CONFUSION)
    if tracking.log_plots:
        from suite.record.figures import confusion_figure, curve_figures

        figures = curve_figures(spec.label, result.history, result.measure.name)
        for name, figure in figures.items():
            mlflow.log_figure(figure, Artifact.curve_image(name))
        if result.confusion is not None:
            mlflow.log_figure(
                confusion_figure(spec.label, result.confusion), Artifact.CONFUSION_IMAGE
            )
    if tracking.log_model:
        log_keras_model(model, spec, step=last_epoch)


def confusion_json(matrix: list[list[int]]) -> str:
    """The matrix as JSON with one row (one true digit) per line, readable as a table."""
    rows = ",\n    ".join(json.dumps(row) for row in matrix)
    return (
        '{\n  "labels": ' + json.dumps(list(range(len(matrix)))) + ",\n"
        '  "rows_true_columns_predicted": [\n    ' + rows + "\n  ]\n}\n"
    )


def log_keras_model(model: keras.Model, spec: RunSpec, *, step: int) -> None:
    """Log the trained model with MLflow's Keras flavour, named by the run's label and linked
    to the metrics logged at `step` (the last epoch: its curves and the final test metrics).

    The requirements are given, not inferred: inference re-imports the model in a
    subprocess, which costs many seconds per run for a list we already know.
    """
    import keras
    import numpy as np
    from mlflow.models import infer_signature

    from suite.record.environment import environment

    env = environment()
    backend_package = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[env["backend"]]
    example = np.zeros((1, *spec.data.input_shape), dtype=np.float32)
    signature = infer_signature(example, np.zeros((1, spec.data.outputs), dtype=np.float32))
    mlflow.keras.log_model(
        model,
        name=logged_model_name(spec.label),
        step=step,
        signature=signature,
        pip_requirements=[
            f"keras=={keras.__version__}",
            f"{backend_package}=={env['backend_version']}",
        ],
    )
