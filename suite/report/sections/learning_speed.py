"""How fast each configuration learns: epochs and training seconds until the validation value
of the study's measure first reaches each threshold (validation accuracy rises to it,
validation RMSE falls to it; a sentence, a table, NAME-learning-speed.csv) and the validation
value against training seconds, one line per configuration."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from suite.report import plot_style, tradeoff_plots
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
from suite.report.measures import value_format
from suite.report.ranking import Ranking
from suite.report.thresholds import (
    CANDIDATE_SHARES,
    CANDIDATE_THRESHOLDS,
    elapsed,
    first_reached,
    scale_of,
    thresholds,
)
from suite.schema import Measure, counted

# A threshold as an accuracy (0.95), never as a percentage: "95%" reads as a confidence level.
# A share of the targets' std likewise (0.50).
LEVEL = blank_if_missing(lambda v: f"{float(v):.2f}")


@dataclass(frozen=True)
class _Levels:
    """How the study's thresholds are said: accuracies as they are; RMSE thresholds as shares
    of the training targets' std, in the target's units where the runs share one std."""

    measure: Measure
    std: float | None  # the one std of a regression study's targets; None: several, or none

    @classmethod
    def of(cls, ranking: Ranking) -> _Levels:
        stds = scale_of(ranking.finished, ranking.measure).dropna().unique()
        one = ranking.measure.task == "regression" and len(stds) == 1
        return cls(ranking.measure, float(stds[0]) if one else None)

    def reach(self, level: float) -> str:
        """What reaching `level` is, in a sentence: "0.97 validation accuracy", "a validation
        RMSE of 1.5 (0.50 x the targets' std)"."""
        if self.measure.maximise:
            return f"{LEVEL(level)} validation {self.measure.words}"
        if self.std is None:
            return f"a validation {self.measure.words} of {LEVEL(level)} x its targets' std"
        value = value_format(self.measure)(level * self.std)
        return f"a validation {self.measure.words} of {value} ({LEVEL(level)} x the targets' std)"

    def rule(self) -> str:
        """How the thresholds were chosen and what reaching one means, for the caption."""
        words = self.measure.words
        if self.measure.maximise:
            return f"epochs from 1, at the end of the first epoch whose validation {words} reaches"
        candidates = ", ".join(f"{share:g}" for share in CANDIDATE_SHARES)
        std = f" ({value_format(self.measure)(self.std)})" if self.std is not None else ""
        return (
            f"thresholds: the lowest three of {candidates} x the training targets' standard"
            f" deviation{std}, the {words} of always predicting their mean, that some run's"
            f" best validation {words} falls to; epochs from 1, at the end of the first epoch"
            f" whose validation {words} is at or below"
        )


def learning_speed_section(
    ranking: Ranking, *, curves: pd.DataFrame, key: str, study: str
) -> Section:
    section = Section(key=f"{key}-learning-speed", title="How fast each configuration learns")
    measure, said = ranking.measure, _Levels.of(ranking)
    levels = thresholds(ranking.finished, measure)
    if not levels:
        easiest = CANDIDATE_THRESHOLDS[0] if measure.maximise else CANDIDATE_SHARES[0]
        section.blocks.append(
            Note(f"No run reached {said.reach(easiest)}: there is no learning speed to show.")
        )
        return section
    points = elapsed(ranking.finished, curves, measure)
    rows = _reached_rows(ranking, points, levels)
    section.blocks.append(Note(_sentence(rows, levels, said)))
    words = measure.words
    columns = {"config": ("configuration", TEXT), "threshold": ("threshold", LEVEL)}
    if not measure.maximise:  # the threshold in the target's units, then as a share of std
        rows["threshold_value"] = rows["threshold"] * (said.std or float("nan"))
        columns = {
            "config": ("configuration", TEXT),
            "threshold_value": (f"threshold (val {words})", value_format(measure)),
            "threshold": ("share of the targets' std", LEVEL),
        }
    reaches = "reaches" if measure.maximise else "falls to"
    section.blocks.append(
        table(
            rows,
            key=f"{key}-learning-speed",
            title=f"Epochs and seconds until validation {words} first {reaches} each threshold",
            columns={
                **columns,
                "reached_of": ("seeds that reached it", TEXT),
                "epochs": ("epochs (mean)", EPOCH),
                "epochs_min": ("epochs (fewest)", EPOCH),
                "epochs_max": ("epochs (most)", EPOCH),
                "seconds": ("seconds (mean)", SECONDS),
                "seconds_min": ("seconds (fewest)", SECONDS),
                "seconds_max": ("seconds (most)", SECONDS),
            },
            caption=(
                f"{said.rule()} the threshold; seconds: training time to that epoch's end; mean"
                " and range over the seeds that reached it"
            ),
            sortable=True,
        )
    )
    seeds = int(ranking.board["seeds"].max())
    figure = tradeoff_plots.value_vs_seconds(points, study, seeds=seeds, measure=measure)
    spread = "band = 1 standard deviation across seeds" if seeds >= 2 else "one seed each"
    section.blocks.append(
        Figure(
            f"{key}-learning-speed-plot",
            f"Validation {words} against training seconds",
            plot_style.to_data_uri(figure),
            "one line per configuration (colour: cell, dashes: direction, panel: depth);"
            f" x: training seconds at each epoch's end (mean over seeds); {spread}",
        )
    )
    return section


def _reached_rows(ranking: Ranking, points: pd.DataFrame, levels: list[float]) -> pd.DataFrame:
    """When each configuration first reached each threshold, in the leaderboard's order."""
    measure = ranking.measure
    rows = first_reached(points, levels, higher_is_better=measure.maximise)
    order = {config: i for i, config in enumerate(ranking.board["config"])}
    rows = rows.sort_values(  # easiest threshold first: the lowest accuracy, the highest RMSE
        ["config", "threshold"],
        key=lambda c: c.map(order) if c.name == "config" else (c if measure.maximise else -c),
    ).reset_index(drop=True)
    rows["reached_of"] = [
        f"{r} of {n}" for r, n in zip(rows["reached"], rows["seeds"], strict=True)
    ]
    return rows


def _sentence(rows: pd.DataFrame, levels: list[float], said: _Levels) -> str:
    """The fastest configuration to the hardest threshold that some configuration reached in
    every seed."""
    for level in reversed(levels):
        at_level = rows[rows["threshold"] == level]
        every_seed = at_level[at_level["reached"] == at_level["seeds"]]
        if every_seed.empty:
            continue
        fastest = every_seed.loc[every_seed["seconds"].idxmin()]
        seeds = int(fastest["seeds"])
        over = "its one seed" if seeds == 1 else f"mean over its {seeds} seeds"
        return (
            f"Fastest to {said.reach(level)}: {fastest['config']}, after"
            f" {EPOCH(fastest['epochs'])} epoch{'' if fastest['epochs'] == 1 else 's'} and"
            f" {SECONDS(fastest['seconds'])} s of training ({over});"
            f" {len(every_seed)} of {counted(len(at_level), 'configuration')} reached it in"
            " every seed."
        )
    return f"No configuration reached {said.reach(levels[0])} in every seed."
