"""What the CLI prints besides errors: the plan (--dry-run), the summary, where to look next."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from suite.queue.planning import PlanState
from suite.schema import counted
from suite.study.config import Study
from suite.study.run_spec import RunSpec
from suite.worker.outcomes import StudyOutcome

if TYPE_CHECKING:
    from suite.queue.planning import PlannedRun

MAX_PLAN_ROWS = 200  # a longer plan lists its first runs, then counts them all by state


def print_datasets(specs: Iterable[RunSpec], console: Console) -> None:
    """Each dataset of the study other than MNIST, as read: cases, lengths, channels, classes."""
    seen = dict.fromkeys(spec.data for spec in specs if not spec.data.is_mnist)
    for data in seen:
        console.print(f"data: {data.description.summary()}", highlight=False, markup=False)
        if data.description.task_note:  # numbers, and the study did not say: how they were read
            console.print(f"      {data.description.task_note}", highlight=False, markup=False)


def print_plan(study: Study, console: Console, *, probe_allowed: bool = True) -> None:
    from suite.forecast.plan import estimate_plan, plan_study
    from suite.forecast.time_model import format_duration
    from suite.study.model_size import model_size
    from suite.worker.local_processes import worker_count

    if study.search is not None:
        print_search_plan(study, console)
        return
    planned = plan_study(study)
    print_datasets((item.spec for item in planned), console)
    if study.race is not None:
        planned = race_so_far(study, planned, console)
    model = estimate_plan(study, planned, console, probe_allowed=probe_allowed)
    table = Table(
        title=f"plan of study {study.name} ({counted(len(planned), 'run')})", title_justify="left"
    )
    for column in ("run", "run_key", "state"):
        table.add_column(column)
    # A budget in weights: the units each configuration got and its exact count.
    budget = any(item.spec.model.params is not None for item in planned)
    if budget:
        table.add_column("units", justify="right")
        table.add_column("parameters", justify="right")
    table.add_column("estimate", justify="right")
    todo = [item.spec for item in planned if item.needs_training]
    estimates: dict[str, float] = {}
    if model is not None:
        estimates = dict(zip((spec.run_key for spec in todo), model.each(todo), strict=True))
    for item in planned[:MAX_PLAN_ROWS]:
        spec = item.spec
        estimate = estimates.get(spec.run_key) if item.needs_training else None
        size = (
            [
                str(spec.model.units),
                f"{model_size(spec.model, spec.data.input_shape, spec.data.outputs).parameters:,}",
            ]
            if budget
            else []
        )
        estimate_text = format_duration(estimate) if estimate is not None else ""
        table.add_row(spec.label, spec.run_key, item.state.value, *size, estimate_text)
    console.print(table)
    if len(planned) > MAX_PLAN_ROWS:
        console.print(plan_tail_line(planned), highlight=False)
    console.print(f"{plan_counts(planned)}; --dry-run trained nothing and wrote nothing.")
    if model is not None and todo:
        workers = worker_count(study, runs_left=len(todo))
        with_workers = (
            f", {format_duration(model.wall(todo, workers))} with {workers} workers"
            if workers > 1
            else ""
        )
        console.print(
            f"estimated time on this machine: {format_duration(model.total(todo))} with one"
            f" worker{with_workers} (from {model.source})",
            highlight=False,
        )


def race_so_far(study: Study, planned: list[PlannedRun], console: Console) -> list[PlannedRun]:
    """Print the race as the record holds it; return the runs it has asked for so far (the
    current round's still to train among them)."""
    from suite.forecast.plan import race_of_plan
    from suite.race.study_race import runs_asked
    from suite.race.summary import race_line, standings

    specs = [p.spec for p in planned]
    state = race_of_plan(study, planned)
    table = Table(title=f"race of study {study.name}", title_justify="left")
    for column in ("configuration", "seeds", "mean val accuracy", "interval", "status"):
        table.add_column(column, justify="right" if column == "seeds" else "left")
    for row in standings(state):
        interval = "" if row.low != row.low else f"{row.low:.4f} .. {row.high:.4f}"
        mean = "" if row.mean != row.mean else f"{row.mean:.4f}"
        status = row.status
        if row.elimination is not None:
            e = row.elimination
            status += f" (vs {e.leader}: gap {e.gap:.4f}, p {e.p_value:.1e} < {e.level:.1e})"
        table.add_row(row.configuration, str(row.seeds), mean, interval, status)
    console.print(table)
    console.print(race_line(state), highlight=False)
    asked = {spec.run_key for spec in runs_asked(state, specs)}
    return [p for p in planned if p.spec.run_key in asked]


def plan_counts(planned: list[PlannedRun]) -> str:
    """How many runs train and how many do not; those others train now, said apart."""
    todo = sum(item.needs_training for item in planned)
    running = sum(item.state == PlanState.RUNNING for item in planned)
    said = f"{todo} to train, {len(planned) - todo} not"
    if running:
        said += f" ({len(planned) - todo - running} done, {running} running elsewhere)"
    return said


def plan_tail_line(planned: list[PlannedRun]) -> str:
    """What a table cut at MAX_PLAN_ROWS leaves out, and every run counted by state."""
    counts = Counter(item.state.value for item in planned)
    by_state = ", ".join(f"{n:,} {state}" for state, n in sorted(counts.items()))
    return (
        f"... and {counted(len(planned) - MAX_PLAN_ROWS, 'more run')} not listed; all"
        f" {len(planned):,} runs by state: {by_state}"
    )


def print_search_plan(study: Study, console: Console) -> None:
    """A search has no list of runs in advance: its space, and how far it has come."""
    from suite.queue.run_queue import RunQueue

    search = study.search
    assert search is not None
    table = Table(title=f"search space of study {study.name}", title_justify="left")
    for column in ("parameter", "values"):
        table.add_column(column)
    for name, param in search.space.items():
        if param.choices is not None:
            values = ", ".join(map(str, param.choices))
        else:
            values = f"{param.low} .. {param.high}" + (" (log)" if param.log else "")
        table.add_row(name, values)
    console.print(table)
    queue = RunQueue(study, create=False)
    trials = queue.optuna_study.get_trials(deepcopy=False) if queue.optuna_study else []
    states = {}
    for trial in trials:
        states[trial.state.name.lower()] = states.get(trial.state.name.lower(), 0) + 1
    finished = states.get("complete", 0) + states.get("pruned", 0)
    wanted = f"{search.n_trials} wanted" if search.n_trials else "n_trials not set"
    every = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
    console.print(
        f"{counted(finished, 'trial')} finished (complete or pruned), {wanted};"
        f" {f'all trials by state: {every}' if every else 'no trial yet'};"
        f" sampler {search.sampler}, pruner {search.pruner}, objective {study.objective.metric}."
        " --dry-run trained nothing."
    )


def print_summary(outcome: StudyOutcome, console: Console) -> None:
    _print_runs(outcome, console)
    if outcome.study.race is not None:  # the answer, or where the race stands: the last line
        from suite.forecast.plan import plan_study, race_of_plan
        from suite.race.summary import race_line

        state = race_of_plan(outcome.study, plan_study(outcome.study))
        console.print(race_line(state), highlight=False)


def _print_runs(outcome: StudyOutcome, console: Console) -> None:
    if not outcome.runs:
        return
    table = Table(title=f"study {outcome.study.name}", title_justify="left")
    table.add_column("run")
    table.add_column("status")
    table.add_column(outcome.study.objective.short, justify="right")
    table.add_column(f"test {outcome.study.measure.words}", justify="right")
    table.add_column("train s", justify="right")
    for run in outcome.runs:
        validation = "" if run.value is None else f"{run.value:.4f}"
        tested = "" if run.test_value is None else f"{run.test_value:.4f}"
        seconds = "" if run.seconds is None else f"{run.seconds:.1f}"
        table.add_row(run.spec.label, run.status, validation, tested, seconds)
    console.print(table)


def print_next_steps(study: Study, console: Console, *, source_file: str) -> None:
    """Where the answer is: the report (best chosen on validation) and MLflow's UI."""
    from suite.record.study_experiment import browse_hint

    console.print(
        f"next: python -m suite.report {source_file}   (the comparison: best configuration by"
        f" {study.objective.words}, test {study.measure.words} as its estimate)",
        highlight=False,
        markup=False,  # the path is the user's, brackets and all
        soft_wrap=True,  # commands and links stay whole lines, to copy
    )
    for number, line in enumerate(browse_hint(study)):
        prefix = "      MLflow: " if number == 0 else "              "
        console.print(prefix + line, highlight=False, markup=False, soft_wrap=True)
