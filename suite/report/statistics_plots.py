"""The figures of the report's statistics: the shares of the variance, the critical-difference
diagram across datasets, and a race's intervals."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; never open a window

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from suite.report.anova import RESIDUAL
from suite.report.measures import CLASSIFICATION
from suite.report.plot_style import cell_order, palette
from suite.schema import Measure


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
    order = cell_order(cells)
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
