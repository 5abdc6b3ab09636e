"""The checks of a search study: a space Optuna can sample whose every value is a valid
study field, enqueued points inside it, and an objective the data's task has."""

from __future__ import annotations

from typing import Any

from suite.study.config import Study
from suite.study.grid_keys import GRID_SECTIONS, numeric_fields
from suite.study.problems import shown
from suite.study.sections import SearchParam
from suite.study.values import read_value, value_list_problems


def objective_problem(study: Study) -> str | None:
    """A search objective that the data's task does not have (accuracy of a regression)."""
    if study.search is None:
        return None
    task = study.task
    wrong = {"classification": "val_rmse", "regression": "val_accuracy"}[task]
    if study.search.objective != wrong:
        return None
    allowed = "val_accuracy or val_loss" if task == "classification" else "val_rmse or val_loss"
    return f"search.objective: {wrong} does not apply to {task}; use {allowed}"


# A budget in weights is a grid axis only: a search varies units.
SEARCHABLE = {
    k: v
    for k, v in GRID_SECTIONS.items()
    if k not in {"seed", "backend", "params", "dataset", "archive", "file"}
}

# Searchable numbers by kind, from the study model's own field types.
INTEGER_FIELDS = {k for k in SEARCHABLE if numeric_fields().get(k) is int}

FLOAT_FIELDS = {k for k in SEARCHABLE if numeric_fields().get(k) is float}


def search_problems(study: Study) -> list[str]:
    """A search space that Optuna can sample and whose every value is a valid study field."""
    assert study.search is not None
    problems: list[str] = []
    if not study.search.space:
        return [
            "search.space: empty; give at least one parameter, e.g.  units: {low: 16, high: 128}"
        ]
    for name, param in study.search.space.items():
        where = f"search.space.{name}"
        if name not in SEARCHABLE:
            problems.append(f"{where}: unknown parameter; allowed: {', '.join(SEARCHABLE)}")
            continue
        problems += [f"{where}: {p}" for p in _search_param_problems(study, name, param)]
    if not problems:
        problems += _enqueue_problems(study)
    return problems


def _enqueue_problems(study: Study) -> list[str]:
    """Each enqueued point inside the space (Optuna fails on a value not among the choices and
    trains one outside low..high), and no point listed twice once read."""
    assert study.search is not None
    space = study.search.space
    problems: list[str] = []
    first_index: dict[tuple[tuple[str, Any], ...], int] = {}
    for i, point in enumerate(study.search.enqueue):
        read_point: dict[str, Any] = {}
        for name, value in point.items():
            where = f"search.enqueue[{i}].{name}"
            if name not in space:
                problems.append(f"{where}: not a parameter of search.space")
                continue
            read, problem = read_value(study, name, value)
            problem = problem or _outside_space(name, space[name], value, read)
            if problem:
                problems.append(f"{where}: {problem}")
            read_point[name] = read
        identity = tuple(sorted(read_point.items()))
        if len(read_point) == len(point) and identity in first_index:
            problems.append(
                f"search.enqueue[{i}]: the same point as search.enqueue[{first_index[identity]}]"
                " once read; list it once"
            )
        first_index.setdefault(identity, i)
    return problems


def _outside_space(name: str, param: SearchParam, value: Any, read: Any) -> str | None:
    if param.choices is not None:
        # Optuna looks the enqueued value up in the choices as given, by equality.
        if value not in param.choices:
            choices = ", ".join(map(shown, param.choices))
            return f"{shown(value)} is not one of search.space.{name}.choices ({choices})"
        return None
    assert param.low is not None and param.high is not None
    if not param.low <= read <= param.high:
        return (
            f"{shown(value)} is outside search.space.{name} ({param.low:g} .. {param.high:g});"
            " Optuna would train it outside the space, so pick a value in range"
        )
    return None


def _search_param_problems(study: Study, name: str, param: SearchParam) -> list[str]:
    bounds = param.low is not None or param.high is not None
    if param.choices is not None:
        if bounds or param.log or param.step is not None:
            return ["give either choices or low/high (with log, step), not both"]
        if not param.choices:
            return ["choices: empty list; give at least one value"]
        return value_list_problems(study, "choices", name, param.choices)
    if name not in INTEGER_FIELDS | FLOAT_FIELDS:
        return [f"{name} takes choices (e.g. {{choices: [...]}}), not a low/high range"]
    if param.low is None or param.high is None:
        return ["needs both low and high (or choices)"]
    problems = []
    if param.low >= param.high:
        problems.append(f"low must be below high, got low={param.low} high={param.high}")
    if param.log and param.low <= 0:
        problems.append(f"log scale needs low > 0, got low={param.low}")
    if param.log and param.step is not None:
        problems.append("log and step cannot be combined (Optuna samples one or the other)")
    if name in INTEGER_FIELDS and not (
        float(param.low).is_integer() and float(param.high).is_integer()
    ):
        problems.append(f"{name} is an integer: low and high must be whole numbers")
    if name in INTEGER_FIELDS and param.step is not None and not param.step.is_integer():
        problems.append(f"{name} is an integer: step must be a whole number, got {param.step}")
    for end in ("low", "high"):
        value = getattr(param, end)
        value = int(value) if name in INTEGER_FIELDS else value
        if problem := read_value(study, name, value)[1]:
            problems.append(f"{end}: {problem}")
    return problems
