"""A tracking store of synthetic finished runs with known values, made with MLflow's own API.

The report's tests assert statistics against values chosen here, and its benchmark reads a
few hundred such runs; the runs look exactly like the suite's (same params, tags, curves).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient


@dataclass(frozen=True)
class SyntheticRun:
    cell: str
    bidirectional: bool
    layers: int
    seed: int
    test_accuracy: float
    status: str = "FINISHED"  # or FAILED, KILLED, RUNNING
    val_accuracy: float | None = None  # final validation accuracy; default: the test accuracy


def default_curve(run: SyntheticRun, metric: str, epoch: int, epochs: int) -> float:
    """Curves that end where the run's accuracy says: rising accuracy, falling loss."""
    progress = epoch / epochs  # epochs from 1
    if metric.endswith("accuracy"):
        end = run.val_accuracy if run.val_accuracy is not None else run.test_accuracy
        top = end + (0.01 if metric == "accuracy" else 0.0)
        return top - 0.3 * (1 - progress) ** 2
    return 0.1 + 2.0 * (1 - progress) ** 2


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
    client = MlflowClient(uri)
    experiment_id = client.create_experiment(experiment, tags={"suite_role": "study"})
    parent = client.create_run(
        experiment_id, run_name=study, tags={"suite_role": "study", "study": study}
    )
    client.set_terminated(parent.info.run_id)
    created = {}
    now = int(time.time() * 1000)
    for run in runs:
        direction = "bidirectional" if run.bidirectional else "unidirectional"
        label = f"{run.cell}-{'bi' if run.bidirectional else 'uni'}-{run.layers}L-s{run.seed}"
        key = f"{label}-{units}"
        child = client.create_run(
            experiment_id,
            run_name=label,
            start_time=now,
            tags={
                "mlflow.parentRunId": parent.info.run_id,
                "suite_role": "run",
                "study": study,
                "run_key": key,
                "cell": run.cell,
                "direction": direction,
                "depth": str(run.layers),
                "seed": str(run.seed),
                "env.keras": "3.15.1",
                "env.backend": "tensorflow",
                "env.device": "CPU: synthetic",
            },
        )
        run_id = child.info.run_id
        params = {
            "cell": run.cell,
            "bidirectional": str(run.bidirectional),
            "layers": str(run.layers),
            "units": str(units),
            "dropout": "0.2",
            "epochs": str(epochs),
            "batch_size": "64",
            "optimizer": "adam",
            "learning_rate": "0.001",
            "seed": str(run.seed),
            "view": "rows",
            "validation": "holdout",
            "validation_size": "10000",
        }
        every_epoch = range(1, epochs + 1)  # MLflow steps are epochs from 1, as the suite's
        metrics = [
            Metric(name, curve(run, name, epoch, epochs), now + epoch, epoch)
            for epoch in every_epoch
            for name in ("loss", "accuracy", "val_loss", "val_accuracy")
        ]
        metrics += [Metric("epoch_seconds", 2.0 * run.layers, now + e, e) for e in every_epoch]
        if run.status == "FINISHED":
            val_curve = {e: curve(run, "val_accuracy", e, epochs) for e in every_epoch}
            best = max(every_epoch, key=lambda e: val_curve[e])
            finals = {
                "test_accuracy": run.test_accuracy,
                "test_loss": 1 - run.test_accuracy,
                "best_val_accuracy": val_curve[best],
                "best_epoch": best,
                "epochs_trained": epochs,
                "param_count": 1000 * run.layers * (2 if run.bidirectional else 1),
                "train_seconds": 2.0 * run.layers * epochs,
            }
            metrics += [Metric(k, float(v), now + epochs, epochs) for k, v in finals.items()]
        client.log_batch(
            run_id,
            metrics=metrics,
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag("mlflow.runName", label)],
        )
        if confusion and run.status == "FINISHED":
            matrix = [[90 if i == j else 1 for j in range(10)] for i in range(10)]
            client.log_dict(
                run_id,
                {"labels": list(range(10)), "rows_true_columns_predicted": matrix},
                "confusion_matrix.json",
            )
        if run.status != "RUNNING":
            client.set_terminated(run_id, run.status, end_time=now + 60_000)
        created[label] = run_id
    return created
