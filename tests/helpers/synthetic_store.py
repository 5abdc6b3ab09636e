"""A tracking store of synthetic finished runs with known values, made with MLflow's own API.

The report's tests assert statistics against values chosen here, and its benchmark reads a
few hundred such runs. The runs look exactly like the suite's: the same RunSpec gives their
run_key, label and params, and the schema their tag, metric and artifact names, so a study
file's grid joins them as it joins trained runs.

A run is a classification run (test accuracy, accuracy curves, a confusion matrix) unless it
is made by `regression_run`: then it logs what a regression run logs (schema.Measure): test
RMSE, rmse and val_rmse curves, the params task=regression and target_std, no confusion.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from suite.record.run_content import confusion_json, run_params
from suite.schema import Artifact, Measure, Role, Tag, run_label
from suite.schema import Metric as MetricName
from suite.study.data_config import MNIST_FIELDS
from suite.study.run_spec import RunSpec
from tests.conftest import make_spec, new_mlflow_db


@dataclass(frozen=True)
class SyntheticRun:
    cell: str
    bidirectional: bool
    layers: int
    seed: int
    test_accuracy: float
    status: str = "FINISHED"  # or FAILED, KILLED, RUNNING
    val_accuracy: float | None = None  # final validation accuracy; default: the test accuracy
    backend: str | None = None  # the grid's backend axis value (None: not named)
    computed_on: str | None = None  # its env.backend tag; default: the spec's backend
    recorded_key: str | None = None  # its run_key tag; default: the spec's run_key
    params: int | None = None  # a budget in weights (the grid's `params`); None: not named
    # A regression run's (`regression_run`; None: a classification run): its test RMSE, its
    # final validation RMSE (default: the test RMSE), and its training targets' std
    test_rmse: float | None = None
    val_rmse: float | None = None
    target_std: float = 1.0
    # The `dataset` param a run on a dataset other than MNIST logs (None: MNIST, whose runs
    # log none); it joins the run_key and the run's name, as a study's dataset axis does.
    dataset: str | None = None
    recorded_dataset: bool = True  # False: an MNIST run recorded before runs logged `dataset`

    @property
    def measure(self) -> Measure:
        return Measure("regression" if self.test_rmse is not None else "classification")


def regression_run(
    cell: str,
    bidirectional: bool,
    layers: int,
    seed: int,
    test_rmse: float,
    *,
    val_rmse: float | None = None,
    target_std: float = 1.0,
    **others: object,
) -> SyntheticRun:
    """A finished regression run: test RMSE `test_rmse`, its validation RMSE falling to
    `val_rmse` (default: the test RMSE), targets of std `target_std`. It has no accuracy."""
    return SyntheticRun(
        cell,
        bidirectional,
        layers,
        seed,
        math.nan,  # no test accuracy
        test_rmse=test_rmse,
        val_rmse=val_rmse,
        target_std=target_std,
        **others,  # type: ignore[arg-type]
    )


def default_curve(run: SyntheticRun, metric: str, epoch: int, epochs: int) -> float:
    """Curves that end where the run's accuracy says: rising accuracy, falling loss; a
    regression run's RMSE falls to its validation RMSE (training: 0.01 below it)."""
    progress = epoch / epochs  # epochs from 1
    if metric.endswith("rmse"):
        end = run.val_rmse if run.val_rmse is not None else run.test_rmse
        assert end is not None
        bottom = end - (0.01 if metric == "rmse" else 0.0)
        return bottom + 0.3 * (1 - progress) ** 2
    if metric.endswith("accuracy"):
        end = run.val_accuracy if run.val_accuracy is not None else run.test_accuracy
        top = end + (0.01 if metric == "accuracy" else 0.0)
        return top - 0.3 * (1 - progress) ** 2
    return 0.1 + 2.0 * (1 - progress) ** 2


def spec_of(run: SyntheticRun, *, study: str, epochs: int, units: int) -> RunSpec:
    """The RunSpec the suite would train for `run`: the defaults of a study file (the classic
    setup) with this cell, direction, depth, seed, units and epochs."""
    return make_spec(
        study=study,
        seed=run.seed,
        cell=run.cell,
        bidirectional=run.bidirectional,
        layers=run.layers,
        units=units,
        epochs=epochs,
        backend=run.backend,
        params=run.params,
    )


def make_store(
    uri: str,
    runs: Iterable[SyntheticRun],
    *,
    experiment: str = "synthetic",
    study: str = "synthetic",
    epochs: int = 10,
    curve: Callable[[SyntheticRun, str, int, int], float] = default_curve,
    units: int = 50,
    confusion: bool = True,
) -> dict[str, str]:
    """Create the experiment, a parent run and one child per SyntheticRun; {label: run_id}."""
    if uri.startswith("sqlite:///"):
        new_mlflow_db(uri)  # MLflow's tables, made once per session, not once per store
    client = MlflowClient(uri)
    existing = client.get_experiment_by_name(experiment)  # a second study may share it
    experiment_id = (
        existing.experiment_id
        if existing
        else client.create_experiment(experiment, tags={Tag.ROLE: Role.STUDY})
    )
    parent = client.create_run(
        experiment_id, run_name=study, tags={Tag.ROLE: Role.STUDY, Tag.STUDY: study}
    )
    client.set_terminated(parent.info.run_id)
    created = {}
    now = int(time.time() * 1000)
    for run in runs:
        spec = spec_of(run, study=study, epochs=epochs, units=units)
        label, run_key = spec.label, spec.run_key
        if run.dataset is not None:  # other data: another result, and its name says which
            extras = {"dataset": run.dataset}
            label = run_label(run.cell, run.bidirectional, run.layers, run.seed, extras)
            run_key = hashlib.sha256(f"{run_key}/{run.dataset}".encode()).hexdigest()[:16]
        child = client.create_run(
            experiment_id,
            run_name=label,
            start_time=now,
            tags={
                Tag.PARENT_RUN: parent.info.run_id,
                Tag.ROLE: Role.RUN,
                Tag.STUDY: study,
                Tag.RUN_KEY: run.recorded_key or run_key,
                Tag.CELL: run.cell,
                Tag.DIRECTION: spec.direction,
                Tag.DEPTH: str(run.layers),
                Tag.SEED: str(run.seed),
                f"{Tag.ENV_PREFIX}keras": "3.15.1",
                Tag.env("backend"): run.computed_on or spec.keras_backend,
                f"{Tag.ENV_PREFIX}device": "CPU: synthetic",
            },
        )
        run_id = child.info.run_id
        measure = run.measure
        params = {name: str(value) for name, value in run_params(spec).items()}
        if measure.task == "regression":  # as run_params logs them for regression data
            params.update(
                task="regression", target_std=str(run.target_std), dataset="synthetic-target"
            )
        if not run.recorded_dataset:
            params.pop("dataset", None)
        if run.dataset is not None:  # as run_params logs other data: no MNIST-only field
            params = {k: v for k, v in params.items() if k not in MNIST_FIELDS}
            params["dataset"] = run.dataset
        every_epoch = range(1, epochs + 1)  # MLflow steps are epochs from 1, as the suite's
        metrics = [
            Metric(name, curve(run, name, epoch, epochs), now + epoch, epoch)
            for epoch in every_epoch
            for name in measure.curves[:4]  # loss, accuracy (rmse), val_loss, val_accuracy ...
        ]
        metrics += [Metric("epoch_seconds", 2.0 * run.layers, now + e, e) for e in every_epoch]
        if run.status == "FINISHED":
            val_name = f"val_{measure.name}"
            val_curve = [curve(run, val_name, e, epochs) for e in every_epoch]
            best = measure.objective.best_epoch(val_curve)  # the first of equal bests
            assert best is not None
            test = run.test_rmse if measure.task == "regression" else run.test_accuracy
            test_loss = test**2 if measure.task == "regression" else 1 - test  # MSE; any loss
            finals = {
                measure.test: test,
                MetricName.TEST_LOSS: test_loss,
                measure.best_val: val_curve[best - 1],
                MetricName.BEST_EPOCH: best,
                MetricName.EPOCHS_TRAINED: epochs,
                MetricName.PARAM_COUNT: 1000 * run.layers * (2 if run.bidirectional else 1),
                MetricName.TRAIN_SECONDS: 2.0 * run.layers * epochs,
            }
            metrics += [Metric(k, float(v), now + epochs, epochs) for k, v in finals.items()]
        client.log_batch(
            run_id,
            metrics=metrics,
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag("mlflow.runName", label)],
        )
        if confusion and run.status == "FINISHED" and measure.task == "classification":
            matrix = [[90 if i == j else 1 for j in range(10)] for i in range(10)]
            client.log_text(run_id, confusion_json(matrix), Artifact.CONFUSION)
        if run.status != "RUNNING":
            client.set_terminated(run_id, run.status, end_time=now + 60_000)
        created[label] = run_id
    return created
