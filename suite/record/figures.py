"""Per-run figures logged as artifacts of the run: learning curves and the confusion matrix."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; never open a window

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def curve_figures(label: str, history: dict[str, list[float]]) -> dict[str, Figure]:
    """{'loss': Figure, 'accuracy': Figure}: train and validation per epoch, epochs from 1."""
    figures = {}
    for metric, title in (("loss", "loss"), ("accuracy", "accuracy")):
        epochs = range(1, len(history[metric]) + 1)
        figure, axes = plt.subplots(figsize=(6, 4), layout="constrained")
        axes.plot(epochs, history[metric], marker="o", label=f"train {title}")
        axes.plot(epochs, history[f"val_{metric}"], marker="o", label=f"validation {title}")
        axes.set(title=f"{label}: {title} per epoch", xlabel="epoch", ylabel=title)
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(alpha=0.3)
        axes.legend()
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
