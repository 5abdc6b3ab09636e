"""One run's figures, drawn as the run logged them: its curves and its confusion matrix."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; never open a window

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from suite.report.measures import CLASSIFICATION
from suite.schema import Measure


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


def confusion(matrix: list[list[int]], run_label: str, *, digits: bool = True) -> Figure:
    """The confusion matrix as the run logged it; `digits`: its classes are MNIST's digits
    (the run's drawing says so), else its axes say classes."""
    from suite.record.figures import confusion_figure

    figure = confusion_figure(run_label, matrix)
    if not digits:
        figure.axes[0].set(xlabel="predicted class", ylabel="true class")
    return figure
