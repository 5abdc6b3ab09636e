"""The figures of a study's grid (seaborn): the heatmap by cell and depth, the learning curves,
each configuration's seeds, and the generalisation gap. Each says the study's measure
(accuracy, or RMSE for regression) and reads its columns."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; never open a window

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from suite.report.measures import CLASSIFICATION, GAP, TEST_VALUE
from suite.report.plot_style import cell_order, palette, per_configuration
from suite.report.stats import DIRECTION_ORDER, pivot
from suite.schema import Measure

CURVE_TITLES = {
    "val_accuracy": "validation accuracy",
    "val_loss": "validation loss",
    "accuracy": "training accuracy",
    "loss": "training loss",
    "val_rmse": "validation RMSE",
    "rmse": "training RMSE",
}


def heatmap(
    finished: pd.DataFrame,
    study: str,
    levels: dict | None = None,
    measure: Measure = CLASSIFICATION,
) -> Figure:
    """Faceted by direction; grid points without a finished run are left blank. The colours
    run the same way for either measure: the brightest is the best (the lowest RMSE)."""
    levels = levels or {}
    present = set(finished["direction"]) | set(levels.get("directions", ()))
    directions = [d for d in DIRECTION_ORDER if d in present]
    tables = {
        d: pivot(finished, d, cells=levels.get("cells", ()), depths=levels.get("depths", ()))
        for d in directions
    }
    low = min(t.min().min() for t in tables.values())
    high = max(t.max().max() for t in tables.values())
    figure, axes = plt.subplots(
        1,
        len(directions),
        figsize=(5.2 * len(directions), 3.6),
        squeeze=False,
        layout="constrained",
    )
    for axis, direction in zip(axes[0], directions, strict=True):
        sns.heatmap(
            tables[direction],
            annot=True,
            fmt=".4f" if measure.task == "classification" else ".4g",
            cmap="viridis" if measure.maximise else "viridis_r",
            vmin=low,
            vmax=high,
            ax=axis,
            cbar=axis is axes[0][-1],
            cbar_kws={"label": f"test {measure.words}"},
        )
        axis.set(title=direction, xlabel="depth (recurrent layers)", ylabel="cell")
    figure.suptitle(f"{study}: mean test {measure.words} by cell and depth")
    return figure


def learning_curves(
    finished: pd.DataFrame, curves: pd.DataFrame, metric: str, study: str, *, seeds: int
) -> Figure:
    """Faceted by direction and depth, one colour per cell: the mean over seeds with a band of
    one standard deviation when there are seeds to spread, else the one run's line."""
    data = curves[curves["metric"] == metric].merge(
        finished[["run_id", "cell", "direction", "depth"]], on="run_id"
    )
    grid = sns.relplot(
        data=data,
        x="epoch",
        y="value",
        hue="cell",
        palette=palette(finished["cell"]),
        row="direction",
        col="depth",
        kind="line",
        errorbar="sd" if seeds >= 2 else None,
        marker="o",
        markersize=4,
        height=2.8,
        aspect=1.25,
        facet_kws={"margin_titles": True},
        row_order=[d for d in DIRECTION_ORDER if d in set(data["direction"])],
        hue_order=cell_order(data["cell"]),
    )
    grid.set_axis_labels("epoch", CURVE_TITLES.get(metric, metric))
    grid.set_titles(row_template="{row_name}", col_template="depth {col_name}")
    for axis in grid.axes.flat:
        axis.xaxis.get_major_locator().set_params(integer=True)
    drawn = "mean over seeds, band = 1 std" if seeds >= 2 else "one seed per configuration"
    grid.figure.suptitle(f"{study}: {CURVE_TITLES.get(metric, metric)} per epoch ({drawn})", y=1.02)
    return grid.figure


def seeds_per_config(
    finished: pd.DataFrame,
    order: list[str],
    study: str,
    *,
    seeds: int,
    measure: Measure = CLASSIFICATION,
) -> Figure:
    """One point per run, configurations in `order`; boxes only when there are seeds."""
    figure, axis = plt.subplots(
        figsize=(max(6.0, 0.45 * len(order) + 2), 4.2), layout="constrained"
    )
    points = {
        "data": finished,
        "x": "config",
        "y": TEST_VALUE,
        "order": order,
        "hue": "cell",
        "palette": palette(finished["cell"]),
        "ax": axis,
    }
    if seeds >= 2:
        sns.boxplot(**points, legend=False, fill=False, showfliers=False)
    sns.stripplot(**points, size=5, jitter=0.15)
    title = "across seeds" if seeds >= 2 else "one seed each"
    per_configuration(
        axis,
        f"{study}: test {measure.words} of each configuration ({title})",
        f"test {measure.words}",
        xlabel="configuration (ranked by validation)",
    )
    return figure


def generalisation_gap(
    board: pd.DataFrame, study: str, measure: Measure = CLASSIFICATION
) -> Figure:
    figure, axis = plt.subplots(
        figsize=(max(6.0, 0.45 * len(board) + 2), 4.0), layout="constrained"
    )
    sns.barplot(
        data=board,
        x="config",
        y=GAP,
        hue="cell",
        palette=palette(board["cell"]),
        dodge=False,
        ax=axis,
    )
    axis.axhline(0, color="black", linewidth=0.8)
    per_configuration(
        axis,
        f"{study}: train minus validation {measure.words} at the last epoch",
        f"{measure.words} gap",
        xlabel="configuration (ranked by validation)",
    )
    return figure
