"""A study's answer across its datasets: the sentences that open its section, and the tables
and diagram behind them (suite.report.dataset_ranks computes; this module says it)."""

from __future__ import annotations

import math

import pandas as pd

from suite.report import plot_style, statistics_plots
from suite.report.baselines import published_baselines
from suite.report.content import (
    INTEGER,
    NUMBER,
    P_VALUE,
    TEXT,
    Figure,
    Formatter,
    Note,
    Section,
    Table,
    table,
)
from suite.report.dataset_ranks import (
    DATASET,
    FEW_CONFIGURATIONS,
    FEW_DATASETS,
    MIN_DATASETS,
    ONE_SEED,
    AcrossDatasets,
    datasets_for_holm,
)
from suite.report.measures import TEST_VALUE, value_format
from suite.report.ranking import Selection, near_chance_rule
from suite.report.stats import ALPHA
from suite.schema import Measure

RANK = "{:.2f}".format


def across_datasets_section(
    across: AcrossDatasets, *, key: str, study: str, selection: Selection, measure: Measure
) -> tuple[list[Note], Section]:
    """The notes that open the study's section (the answer, what it rests on), and the
    section of its tables and diagram."""
    notes = [Note(_answer(across, selection))]
    if across.untested is None:
        notes += [Note(text) for text in _guarantees(across)]
    cells = across.cells
    flagged = sorted(set(cells.loc[cells["best"] & cells["near_chance"], DATASET]))
    if flagged:
        notes.append(
            Note(
                f"On {', '.join(flagged)} the best configuration by validation is near chance"
                " level (flagged in the table): the ranks there compare configurations that"
                " learned little.",
                "warning",
            )
        )
    if across.left_out:
        missing = "; ".join(
            f"{config} (none on {', '.join(datasets)})"
            for config, datasets in across.left_out.items()
        )
        notes.append(Note(f"Not ranked, having no result on every dataset: {missing}.", "warning"))
    section = Section(key=f"{key}-datasets", title="Across datasets")
    section.blocks.append(_each_on_each(across, key=key, selection=selection, measure=measure))
    if measure.task == "classification" and (baselines := _baselines(across, key=key)):
        section.blocks.append(baselines)
    if len(across.pairs):
        section.blocks.append(_pairs(across, key=key, measure=measure))
    if across.p_holm is not None:
        section.blocks.append(_diagram(across, key=key, study=study))
    if len(across.levels):
        section.blocks.append(_levels(across, key=key, selection=selection, measure=measure))
    return notes, section


def _answer(across: AcrossDatasets, selection: Selection) -> str:
    count, names = len(across.datasets), ", ".join(across.datasets)
    if across.untested == FEW_CONFIGURATIONS:
        return (
            f"Across {count} datasets ({names}): fewer than two configurations have a result on"
            " every dataset, so none is ranked across them; each dataset's section follows."
        )
    average = across.average_rank
    best = average.index[0]
    tied = [c for c in average.index[1:] if average[c] == average[best]]
    runners = [c for c in average.index[1:] if c not in tied][:2]
    text = (
        f"Across {count} datasets ({names}), ranked on each by {selection.words} (mean over"
        f" seeds; rank 1 the best, ties sharing their average rank): {best} has the best"
        f" average rank, {RANK(average[best])}"
    )
    if tied:
        text += f", tied with {', '.join(tied)}"
    if runners:
        text += "; then " + ", ".join(f"{c} ({RANK(average[c])})" for c in runners)
    return f"{text}. {_tested(across, best)}"


def _tested(across: AcrossDatasets, best: str) -> str:
    """What the tests say, or why there are none: one sentence."""
    if across.untested == FEW_DATASETS:
        few = MIN_DATASETS - 1
        return (
            f"Too few datasets for a test: it takes {MIN_DATASETS} or more, since a two-sided"
            f" signed-rank test over n datasets never goes below 2/2^n ({2 / 2**few:.4g} with"
            f" {few}), so no two configurations could be told apart; the ranks are untested."
        )
    if across.untested == ONE_SEED:
        cells = across.cells
        lone = set(cells.loc[(cells["seeds"] < 2) & cells["rank"].notna(), "config"])
        single = [c for c in across.average_rank.index if c in lone]  # best first
        return (
            f"The per-dataset means of {', '.join(single)} rest on one seed: the ranks are shown"
            " untested (a test across datasets needs two seeds or more behind each mean)."
        )
    k, pairs, friedman = len(across.average_rank), across.pairs, across.friedman
    if friedman is not None and friedman.p >= ALPHA:
        return (
            f"Friedman's test does not tell the {k} configurations apart (Iman-Davenport"
            f" F = {friedman.f:.3g}, p = {friedman.p:.3g}): no pair is tested, and all {k} form"
            " one clique."
        )
    apart = int((pairs["verdict"] != "cannot tell").sum())
    found = (
        ""
        if friedman is None
        else (
            f"Friedman's test finds the {k} configurations differ (Iman-Davenport"
            f" F = {friedman.f:.3g}, p = {friedman.p:.3g}). "
        )
    )
    assert across.p_holm is not None
    alike = [c for c in across.average_rank.index[1:] if across.p_holm.at[best, c] >= ALPHA]
    with_best = (
        f"{best} cannot be told apart from {', '.join(alike)}"
        if alike
        else f"{best} is told apart from every other configuration"
    )
    if len(pairs) == 1:
        return f"{found}By a Wilcoxon signed-rank test over the datasets, {with_best}."
    text = (
        f"{found}By Wilcoxon signed-rank tests over the datasets, Holm-corrected over the"
        f" {len(pairs)} pairs, {with_best}; {apart} of the {len(pairs)} pairs differ."
    )
    n, needed = len(across.datasets), datasets_for_holm(len(pairs))
    if needed > n:  # say why, rather than let one bar read as "all alike"
        text += (
            f" No pair could differ here, whatever the results: a signed-rank test over {n}"
            f" datasets never goes below 2/2^{n} = {2 / 2**n:.3g}, above Holm's first level"
            f" {ALPHA}/{len(pairs)} = {ALPHA / len(pairs):.2g}; telling {k} configurations"
            f" apart takes {needed} datasets or more (or fewer configurations; the table per"
            " factor below compares fewer levels)."
        )
    return text


def _guarantees(across: AcrossDatasets) -> list[str]:
    """Each claim of confidence, its guarantee and its assumption: one sentence each."""
    said = []
    if across.friedman is not None:
        said.append(
            f"Friedman's test (Iman and Davenport's F, an approximation) finds a difference"
            f" where there is none about {ALPHA:.0%} of the time, assuming the datasets"
            " independent and, where the configurations do not differ, each order of them"
            " on a dataset equally likely."
        )
    assumption = (
        "assuming the datasets independent and each pair's differences symmetric about"
        " their median (the signed-rank test's assumption)"
    )
    if len(across.pairs) == 1:
        said.append(
            f"The signed-rank test tells apart two configurations that do not differ at most"
            f" {ALPHA:.0%} of the time, {assumption}."
        )
    elif len(across.pairs):
        said.append(
            f"Holm's correction keeps the chance of telling apart any pair that does not"
            f" differ at most {ALPHA:.0%} over all {len(across.pairs)} pairs, {assumption}."
        )
    return said


def _each_on_each(
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


def _pairs(across: AcrossDatasets, *, key: str, measure: Measure) -> Table:
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


def _diagram(across: AcrossDatasets, *, key: str, study: str) -> Figure:
    assert across.p_holm is not None
    order = list(across.average_rank.index)
    cell_of = across.cells.drop_duplicates("config").set_index("config")["cell"].reindex(order)
    figure = statistics_plots.critical_difference(
        across.average_rank, across.p_holm, cell_of, study
    )
    return Figure(
        f"{key}-critical-difference",
        "Critical-difference diagram",
        plot_style.to_data_uri(figure),
        f"each configuration at its average rank over the {len(across.datasets)} datasets"
        f" (1 = best, on the scale 1 to {len(order)}); a bar joins configurations that cannot"
        " be told apart (the pairwise tests above, or one bar where Friedman's test finds no"
        " difference); colour: cell",
    )


def _levels(across: AcrossDatasets, *, key: str, selection: Selection, measure: Measure) -> Table:
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


def _baselines(across: AcrossDatasets, *, key: str) -> Table | None:
    """The study's best per dataset (by validation) beside other classifiers' published
    test accuracies on the same archive dataset: context, never ranked among the runs."""
    published = published_baselines(across.datasets)
    if published.empty:
        return None
    best = across.cells[across.cells["best"]].drop_duplicates(DATASET).set_index(DATASET)
    rows = []
    for dataset, group in published.groupby("dataset", sort=False):
        mine = best.loc[dataset] if dataset in best.index else None
        if mine is not None:
            rows.append(
                {
                    "dataset": dataset,
                    "classifier": f"this study's best: {mine['config']}",
                    "accuracy": mine[TEST_VALUE],
                    "what": f"mean over {int(mine['seeds'])} seeds, chosen by validation",
                    "source": "this report",
                }
            )
        for _, row in group.iterrows():
            rows.append({**row.to_dict(), "source": row["source"].split(";")[0]})
    frame = pd.DataFrame(rows)
    return table(
        frame,
        key=f"{key}-published",
        title="Published accuracies of other classifiers, beside this study's best",
        columns={
            "dataset": ("dataset", TEXT),
            "classifier": ("classifier", TEXT),
            "accuracy": ("test accuracy", NUMBER),
            "what": ("which number", TEXT),
            "source": ("source", TEXT),
        },
        caption=(
            "Published test accuracies on the same archive datasets, from other papers, code"
            " and preprocessing: context, never ranked among this study's runs or tested"
            " against them. Most are the archive's default train/test split, the one this"
            " study trains on; suite/datasets/published_baselines.csv names the file and row"
            " of each (suite/datasets/README.md attributes them)."
        ),
    )
