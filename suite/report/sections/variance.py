"""Where the spread in the test value (accuracy, or RMSE for regression) comes from: each
factor's share of the variance (an ANOVA on the grid's factors and their two-way
interactions), its F test where seeds allow one, and a plot of the shares."""

from __future__ import annotations

from suite.report import plot_style, statistics_plots
from suite.report.anova import RESIDUAL, TOTAL, Decomposition, decompose, why_not
from suite.report.content import (
    INTEGER,
    NUMBER,
    P_VALUE,
    PERCENT,
    TEXT,
    Figure,
    Note,
    Section,
    table,
)
from suite.report.measures import CLASSIFICATION
from suite.report.ranking import Ranking
from suite.schema import Measure

TITLE = "Variance decomposition"
SS_NOTE = (
    "Type II sums of squares: each term is measured after every other term that does not"
    " contain it, so the result does not depend on the order the terms are listed in, and"
    " main effects respect their interactions (marginality). In a balanced grid (every"
    " configuration, the same number of seeds) Types I, II and III agree; runs lost to failures"
    " unbalance it, and Type II is the one that stays meaningful then."
)
UNBALANCED = (
    " This grid is unbalanced (a configuration is missing or has fewer seeds): Type II sums of"
    " squares need not add up to the total, so the shares need not add up to 100%."
)
ADD_SEEDS = " Add seeds (grid: {seed: [0, 1, 2]}) to test each term against seed noise."
WORDS = {"cell": "the cell", "direction": "the direction (uni- or bidirectional)"}


def variance_section(ranking: Ranking, *, key: str, study: str) -> Section:
    """The ANOVA of one grid study's finished runs (one result per run_key)."""
    section = Section(key=f"{key}-variance", title=TITLE)
    measure = ranking.measure
    if reason := why_not(ranking.finished, ranking.factors, measure):
        section.blocks.append(Note(f"No variance decomposition: {reason}"))
        return section
    found = decompose(ranking.finished, ranking.factors)
    section.blocks.append(Note(largest_share(found, measure)))
    shown = found.table.assign(percent=100 * found.table["share"])
    columns = {
        "term": ("term", TEXT),
        "df": ("df", INTEGER),
        "sum_sq": ("sum of squares", NUMBER),
        "percent": ("share of variance (%)", PERCENT),
    }
    if found.tested:
        columns.update({"F": ("F", NUMBER), "p": ("p", P_VALUE)})
    section.blocks.append(
        table(
            shown,
            key=f"{key}-variance-shares",
            title=f"Share of the variance in test {measure.words}",
            caption=_caption(found, measure),
            columns=columns,
        )
    )
    section.blocks.append(
        Figure(
            f"{key}-variance-plot",
            "Share of the variance, by term",
            plot_style.to_data_uri(statistics_plots.variance_shares(found.terms(), study, measure)),
            "each term's sum of squares as a percentage of the total; grey: the residual",
        )
    )
    section.blocks.append(Note(SS_NOTE + ("" if found.balanced else UNBALANCED)))
    section.blocks.append(_noise_note(found))
    if found.left_out:
        section.blocks.append(
            Note(
                f"Left out of the model: {', '.join(found.left_out)}. Some pair of their levels"
                " has no finished run, so their interaction cannot be estimated; it stays in"
                " the residual.",
                "warning",
            )
        )
    if found.in_residual:
        section.blocks.append(
            Note(
                f"Left in the residual: {', '.join(found.in_residual)}. The finished runs"
                " cannot estimate the two-way interactions besides the other terms (with one"
                " run per configuration, a model with them would fit every run exactly and"
                " leave nothing to measure the terms against)."
            )
        )
    return section


def largest_share(found: Decomposition, measure: Measure = CLASSIFICATION) -> str:
    """One sentence: which term accounts for most of the spread, and what comes next."""
    ranked = found.terms().sort_values("share", ascending=False, kind="stable")
    first, rest = ranked.iloc[0], ranked.iloc[1:3]
    test = f" (F = {NUMBER(first['F'])}, p = {P_VALUE(first['p'])})" if found.tested else ""
    subject = _words(first["term"], found)
    subject = subject[0].upper() + subject[1:]
    text = (
        f"{subject} accounts for the largest share of the spread in test {measure.words}:"
        f" {PERCENT(100 * first['share'])} of its variance{test}"
    )
    if len(rest):
        nexts = [
            f"{_words(t, found)} at {PERCENT(100 * s)}" for t, s in rest[["term", "share"]].values
        ]
        text += "; next come " + " and ".join(nexts)
    return text + "."


def _words(term: str, found: Decomposition) -> str:
    if term == RESIDUAL:
        return (
            "seed noise"
            if _pure(found)
            else "the residual (seed noise and what the model leaves out)"
        )
    if " x " in term:
        a, b = term.split(" x ")
        return f"the interaction of {_factor(a)} and {_factor(b)}"
    return _factor(term)


def _factor(name: str) -> str:
    return WORDS.get(name, f"the {name.replace('_', ' ')}")


def _pure(found: Decomposition) -> bool:
    """The residual is seed noise alone: the model leaves no interaction out of it."""
    return found.seeds >= 2 and found.interactions_left[1] == 0


def _caption(found: Decomposition, measure: Measure) -> str:
    terms = ", ".join(found.factors)
    caption = (
        f"Ordinary least squares of test {measure.words} on {terms} (categorical)"
        + (" and their two-way interactions" if len(found.factors) > 1 else "")
        + f", one result per run; share = the term's sum of squares over the {TOTAL} sum of"
        " squares (eta squared), Type II."
    )
    if found.tested:
        caption += " F: the term's mean square over the residual's."
    return caption


def _noise_note(found: Decomposition) -> Note:
    """What the residual holds, and so what cannot be separated from seed noise."""
    residual = found.residual
    share = PERCENT(100 * residual["share"])
    if found.tested:
        left_sum_sq, left_df = found.interactions_left
        text = (
            f"The residual ({share} of the variance, df {int(residual['df'])}) holds seed noise:"
            f" {PERCENT(100 * found.seed_sum_sq / _total(found))} (df {found.seed_df}) is the"
            " spread between seeds of one configuration"
        )
        if left_df > 0:
            text += (
                f", the rest ({PERCENT(100 * max(left_sum_sq, 0.0) / _total(found))}, df"
                f" {left_df}) {_left_in_residual(found)}, which the model leaves out"
            )
        return Note(text + ". Each F test compares a term with this residual.")
    if found.seeds >= 2 or found.seed_df > 0:
        return Note(
            "No term is tested: some configurations have one seed, and a test needs two"
            " seeds or more for every configuration." + ADD_SEEDS,
            "warning",
        )
    if int(residual["df"]) == 0:
        return Note(
            "One seed per configuration, and one factor with one run per level:"
            " the residual has no degrees of freedom, so seed noise is hidden inside the"
            " factor's share and cannot be separated from it. Nothing is tested." + ADD_SEEDS,
            "warning",
        )
    return Note(
        f"One seed per configuration: the residual ({share} of the variance, df"
        f" {int(residual['df'])}) is {_left_in_residual(found)}, which the model leaves out,"
        " together with seed noise, which cannot be told apart from it or from any term's"
        " share. So no term is tested, and a small share may be noise." + ADD_SEEDS,
        "warning",
    )


def _left_in_residual(found: Decomposition) -> str:
    """In words, the interactions that the residual holds besides seed noise."""
    parts = [f"the {term} interaction" for term in (*found.left_out, *found.in_residual)]
    if len(found.factors) >= 3:
        parts.append("the interactions of three factors or more")
    return " and ".join(parts) or "nothing"


def _total(found: Decomposition) -> float:
    return float(found.table.set_index("term").loc[TOTAL, "sum_sq"])
