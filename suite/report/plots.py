"""The report's figures (seaborn), each returned as a matplotlib Figure; one colour per cell.
Each says the study's measure (accuracy, or RMSE for regression) and reads its columns."""

from __future__ import annotations

import base64
import io
import textwrap

import matplotlib

matplotlib.use("Agg")  # files only; never open a window

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import ticker
from matplotlib.figure import Figure

from suite.report.anova import RESIDUAL
from suite.report.measures import BEST_VAL_VALUE, CLASSIFICATION, GAP, TEST_VALUE
from suite.report.stats import CELL_ORDER, DIRECTION_ORDER, non_dominated, pivot
from suite.schema import Measure

CELL_COLOURS = dict(zip(CELL_ORDER, sns.color_palette("colorblind", 3), strict=True))
CURVE_TITLES = {
    "val_accuracy": "validation accuracy",
    "val_loss": "validation loss",
    "accuracy": "training accuracy",
    "loss": "training loss",
    "val_rmse": "validation RMSE",
    "rmse": "training RMSE",
}

sns.set_theme(context="notebook", style="whitegrid")


def palette(cells: pd.Series) -> dict[str, tuple[float, float, float]]:
    extra = sns.color_palette("dark", 8)
    unknown = [c for c in cells.unique() if c not in CELL_COLOURS]
    return {**CELL_COLOURS, **dict(zip(unknown, extra, strict=False))}


def _cell_order(cells: pd.Series) -> list[str]:
    present = set(cells.dropna())
    return [c for c in CELL_ORDER if c in present] + sorted(present - set(CELL_ORDER))


def _per_configuration(
    axis: plt.Axes, title: str, ylabel: str, *, xlabel: str = "configuration"
) -> None:
    """Axes with one slot per configuration: slanted labels, legend outside."""
    axis.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axis.tick_params(axis="x", rotation=60)
    plt.setp(axis.get_xticklabels(), ha="right", rotation_mode="anchor")
    axis.legend(title="cell", bbox_to_anchor=(1.01, 1), loc="upper left")


def to_data_uri(figure: Figure) -> str:
    """The figure as an inline PNG, so the report is one file that opens offline."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


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
        hue_order=_cell_order(data["cell"]),
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
    _per_configuration(
        axis,
        f"{study}: test {measure.words} of each configuration ({title})",
        f"test {measure.words}",
        xlabel="configuration (ranked by validation)",
    )
    return figure


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
        hue_order=_cell_order(board["cell"]),
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
        hue_order=_cell_order(data["cell"]),
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
    _per_configuration(
        axis,
        f"{study}: train minus validation {measure.words} at the last epoch",
        f"{measure.words} gap",
        xlabel="configuration (ranked by validation)",
    )
    return figure


def run_curves(curves: pd.DataFrame, run_label: str, measure: Measure = CLASSIFICATION) -> Figure:
    """One run's loss and measure side by side, drawn as the run logged them."""
    from suite.record.figures import plot_curve

    ordered = curves.sort_values("epoch")
    history = {
        name: ordered.loc[ordered["metric"] == name, "value"].tolist()
        for name in measure.curves[:4]
    }
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    for axis, metric in zip(axes, ("loss", measure.name), strict=True):
        plot_curve(axis, run_label, history, metric)
    if measure.words != measure.name:  # the run's drawing says Keras's name: "rmse"
        _say(axes[1], run_label, measure.words)
    return figure


def _say(axis: plt.Axes, run_label: str, words: str) -> None:
    """Relabel a run's drawing of its measure with the measure's words."""
    axis.set(title=f"{run_label}: {words} per epoch", ylabel=words)
    axis.legend(axis.get_lines(), [f"train {words}", f"validation {words}"])


def confusion(matrix: list[list[int]], run_label: str) -> Figure:
    """The confusion matrix as the run logged it."""
    from suite.record.figures import confusion_figure

    return confusion_figure(run_label, matrix)


def variance_shares(terms: pd.DataFrame, study: str, measure: Measure = CLASSIFICATION) -> Figure:
    """Each term's share of the variance in the test value, largest first; the residual grey."""
    ordered = terms.assign(percent=100 * terms["share"]).sort_values(
        "percent", ascending=False, kind="stable"
    )
    bar = sns.color_palette("colorblind")[0]
    colours = {t: "0.6" if t == RESIDUAL else bar for t in ordered["term"]}
    figure, axis = plt.subplots(figsize=(6.5, 0.45 * len(ordered) + 1.4), layout="constrained")
    sns.barplot(
        data=ordered, x="percent", y="term", hue="term", palette=colours, legend=False, ax=axis
    )
    for bars in axis.containers:
        axis.bar_label(bars, fmt="%.1f%%", padding=3, fontsize=8)
    axis.set_xlim(0, max(100.0, float(ordered["percent"].max())) * 1.08)
    axis.set(
        title=f"{study}: share of the variance in test {measure.words}",
        xlabel="share of the total sum of squares (%)",
        ylabel="",
    )
    return figure


def critical_difference(
    average_rank: pd.Series, p_holm: pd.DataFrame, cells: pd.Series, study: str
) -> Figure:
    """scikit-posthocs' critical-difference diagram: each configuration at its average rank
    (best first), a bar over each group the tests (`p_holm`) cannot tell apart; colour: cell.

    Drawn narrow, every label on one side: a phone shows a figure at about 360 px whatever
    its size, so its text is legible only if the figure is about 4 inches wide at 9 points
    (18 configurations, two columns of labels, would be twice that)."""
    import scikit_posthocs

    k = len(average_rank)
    bars = len(scikit_posthocs.compact_letter_display(p_holm).iloc[0])  # at most, stacked
    # The axis spans the figure; the labels stand to its left, and the saved image is cropped
    # to all of it (`to_data_uri`): a layout engine would shrink the axis to fit them instead.
    figure, axis = plt.subplots(figsize=(2.2, 0.22 * (k + bars + 1)))
    figure.subplots_adjust(left=0, right=1, bottom=0, top=1)
    order = _cell_order(cells)
    scikit_posthocs.critical_difference_diagram(
        average_rank,
        p_holm,
        ax=axis,
        alpha=0.05,
        left_only=True,
        label_fmt_left="{label} ({rank:.2f})",
        label_props={"fontsize": 9},
        hue=cells,
        hue_order=order,
        color_palette={cell: palette(cells)[cell] for cell in order},
    )
    axis.set_xlim(0.5, k + 0.5)  # the whole scale of ranks, 1 to k: distances read true
    axis.grid(False)
    ticks = range(1, k + 1) if k <= 8 else sorted({round(r) for r in np.linspace(1, k, 5)})
    axis.set_xticks(list(ticks))  # 1 and k among them
    axis.tick_params(axis="x", labelsize=9)
    axis.set_xlabel(f"{study}: average rank (1 = best)", fontsize=9)
    axis.xaxis.set_label_position("top")
    return figure


def race_intervals(rows: pd.DataFrame, study: str, words: str = "validation accuracy") -> Figure:
    """Each configuration's mean best validation value (`words`: what it is of) with its
    interval, in race order: survivors first, then the eliminated by the round that
    eliminated them."""
    figure, axis = plt.subplots(
        figsize=(6.5, max(2.5, 0.32 * len(rows) + 1.2)), layout="constrained"
    )
    positions = range(len(rows))[::-1]
    eliminated = rows["status"].str.startswith("eliminated")
    for mask, colour, label in (
        (~eliminated, "tab:blue", "surviving"),
        (eliminated, "tab:gray", "eliminated"),
    ):
        part = rows[mask]
        y = [p for p, m in zip(positions, mask, strict=True) if m]
        error = [part["mean"] - part["low"], part["high"] - part["mean"]]
        axis.errorbar(part["mean"], y, xerr=error, fmt="o", color=colour, capsize=3, label=label)
    axis.set_yticks(
        list(positions),
        [f"{c} ({s})" for c, s in zip(rows["configuration"], rows["seeds"], strict=True)],
    )
    axis.set(
        title=f"{study}: the race (seeds in brackets)",
        xlabel=f"best {words} (mean, interval)",
    )
    axis.legend(bbox_to_anchor=(1.01, 1), loc="upper left", fontsize="small")  # off the points
    return figure
