"""Study files: read once at the edge, override, validate into a frozen `Study`.

A study file is YAML. It is read once by `load_study`, validated by pydantic, and any problem
becomes one `StudyError` that names the file, the key path and what is allowed, so the CLI can
print it and exit before anything touches the tracking store.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from suite.study.config import Study, StudyError
from suite.study.data_config import DataConfig
from suite.study.grid_checks import (
    budget_problems,
    budgets_too_small,
    dataset_problems,
    fused_problems,
    grid_problems,
    race_problems,
)
from suite.study.problems import describe
from suite.study.reading import apply_override, name_from_file, read_yaml
from suite.study.search_checks import objective_problem, search_problems
from suite.study.sequences import data_problems
from suite.study.values import read_value


def load_study(path: str | Path, *, overrides: Sequence[str] = ()) -> Study:
    """Read, override and validate a study file; raise StudyError naming every problem."""
    path = Path(path)
    source = str(path)
    raw = read_yaml(path)
    for override in overrides:
        apply_override(raw, override, source=source)
    if "name" not in raw:
        raw["name"] = name_from_file(path, source)
    try:
        study = Study.model_validate(raw)
    except ValidationError as err:
        raise StudyError(source, [describe(e) for e in err.errors()]) from None
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
    # The data is read with the study: its problems are the study's, one line each.
    if problems := data_problems(data_sections(study)):
        raise StudyError(source, problems)
    if problem := objective_problem(study):
        raise StudyError(source, [problem])
    problems = grid_problems(study) if study.grid is not None else search_problems(study)
    problems += race_problems(study) + budget_problems(study) + fused_problems(study)
    problems += dataset_problems(study)
    if problems:
        raise StudyError(source, problems)
    # Only a valid grid can be expanded to size each configuration to its budget.
    if problems := budgets_too_small(study):
        raise StudyError(source, problems)
    return study


def data_sections(study: Study) -> dict[DataConfig, str]:
    """The study's data section, and each other one its grid's dataset, archive or file axis
    names, with where each is named (values that are not even valid sections are the grid
    check's to report)."""
    # With a dataset axis, `data:` holds only the entries' defaults: no run trains on it.
    sections = {} if (study.grid or {}).get("dataset") else {study.data: "data"}
    for key in ("dataset", "archive", "file"):
        for i, value in enumerate((study.grid or {}).get(key, [])):
            read, problem = read_value(study, key, value)
            if problem is None:
                if key != "dataset":
                    read = DataConfig.model_validate(
                        {**study.data.model_dump(exclude_unset=True), key: read}
                    )
                sections.setdefault(read, f"grid.{key}[{i}]")
    return sections
