"""One training run (`RunSpec`): everything it needs, and the `run_key` that names its
result."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Self

from pydantic import model_validator

from suite.schema import Measure, Objective, ObjectiveMetric, Tag, config_label, run_label
from suite.study.backends import DEFAULT_BACKEND, Backend
from suite.study.bounds import Frozen
from suite.study.data_config import DataConfig
from suite.study.grid_keys import GRID_SECTIONS
from suite.study.sections import ModelConfig, TrainingConfig

RUN_KEY_VERSION = 1  # bump when the meaning of a field changes, so old run_keys never match


def unnamed(model: ModelConfig) -> set[str]:
    """Model fields that a run leaves out of its identity and its params: the budget where
    none is named."""
    return {"params"} if model.params is None else set()


class RunSpec(Frozen):
    """Everything one training run needs; its `run_key` names its result."""

    study: str
    data: DataConfig
    model: ModelConfig
    training: TrainingConfig
    seed: int
    backend: Backend | None = None  # the grid's backend axis value; None: the axis is not named
    # The backend the run computes on: the axis value, or the KERAS_BACKEND of the process that
    # expanded the study (its workers inherit it). Always part of the identity (`run_key`).
    keras_backend: Backend = "tensorflow"
    varied: tuple[str, ...] = ()  # grid keys that vary in this study, for labels and tags
    # What the study compares runs by (a label, not an input: it picks the best epoch that is
    # recorded, never what is trained, so it stays out of the run_key); None: the task's own
    # (validation accuracy, or validation RMSE for a regression target).
    objective: ObjectiveMetric | None = None

    @model_validator(mode="after")
    def _axis_is_the_backend(self) -> Self:
        if self.backend is not None and self.backend != self.keras_backend:
            raise ValueError(f"backend {self.backend!r} but keras_backend {self.keras_backend!r}")
        return self

    @property
    def run_key(self) -> str:
        """Hash of what changes the result; the study name and `varied` are labels, not inputs.

        The backend joins the hash unless it is TensorFlow, named or not: TensorFlow runs keep
        the keys they had before the backend axis existed, and naming the default changes
        nothing, while a run computed on JAX or PyTorch never shares a TensorFlow run's key."""
        backend = None if self.keras_backend == DEFAULT_BACKEND else self.keras_backend
        return self._hash(backend)

    @property
    def former_run_keys(self) -> tuple[str, ...]:
        """Keys this same computation was recorded under by earlier versions: a TensorFlow run
        of a study that named the backend axis hashed "tensorflow" in. Read as this run_key."""
        if self.keras_backend == DEFAULT_BACKEND and self.backend is not None:
            return (self._hash(DEFAULT_BACKEND),)
        return ()

    def _hash(self, backend: str | None) -> str:
        payload: dict[str, Any] = {
            "version": RUN_KEY_VERSION,
            "data": self.data.identity(),
            "model": self.model.model_dump(mode="json", exclude=unnamed(self.model)),
            "training": self.training.model_dump(mode="json", exclude={"execution"}),
            "seed": self.seed,
        }
        if backend is not None:
            payload["backend"] = backend
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def direction(self) -> str:
        return "bidirectional" if self.model.bidirectional else "unidirectional"

    @property
    def label(self) -> str:
        """Short human name: cell, direction, depth, then any other varied field, then seed."""
        m = self.model
        return run_label(m.cell, m.bidirectional, m.layers, self.seed, self._extras())

    @property
    def configuration(self) -> str:
        """The configuration's name, the same for every seed of it (the label without seed)."""
        m = self.model
        return config_label(m.cell, m.bidirectional, m.layers, self._extras())

    @property
    def configuration_key(self) -> str:
        """The run_key of this run at seed 0: equal for two runs that compute the same thing
        but for their seed (the configuration's time, its compiled model)."""
        return self.model_copy(update={"seed": 0, "varied": ()}).run_key

    def _extras(self) -> dict[str, Any]:
        return {
            key: self.value_of(key)
            for key in self.varied
            if key not in {"cell", "bidirectional", "layers", "seed"}
        }

    def value_of(self, key: str) -> Any:
        section = GRID_SECTIONS[key]
        if section == "backend":
            return self.keras_backend
        if section == "dataset":
            return self.data.dataset_name
        if section == "seed":
            return self.seed
        return getattr(getattr(self, section), key)

    @property
    def compared_by(self) -> Objective:
        return self.measure.objective if self.objective is None else Objective(self.objective)

    @property
    def measure(self) -> Measure:
        """Accuracy, or RMSE for a regression target (the data's task: pinned, or read)."""
        from suite.study.sequences import task_of

        return Measure.of(task_of(self.data))

    def resolved(self) -> dict[str, Any]:
        """The full configuration as plain data: what the config artifact records."""
        return {Tag.RUN_KEY: self.run_key, **self.model_dump(mode="json", exclude={"varied"})}
