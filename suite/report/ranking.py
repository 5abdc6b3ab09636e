"""Which configuration is best, by one rule: the leaderboard and the best run.

Configurations are ranked by their validation score, the mean over seeds of each run's
best-epoch value of the study's objective (the value the Optuna trial records): validation
accuracy, or validation RMSE for a regression study, or a search's own objective (its lowest
validation loss); the test value of the measure is the estimate reported for them, never the
selector. Equal scores are ties and share a rank. A run_key is one result.

Which results are near chance level is decided here too (`chance_of`, `near_chance`), and
said here (`near_chance_rule`), for either measure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from suite.report.measures import (
    BEST_VAL_VALUE,
    CLASSIFICATION,
    GAP,
    TARGET_STD_PARAM,
    TEST_VALUE,
)
from suite.report.stats import CORE_FACTORS, mean_ci
from suite.schema import Measure, Objective, Status, config_label

CHANCE_ACCURACY = 0.10  # ten digits, guessed uniformly: MNIST's (other data: 1 / its classes)
NEAR_CHANCE_MARGIN = 0.10  # accuracy below chance + this is flagged: nothing was learned
CLASSES_PARAM = "param.classes"  # logged by runs on data other than MNIST
# Regression's chance level is the RMSE of always predicting the training targets' mean: their
# (population) standard deviation, which every regression run logs. A mean test RMSE of at
# least 0.9 of it is flagged: the predictions explain at most 1 - 0.9^2 = 19% of the
# variance (R^2 <= 0.19), little better than guessing the mean.
NEAR_CHANCE_RMSE_SHARE = 0.9


@dataclass(frozen=True)
class Selection:
    """The validation score that ranks configurations: what each run's Optuna trial holds as
    its value (the best epoch's validation accuracy, or a search's lowest validation loss)."""

    column: str  # a column of the runs table
    name: str  # as a table header says it
    words: str  # as a sentence says it
    higher_is_better: bool

    def best_index(self, scores: pd.Series) -> Any:
        return scores.idxmax() if self.higher_is_better else scores.idxmin()


def selection(objective: Objective) -> Selection:
    """The selection that ranks by a study's objective, as its Optuna trials hold it."""
    return Selection(
        objective.column, objective.short, objective.words, higher_is_better=objective.maximise
    )


BY_VAL_ACCURACY = selection(Objective())
BY_VAL_LOSS = selection(Objective("val_loss"))


def chance_of(group: pd.DataFrame, measure: Measure = CLASSIFICATION) -> float:
    """Chance level of the runs' measure: the accuracy of guessing uniformly among their
    classes (MNIST's ten by default); for regression, the RMSE of predicting the training
    targets' mean, their std (NaN where the runs logged none: nothing is flagged then)."""
    if measure.task == "regression":
        std = pd.to_numeric(group.get(TARGET_STD_PARAM, pd.Series(dtype=float)), errors="coerce")
        return float(std.dropna().iloc[0]) if std.notna().any() else math.nan
    if CLASSES_PARAM not in group:
        return CHANCE_ACCURACY
    classes = pd.to_numeric(group[CLASSES_PARAM], errors="coerce").dropna()
    return 1.0 / float(classes.iloc[0]) if len(classes) and classes.iloc[0] > 0 else CHANCE_ACCURACY


def near_chance(
    value: float, chance: float = CHANCE_ACCURACY, measure: Measure = CLASSIFICATION
) -> bool:
    """Whether a mean test value is near chance level `chance` (`chance_of`): an accuracy
    within NEAR_CHANCE_MARGIN of it, an RMSE at NEAR_CHANCE_RMSE_SHARE of it or above."""
    if measure.task == "regression":
        return bool(value >= NEAR_CHANCE_RMSE_SHARE * chance)  # False for a NaN chance
    return bool(value < chance + NEAR_CHANCE_MARGIN)


def near_chance_rule(measure: Measure) -> str:
    """The flag's rule, as a caption states it."""
    if measure.task == "regression":
        return (
            f"Flagged: mean test RMSE at least {NEAR_CHANCE_RMSE_SHARE:g} x the training"
            " targets' standard deviation (the RMSE of always predicting their mean), so the"
            f" predictions explain at most {1 - NEAR_CHANCE_RMSE_SHARE**2:.0%} of the variance:"
            " little was learned."
        )
    return (
        f"Flagged: mean test accuracy within {NEAR_CHANCE_MARGIN * 100:.0f} points of chance"
        f" (1 / the classes: {CHANCE_ACCURACY:.2f} for MNIST's digits), so nothing was learned."
    )


def near_chance_words(row: pd.Series, measure: Measure) -> str:
    """Where a leaderboard row's mean test value stands against chance, for a sentence."""
    if measure.task == "regression":
        return (
            f"at least {NEAR_CHANCE_RMSE_SHARE:g} x the RMSE of always predicting the training"
            f" targets' mean ({row['chance']:.4g})"
        )
    return f"within {NEAR_CHANCE_MARGIN * 100:.0f} points of chance ({row['chance']:.2f})"


def one_result_per_run_key(finished: pd.DataFrame) -> pd.DataFrame:
    """The latest finished run of each run_key: a run_key is one result, never two seeds."""
    ordered = finished.sort_values("end_time", kind="stable")
    return ordered.drop_duplicates("run_key", keep="last").sort_index()


# Params that describe the data a run read rather than choose it: they follow its archive or
# file, so they are no factor of their own where each archive or file has one value of them.
DATA_DESCRIPTIONS = ("param.classes", "param.dataset", "param.digest", "param.task")
DATA_SOURCES = ("param.archive", "param.file")


def configuration_factors(finished: pd.DataFrame) -> list[str]:
    """cell, direction, depth, then any other param that takes several values (not seed, and
    not what only describes the data: `DATA_DESCRIPTIONS`)."""
    # target_std describes a regression run's data (it follows the dataset), it is no factor
    skip = {"param.seed", "param.cell", "param.bidirectional", "param.layers", TARGET_STD_PARAM}
    extra = [
        column
        for column in finished.columns
        if column.startswith("param.")
        and column not in skip
        and finished[column].astype(str).nunique() > 1
        and not _follows_the_data(finished, column)
    ]
    return [*CORE_FACTORS, *sorted(extra)]


def _follows_the_data(finished: pd.DataFrame, column: str) -> bool:
    """Whether `column` describes the data and each archive or file has one value of it (an
    edited file, read again, has two digests: then the digest stays a factor)."""
    sources = [finished[c].astype(str) for c in DATA_SOURCES if c in finished]
    if column not in DATA_DESCRIPTIONS or not sources:
        return False
    return bool(finished[column].astype(str).groupby(sources).nunique().max() <= 1)


def row_label(row: pd.Series, factors: Sequence[str]) -> str:
    """The configuration's name, as its runs' MLflow run names have it (less the seed)."""
    extras = {f.removeprefix("param."): row[f] for f in factors if f not in CORE_FACTORS}
    return config_label(str(row["cell"]), row["direction"] == "bidirectional", row["depth"], extras)


def with_config(finished: pd.DataFrame, factors: Sequence[str]) -> pd.DataFrame:
    finished = finished.copy()
    finished["config"] = [row_label(row, factors) for _, row in finished.iterrows()]
    return finished


def best_run(group: pd.DataFrame, selection: Selection = BY_VAL_ACCURACY) -> pd.Series:
    """The run of `group` with the best validation score (the first listed, on a tie)."""
    return group.loc[selection.best_index(group[selection.column])]


def over_seeds(group: pd.DataFrame, selection: Selection, measure: Measure) -> dict[str, Any]:
    """One configuration's runs (one per seed) summed up: seeds, the mean validation score
    that ranks it, the test value's mean, std and t-interval, and whether it is near chance."""
    summary = mean_ci(group[TEST_VALUE])
    return {
        "seeds": summary["n"],
        "validation_score": group[selection.column].mean(),
        TEST_VALUE: summary["mean"],
        "test_std": summary["std"],
        "ci_low": summary["ci_low"],
        "ci_high": summary["ci_high"],
        "near_chance": near_chance(summary["mean"], chance_of(group, measure), measure),
    }


def leaderboard(
    finished: pd.DataFrame,
    factors: Sequence[str],
    selection: Selection = BY_VAL_ACCURACY,
    measure: Measure = CLASSIFICATION,
) -> pd.DataFrame:
    """One row per (study, configuration), ranked by mean validation score, best first; the
    test value and the rest in the measure-neutral columns (suite.report.measures).

    `rank` is shared by ties (1, 1, 3, ...); `tied` says whether the row shares its rank.
    """
    rows = []
    for (study, config), group in finished.groupby(["study", "config"], sort=False):
        rows.append(
            {
                "study": study,
                "config": config,
                **{f: group[f].iloc[0] for f in factors},
                **over_seeds(group, selection, measure),
                "chance": chance_of(group, measure),
                BEST_VAL_VALUE: group[BEST_VAL_VALUE].mean(),
                "best_epoch": group["best_epoch"].mean(),
                "param_count": int(group["param_count"].iloc[0]),
                "seconds_per_epoch": group["seconds_per_epoch"].mean(),
                "kernel": ", ".join(sorted(set(group.get("kernel", pd.Series(dtype=str))))),
                "train_seconds": group["train_seconds"].mean(),
                GAP: group[GAP].mean(),
                "run_id": best_run(group, selection)["run_id"],
            }
        )
    table = pd.DataFrame(rows)
    # Means of the same values summed in another order can differ in the last bit.
    score = table["validation_score"].round(12)
    descending = selection.higher_is_better
    ranks = score.groupby(table["study"]).rank(method="min", ascending=not descending)
    table["rank"] = ranks.astype(int)
    table["tied"] = table.groupby(["study", "rank"])["rank"].transform("size") > 1
    table = table.assign(_score=score).sort_values(
        ["study", "_score"], ascending=[True, not descending], kind="stable"
    )
    order = {study: i for i, study in enumerate(dict.fromkeys(finished["study"]))}
    table = table.sort_values("study", key=lambda s: s.map(order), kind="stable")
    return table.drop(columns="_score").reset_index(drop=True)


@dataclass(frozen=True)
class Ranking:
    """One study's finished runs ranked by one Selection: what the sections show, and which
    run the best-run section is about (so collect reads that run's artifacts, and no other)."""

    finished: pd.DataFrame  # one result per run_key, with its configuration's label
    factors: list[str]  # the factors that vary: cell, direction, depth, then varied params
    board: pd.DataFrame  # the leaderboard, best first
    best: pd.Series  # the best configuration's run with the best validation score
    measure: Measure = CLASSIFICATION  # what the runs measure: the sections' words and formats


def rank(
    runs: pd.DataFrame, selection: Selection, measure: Measure = CLASSIFICATION
) -> Ranking | None:
    """Rank one study's runs (any status): None when none finished. Collect and build both
    call this, so the run whose confusion matrix is read is the run the report shows."""
    finished = one_result_per_run_key(runs[runs["status"] == Status.FINISHED])
    if finished.empty:
        return None
    factors = configuration_factors(finished)
    finished = with_config(finished, factors)
    board = leaderboard(finished, factors, selection, measure)
    best = best_run(finished[finished["config"] == board.iloc[0]["config"]], selection)
    return Ranking(finished, factors, board, best, measure)


def tied_with_best(board: pd.DataFrame) -> list[str]:
    """The configurations that share the top rank with the first one (not the first itself)."""
    return board.loc[board["rank"] == 1, "config"].iloc[1:].tolist()
