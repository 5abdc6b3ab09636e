"""The study's figures, each with the caption that says how to read it."""

from __future__ import annotations

from typing import Any

import pandas as pd

from suite.report import grid_plots, plot_style, tradeoff_plots
from suite.report.content import Figure, Section
from suite.report.measures import heading
from suite.report.ranking import Ranking
from suite.schema import Measure


def plots_section(
    ranking: Ranking, *, curves: pd.DataFrame, key: str, study: str, levels: dict | None
) -> Section:
    """`curves`: every finished run's per-epoch points; `levels`: the study file's grid."""
    section = Section(key=f"{key}-plots", title="Plots")
    for name, title, caption, figure in _figures(ranking, curves, study=study, levels=levels):
        section.blocks.append(
            Figure(f"{key}-{name}", title, plot_style.to_data_uri(figure), caption)
        )
    return section


def _figures(
    ranking: Ranking, curves: pd.DataFrame, *, study: str, levels: dict | None
) -> list[tuple[str, str, str, Any]]:
    """(name, title, caption, matplotlib figure) of each plot, in the page's order; each says
    the study's measure (accuracy, or RMSE for regression)."""
    finished, board, measure = ranking.finished, ranking.board, ranking.measure
    words = measure.words
    order = board["config"].tolist()
    seeds = int(board["seeds"].max())
    spread = (
        "line = mean over seeds, band = 1 standard deviation across seeds"
        if seeds >= 2
        else "one seed per configuration: one line each, no band"
    )
    if seeds >= 2 and int(board["seeds"].min()) < 2:
        spread += " (none for a configuration with one seed)"
    return [
        (
            "heatmap",
            f"Test {words} by cell and depth",
            f"mean test {words} of each grid point over its seeds; blank: no finished run",
            grid_plots.heatmap(finished, study, levels, measure),
        ),
        (
            f"val-{measure.name}",
            f"Validation {words} per epoch",
            f"epochs from 1; {spread}",
            grid_plots.learning_curves(finished, curves, f"val_{measure.name}", study, seeds=seeds),
        ),
        (
            "val-loss",
            "Validation loss per epoch",
            f"epochs from 1; {spread}",
            grid_plots.learning_curves(finished, curves, "val_loss", study, seeds=seeds),
        ),
        (
            "seeds",
            f"Test {words} of each configuration",
            "one point per seed, ranked by validation as in the leaderboard"
            + ("; box: quartiles across seeds" if seeds >= 2 else "; one seed: no box"),
            grid_plots.seeds_per_config(finished, order, study, seeds=seeds, measure=measure),
        ),
        *_cost_figures(board, study=study, measure=measure),
    ]


def _cost_figures(
    board: pd.DataFrame, *, study: str, measure: Measure
) -> list[tuple[str, str, str, Any]]:
    """The measure against what it cost (parameters, seconds) and against the training fit."""
    words, title = measure.words, heading(measure)
    # Lower is better for an RMSE: the gap's sign reads the other way round.
    fits = "above 0" if measure.maximise else "below 0"
    return [
        (
            "params",
            f"{title} against parameter count",
            f"mean best validation {words} of each configuration (validation: a front is a"
            " choice); colour: cell, marker: direction, size: depth; dashed and named: the"
            " Pareto front, the configurations no other beats on both",
            tradeoff_plots.value_vs_params(board, study, measure),
        ),
        (
            "time",
            f"{title} against training time",
            f"mean best validation {words} against mean training seconds per epoch; dashed and"
            " named: the Pareto front",
            tradeoff_plots.value_vs_time(board, study, measure),
        ),
        (
            "gap",
            f"Train minus validation {words}",
            f"at the last epoch, mean over seeds; {fits}: the model fits its training data"
            " better than unseen data",
            grid_plots.generalisation_gap(board, study, measure),
        ),
    ]
