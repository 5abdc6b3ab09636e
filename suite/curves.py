"""Per-run learning-curve figures, logged as artifacts of the run."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; never open a window

import matplotlib.pyplot as plt
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
