"""How fast each configuration learns, from the per-epoch curves the runs record: the epoch
and the training seconds at which validation accuracy first reaches fixed thresholds, per run,
then per configuration over its seeds (mean and range)."""

from __future__ import annotations

import pandas as pd

from suite.schema import Metric

# Thresholds a study may reach; the report uses the highest three its best run reached.
CANDIDATE_THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99)
SHOWN_THRESHOLDS = 3


def thresholds(finished: pd.DataFrame) -> list[float]:
    """The highest SHOWN_THRESHOLDS candidates that some run's best validation accuracy
    reaches, lowest first (none: nothing learned past the lowest)."""
    best = float(finished["best_val_accuracy"].max())
    return [t for t in CANDIDATE_THRESHOLDS if t <= best][-SHOWN_THRESHOLDS:]


def elapsed(finished: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """Each finished run's validation accuracy per epoch beside the training seconds spent
    up to that epoch's end: the sum of its epochs' recorded seconds (`epoch_seconds`), or,
    for a run that recorded none, the epochs times its mean seconds per epoch."""
    accuracy = curves[curves["metric"] == "val_accuracy"][["run_id", "epoch", "value"]]
    seconds = curves[curves["metric"] == Metric.EPOCH_SECONDS][["run_id", "epoch", "value"]]
    points = accuracy.merge(
        seconds.rename(columns={"value": "epoch_seconds"}), on=["run_id", "epoch"], how="left"
    )
    points = points.merge(
        finished[["run_id", "config", "cell", "direction", "depth", "seconds_per_epoch"]],
        on="run_id",
    ).sort_values(["run_id", "epoch"])
    points["epoch_seconds"] = points["epoch_seconds"].fillna(points["seconds_per_epoch"])
    points["seconds"] = points.groupby("run_id")["epoch_seconds"].cumsum()
    return points.drop(columns=["epoch_seconds", "seconds_per_epoch"]).reset_index(drop=True)


def first_reached(points: pd.DataFrame, levels: list[float]) -> pd.DataFrame:
    """Per configuration and threshold: the seeds that reached it (of how many) and the epoch
    and seconds at which they first did (mean, min, max over those seeds)."""
    rows = []
    for (config, run_id), run in points.groupby(["config", "run_id"], sort=False):
        for level in levels:
            reached = run[run["value"] >= level]
            first = reached.iloc[0] if not reached.empty else None
            rows.append(
                {
                    "config": config,
                    "threshold": level,
                    "run_id": run_id,
                    "epoch": None if first is None else int(first["epoch"]),
                    "seconds": None if first is None else float(first["seconds"]),
                }
            )
    per_run = pd.DataFrame(rows)
    per_run[["epoch", "seconds"]] = per_run[["epoch", "seconds"]].astype(float)
    grouped = per_run.groupby(["config", "threshold"], sort=False)
    table = grouped.agg(
        seeds=("run_id", "size"),
        reached=("epoch", "count"),
        epochs=("epoch", "mean"),
        epochs_min=("epoch", "min"),
        epochs_max=("epoch", "max"),
        seconds=("seconds", "mean"),
        seconds_min=("seconds", "min"),
        seconds_max=("seconds", "max"),
    )
    return table.reset_index()
