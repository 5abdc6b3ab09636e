"""How fast each configuration learns: epochs and training seconds until validation accuracy
first reaches fixed thresholds (a sentence, a table, NAME-learning-speed.csv) and validation
accuracy against training seconds, one line per configuration."""

from __future__ import annotations

import pandas as pd

from suite.report import plots
from suite.report.content import (
    EPOCH,
    SECONDS,
    TEXT,
    Figure,
    Note,
    Section,
    blank_if_missing,
    table,
)
from suite.report.learning_speed import elapsed, first_reached, thresholds
from suite.report.ranking import Ranking

# A threshold as an accuracy (0.95), never as a percentage: "95%" reads as a confidence level.
LEVEL = blank_if_missing(lambda v: f"{float(v):.2f}")


def learning_speed_section(
    ranking: Ranking, *, curves: pd.DataFrame, key: str, study: str
) -> Section:
    section = Section(key=f"{key}-learning-speed", title="How fast each configuration learns")
    levels = thresholds(ranking.finished)
    if not levels:
        section.blocks.append(
            Note("No run reached 0.50 validation accuracy: there is no learning speed to show.")
        )
        return section
    points = elapsed(ranking.finished, curves)
    rows = first_reached(points, levels)
    order = {config: i for i, config in enumerate(ranking.board["config"])}
    rows = rows.sort_values(
        ["config", "threshold"], key=lambda c: c.map(order) if c.name == "config" else c
    ).reset_index(drop=True)
    rows["reached_of"] = [
        f"{r} of {n}" for r, n in zip(rows["reached"], rows["seeds"], strict=True)
    ]
    section.blocks.append(Note(_sentence(rows, levels)))
    section.blocks.append(
        table(
            rows,
            key=f"{key}-learning-speed",
            title="Epochs and seconds until validation accuracy first reaches each threshold",
            columns={
                "config": ("configuration", TEXT),
                "threshold": ("threshold", LEVEL),
                "reached_of": ("seeds that reached it", TEXT),
                "epochs": ("epochs (mean)", EPOCH),
                "epochs_min": ("epochs (fewest)", EPOCH),
                "epochs_max": ("epochs (most)", EPOCH),
                "seconds": ("seconds (mean)", SECONDS),
                "seconds_min": ("seconds (fewest)", SECONDS),
                "seconds_max": ("seconds (most)", SECONDS),
            },
            caption=(
                "epochs from 1, at the end of the first epoch whose validation accuracy reaches"
                " the threshold; seconds: training time to that epoch's end; mean and range"
                " over the seeds that reached it"
            ),
            sortable=True,
        )
    )
    seeds = int(ranking.board["seeds"].max())
    figure = plots.accuracy_vs_seconds(points, study, seeds=seeds)
    spread = "band = 1 standard deviation across seeds" if seeds >= 2 else "one seed each"
    section.blocks.append(
        Figure(
            f"{key}-learning-speed-plot",
            "Validation accuracy against training seconds",
            plots.to_data_uri(figure),
            "one line per configuration (colour: cell, dashes: direction, panel: depth);"
            f" x: training seconds at each epoch's end (mean over seeds); {spread}",
        )
    )
    return section


def _sentence(rows: pd.DataFrame, levels: list[float]) -> str:
    """The fastest configuration to the highest threshold that some configuration reached in
    every seed."""
    for level in reversed(levels):
        at_level = rows[rows["threshold"] == level]
        every_seed = at_level[at_level["reached"] == at_level["seeds"]]
        if every_seed.empty:
            continue
        fastest = every_seed.loc[every_seed["seconds"].idxmin()]
        return (
            f"Fastest to {LEVEL(level)} validation accuracy: {fastest['config']}, after"
            f" {EPOCH(fastest['epochs'])} epoch{'' if fastest['epochs'] == 1 else 's'} and"
            f" {SECONDS(fastest['seconds'])} s of"
            f" training (mean over its seeds); {len(every_seed)} of {len(at_level)}"
            " configurations reached it in every seed."
        )
    return f"No configuration reached {LEVEL(levels[0])} validation accuracy in every seed."
