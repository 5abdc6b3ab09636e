"""The tables of a study's answer across its datasets: each configuration on each dataset
(its CSV beside), the pairs of configurations, and each factor's levels."""

from __future__ import annotations

import math

import pandas as pd

from suite.report.content import (
    INTEGER,
    NUMBER,
    P_VALUE,
    TEXT,
    Formatter,
    Table,
    table,
)
from suite.report.dataset_ranks import DATASET, AcrossDatasets
from suite.report.measures import TEST_VALUE, value_format
from suite.report.ranking import Selection, near_chance_rule
from suite.report.stats import ALPHA
from suite.schema import Measure

RANK = "{:.2f}".format


def each_on_each_table(
    across: AcrossDatasets, *, key: str, selection: Selection, measure: Measure
) -> Table:
    """Configurations as rows (best average rank first, those not ranked last), datasets as
    columns: each cell the mean test value, its interval's half-width, and which is best; the
    CSV holds the same, one row per configuration and dataset, at full precision."""
    value = value_format(measure)
    cells = across.cells.copy()
    cells["average_rank"] = cells["config"].map(across.average_rank)
    cells["cliques"] = cells["config"].map(across.cliques)
    unranked = [c for c in dict.fromkeys(cells["config"]) if c not in across.average_rank.index]
    order = [*across.average_rank.index, *sorted(unranked)]
    position = {c: i for i, c in enumerate(order)}
    dataset_order = {d: i for i, d in enumerate(across.datasets)}
    cells = cells.sort_values(
        ["config", DATASET], key=lambda s: s.map(position if s.name == "config" else dataset_order)
    )
    seeded = bool((cells["seeds"] >= 2).any())
    tested = across.untested is None
    header = ["configuration", "average rank", *(["cliques"] if tested else []), *across.datasets]
    rows, sort_keys = [], []
    for config in order:
        mine = cells[cells["config"] == config].set_index(DATASET)
        average = across.average_rank.get(config, math.nan)
        row, keys = [config, _rank_text(average)], [config, _key(average)]
        if tested:
            row.append(str(across.cliques.get(config, "")))
            keys.append(row[-1])
        for dataset in across.datasets:
            cell = mine.loc[dataset] if dataset in mine.index else None
            row.append("n/a" if cell is None else _cell_text(cell, value))
            keys.append("" if cell is None else float(cell[TEST_VALUE]))
        rows.append(row)
        sort_keys.append(keys)
    caption = _each_on_each_caption(across, cells, selection, measure, seeded=seeded)
    return Table(
        key=f"{key}-across-datasets",
        title="Each configuration on each dataset",
        header=header,
        rows=rows,
        sort_keys=sort_keys,
        raw=_raw(cells, selection=selection, measure=measure, seeded=seeded, tested=tested),
        caption=caption,
        sortable=True,
    )


def _each_on_each_caption(
    across: AcrossDatasets,
    cells: pd.DataFrame,
    selection: Selection,
    measure: Measure,
    *,
    seeded: bool,
) -> str:
    """What each cell shows, which is best, what the average rank ranks, and the cliques."""
    tested = across.untested is None
    shown = "mean test " + measure.words + " over seeds"
    if seeded:
        shown += " ± the half-width of its 95% t-interval (with two seeds or more)"
    best = "highest" if selection.higher_is_better else "lowest"
    caption = (
        f"Each cell: {shown}; best: the {best} {selection.words} on that dataset, mean over"
        " seeds, as its leaderboard chooses (validation chooses, test is shown)."
    )
    caption += (
        f" Average rank: of {selection.words} over the {len(across.datasets)} datasets,"
        " among the configurations with a result on every one (ties share their average"
        " rank; rank 1 the best)."
    )
    if tested:
        caption += " Configurations that share a letter cannot be told apart (a clique)."
    if cells["near_chance"].any():
        caption += f" {near_chance_rule(measure)}"
    caption += " The CSV holds one row per configuration and dataset. Click a header to sort."
    return caption


def _cell_text(cell: pd.Series, value: Formatter) -> str:
    """A cell as 0.9123 ± 0.0042 (best), unbroken (no-break spaces): a wide table scrolls in
    its frame rather than wrapping each number over three lines."""
    text = value(cell[TEST_VALUE])
    if cell["seeds"] >= 2 and not math.isnan(cell["ci_high"]):
        text += f"\u00a0±\u00a0{value(cell['ci_high'] - cell[TEST_VALUE])}"
    text += "\u00a0(best)" if cell["best"] else ""
    return text + ("\u00a0(near\u00a0chance)" if cell["near_chance"] else "")


def _rank_text(rank: float) -> str:
    return "n/a" if math.isnan(rank) else RANK(rank)


def _key(number: float) -> float | str:
    return "" if math.isnan(number) else float(number)


def _raw(
    cells: pd.DataFrame, *, selection: Selection, measure: Measure, seeded: bool, tested: bool
) -> pd.DataFrame:
    """The table's values in full, one row per configuration and dataset: the CSV."""
    columns = {
        "config": "configuration",
        DATASET: "dataset",
        "seeds": "seeds",
        "validation_score": f"{selection.name} (selects)",
        TEST_VALUE: f"test {measure.words} (mean)",
    }
    if seeded:
        columns.update({"test_std": "std", "ci_low": "95% CI low", "ci_high": "95% CI high"})
    columns.update({"best": "best on the dataset", "near_chance": "near chance"})
    columns["rank"] = "rank on the dataset"
    columns["average_rank"] = "average rank"
    if tested:
        columns["cliques"] = "cliques"
    return cells[list(columns)].rename(columns=columns).reset_index(drop=True)


def _scaled(measure: Measure) -> str:
    """How the differences are made comparable across datasets, for a caption."""
    if measure.task == "regression":
        return " (each RMSE divided by its dataset's target std, to compare across datasets)"
    return ""


def pairs_table(across: AcrossDatasets, *, key: str, measure: Measure) -> Table:
    pairs = across.pairs.assign(
        verdict=[
            "cannot tell apart" if v == "cannot tell" else f"{c} {v}"
            for c, v in zip(across.pairs["config"], across.pairs["verdict"], strict=True)
        ]
    )
    return table(
        pairs,
        key=f"{key}-across-pairs",
        title="Pairs of configurations over the datasets",
        columns={
            "config": ("configuration", TEXT),
            "against": ("against", TEXT),
            "better": ("better on (datasets)", INTEGER),
            "equal": ("equal on", INTEGER),
            "worse": ("worse on", INTEGER),
            "statistic": ("signed-rank statistic", NUMBER),
            "p": ("p", P_VALUE),
            "p_holm": ("p (Holm)", P_VALUE),
            "verdict": ("verdict", TEXT),
        },
        caption=(
            "Each pair: a two-sided Wilcoxon signed-rank test over the datasets of the"
            f" difference in the per-dataset mean validation value{_scaled(measure)}, zero"
            " differences dropped; p-values Holm-corrected over"
            f" all pairs; told apart where below {ALPHA}. Better, equal and worse count the"
            " datasets by the difference's sign."
        ),
        sortable=True,
    )


def levels_table(
    across: AcrossDatasets, *, key: str, selection: Selection, measure: Measure
) -> Table:
    levels = across.levels
    tested = "p_holm" in levels
    columns: dict[str, tuple[str, Formatter]] = {
        "factor": ("factor", TEXT),
        "level": ("level", TEXT),
        "against": ("against", TEXT),
        "twins": ("twin pairs", INTEGER),
        "better": ("better on (datasets)", INTEGER),
        "equal": ("equal on", INTEGER),
        "worse": ("worse on", INTEGER),
    }
    if tested:
        columns.update({"p_holm": ("p (Holm)", P_VALUE), "verdict": ("verdict", TEXT)})
    caption = (
        "Twins: two configurations that differ in this factor alone. On each dataset a"
        f" level's difference is the mean over its twin pairs of the difference in"
        f" {selection.words} (mean over seeds){_scaled(measure)}; better, equal and worse"
        " count the datasets by its sign."
    )
    if tested:
        caption += (
            " Verdict: a two-sided Wilcoxon signed-rank test over the datasets of that"
            f" difference, Holm-corrected over the factor's pairs of levels: better or worse"
            f" below {ALPHA}. Holm's correction keeps at most {ALPHA:.0%} the chance of a wrong"
            " verdict on any of a factor's pairs of levels, assuming the datasets independent"
            " and the differences symmetric about their median."
        )
    else:
        caption += " Counts only: the datasets are not tested (see above)."
    return table(
        levels,
        key=f"{key}-across-factors",
        title="Each factor's levels across datasets",
        columns=columns,
        caption=caption,
        sortable=True,
    )
