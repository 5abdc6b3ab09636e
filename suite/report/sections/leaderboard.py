"""The answer and its table: the headline sentence, the selection rule, the leaderboard."""

from __future__ import annotations

import pandas as pd

from suite.record.ui_links import ui_url
from suite.report.content import (
    EPOCH,
    INTEGER,
    NEAR_CHANCE_FLAG,
    SECONDS,
    TEXT,
    Formatter,
    Section,
    interval_columns,
    table,
)
from suite.report.measures import CLASSIFICATION, TEST_VALUE, value_format
from suite.report.ranking import (
    Ranking,
    Selection,
    near_chance_rule,
    near_chance_words,
    tied_with_best,
)
from suite.report.stats import ALPHA
from suite.schema import Measure, counted


def selection_rule(selection: Selection, measure: Measure = CLASSIFICATION) -> str:
    best = "highest" if selection.higher_is_better else "lowest"
    return (
        f"Rule: configurations are ranked by {selection.words} (each run's {best} over its"
        f" epochs, mean over seeds); test {measure.words} is the estimate reported for them,"
        " never used to choose."
    )


def leaderboard_section(
    ranking: Ranking,
    *,
    key: str,
    selection: Selection,
    mlflow_url: str | None,
    experiment_id: str,
) -> Section:
    """The ranked configurations; with `mlflow_url`, each row links to its best run's page."""
    board, measure = ranking.board, ranking.measure
    value = value_format(measure)
    # What decides and what is estimated come first, so a phone's narrow screen shows them.
    columns = {
        "rank": ("rank", INTEGER),
        "config": ("configuration", TEXT),
        "validation_score": (f"{selection.name} (selects)", value),
        TEST_VALUE: (f"test {measure.words} (mean)", value),
    }
    seeded = int(board["seeds"].max()) >= 2
    if seeded:
        columns.update({"test_std": ("std", value), **interval_columns(value)})
    columns["seeds"] = ("seeds", INTEGER)
    if board["near_chance"].any():
        columns["near_chance"] = ("flag", NEAR_CHANCE_FLAG)
    columns.update({f: (f.removeprefix("param."), TEXT) for f in ranking.factors})
    columns.update(
        {
            "best_epoch": ("best epoch", EPOCH),
            "param_count": ("parameters", INTEGER),
            "seconds_per_epoch": ("s / epoch", SECONDS),
        }
    )
    if "param.backend" in ranking.factors:  # backends compared: which kernel each one ran
        columns["kernel"] = ("kernel", TEXT)
    links = None
    if mlflow_url:
        links = [ui_url(mlflow_url, experiment_id, run_id) for run_id in board["run_id"]]
    section = Section(key=f"{key}-leaderboard", title="Leaderboard")
    caption = _caption(board, selection, measure)
    section.blocks.append(
        table(
            board,
            key=f"{key}-leaderboard",
            title="Leaderboard",
            columns=columns,
            caption=caption,
            sortable=True,
            links=links,
        )
    )
    return section


def headline(
    board: pd.DataFrame,
    tests: pd.DataFrame,
    selection: Selection,
    measure: Measure = CLASSIFICATION,
) -> tuple[str, str]:
    """The answer first, and its tone: the best configuration by validation with its test
    value, its ties, and what can (or cannot) be said about the others."""
    best = board.iloc[0]
    seeds = int(best["seeds"])
    value = value_format(measure)
    estimate = f"test {measure.words} {value(best[TEST_VALUE])}"
    if seeds >= 2:
        estimate += f" ({_interval(best, value)})"
    seed_words = counted(seeds, "seed")
    tied = tied_with_best(board)
    if best["near_chance"]:
        return (
            f"No architecture conclusion can be drawn: the best configuration by validation,"
            f" {best['config']}, reaches {estimate}, {near_chance_words(best, measure)}. Train"
            " longer or on more data.",
            "warning",
        )
    text = (
        f"Best configuration by validation: {best['config']} ({selection.name}"
        f" {value(best['validation_score'])}, {seed_words}); {estimate}."
    )
    if tied:
        text += f" Tied on validation with {', '.join(tied)}: the data cannot separate them."
    text += " " + (_untested(board) if tests.empty else _tested_against_best(tests, measure))
    flagged = int(board["near_chance"].sum())
    if flagged:
        text += f" {counted(flagged, 'configuration')} stayed near chance level (flagged)."
    return text, "info"


def _interval(best: pd.Series, value: Formatter) -> str:
    """The best configuration's 95% interval, or why two seeds or more give none."""
    if pd.isna(best["ci_low"]):  # a spread of 0 scales no interval (stats.mean_ci)
        return f"its {int(best['seeds'])} seeds agree exactly on test: no interval"
    return f"95% CI {value(best['ci_low'])} to {value(best['ci_high'])}"


def _untested(board: pd.DataFrame) -> str:
    """Why nothing is tested against the best: nothing to test it against, or seeds."""
    if len(board) == 1:
        return "No other configuration has a result: there is nothing to test it against."
    return (
        "Differences are not tested: a test needs two or more seeds per configuration"
        " (for example grid: {seed: [0, 1, 2]})."
    )


def _tested_against_best(tests: pd.DataFrame, measure: Measure) -> str:
    """One sentence on the Welch tests against the best configuration: how many are worse
    (lower accuracy, higher RMSE), not distinguishable, or better."""
    lower = tests[(tests["p_holm"] < ALPHA) & (tests["difference"] < 0)]
    higher = tests[(tests["p_holm"] < ALPHA) & (tests["difference"] > 0)]
    alike = tests[tests["p_holm"] >= ALPHA]
    (worse, worse_word), (better, better_word) = (
        ((lower, "lower"), (higher, "higher"))
        if measure.maximise
        else ((higher, "higher"), (lower, "lower"))
    )
    parts = [f"{len(worse)} {worse_word}"]
    if len(alike):
        parts.append(f"{len(alike)} not distinguishable ({', '.join(alike['config'])})")
    if len(better):
        parts.append(f"{len(better)} {better_word} ({', '.join(better['config'])})")
    return (
        f"Against it on test {measure.words}, of {counted(len(tests), 'configuration')}"
        f" tested (Welch, Holm-corrected, alpha {ALPHA}): {'; '.join(parts)}."
    )


def _caption(board: pd.DataFrame, selection: Selection, measure: Measure) -> str:
    """How the board is ranked, what its test column estimates, and what its seeds allow."""
    seeded = int(board["seeds"].max()) >= 2
    caption = (
        f"Ranked by {selection.words} (each run's best epoch, mean over seeds); equal ranks"
        f" are ties. Test {measure.words} is the estimate, mean over seeds. Click a header to"
        " sort."
    )
    if not seeded:
        caption += " One seed per configuration: no spread or interval can be given."
    elif int(board["seeds"].min()) < 2:
        caption += " n/a: a configuration with one seed has no spread or interval."
    if (board["ci_low"].isna() & (board["seeds"] >= 2)).any():
        caption += " n/a beside two seeds or more: their test values agree exactly, no interval."
    if board["near_chance"].any():
        caption += f" {near_chance_rule(measure)}"
    return caption
