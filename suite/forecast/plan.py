"""Read-only views of a grid study's queue: its plan, its time model, what became of each run.
Nothing here writes to a store (--dry-run, the workers' table and the summary use it)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from suite.forecast.time_model import FusedSeeds, Observation, TimeModel, least_squares, work
from suite.queue.planning import PlannedRun, PlanState
from suite.queue.run_queue import RunQueue
from suite.race.study_race import Race, race_of_runs, rules_of
from suite.schema import Objective, TrialAttr
from suite.study.config import Study

if TYPE_CHECKING:
    from rich.console import Console


def plan_study(study: Study) -> list[PlannedRun]:
    """Every run of the grid with its state (MLflow's record deciding which are done), without
    creating or changing anything."""
    from suite.record.finished_runs import FinishedRuns

    specs = study.runs
    queue = RunQueue(study, specs=specs, create=False)
    record = FinishedRuns(study, specs)
    queue.use_record(record.read(), record.run_exists)
    return queue.plan(specs)


def calibrate(planned: list[PlannedRun]) -> TimeModel | None:
    """The study's time model, fitted on its finished runs (None before the first)."""
    observations = [
        Observation(p.spec, float(p.attributes[TrialAttr.RUN_SECONDS]))
        for p in planned
        if p.state == PlanState.DONE and TrialAttr.RUN_SECONDS in p.attributes
    ]
    return least_squares(observations)


def remaining_seconds(planned: list[PlannedRun]) -> dict[str, float] | None:
    """Estimated seconds of each run not finished yet, by run_key; None without a model."""
    model = calibrate(planned)
    if model is None:
        return None
    left = [p.spec for p in planned if p.state != PlanState.DONE]
    return {spec.run_key: seconds for spec, seconds in zip(left, model.each(left), strict=True)}


def estimate_plan(
    study: Study, planned: list[PlannedRun], console: Console, *, probe_allowed: bool = True
) -> TimeModel | None:
    """The time model for a plan: from the study's finished runs, else from a few timed
    training steps of its largest run still to train (the model is thrown away; not where
    `probe_allowed` is False: a model too large for this machine is never built), with its
    seeds trained together where this machine's workers would."""
    from suite.forecast.time_model import (
        PROBE_MAX_SEQUENCE_STEPS,
        from_probes,
        probe,
        probe_stand_in,
    )

    model = calibrate(planned)
    todo = [p.spec for p in planned if p.needs_training]
    if model is not None or not todo or not probe_allowed:
        return model
    if (longest := max(spec.data.input_shape[0] for spec in todo)) > PROBE_MAX_SEQUENCE_STEPS:
        console.print(
            f"no time estimate: sequences of {longest:,} steps are too long to time a few"
            f" training steps quickly (a probe times up to {PROBE_MAX_SEQUENCE_STEPS:,});"
            " the plan estimates from the study's own runs once some have finished",
            highlight=False,
        )
        return None
    from suite.train.keras_startup import start_backend

    largest, smallest = max(todo, key=work), min(todo, key=work)
    with console.status("timing a few training steps of the largest and smallest runs..."):
        start_backend()
        timed = probe(probe_stand_in(largest))
        other = probe(probe_stand_in(smallest)) if work(smallest) < work(largest) else None
    model = from_probes(timed, other)
    fused = fused_seeds(study)
    if fused is None:
        return model
    source = f"{model.source}; seeds of a configuration trained together"
    return replace(model, fused=fused, source=source)


def fused_seeds(study: Study) -> FusedSeeds | None:
    """How this machine's workers would train the study's seeds together (on a CPU, where
    lanes are measured; this process's backend started), or None where they would not."""
    import keras

    from suite.machine import cpu_cores
    from suite.train.keras_startup import accelerator, fuses_seeds_here

    if accelerator() != "cpu":
        return None
    cores = cpu_cores()
    fewest = (c for c in range(1, cores + 1) if fuses_seeds_here(study, cores=c))
    min_cores = next(fewest, None)
    return None if min_cores is None else FusedSeeds(cores, min_cores, keras.backend.backend())


def race_of_plan(study: Study, planned: list[PlannedRun]) -> Race:
    """A race study's race, from the runs of its plan (every run it may train) done so far."""
    values = selection_values(planned, study.objective)
    return race_of_runs(rules_of(study), [p.spec for p in planned], values)


def selection_values(planned: list[PlannedRun], objective: Objective) -> dict[str, float]:
    """Each done run's value for the study's objective (its best epoch's) by run_key."""
    return {
        p.spec.run_key: float(p.attributes[objective.column])
        for p in planned
        if p.state == PlanState.DONE and objective.column in p.attributes
    }
