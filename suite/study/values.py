"""A grid's or a search's value as its section reads it (`'1e-3'` -> 0.001), or why it
cannot be; a list of values checked one by one and against repeats once read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from suite.study.backends import BACKENDS
from suite.study.bounds import seed_problem
from suite.study.config import Study
from suite.study.data_config import DataConfig, dataset_section
from suite.study.grid_keys import GRID_SECTIONS
from suite.study.problems import key_path, plain_message, shown, user_keys, with_input


def value_list_problems(study: Study, where: str, key: str, values: Sequence[Any]) -> list[str]:
    """Each value valid for `key`, and none the same as an earlier one once read (`1e-3` and
    `1.0e-3`, `32` and `32.0`, `true` and `1` would train the same run twice)."""
    problems: list[str] = []
    first_index: dict[Any, int] = {}  # read value -> where it was first listed
    for i, value in enumerate(values):
        read, problem = read_value(study, key, value)
        if problem:
            problems.append(f"{where}[{i}]: {problem}")
        elif read in first_index:
            j = first_index[read]
            if type(values[j]) is type(value) and values[j] == value:
                problems.append(
                    f"{where}[{i}]: {shown(value)} is listed twice (also {where}[{j}]);"
                    " list it once"
                )
            else:
                problems.append(
                    f"{where}[{i}]: {shown(value)} is the same value as {where}[{j}]"
                    f" ({shown(values[j])}) once read; list it once"
                )
        else:
            first_index[read] = i
    return problems


def read_value(study: Study, key: str, value: Any) -> tuple[Any, str | None]:
    """`value` as it lands in its section once validated (`'1e-3'` -> 0.001), or why it
    cannot: (read value, None) or (None, problem)."""
    section = GRID_SECTIONS[key]
    if section == "seed":
        return (None, problem) if (problem := seed_problem(value)) else (value, None)
    if section == "backend":
        if value in BACKENDS:
            return value, None
        return None, f"a backend is one of {', '.join(BACKENDS)}, got {shown(value)}"
    if section == "dataset":
        try:
            return dataset_section(study.data, value), None
        except ValidationError as err:
            first = err.errors()[0]
            where = key_path(first["loc"])
            message = plain_message(first)
            if first["type"] == "extra_forbidden":
                message = f"unknown key; allowed keys here: {', '.join(user_keys(DataConfig))}"
            return None, f"{where + ': ' if where else ''}{message}"
        except ValueError as err:
            return None, str(err)
    base = getattr(study, section)
    try:
        read = type(base).model_validate({**base.model_dump(exclude_unset=True), key: value})
    except ValidationError as err:
        return None, with_input(plain_message(err.errors()[0]), value)
    return getattr(read, key), None
