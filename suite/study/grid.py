"""A study's runs: one RunSpec per grid point, or one per search trial's parameters."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from suite.study.backends import process_backend
from suite.study.data_config import dataset_section
from suite.study.grid_keys import GRID_SECTIONS
from suite.study.model_size import units_for_budget
from suite.study.run_spec import RunSpec
from suite.study.sequences import pin

if TYPE_CHECKING:
    from suite.study.config import Study  # imports this module for Study.runs


def expand(study: Study) -> list[RunSpec]:
    """One RunSpec per grid point, in the order the grid lists its keys and values (none for a
    search study: its trials are proposed one at a time)."""
    if study.grid is None:
        return []
    grid = {**study.grid, "seed": seed_values(study)}
    keys = list(grid)
    varied = tuple(k for k in keys if len(grid[k]) > 1)
    specs = []
    for values in itertools.product(*(grid[k] for k in keys)):
        point = dict(zip(keys, values, strict=True))
        specs.append(
            spec_at(study, point, seed=point["seed"], varied=varied, backend=point.get("backend"))
        )
    return specs


def seed_values(study: Study) -> list[int]:
    """The seeds each configuration may train with: a race's (0, 1, ... up to max_seeds; it
    trains those it needs), else the grid's seed axis, else [0]."""
    if study.race is not None:
        return list(range(study.race.max_seeds))
    return list((study.grid or {}).get("seed", [0]))


def search_spec(study: Study, params: Mapping[str, Any]) -> RunSpec:
    """The RunSpec of one search trial: the study's defaults with the trial's parameters."""
    assert study.search is not None
    return spec_at(study, params, seed=study.search.run_seed, varied=tuple(study.search.space))


def spec_at(
    study: Study,
    point: Mapping[str, Any],
    *,
    seed: int = 0,
    varied: tuple[str, ...] = (),
    backend: str | None = None,
) -> RunSpec:
    """The study's defaults with the grid keys in `point` set (`seed` aside): a grid point, a
    search trial, or any configuration to size up (`suite.forecast.memory`'s largest run)."""
    base = study.data
    if "dataset" in point:  # a whole data section: the dataset axis's entry
        base = dataset_section(study.data, point["dataset"])
    data, model = pin(_with(base, point, "data")), _with(study.model, point, "model")
    if model.params is not None:  # a budget in weights: the units whose count is nearest it
        units = units_for_budget(model, data.input_shape, model.params, data.outputs)
        model = model.model_copy(update={"units": units})
    return RunSpec(
        study=study.name,
        data=data,
        model=model,
        training=_with(study.training, point, "training"),
        seed=seed,
        backend=backend,
        keras_backend=backend or process_backend(),
        varied=varied,
        objective=study.objective.metric,
    )


def _with(section: BaseModel, point: Mapping[str, Any], name: str) -> Any:
    changes = {k: v for k, v in point.items() if GRID_SECTIONS[k] == name}
    if not changes:
        return section
    return type(section).model_validate({**section.model_dump(exclude_unset=True), **changes})
