"""The checks of a grid study that pydantic cannot make alone: its keys and values, its
size, its dataset axis, a race, fused seeds, and a budget in weights."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from suite.study.backends import process_backend
from suite.study.bounds import MAX_GRID_RUNS
from suite.study.config import Study
from suite.study.data_config import DataConfig
from suite.study.grid import seed_values
from suite.study.grid_keys import GRID_SECTIONS
from suite.study.sequences import pin
from suite.study.values import read_value, value_list_problems


def grid_problems(study: Study) -> list[str]:
    assert study.grid is not None
    if not study.grid:
        return ["grid: empty; list at least one value, e.g.  grid: {cell: [lstm]}"]
    if size_problem := _grid_size_problem({**study.grid, "seed": seed_values(study)}):
        return [size_problem]  # before reading a value: a huge grid is refused at once
    problems: list[str] = []
    for key, values in study.grid.items():
        if key not in GRID_SECTIONS:
            allowed = ", ".join(GRID_SECTIONS)
            problems.append(f"grid.{key}: unknown grid key; allowed keys: {allowed}")
        elif not values:
            problems.append(f"grid.{key}: empty list; give at least one value")
        else:
            problems += value_list_problems(study, f"grid.{key}", key, values)
    return problems


def dataset_problems(study: Study) -> list[str]:
    """A dataset axis names each dataset once, by a name of its own, and is the study's only
    data axis (an archive, file or view axis beside it would say the data twice)."""
    grid = study.grid or {}
    if "dataset" not in grid:
        return []
    beside = [k for k in ("archive", "file", "view") if k in grid]
    if beside:
        return [
            f"grid.dataset and grid.{', grid.'.join(beside)}: the dataset axis names whole"
            " data sections; list each dataset in it (e.g.  {archive: GunPoint} or  {view:"
            f" pixels}}) and remove grid.{', grid.'.join(beside)}"
        ]
    problems: list[str] = []
    names: dict[str, int] = {}
    contents: dict[str, int] = {}
    reads: set[DataConfig] = set()
    for i, entry in enumerate(grid["dataset"]):
        read, problem = read_value(study, "dataset", entry)
        if problem is not None or read in reads:
            continue  # the grid check's line: invalid, or listed twice
        reads.add(read)
        where = f"grid.dataset[{i}]"
        name = read.dataset_name
        if name.lower() in names:
            problems.append(
                f"{where}: named {name!r}, as is grid.dataset[{names[name.lower()]}]; give one"
                " of them a name of its own (name: ...)"
            )
        names.setdefault(name.lower(), i)
        content = json.dumps(pin(read).identity(), sort_keys=True)
        if content in contents:
            problems.append(
                f"{where}: the same data as grid.dataset[{contents[content]}] (same content and"
                " settings), so every run of it would be trained twice; list it once"
            )
        contents.setdefault(content, i)
    return problems


def race_problems(study: Study) -> list[str]:
    """A race names its configurations in `grid:` and spends seeds itself."""
    if study.race is None:
        return []
    if study.search is not None:
        return ["race: races the configurations of a grid, not a search; remove race: or search:"]
    if "seed" in study.grid:
        return [
            "grid.seed: a race chooses the seeds itself (0, 1, ... up to race.max_seeds);"
            " remove grid.seed, or remove race: to train the listed seeds"
        ]
    if study.race.margin_points is not None and study.task == "regression":
        return [
            "race.margin_points: is in accuracy points, and this study's data is a regression"
            " (compared by RMSE); remove it: the race then ends when the best separates or at"
            " race.max_seeds"
        ]
    return []


def fused_problems(study: Study) -> list[str]:
    """Seeds train together (`training.execution: fused`) only as JAX programs, for the
    seeds of a grid's or a race's configurations, all trained for the same epochs."""
    if study.training.execution != "fused":
        return []
    fix = "or use training.execution: fast"
    if study.search is not None:
        return [
            "training.execution: fused trains the seeds of one configuration together, and a"
            " search trains one point per trial: use training.execution: fast"
        ]
    if study.training.early_stopping is not None:
        return [
            "training.execution: fused trains seeds together for the same epochs, and early"
            f" stopping would end each at its own: remove training.early_stopping, {fix}"
        ]
    named = (study.grid or {}).get("backend")
    backends = set(named) if isinstance(named, list) else {process_backend()}
    if backends != {"jax"}:
        where = "grid.backend lists" if isinstance(named, list) else "this process runs"
        return [
            "training.execution: fused trains seeds together as one JAX program, but"
            f" {where} {', '.join(sorted(map(str, backends)))}: set KERAS_BACKEND=jax"
            f" (and grid.backend: [jax] if named), {fix}"
        ]
    return []


def budget_problems(study: Study) -> list[str]:
    """A budget in weights (`params`) chooses each configuration's units: naming units too
    would say two sizes at once."""
    grid = study.grid or {}
    budget = [
        w
        for w, named in (("model.params", study.model.params), ("grid.params", grid.get("params")))
        if named is not None
    ]
    units = [
        where
        for where, named in (
            ("model.units", "units" in study.model.model_fields_set),
            ("grid.units", "units" in grid),
            ("search.space.units", study.search is not None and "units" in study.search.space),
        )
        if named
    ]
    if budget and units:
        return [
            f"{' and '.join(budget + units)}: a parameter budget (params) chooses each"
            f" configuration's units; name params or units, not both (remove {', '.join(units)})"
        ]
    return []


def budgets_too_small(study: Study) -> list[str]:
    """A budget below a configuration's one-unit model would train that model whatever the
    budget says: a slip (20 for 20000), not a size. Expands the grid: a valid one only."""
    from suite.schema import config_label
    from suite.study.model_size import model_size

    grid = study.grid or {}
    if study.grid is None or (study.model.params is None and "params" not in grid):
        return []
    where = "grid.params" if "params" in grid else "model.params"
    problems: dict[str, str] = {}
    for spec in study.runs:
        m = spec.model
        smallest = model_size(m, spec.data.input_shape, spec.data.outputs).parameters
        if m.units == 1 and smallest > (budget := m.params or 0):
            name = config_label(m.cell, m.bidirectional, m.layers)
            problems.setdefault(
                f"{name} {budget}",
                f"{where}: a budget of {budget:,} weights is below the smallest {name}"
                f" ({smallest:,} weights at 1 unit per direction); give at least {smallest:,}",
            )
    return list(problems.values())


def _grid_size_problem(grid: Mapping[str, Sequence[Any]]) -> str | None:
    runs = math.prod(len(values) for values in grid.values())
    if runs <= MAX_GRID_RUNS:
        return None
    factors = " x ".join(
        f"{key} {len(values):,}" for key, values in grid.items() if len(values) > 1
    )
    return (
        f"grid: {runs:,} runs ({factors}); a study holds at most {MAX_GRID_RUNS:,}; split it into"
        " several studies or use a search: section"
    )
