"""A race as it reads: each configuration's standing (its seeds, mean and interval) and the
race in one line, for one race or one per dataset."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from suite.race.decision import Elimination, Outcome, RaceState
from suite.race.study_race import DatasetRaces, Race
from suite.schema import counted


@dataclass(frozen=True)
class Standing:
    """One configuration in the race: its seeds so far, their mean and t-interval."""

    configuration: str
    seeds: int
    mean: float
    low: float  # the mean's t-interval at the race's confidence (nan below two seeds)
    high: float
    status: str  # "best", "only one", "racing", "tied", "equivalent", "eliminated in round N"
    elimination: Elimination | None = None


def standings(state: Race) -> list[Standing]:
    """Every configuration, survivors first (best first), then by the round that eliminated
    them, each over the seeds the race gave it (a grid's extra seeds are not counted); over
    several datasets, each dataset's race in turn."""
    if isinstance(state, DatasetRaces):
        return [row for part in state.parts.values() for row in standings(part)]
    final = {
        Outcome.SEPARATED: "best",
        Outcome.TIED: "tied",
        Outcome.EQUIVALENT: "equivalent",
        Outcome.RUNNING: "racing",
    }[state.outcome]
    if final == "best" and not state.eliminated:  # nothing compared: no best, only one
        final = "only one"
    seeds_of = state.seeds_of
    rows = []
    order = [*state.survivors, *sorted(state.eliminated, key=lambda n: -state.eliminated[n].round)]
    sign = 1.0 if state.rules.objective.maximise else -1.0  # scores back to the metric's units
    for name in order:
        values = [state.results[name][s] for s in range(seeds_of[name]) if s in state.results[name]]
        mean = float(np.mean(values)) if values else math.nan
        low = high = math.nan
        if len(values) >= 2 and np.std(values) > 0:
            from scipy import stats  # imported here: see padded_welch._t_sf

            low, high = stats.t.interval(
                state.rules.confidence, len(values) - 1, loc=mean, scale=stats.sem(values)
            )
        mean, low, high = sign * mean, *sorted((sign * low, sign * high))
        elimination = state.eliminated.get(name)
        status = f"eliminated in round {elimination.round}" if elimination else final
        rows.append(Standing(name, len(values), mean, low, high, status, elimination))
    return rows


def race_line(state: Race) -> str:
    """The race in one line: its answer once decided, else where it stands; over several
    datasets, each dataset's in a clause of its own."""
    full = f"a full grid to {state.rules.max_seeds} seeds: {state.full_grid_runs}"
    spent = f"after {counted(state.runs, 'run')} ({full})"
    if isinstance(state, DatasetRaces):
        each = "; ".join(f"{name}: {_claim(part)}" for name, part in state.parts.items())
        return f"race on each of {len(state.parts)} datasets {spent}: {each}"
    if state.outcome == Outcome.RUNNING:
        return f"race: {_verdict(state)}"
    return f"race: {_claim(state)} {spent}"


def _claim(state: RaceState) -> str:
    """The verdict, with the race's confidence only where it decided between configurations:
    a race still running, or of one configuration, has compared nothing yet."""
    compared = len(state.survivors) + len(state.eliminated) > 1
    if state.outcome == Outcome.RUNNING or not compared:
        return _verdict(state)
    return f"{_verdict(state)} at {state.rules.confidence:.0%} confidence"


def _verdict(state: RaceState) -> str:
    """The race's answer, or where it stands (its round, what it still needs)."""
    names = ", ".join(state.survivors)
    if state.outcome == Outcome.RUNNING:
        to_train = sum(len(seeds) for seeds in state.needed.values())
        return (
            f"round {state.rounds + 1} ({state.seeds} seeds each),"
            f" {counted(len(state.survivors), 'configuration')} left,"
            f" {len(state.eliminated)} eliminated; {counted(to_train, 'run')} to train in this"
            " round"
        )
    if len(state.survivors) + len(state.eliminated) == 1:  # nothing to compare it with
        return f"{names} is the only configuration, compared with none"
    if state.outcome == Outcome.SEPARATED:
        return f"{state.best} is the best configuration"
    if state.outcome == Outcome.EQUIVALENT:
        return f"{names} are equivalent within the margin"
    return f"{names} are tied (none separated)"
