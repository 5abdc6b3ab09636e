"""Per-run figures logged as artifacts of the run: learning curves and the confusion matrix."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; never open a window

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def plot_curve(axes: Axes, label: str, history: dict[str, list[float]], metric: str) -> None:
    """Training (solid) and validation (dashed) `metric` per epoch, epochs from 1: the one
    drawing of a run's curves, logged with the run and shown in the report."""
    for name, style, who in ((metric, "-", "train"), (f"val_{metric}", "--", "validation")):
        epochs = range(1, len(history[name]) + 1)
        axes.plot(epochs, history[name], style, marker="o", label=f"{who} {metric}")
    axes.set(title=f"{label}: {metric} per epoch", xlabel="epoch", ylabel=metric)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.grid(alpha=0.3)
    axes.legend()


def curve_figures(
    label: str, history: dict[str, list[float]], measure: str = "accuracy"
) -> dict[str, Figure]:
    """{'loss': Figure, 'accuracy' (or 'rmse'): Figure}: train and validation per epoch."""
    figures = {}
    for metric in ("loss", measure):
        figure, axes = plt.subplots(figsize=(6, 4), layout="constrained")
        plot_curve(axes, label, history, metric)
        figures[metric] = figure
        plt.close(figure)  # the figure object survives; pyplot stops tracking it
    return figures


def confusion_figure(label: str, matrix: list[list[int]]) -> Figure:
    """The test-set confusion matrix as an annotated image (rows: true digit)."""
    counts = np.asarray(matrix)
    figure, axes = plt.subplots(figsize=(5.6, 4.8), layout="constrained")
    axes.imshow(counts, cmap="Blues")
    threshold = counts.max() / 2 if counts.size else 0
    for (row, column), value in np.ndenumerate(counts):
        colour = "white" if value > threshold else "black"
        axes.text(column, row, str(value), ha="center", va="center", fontsize=7, color=colour)
    ticks = range(len(counts))
    axes.set(
        title=f"{label}: confusion matrix on the test set",
        xlabel="predicted digit",
        ylabel="true digit",
        xticks=ticks,
        yticks=ticks,
    )
    plt.close(figure)
    return figure
