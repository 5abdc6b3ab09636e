"""The keys a grid (or a search) may vary: the section that holds each, the values a text
key may take, and which are numbers."""

from __future__ import annotations

import typing
from typing import Any

from suite.study.backends import BACKENDS
from suite.study.data_config import DataConfig
from suite.study.sections import ModelConfig, TrainingConfig

# Grid keys: every field that may vary from run to run, and the section that holds it.
GRID_SECTIONS: dict[str, str] = {
    **{name: "model" for name in ModelConfig.model_fields},
    **{
        name: "training"
        for name in TrainingConfig.model_fields
        if name not in {"early_stopping", "execution"}
    },
    "view": "data",
    # The data's source, as a grid axis: one study, several datasets (each pinned by content).
    # `dataset` lists whole data sections (or their short forms: `dataset_fields`); `archive`
    # and `file` vary that one key of the study's data section.
    "dataset": "dataset",
    "archive": "data",
    "file": "data",
    "seed": "seed",
    # Keras's backend: a grid axis only. Named, it joins the run's identity, and each run trains
    # in a worker process started on its backend (KERAS_BACKEND).
    "backend": "backend",
}


def allowed_values(key: str) -> tuple[Any, ...]:
    """Every value a text grid key may take (its Literal's), e.g. the three cells."""
    if key == "backend":
        return BACKENDS
    section = {"model": ModelConfig, "training": TrainingConfig, "data": DataConfig}
    model = section[GRID_SECTIONS[key]]
    return typing.get_args(model.model_fields[key].annotation)


def numeric_fields() -> dict[str, type]:
    """Each number a run is given (its MLflow params): int or float, read from the sections'
    own field types, so a new field is typed in the report without a list to keep."""
    fields: dict[str, type] = {"seed": int}
    for section in (DataConfig, ModelConfig, TrainingConfig):
        for name, info in section.model_fields.items():
            kinds = {info.annotation, *typing.get_args(info.annotation)}
            kinds |= {k for a in typing.get_args(info.annotation) for k in typing.get_args(a)}
            number = [k for k in (int, float) if k in kinds and bool not in kinds]
            if number:
                fields[name] = number[0]
    return fields
