"""Study files: read once at the edge, override, validate into a frozen `Study`.

A study file is YAML. It is read once by `load_study`, validated by pydantic, and any problem
becomes one `StudyError` that names the file, the key path and what is allowed, so the CLI can
print it and exit before anything touches the tracking store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from suite.study import GRID_SECTIONS, SearchParam, Study, StudyError


def load_study(path: str | Path, *, overrides: Sequence[str] = ()) -> Study:
    """Read, override and validate a study file; raise StudyError naming every problem."""
    path = Path(path)
    source = str(path)
    raw = _read_yaml(path)
    for override in overrides:
        _apply_override(raw, override, source=source)
    raw.setdefault("name", re.sub(r"[^A-Za-z0-9_.-]", "-", path.stem))
    try:
        study = Study.model_validate(raw)
    except ValidationError as err:
        raise StudyError(source, [_describe(e) for e in err.errors()]) from None
    if study.grid is None and study.search is None:
        raise StudyError(
            source,
            [
                "grid: missing; a study needs a grid of runs (e.g.  grid: {cell: [lstm]}) or a"
                " search: section"
            ],
        )
    if study.grid is not None and study.search is not None:
        raise StudyError(
            source,
            ["grid and search: a study has one or the other; put the search in its own file"],
        )
    problems = _grid_problems(study) if study.grid is not None else _search_problems(study)
    if problems:
        raise StudyError(source, problems)
    return study


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StudyError(
            str(path), ["no such file; check the path (studies/ holds examples)"]
        ) from None
    except IsADirectoryError:
        raise StudyError(
            str(path), ["is a directory; give the path of a .yaml study file"]
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise StudyError(str(path), [f"cannot read the file: {err}"]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise StudyError(str(path), [f"{where}invalid YAML: {problem}"]) from None
    if raw is None:
        raise StudyError(str(path), ["the file is empty; a minimal study is  grid: {cell: [lstm]}"])
    if not isinstance(raw, dict):
        raise StudyError(
            str(path),
            [
                f"the top level must be a mapping of keys (name, data, model, training, grid, ...),"
                f" got a {type(raw).__name__}"
            ],
        )
    return raw


def _apply_override(raw: dict[str, Any], override: str, *, source: str) -> None:
    """`--set training.epochs=1`: the value is YAML, the key a dotted path into the file."""
    key, sep, value = override.partition("=")
    if not sep or not key.strip():
        raise StudyError(
            source, [f"--set {override!r}: expected KEY.PATH=VALUE, e.g. training.epochs=1"]
        )
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        raise StudyError(source, [f"--set {override!r}: the value is not valid YAML"]) from None
    node = raw
    parts = key.strip().split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise StudyError(source, [f"--set {override!r}: {part} is not a section"])
        node = child
    node[parts[-1]] = parsed


def _grid_problems(study: Study) -> list[str]:
    assert study.grid is not None
    problems: list[str] = []
    if not study.grid:
        return ["grid: empty; list at least one value, e.g.  grid: {cell: [lstm]}"]
    for key, values in study.grid.items():
        if key not in GRID_SECTIONS:
            allowed = ", ".join(GRID_SECTIONS)
            problems.append(f"grid.{key}: unknown grid key; allowed keys: {allowed}")
            continue
        if not values:
            problems.append(f"grid.{key}: empty list; give at least one value")
            continue
        seen: list[Any] = []
        for i, value in enumerate(values):
            problem = _grid_value_problem(study, key, value)
            if problem:
                problems.append(f"grid.{key}[{i}]: {problem}")
            elif value in seen:
                problems.append(f"grid.{key}[{i}]: {value!r} is listed twice")
            seen.append(value)
    return problems


SEARCHABLE = {k: v for k, v in GRID_SECTIONS.items() if k != "seed"}
INTEGER_FIELDS = {"layers", "units", "epochs", "batch_size"}
FLOAT_FIELDS = {"dropout", "learning_rate"}


def _search_problems(study: Study) -> list[str]:
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
    for i, point in enumerate(study.search.enqueue):
        for name, value in point.items():
            if name not in study.search.space:
                problems.append(f"search.enqueue[{i}].{name}: not a parameter of search.space")
            elif problem := _grid_value_problem(study, name, value):
                problems.append(f"search.enqueue[{i}].{name}: {problem}")
    return problems


def _search_param_problems(study: Study, name: str, param: SearchParam) -> list[str]:
    bounds = param.low is not None or param.high is not None
    if param.choices is not None:
        if bounds or param.log or param.step is not None:
            return ["give either choices or low/high (with log, step), not both"]
        if not param.choices:
            return ["choices: empty list; give at least one value"]
        return [
            f"choices[{i}]: {problem}"
            for i, value in enumerate(param.choices)
            if (problem := _grid_value_problem(study, name, value))
        ]
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
    for end in ("low", "high"):
        value = getattr(param, end)
        value = int(value) if name in INTEGER_FIELDS else value
        if problem := _grid_value_problem(study, name, value):
            problems.append(f"{end}: {problem}")
    return problems


def _grid_value_problem(study: Study, key: str, value: Any) -> str | None:
    section = GRID_SECTIONS[key]
    if section == "seed":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"a seed must be a non-negative integer, got {value!r}"
        return None
    base = getattr(study, section)
    try:
        type(base).model_validate({**base.model_dump(exclude_unset=True), key: value})
    except ValidationError as err:
        first = err.errors()[0]
        return f"{_plain_message(first)}, got {value!r}"
    return None


def _describe(error: Mapping[str, Any]) -> str:
    loc = _loc(error["loc"])
    if error["type"] == "extra_forbidden":
        allowed = _allowed_keys(error["loc"][:-1])
        hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
        return f"{loc}: unknown key{hint}"
    if error["type"] == "missing":
        return f"{loc}: required key is missing"
    message = _plain_message(error)
    if error["type"] == "value_error" or not error["loc"]:
        return f"{loc or 'study'}: {message}"
    return f"{loc}: {message}, got {error.get('input')!r}"


def _plain_message(error: Mapping[str, Any]) -> str:
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _loc(parts: Sequence[Any]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif str(part).startswith("function-after["):
            continue
        else:
            text += f".{part}" if text else str(part)
    return text


def _allowed_keys(parent: Sequence[Any]) -> list[str]:
    """The keys the model at `parent` accepts, found by walking the Study's field types."""
    model: type[BaseModel] = Study
    for part in parent:
        annotation = model.model_fields.get(str(part))
        if annotation is None:
            return []
        candidates = [annotation.annotation, *getattr(annotation.annotation, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return []
        model = nested[0]
    return list(model.model_fields)
