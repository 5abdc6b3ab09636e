"""Within each parameter budget: where a study's grid names budgets in weights (`params`), its
leaderboard and main effects again for each budget alone, and whether one cell is best at
every budget. Configurations of one budget have about the same size, so these compare cells
for what they can do with it."""

from __future__ import annotations

import pandas as pd

from suite.report.content import INTEGER, TEXT, Note, Section, Table, table
from suite.report.measures import TEST_VALUE, value_format
from suite.report.ranking import Ranking, Selection, leaderboard, tied_with_best, with_config
from suite.report.stats import main_effects
from suite.schema import Measure

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
        board = leaderboard(finished, factors, selection, ranking.measure)
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
    measure = ranking.measure
    words, value = measure.words, value_format(measure)
    best_by_budget = {}
    for budget, (finished, board) in boards_by_size(ranking, selection).items():
        best = board.iloc[0]
        best_by_budget[budget] = best_cells(board)
        size = f"{budget:,} weights"
        tied = tied_with_best(board)
        section.blocks.append(
            Note(
                f"At {size}: best {best['config']} by {selection.words}"
                f" ({value(best['validation_score'])}; test {words}"
                f" {value(best[TEST_VALUE])}, {int(best['units'])} units,"
                f" {int(best['param_count']):,} parameters)"
                + (f"; tied on validation with {', '.join(tied)}." if tied else ".")
            )
        )
        section.blocks.append(
            _board(
                board, key=f"{key}-budget-{budget}", size=size, selection=selection, measure=measure
            )
        )
        effects = main_effects(finished, factors)
        if not effects.empty:
            section.blocks.append(
                table(
                    effects,
                    key=f"{key}-budget-{budget}-main-effects",
                    title=f"Main effects at {size}",
                    columns={
                        "factor": ("factor", TEXT),
                        "level": ("level", TEXT),
                        "n": ("runs", INTEGER),
                        "mean": (f"mean test {words}", value),
                    },
                )
            )
    section.blocks.insert(0, Note(_same_best(best_by_budget)))
    return section


def _board(
    board: pd.DataFrame, *, key: str, size: str, selection: Selection, measure: Measure
) -> Table:
    value = value_format(measure)
    return table(
        board,
        key=key,
        title=f"Leaderboard at {size}",
        columns={
            "rank": ("rank", INTEGER),
            "config": ("configuration", TEXT),
            "validation_score": (f"{selection.name} (selects)", value),
            TEST_VALUE: (f"test {measure.words} (mean)", value),
            "seeds": ("seeds", INTEGER),
            "units": ("units", INTEGER),
            "param_count": ("parameters", INTEGER),
        },
    )


def _same_best(best_cells: dict[int, list[str]]) -> str:
    """Whether the same cells rank first at every budget: tied cells are a set, in any order."""
    firsts = {budget: " or ".join(sorted(cells)) for budget, cells in best_cells.items()}
    if len(set(firsts.values())) == 1:
        return f"The best cell is the same at every budget: {next(iter(firsts.values()))}."
    listed = ", ".join(f"{cells} at {budget:,} weights" for budget, cells in firsts.items())
    return f"The best cell differs between budgets: {listed}."
