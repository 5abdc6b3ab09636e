"""How fast each configuration learns, from the per-epoch curves the runs record: the epoch
and the training seconds at which the validation value of the study's measure first reaches
each threshold, per run, then per configuration over its seeds (mean and range).

The thresholds come from the runs' own values:
- accuracy: fixed accuracies (CANDIDATE_THRESHOLDS), the highest three that some run's best
  validation accuracy reaches; a run reaches one at its first epoch at or above it.
- RMSE, in the target's units: shares of the training targets' standard deviation, the RMSE
  of always predicting their mean (CANDIDATE_SHARES: 0.9 of it is the near-chance line, 0.5
  explains 75% of the variance), the lowest three that some run's best validation RMSE falls
  to; a run reaches one at its first epoch at or below that share of its own targets' std.
"""

from __future__ import annotations

import pandas as pd

from suite.report.measures import BEST_VAL_VALUE, CLASSIFICATION, TARGET_STD_PARAM
from suite.schema import Measure, Metric

# Accuracies a study may reach; the report uses the highest three its best run reached.
CANDIDATE_THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99)
# Validation RMSEs as shares of the targets' std, easiest first; the lowest three reached.
CANDIDATE_SHARES = (0.9, 0.75, 0.5, 0.25, 0.1, 0.05, 0.02, 0.01)
SHOWN_THRESHOLDS = 3


def scale_of(runs: pd.DataFrame, measure: Measure) -> pd.Series:
    """What each run's values are read against: 1 for an accuracy; for an RMSE, the run's
    training targets' std (NaN where the run logged none: it reaches no threshold)."""
    if measure.task == "classification":
        return pd.Series(1.0, index=runs.index)
    return pd.to_numeric(runs.get(TARGET_STD_PARAM, pd.Series(index=runs.index)), errors="coerce")


def thresholds(finished: pd.DataFrame, measure: Measure = CLASSIFICATION) -> list[float]:
    """The thresholds shown, easiest first: for accuracy the highest SHOWN_THRESHOLDS
    candidates that some run's best validation accuracy reaches; for RMSE the lowest
    SHOWN_THRESHOLDS shares of the targets' std that some run's best validation RMSE falls to
    (none: nothing learned past the easiest)."""
    best = finished[BEST_VAL_VALUE] / scale_of(finished, measure)
    if measure.maximise:
        top = float(best.max())
        return [t for t in CANDIDATE_THRESHOLDS if t <= top][-SHOWN_THRESHOLDS:]
    lowest = float(best.min())
    return [s for s in CANDIDATE_SHARES if s >= lowest][-SHOWN_THRESHOLDS:]


def elapsed(
    finished: pd.DataFrame, curves: pd.DataFrame, measure: Measure = CLASSIFICATION
) -> pd.DataFrame:
    """Each finished run's validation value per epoch (`value`, and `relative`: over its
    `scale_of`, the units thresholds are in) beside the training seconds spent up to that
    epoch's end: the sum of its epochs' recorded seconds (`epoch_seconds`), or, for a run
    that recorded none, the epochs times its mean seconds per epoch."""
    metric = f"val_{measure.name}"
    values = curves[curves["metric"] == metric][["run_id", "epoch", "value"]]
    seconds = curves[curves["metric"] == Metric.EPOCH_SECONDS][["run_id", "epoch", "value"]]
    points = values.merge(
        seconds.rename(columns={"value": "epoch_seconds"}), on=["run_id", "epoch"], how="left"
    )
    runs = finished[["run_id", "config", "cell", "direction", "depth", "seconds_per_epoch"]]
    points = points.merge(runs.assign(scale=scale_of(finished, measure)), on="run_id")
    points = points.sort_values(["run_id", "epoch"])
    points["epoch_seconds"] = points["epoch_seconds"].fillna(points["seconds_per_epoch"])
    points["seconds"] = points.groupby("run_id")["epoch_seconds"].cumsum()
    points["relative"] = points["value"] / points["scale"]
    dropped = ["epoch_seconds", "seconds_per_epoch", "scale"]
    return points.drop(columns=dropped).reset_index(drop=True)


def first_reached(
    points: pd.DataFrame, levels: list[float], *, higher_is_better: bool = True
) -> pd.DataFrame:
    """Per configuration and threshold: the seeds that reached it (of how many) and the epoch
    and seconds at which they first did (mean, min, max over those seeds). A run reaches a
    level where its `relative` value is at or above it (`higher_is_better`), else at or below."""
    rows = []
    for (config, run_id), run in points.groupby(["config", "run_id"], sort=False):
        for level in levels:
            if higher_is_better:
                reached = run[run["relative"] >= level]
            else:
                reached = run[run["relative"] <= level]
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
