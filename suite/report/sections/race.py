"""A race of seeds: its answer and how it was reached (each configuration's seeds, mean and
interval, the round and test that eliminated it), a plot of the race, NAME-race.csv."""

from __future__ import annotations

import pandas as pd

from suite.race.decision import GUARANTEE, Outcome, RaceRules
from suite.race.study_race import DatasetRaces, Race
from suite.race.summary import race_line, standings
from suite.report import plot_style, statistics_plots
from suite.report.content import (
    INTEGER,
    NUMBER,
    P_VALUE,
    TEXT,
    Figure,
    Note,
    Section,
    table,
)
from suite.report.measures import CLASSIFICATION, difference_format, value_format
from suite.schema import Measure


def race_section(
    state: Race, *, key: str, study: str, measure: Measure = CLASSIFICATION
) -> Section:
    """`measure`: what the race's runs measure; it ranks them by their best validation value
    of it (the race's objective)."""
    section = Section(key=f"{key}-race", title="Race of seeds")
    apart = (
        " Each dataset races on its own (its leader, its rounds, its level): the guarantee"
        " holds on each."
        if isinstance(state, DatasetRaces)
        else ""
    )
    section.blocks.append(Note(f"{GUARANTEE} {_rules(state.rules, measure)}{apart}"))
    rows = _standings_frame(state)
    confidence = f"{state.rules.confidence:.0%}"
    value, signed = value_format(measure), difference_format(measure)
    section.blocks.append(
        table(
            rows,
            key=f"{key}-race",
            title="Each configuration in the race",
            columns={
                "configuration": ("configuration", TEXT),
                "seeds": ("seeds", INTEGER),
                "mean": (f"best val {measure.words} (mean)", value),
                "low": (f"{confidence} interval low", value),
                "high": (f"{confidence} interval high", value),
                "status": ("status", TEXT),
                "leader": ("eliminated by", TEXT),
                "gap": ("gap to it", signed),
                "p": ("p (padded Welch, one-sided)", P_VALUE),
                "level": ("level it had to beat", NUMBER),
            },
            caption="Means and intervals over the seeds the race gave each configuration; a"
            " grid's extra seeds of the same runs are in the leaderboard, not here.",
        )
    )
    section.blocks.append(
        Figure(
            key=f"{key}-race-plot",
            title="The race: each configuration's mean and interval over its seeds",
            uri=plot_style.to_data_uri(
                statistics_plots.race_intervals(rows, study, f"validation {measure.words}")
            ),
        )
    )
    return section


def race_headline(state: Race) -> Note:
    """The race's answer, or where it stands, as the report's first line."""
    decided = state.best or (
        isinstance(state, DatasetRaces)
        and all(part.outcome == Outcome.SEPARATED for part in state.parts.values())
    )
    return Note(race_line(state) + ".", "info" if decided else "warning")


def _rules(rules: RaceRules, measure: Measure) -> str:
    margin = ""
    if rules.margin is not None:  # in the objective's units: accuracy points, or RMSE's own
        within = (
            f"{rules.margin * 100:g} points"
            if measure.task == "classification"
            else f"{rules.margin:g} RMSE (the target's units)"
        )
        margin = f", or until the survivors are within {within} of each other"
    return (
        f"This race: {rules.min_seeds} seeds for every configuration, then one more per round"
        f" for the survivors up to {rules.max_seeds}{margin}; ranked by each run's best"
        f" validation {measure.words}, never by test {measure.words}."
    )


def _standings_frame(state: Race) -> pd.DataFrame:
    """One row per configuration: its seeds, mean and interval, status and elimination."""
    return pd.DataFrame(
        [
            {
                "configuration": row.configuration,
                "seeds": row.seeds,
                "mean": row.mean,
                "low": row.low,
                "high": row.high,
                "status": row.status,
                "leader": row.elimination.leader if row.elimination else None,
                "gap": row.elimination.gap if row.elimination else None,
                "p": row.elimination.p_value if row.elimination else None,
                "level": row.elimination.level if row.elimination else None,
            }
            for row in standings(state)
        ]
    )
