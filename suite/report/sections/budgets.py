"""Within each parameter budget: where a study's grid names budgets in weights (`params`), its
leaderboard and main effects again for each budget alone, and whether one cell is best at
every budget. Configurations of one budget have about the same size, so these compare cells
for what they can do with it."""

from __future__ import annotations

import pandas as pd

from suite.report.content import ACCURACY, INTEGER, TEXT, Note, Section, Table, table
from suite.report.ranking import Ranking, Selection, leaderboard, with_config
from suite.report.stats import main_effects

BUDGET = "param.params"
SIZE_FACTORS = {BUDGET, "param.units"}  # what the budget sets: not a factor within it


def has_budgets(ranking: Ranking) -> bool:
    """Whether the study compares two budgets or more."""
    finished = ranking.finished
    return BUDGET in finished and finished[BUDGET].dropna().nunique() >= 2


def boards_by_size(
    ranking: Ranking, selection: Selection, size: str = BUDGET
) -> dict[int, tuple[pd.DataFrame, pd.DataFrame]]:
    """For each value of `size` (the budget, or units where no budget is named): its finished
    runs, labelled without the size, and their leaderboard with the units each got."""
    factors = factors_within_size(ranking)
    boards = {}
    for value, finished in ranking.finished.groupby(size, sort=True):
        finished = with_config(finished.drop(columns="config"), factors)
        board = leaderboard(finished, factors, selection)
        units = finished.groupby("config")["param.units"].first()
        board["units"] = board["config"].map(units).astype(int)
        boards[int(value)] = (finished, board)
    return boards


def factors_within_size(ranking: Ranking) -> list[str]:
    """The factors that vary among configurations of one size (the size is not one)."""
    return [f for f in ranking.factors if f not in SIZE_FACTORS]


def best_cells(board: pd.DataFrame) -> list[str]:
    """The cells of the configurations ranked first (several where they tie)."""
    return list(dict.fromkeys(board.loc[board["rank"] == 1, "cell"].astype(str)))


def budgets_section(ranking: Ranking, *, key: str, selection: Selection) -> Section:
    section = Section(key=f"{key}-budgets", title="Within each parameter budget")
    factors = factors_within_size(ranking)
    best_by_budget = {}
    for budget, (finished, board) in boards_by_size(ranking, selection).items():
        best = board.iloc[0]
        best_by_budget[budget] = " or ".join(best_cells(board))
        words = f"{budget:,} weights"
        section.blocks.append(
            Note(
                f"At {words}: best {best['config']} by {selection.words}"
                f" ({ACCURACY(best['validation_score'])}; test accuracy"
                f" {ACCURACY(best['test_accuracy'])}, {int(best['units'])} units,"
                f" {int(best['param_count']):,} parameters)."
            )
        )
        section.blocks.append(_board(board, key=f"{key}-budget-{budget}", words=words))
        effects = main_effects(finished, factors)
        if not effects.empty:
            section.blocks.append(
                table(
                    effects,
                    key=f"{key}-budget-{budget}-main-effects",
                    title=f"Main effects at {words}",
                    columns={
                        "factor": ("factor", TEXT),
                        "level": ("level", TEXT),
                        "n": ("runs", INTEGER),
                        "mean": ("mean test accuracy", ACCURACY),
                    },
                )
            )
    section.blocks.insert(0, Note(_same_best(best_by_budget)))
    return section


def _board(board: pd.DataFrame, *, key: str, words: str) -> Table:
    return table(
        board,
        key=key,
        title=f"Leaderboard at {words}",
        columns={
            "rank": ("rank", INTEGER),
            "config": ("configuration", TEXT),
            "validation_score": ("val accuracy (selects)", ACCURACY),
            "test_accuracy": ("test accuracy (mean)", ACCURACY),
            "seeds": ("seeds", INTEGER),
            "units": ("units", INTEGER),
            "param_count": ("parameters", INTEGER),
        },
    )


def _same_best(best_cells: dict[int, str]) -> str:
    cells = set(best_cells.values())
    if len(cells) == 1:
        return f"The best cell is the same at every budget: {cells.pop()}."
    listed = ", ".join(f"{cell} at {budget:,} weights" for budget, cell in best_cells.items())
    return f"The best cell differs between budgets: {listed}."
