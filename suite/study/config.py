"""The study (`Study`): its sections validated together, the runs it expands to, and the
error that names a study file's problems.

Read from YAML by `suite.study.file`; expanded into RunSpecs by `suite.study.grid`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

from pydantic import field_validator

from suite.schema import Measure, Objective, Task
from suite.study.bounds import SAFE_NAME, Frozen
from suite.study.data_config import DataConfig, dataset_section
from suite.study.sections import (
    ModelConfig,
    RaceConfig,
    SearchConfig,
    TrackingConfig,
    TrainingConfig,
    WorkersConfig,
)

if TYPE_CHECKING:
    from suite.study.run_spec import RunSpec


class StudyError(Exception):
    """A study file (or override) that cannot be used, with every problem found in it."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if len(self.problems) == 1:
            return f"{self.source}: {self.problems[0]}"
        listed = "\n".join(f"  - {p}" for p in self.problems)
        return f"{self.source}: {len(self.problems)} problems:\n{listed}"


class Study(Frozen):
    name: str
    experiment: str | None = None
    description: str = ""
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    grid: dict[str, list[Any]] | None = None
    search: SearchConfig | None = None
    race: RaceConfig | None = None
    tracking: TrackingConfig = TrackingConfig()
    storage: str | None = None
    workers: WorkersConfig = WorkersConfig()

    @field_validator("name", "experiment")
    @classmethod
    def _safe_name(cls, value: str | None) -> str | None:
        if value is not None and not SAFE_NAME.fullmatch(value):
            raise ValueError(
                "must start with a letter or digit and hold only letters, digits, '_', '.' and"
                f" '-' (at most 100 characters), got {value!r}"
            )
        return value

    @property
    def objective(self) -> Objective:
        """What the study's trials optimise and its report ranks by."""
        if self.search and self.search.objective:
            return Objective(self.search.objective)
        return Objective.default_for(self.task)

    @property
    def measure(self) -> Measure:
        """What the study's runs measure: accuracy, or RMSE for regression."""
        return Measure.of(self.task)

    @property
    def task(self) -> Task:
        """classification or regression: the study's, else inferred from its data's target."""
        from suite.study.sequences import task_of

        return task_of(self.datasets[0])

    @property
    def datasets(self) -> list[DataConfig]:
        """The data sections its runs train on, where the grid has a dataset axis: its entries
        (those that are valid sections: the grid check reports the others); else `data:`."""
        entries = []
        for entry in (self.grid or {}).get("dataset") or ():
            try:
                entries.append(dataset_section(self.data, entry))
            except ValueError:  # pydantic's ValidationError is one
                continue
        return entries or [self.data]

    @property
    def experiment_name(self) -> str:
        return self.experiment or self.name

    @functools.cached_property
    def runs(self) -> tuple[RunSpec, ...]:
        """Every run of the grid (`suite.study.grid.expand`; none for a search), expanded on
        first use and kept: an invocation's one expansion, which all its parts read."""
        from suite.study import grid

        return tuple(grid.expand(self))

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy whose runs are expanded afresh: `update` may change its grid."""
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("runs", None)
        return copied
