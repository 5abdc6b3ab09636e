"""The style every figure of the report shares: seaborn's theme, one colour per cell, the
cells in their order, axes with one slot per configuration, and a figure as an inline PNG."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # files only; never open a window

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from suite.report.stats import CELL_ORDER

CELL_COLOURS = dict(zip(CELL_ORDER, sns.color_palette("colorblind", 3), strict=True))

sns.set_theme(context="notebook", style="whitegrid")


def palette(cells: pd.Series) -> dict[str, tuple[float, float, float]]:
    extra = sns.color_palette("dark", 8)
    unknown = [c for c in cells.unique() if c not in CELL_COLOURS]
    return {**CELL_COLOURS, **dict(zip(unknown, extra, strict=False))}


def cell_order(cells: pd.Series) -> list[str]:
    present = set(cells.dropna())
    return [c for c in CELL_ORDER if c in present] + sorted(present - set(CELL_ORDER))


def per_configuration(
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
