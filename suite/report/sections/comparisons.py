"""Comparisons between configurations: cell x depth pivots, main effects, effects per cell,
and each configuration tested against the best; statistics only where seeds allow them."""

from __future__ import annotations

import pandas as pd

from suite.report.content import (
    INTEGER,
    P_VALUE,
    TEXT,
    Note,
    Section,
    Table,
    interval_columns,
    table,
)
from suite.report.measures import difference_format, value_format
from suite.report.ranking import Ranking
from suite.report.stats import (
    DIRECTION_ORDER,
    effects_per_cell,
    main_effects,
    min_seeds,
    pivot,
    untestable,
)
from suite.schema import Measure

NO_STATISTICS = (
    "One seed per configuration: the spread between seeds is unknown, so no interval is given"
    " and no difference is tested. Add seeds (grid: {seed: [0, 1, 2]}) to compare"
    " configurations."
)
SOME_UNSEEDED = (
    "Some configurations have one seed: groups that include one get no interval or test."
)


def comparisons_section(
    ranking: Ranking, *, key: str, tests: pd.DataFrame, levels: dict | None
) -> Section:
    """`tests`: `against_best` of the ranking; `levels`: the study file's grid, if known."""
    finished, board, measure = ranking.finished, ranking.board, ranking.measure
    section = Section(key=f"{key}-comparisons", title="Comparisons")
    seeded = min_seeds(finished) >= 2  # every configuration has two seeds or more
    section.blocks += _pivots(finished, key=key, levels=levels or {}, measure=measure)
    if not seeded:
        one_seed = int(board["seeds"].max()) < 2
        section.blocks.append(Note(NO_STATISTICS if one_seed else SOME_UNSEEDED, "warning"))
    section.blocks += _main_effects(ranking, key=key, seeded=seeded)
    section.blocks += _effects_per_cell(finished, key=key, seeded=seeded, measure=measure)
    section.blocks += _against_best(tests, key=key, measure=measure)
    left_out = untestable(board)
    if seeded and left_out:
        section.blocks.append(
            Note(
                "Not tested against the best (fewer than two seeds on a side): "
                + ", ".join(left_out),
                "warning",
            )
        )
    return section


def _pivots(finished: pd.DataFrame, *, key: str, levels: dict, measure: Measure) -> list[Table]:
    """Mean test value, cell x depth, one table per direction."""
    value = value_format(measure)
    tables = []
    for direction in DIRECTION_ORDER:
        if direction not in set(finished["direction"]) | set(levels.get("directions", ())):
            continue
        grid = pivot(
            finished, direction, cells=levels.get("cells", ()), depths=levels.get("depths", ())
        )
        frame = grid.reset_index()
        frame.columns = ["cell", *[f"depth {d}" for d in grid.columns]]
        tables.append(
            table(
                frame,
                key=f"{key}-pivot-{direction}",
                title=f"Mean test {measure.words}, {direction}: cell x depth",
                columns={c: (c, TEXT if c == "cell" else value) for c in frame.columns},
            )
        )
    return tables


def _main_effects(ranking: Ranking, *, key: str, seeded: bool) -> list[Table]:
    effects = main_effects(ranking.finished, ranking.factors)
    if effects.empty:
        return []
    words, value = ranking.measure.words, value_format(ranking.measure)
    columns = {
        "factor": ("factor", TEXT),
        "level": ("level", TEXT),
        "n": ("runs", INTEGER),
        "mean": (f"mean test {words}", value),
    }
    if effects["ci_low"].notna().any():
        columns.update(interval_columns(value))
    caption = (
        f"Each factor's levels: the mean test {words} of all runs at the level, averaged over"
        " every other factor."
        + ("" if seeded else " No intervals where a configuration has one seed.")
    )
    return [
        table(
            effects,
            key=f"{key}-main-effects",
            title="Main effects",
            caption=caption,
            columns=columns,
        )
    ]


def _effects_per_cell(
    finished: pd.DataFrame, *, key: str, seeded: bool, measure: Measure
) -> list[Table]:
    per_cell = effects_per_cell(finished)
    if per_cell.empty:
        return []
    signed = difference_format(measure)
    columns = {
        "cell": ("cell", TEXT),
        "effect": ("effect", TEXT),
        "difference": ("difference", signed),
    }
    if per_cell["p"].notna().any():
        columns.update({**interval_columns(signed), "p": ("p (Welch)", P_VALUE)})
    interval = (
        " with its 95% Welch interval."
        if seeded
        else ", without interval or test where a configuration has one seed."
    )
    return [
        table(
            per_cell,
            key=f"{key}-effects-per-cell",
            title="Effect of bidirectionality and of depth, per cell",
            caption=f"Difference in mean test {measure.words}" + interval,
            columns=columns,
        )
    ]


def _against_best(tests: pd.DataFrame, *, key: str, measure: Measure) -> list[Table]:
    if tests.empty:
        return []
    signed = difference_format(measure)
    return [
        table(
            tests,
            key=f"{key}-significance",
            title="Against the best configuration",
            caption=f"Welch's t-test on test {measure.words} of each configuration with two"
            " seeds or more against the best one (ranked by validation), Holm-corrected over"
            " the comparisons.",
            columns={
                "config": ("configuration", TEXT),
                "best": ("best", TEXT),
                "difference": ("difference", signed),
                **interval_columns(signed),
                "p": ("p", P_VALUE),
                "p_holm": ("p (Holm)", P_VALUE),
                "verdict": ("verdict", TEXT),
            },
        )
    ]
