"""The best run: its facts, its curves and, for classes, its test-set confusion matrix (a
regression run has none, by design)."""

from __future__ import annotations

import pandas as pd

from suite.report import plot_style, run_plots
from suite.report.content import EPOCH, INTEGER, Figure, Note, Section, facts_table
from suite.report.dataset_ranks import dataset_of
from suite.report.measures import BEST_VAL_VALUE, TEST_VALUE, value_format
from suite.report.ranking import Ranking, Selection
from suite.schema import Measure


def best_run_section(
    ranking: Ranking,
    *,
    curves: pd.DataFrame,
    confusion: list[list[int]] | None,
    key: str,
    selection: Selection,
) -> Section:
    """The best configuration's run with the best validation score (`ranking.best`): the same
    rule as the ranking, so it is the run Optuna (and optuna-dashboard) call the best trial
    whenever the best configuration has one seed. `confusion`: the matrix it logged, if any."""
    best, measure = ranking.best, ranking.measure
    section = Section(key=f"{key}-best-run", title=f"Best run: {best['run_name']}")
    section.blocks.append(
        Note(
            f"The best configuration's run with the best {selection.name}; its test"
            f" {measure.words} is reported, never used to choose."
        )
    )
    if peers := _tied_with_best(ranking, selection):
        section.blocks.append(
            Note(
                f"Tied on {selection.name} with {', '.join(peers)}:"
                " listed first by the ranking, not better.",
                "warning",
            )
        )
    section.blocks.append(
        facts_table(_facts(best, selection, measure), key=f"{key}-best-run", title="Best run")
    )
    run_curves = curves[curves["run_id"] == best["run_id"]]
    section.blocks.append(
        Figure(
            f"{key}-best-curves",
            "Curves of the best run",
            plot_style.to_data_uri(run_plots.run_curves(run_curves, best["run_name"], measure)),
            f"training (solid) and validation (dashed) loss and {measure.words}, epochs from 1",
        )
    )
    if measure.task == "classification":  # a regression run logs no matrix: nothing to say
        section.blocks.append(_confusion(confusion, best, key=key))
    return section


def _facts(best: pd.Series, selection: Selection, measure: Measure) -> list[tuple[str, str]]:
    score, value = selection.column, value_format(measure)
    # A search may rank by its lowest val loss: shown beside the measure's best, not for it.
    by_loss = [("lowest val loss", value(best[score]))] if score != measure.best_val else []
    return [
        ("run", best["run_name"]),
        ("MLflow run id", best["run_id"]),
        ("configuration", best["config"]),
        ("seed", str(best["seed"])),
        (f"best val {measure.words}", value(best[BEST_VAL_VALUE])),
        *by_loss,
        (f"best epoch (val {measure.words})", EPOCH(best["best_epoch"])),
        (f"test {measure.words}", value(best[TEST_VALUE])),
        ("parameters", INTEGER(best["param_count"])),
    ]


def _tied_with_best(ranking: Ranking, selection: Selection) -> list[str]:
    """Other runs of the best configuration(s) with the best run's very score."""
    finished, best, score = ranking.finished, ranking.best, selection.column
    top = ranking.board.loc[ranking.board["rank"] == 1, "config"]
    peers = finished[
        finished["config"].isin(top)
        & (finished[score] == best[score])
        & (finished["run_id"] != best["run_id"])
    ]
    return list(peers["run_name"])


def _confusion(confusion: list[list[int]] | None, best: pd.Series, *, key: str) -> Note | Figure:
    if confusion is None:  # collect cannot tell a matrix never logged from one out of reach
        return Note(
            "No confusion matrix could be read for this run: it logged none (trained before"
            " the suite logged confusion_matrix.json, or by another tool), or its artifacts"
            " cannot be read from here.",
            "warning",
        )
    digits = _of_digits(best)
    return Figure(
        f"{key}-confusion",
        "Confusion matrix on the test set",
        plot_style.to_data_uri(run_plots.confusion(confusion, best["run_name"], digits=digits)),
        "counts of test images: rows the true digit, columns the predicted one"
        if digits
        else "counts of test sequences: rows the true class, columns the predicted one",
    )


def _of_digits(best: pd.Series) -> bool:
    """Whether the run read MNIST, in any view: its classes are the ten digits."""
    name = dataset_of(best.to_frame().T).iloc[0]
    return name == "MNIST" or name.startswith("MNIST-")
