"""The measure against cost: the configurations no other beats on both, for two costs
(parameters; measured training seconds per epoch), named in a sentence and listed in a table
and NAME-pareto.csv. Chosen on the best validation value (accuracy, or RMSE for regression,
where the lower dominates), as every choice in the report is."""

from __future__ import annotations

import pandas as pd

from suite.report.content import (
    INTEGER,
    NEAR_CHANCE_FLAG,
    TEXT,
    Note,
    Section,
    blank_if_missing,
    table,
)
from suite.report.measures import BEST_VAL_VALUE, TEST_VALUE, heading, value_format
from suite.report.ranking import Ranking
from suite.report.stats import mean_ci, non_dominated
from suite.schema import Measure

VALIDATION = BEST_VAL_VALUE
# A parameter count is whole (20,188); seconds are not (2.7).
COST = blank_if_missing(lambda v: f"{int(v):,}" if float(v).is_integer() else f"{float(v):.1f}")
# cost column of the leaderboard -> (its name in words, how a value reads in the sentence)
COSTS = {
    "param_count": ("parameters", lambda v: f"{int(v):,} weights"),
    "seconds_per_epoch": ("seconds per epoch", lambda v: f"{v:.1f} s per epoch"),
}


def pareto_rows(ranking: Ranking) -> pd.DataFrame:
    """One row per (cost, configuration): the cost, the mean best validation value with its
    95% t-interval over seeds (none with one seed), the mean test value, and whether the
    configuration is on that cost's front (a higher accuracy, or a lower RMSE, dominates)."""
    intervals = {
        config: mean_ci(group[VALIDATION])
        for config, group in ranking.finished.groupby("config", sort=False)
    }
    board, maximise = ranking.board, ranking.measure.maximise
    frames = []
    for cost, (name, _) in COSTS.items():
        front = non_dominated(board, cost=cost, gain=VALIDATION, higher_is_better=maximise)
        frames.append(
            pd.DataFrame(
                {
                    "cost": name,
                    "configuration": board["config"],
                    "value": board[cost],
                    "validation": board[VALIDATION],
                    "low": [intervals[c]["ci_low"] for c in board["config"]],
                    "high": [intervals[c]["ci_high"] for c in board["config"]],
                    "seeds": board["seeds"],
                    "test": board[TEST_VALUE],
                    "near_chance": board["near_chance"],
                    "front": front.map({True: "yes", False: "no"}),
                }
            ).sort_values(["value", "validation"], ascending=[True, not maximise], kind="stable")
        )
    return pd.concat(frames, ignore_index=True)


def pareto_sentence(rows: pd.DataFrame, measure: Measure) -> str:
    """The fronts in words: "By parameters: A (1,000 weights) and B (2,000 weights). ..." """
    parts = []
    for name, words in COSTS.values():
        on_front = rows[(rows["cost"] == name) & (rows["front"] == "yes")]
        named = [f"{r.configuration} ({words(r.value)})" for r in on_front.itertuples()]
        listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + f" and {named[-1]}"
        parts.append(f"by {name}, {listed}")
    better = "more accurate" if measure.maximise else f"lower in {measure.words}"
    return (
        f"Best for what they cost, on validation {measure.words} (no other configuration is"
        f" {better} at no greater cost): {'; '.join(parts)}."
    )


def pareto_section(ranking: Ranking, *, key: str) -> Section:
    measure = ranking.measure
    words, value = measure.words, value_format(measure)
    section = Section(key=f"{key}-pareto", title=f"{heading(measure)} against cost")
    rows = pareto_rows(ranking)
    section.blocks.append(Note(pareto_sentence(rows, measure)))
    # An interval needs two seeds: with one seed everywhere there is none, not even a header.
    seeds = int(ranking.board["seeds"].max())
    interval = {"low": ("95% CI low", value), "high": ("95% CI high", value)}
    spread = "; interval: 95% t-interval of the mean over seeds" if seeds >= 2 else ""
    section.blocks.append(
        table(
            rows,
            key=f"{key}-pareto",
            title=f"Each configuration's cost and {words}; on the front or not",
            columns={
                "cost": ("cost", TEXT),
                "configuration": ("configuration", TEXT),
                "front": ("on the front", TEXT),  # within a phone's first four columns
                "value": ("cost value", COST),
                "validation": (f"val {words} (mean)", value),
                **(interval if seeds >= 2 else {}),
                "seeds": ("seeds", INTEGER),
                "test": (f"test {words} (mean)", value),
                "near_chance": ("flag", NEAR_CHANCE_FLAG),
            },
            caption=(
                "cost: parameters (exact count) or measured training seconds per epoch (mean"
                f" over seeds); {words}: mean best validation {words}{spread}; test {words}"
                " is the estimate, never the choice"
            ),
            sortable=True,
        )
    )
    return section
