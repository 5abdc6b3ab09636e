"""Equal units against equal parameters, across the studies of one report: where one study
compares cells at equal units (no budget named) and another at parameter budgets, whether the
cell that is best at equal units is also the best at equal parameters. At equal units an LSTM
layer has four times a SimpleRNN layer's weights, so its lead there may be its size."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from suite.report.content import INTEGER, NUMBER, TEXT, Note, Section, Table, table
from suite.report.measures import TEST_VALUE, value_format
from suite.report.ranking import Ranking, Selection
from suite.report.sections.budgets import BUDGET, best_cells, boards_by_size
from suite.schema import Measure

KEY = "units-against-parameters"
# Settings that, when two studies differ in them, enter the comparison beside the size.
SETTINGS = ("epochs", "train_size", "batch_size", "learning_rate", "dropout", "optimizer", "view")


@dataclass(frozen=True)
class RankedStudy:
    name: str
    ranking: Ranking | None  # None: nothing finished
    selection: Selection


@dataclass(frozen=True)
class _Best:
    study: str
    size: str  # "50 units" or "20,000 weights"
    equal_parameters: bool
    cells: list[str]  # ranked first, several on a tie
    board: pd.DataFrame
    selection: Selection
    measure: Measure


def equal_size_section(studies: Sequence[RankedStudy]) -> Section | None:
    """The section, or None unless the report holds both kinds of study."""
    bests = [best for study in studies if study.ranking is not None for best in _bests(study)]
    by_units = [b for b in bests if not b.equal_parameters]
    by_params = [b for b in bests if b.equal_parameters]
    if not by_units or not by_params:
        return None
    section = Section(key=KEY, title="Equal units against equal parameters")
    near_chance = [b for b in bests if bool(b.board.iloc[0]["near_chance"])]
    if near_chance:
        section.blocks.append(
            Note(
                "No conclusion on cells at equal size: the best configuration of"
                f" {', '.join(f'{b.study} at {b.size}' for b in near_chance)} is near chance"
                " level. Train longer or on more data.",
                "warning",
            )
        )
    else:
        section.blocks += [Note(_answer(units, by_params)) for units in by_units]
    differing = _differing_settings(studies, by_units, by_params)
    if differing:
        section.blocks.append(
            Note(
                f"The studies also differ in {differing}: the comparison mixes that with size.",
                "warning",
            )
        )
    section.blocks.append(_table(bests))
    return section


def _bests(study: RankedStudy) -> list[_Best]:
    assert study.ranking is not None
    finished = study.ranking.finished
    equal_parameters = BUDGET in finished and finished[BUDGET].notna().all()
    size = BUDGET if equal_parameters else "param.units"
    if size not in finished or finished[size].isna().any():
        return []  # a mixed or unlabelled study compares no cells at one size
    unit = "weights" if equal_parameters else "units"
    return [
        _Best(
            study.name,
            f"{value:,} {unit}",
            equal_parameters,
            best_cells(board),
            board,
            study.selection,
            study.ranking.measure,
        )
        for value, (_, board) in boards_by_size(study.ranking, study.selection, size).items()
    ]


def _answer(units: _Best, by_params: list[_Best]) -> str:
    """'At equal units (grid, 50 units) the best cell is lstm; ...' and the verdict."""
    cells = " or ".join(units.cells)
    agreeing = [b for b in by_params if set(units.cells) & set(b.cells)]
    listed = "; ".join(f"{' or '.join(b.cells)} at {b.size} ({b.study})" for b in by_params)
    text = (
        f"At equal units ({units.study}, {units.size} per direction) the best cell by"
        f" {units.selection.words} is {cells}; at equal parameters: {listed}."
    )
    if len(agreeing) == len(by_params):
        return text + f" {cells} is also the best at every parameter budget."
    if agreeing:
        where = ", ".join(b.size for b in agreeing)
        return text + f" {cells} is also the best at {where}, not at the others."
    return text + f" At equal parameters {cells} is not the best at any budget."


def _differing_settings(
    studies: Sequence[RankedStudy], by_units: list[_Best], by_params: list[_Best]
) -> str:
    """The settings (and cells compared) in which the studies compared here differ."""
    compared = {b.study for b in (*by_units, *by_params)}
    finished = [s.ranking.finished for s in studies if s.ranking and s.name in compared]
    differing = [
        name.replace("_", " ")
        for name in SETTINGS
        if len({v for f in finished for v in f.get(f"param.{name}", pd.Series()).astype(str)}) > 1
    ]
    if len({frozenset(f["cell"].astype(str)) for f in finished}) > 1:
        differing.append("the cells compared")
    return ", ".join(differing)


def _table(bests: list[_Best]) -> Table:
    columns = ["config", "validation_score", TEST_VALUE, "seeds", "units", "param_count"]
    # One measure's words and format where the studies share it (they compare cells), else
    # the values as numbers under a neutral name.
    measures = {b.measure for b in bests}
    measure = measures.pop() if len(measures) == 1 else None
    value = value_format(measure) if measure else NUMBER
    test = f"test {measure.words} (mean)" if measure else "test value (mean)"
    rows = pd.DataFrame(
        [
            {"study": b.study, "size": b.size, "cells": " or ".join(b.cells)}
            | b.board.iloc[0][columns].to_dict()
            for b in bests
        ]
    )
    return table(
        rows,
        key=KEY,
        title="The best at each size",
        columns={
            "study": ("study", TEXT),
            "size": ("compared at", TEXT),
            "config": ("best configuration (by validation)", TEXT),
            "cells": ("best cell", TEXT),
            "validation_score": ("validation score", value),
            TEST_VALUE: (test, value),
            "seeds": ("seeds", INTEGER),
            "units": ("units", INTEGER),
            "param_count": ("parameters", INTEGER),
        },
        caption="Differences between studies are not tested: each study's own comparisons"
        " test its configurations against its best.",
    )
