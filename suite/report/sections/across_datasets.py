"""A study's answer across its datasets: the sentences that open its section, its
critical-difference diagram, and the section that gathers them with the tables behind them
(across_datasets_tables, baselines_table). suite.report.dataset_ranks computes; this says it."""

from __future__ import annotations

from suite.report import plot_style, statistics_plots
from suite.report.content import Figure, Note, Section
from suite.report.dataset_ranks import (
    DATASET,
    FEW_CONFIGURATIONS,
    FEW_DATASETS,
    MIN_DATASETS,
    ONE_SEED,
    AcrossDatasets,
    datasets_for_holm,
)
from suite.report.ranking import Selection
from suite.report.sections.across_datasets_tables import (
    RANK,
    each_on_each_table,
    levels_table,
    pairs_table,
)
from suite.report.sections.baselines_table import baselines_table
from suite.report.stats import ALPHA
from suite.schema import Measure


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
    section.blocks.append(each_on_each_table(across, key=key, selection=selection, measure=measure))
    if measure.task == "classification" and (baselines := baselines_table(across, key=key)):
        section.blocks.append(baselines)
    if len(across.pairs):
        section.blocks.append(pairs_table(across, key=key, measure=measure))
    if across.p_holm is not None:
        section.blocks.append(_diagram(across, key=key, study=study))
    if len(across.levels):
        section.blocks.append(levels_table(across, key=key, selection=selection, measure=measure))
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
