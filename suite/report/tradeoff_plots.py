"""The trade-off figures (seaborn): each configuration's validation value against its
parameters, its seconds per epoch (the Pareto front named), and its training seconds."""

from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")  # files only; never open a window

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib import ticker
from matplotlib.figure import Figure

from suite.report.measures import BEST_VAL_VALUE, CLASSIFICATION
from suite.report.plot_style import cell_order, palette
from suite.report.stats import non_dominated
from suite.schema import Measure

# The trade-off plots read the best validation value, as the Pareto section does: a front is
# a choice of configurations, and choices are made on validation data, never on the test set.
VALIDATION = BEST_VAL_VALUE


def _value_scatter(
    board: pd.DataFrame, x: str, measure: Measure, **marks: object
) -> tuple[Figure, plt.Axes]:
    """Mean best validation value of each configuration against `x`, its Pareto front dashed
    and named: colour = cell, marker = direction."""
    figure, axis = plt.subplots(figsize=(6.5, 6.0), layout="constrained")
    sns.scatterplot(
        data=board,
        x=x,
        y=VALIDATION,
        hue="cell",
        style="direction",
        palette=palette(board["cell"]),
        hue_order=cell_order(board["cell"]),
        ax=axis,
        **marks,
    )
    on_front = non_dominated(board, cost=x, gain=VALIDATION, higher_is_better=measure.maximise)
    front = board[on_front].sort_values(x)
    axis.step(
        front[x],
        front[VALIDATION],
        where="post",
        color="black",
        linewidth=1,
        linestyle="--",
        label="Pareto front",
    )
    # The front's members are numbered on the plot and named in a key below it: names beside
    # points run into each other where cheap configurations crowd, and at a phone's width.
    for number, (_, row) in enumerate(front.iterrows(), start=1):
        axis.annotate(
            str(number),
            (row[x], row[VALIDATION]),
            textcoords="offset points",
            xytext=(5, 4),
            fontsize=9,
            fontweight="bold",
        )
    # A no-break space keeps each number with its name when the key wraps.
    key = "   ".join(f"{n}\u00a0{name}" for n, name in enumerate(front["config"], start=1))
    wrapped = "\n".join(textwrap.wrap(f"Pareto front: {key}", 64, break_on_hyphens=False))
    figure.supxlabel(wrapped, x=0.02, ha="left", fontsize=10)  # laid out with the axes
    # Inside, costly and inaccurate (the lower right for an accuracy, the upper right for an
    # error): the corner a trade-off leaves empty.
    corner = "lower right" if measure.maximise else "upper right"
    axis.legend(loc=corner, ncol=2, fontsize="small", framealpha=0.9)
    return figure, axis


def value_vs_params(board: pd.DataFrame, study: str, measure: Measure = CLASSIFICATION) -> Figure:
    figure, axis = _value_scatter(board, "param_count", measure, size="depth", sizes=(40, 160))
    axis.set_xscale("log")
    # Ticks at 1, 2 and 5 of each decade, written out (20,000): the default labels every
    # minor tick in powers of ten, and within one decade they run into each other.
    axis.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axis.xaxis.set_minor_formatter(ticker.NullFormatter())
    axis.tick_params(axis="x", labelrotation=30, labelsize="small")
    axis.set(
        title=f"{study}: validation {measure.words} against parameter count",
        xlabel="parameters (log scale)",
        ylabel=f"mean best validation {measure.words}",
    )
    return figure


def value_vs_time(board: pd.DataFrame, study: str, measure: Measure = CLASSIFICATION) -> Figure:
    figure, axis = _value_scatter(board, "seconds_per_epoch", measure, s=70)
    axis.set(
        title=f"{study}: validation {measure.words} against training time",
        xlabel="training seconds per epoch",
        ylabel=f"mean best validation {measure.words}",
    )
    return figure


def value_vs_seconds(
    points: pd.DataFrame, study: str, *, seeds: int, measure: Measure = CLASSIFICATION
) -> Figure:
    """The validation value against training seconds, one line per configuration (colour:
    cell, dashes: direction, one panel per depth). A configuration's seeds spend different
    seconds on an epoch: each epoch is drawn at their mean, with their values' spread."""
    data = points.copy()
    data["mean_seconds"] = data.groupby(["config", "epoch"])["seconds"].transform("mean")
    grid = sns.relplot(
        data=data,
        x="mean_seconds",
        y="value",
        hue="cell",
        style="direction",
        units="config" if seeds < 2 else None,
        estimator=None if seeds < 2 else "mean",
        palette=palette(data["cell"]),
        hue_order=cell_order(data["cell"]),
        row="depth",  # panels stacked: the figure stays narrow enough for a phone
        kind="line",
        errorbar="sd" if seeds >= 2 else None,
        marker="o",
        markersize=4,
        height=2.4,
        aspect=2.4,
    )
    grid.set_axis_labels("training seconds", f"validation {measure.words}")
    grid.set_titles(row_template="depth {row_name}")
    sns.move_legend(grid, "upper center", bbox_to_anchor=(0.45, 0.0), ncol=4, frameon=False)
    drawn = "mean over seeds, band = 1 std" if seeds >= 2 else "one seed per configuration"
    grid.figure.suptitle(
        f"{study}: validation {measure.words}\nagainst training seconds ({drawn})", y=1.04
    )
    return grid.figure
