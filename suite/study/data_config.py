"""The `data:` section (`DataConfig`): MNIST in one of its views, an archive dataset or
the user's own file, and how it is split; the entries of a grid's dataset axis."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any, Literal, Self

from pydantic import PositiveInt, field_validator, model_validator

from suite.schema import Task
from suite.study.bounds import SAFE_NAME, Frozen, Seed

if typing.TYPE_CHECKING:
    from suite.sequences import Description

MNIST_TRAIN_SIZE = 60_000
MNIST_TEST_SIZE = 10_000
MNIST_CLASSES = 10


# Fields of the data section that only sequences other than MNIST use: left out of an MNIST
# run's identity, so every MNIST run_key stays what it was before they existed.
SEQUENCE_FIELDS = frozenset({"archive", "file", "task", "fill_missing", "split_seed", "digest"})
# Keys the suite fills in itself, never offered to a user as "allowed keys".
SUITE_FILLED = frozenset({"digest"})
# Fields that say where the data is, or what to call it, not what it is: never in a run's
# identity (its content hash is) and never logged as params of their own (`dataset` is).
LABELS = frozenset({"archive", "file", "name"})
# Fields that only MNIST reads, refused beside `archive` or `file` where they are not defaults.
MNIST_FIELDS = ("view", "train_size", "test_size", "permutation_seed")


class DataConfig(Frozen):
    """Where the sequences come from and how to split them: MNIST (the default, in one of its
    views), a UCR/UEA archive dataset bundled with sktime (`archive`), or the user's own file
    (`file`: a .ts train/test pair, an .npz or a long-format .csv). See docs/how-to/own-data.md."""

    archive: str | None = None
    file: str | None = None
    # classification or regression; None: inferred from the target (suite.sequences.prepare)
    # and set on each run's data (suite.study.sequences.pin), so its identity names it.
    task: Task | None = None
    fill_missing: Literal["zero", "previous"] | None = None  # NaN inside a series: else refused
    split_seed: Seed = 0  # the stratified validation holdout's (and a missing test split's)
    # The content hash of the sequences as read, set on each run's data (`pin`): a changed
    # file gets new run_keys, and one that changes mid-study is refused (suite.study.sequences).
    digest: str | None = None
    view: Literal["rows", "pixels", "permuted"] = "rows"
    validation: Literal["holdout", "test"] = "holdout"
    validation_size: PositiveInt = 10_000  # MNIST's; other data: 20% of its training cases
    train_size: PositiveInt | None = None
    test_size: PositiveInt | None = None
    permutation_seed: Seed = 0
    # The dataset's name in labels, params and the report (a grid's dataset axis may name
    # its entries); None: the archive's name, the file's stem, or MNIST and its view. A label,
    # not an input: never part of a run's identity.
    name: str | None = None

    @field_validator("archive", "file")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("is empty: give an archive dataset's name or a file's path")
        return value

    @field_validator("name")
    @classmethod
    def _safe_dataset_name(cls, value: str | None) -> str | None:
        if value is not None and not SAFE_NAME.fullmatch(value):
            raise ValueError(
                "a dataset's name must start with a letter or digit and hold only letters,"
                f" digits, '_', '.' and '-' (at most 100 characters), got {value!r}"
            )
        return value

    @property
    def is_mnist(self) -> bool:
        return self.archive is None and self.file is None

    def unused(self) -> set[str]:
        """Fields this data does not read: left out of its params and its identity."""
        return set(SEQUENCE_FIELDS) if self.is_mnist else set(MNIST_FIELDS)

    def identity(self) -> dict[str, Any]:
        """What of this section changes a run's result (its run_key's share): MNIST's fields
        as they always were; for other data its content hash, not where it was read from."""
        return self.model_dump(mode="json", exclude=self.unused() | LABELS)

    @property
    def dataset_name(self) -> str:
        """The name the run's `dataset` param, its label and the report give this data."""
        if self.name is not None:
            return self.name
        return mnist_name(self.view) if self.is_mnist else self.description.name

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.archive is not None and self.file is not None:
            raise ValueError("name either archive or file, not both")
        if self.is_mnist:
            if self.fill_missing is not None or self.task == "regression":
                raise ValueError("fill_missing and task: regression need archive or file data")
            return self
        named = [f for f in MNIST_FIELDS if f in self.model_fields_set]
        if named:
            one = len(named) == 1
            raise ValueError(
                f"{', '.join(named)} only appl{'ies' if one else 'y'} to MNIST; remove"
                f" {'it' if one else 'them'} (the data's own train and test splits are used)"
            )
        if self.validation == "test":
            raise ValueError(
                "validation: test applies to MNIST only; archive and file data hold validation"
                " cases out of their training split (validation_size)"
            )
        return self

    @model_validator(mode="after")
    def _sizes_fit(self) -> Self:
        if not self.is_mnist:  # checked against the data itself (suite.sequences.prepare)
            return self
        if self.validation == "test" and "validation_size" in self.model_fields_set:
            raise ValueError(
                "validation_size only applies to 'validation: holdout'; with 'validation: test'"
                " the test set is the validation data (remove validation_size)"
            )
        pool = MNIST_TRAIN_SIZE - (self.validation_size if self.validation == "holdout" else 0)
        if self.validation == "holdout" and self.validation_size >= MNIST_TRAIN_SIZE:
            raise ValueError(
                f"validation_size must be below {MNIST_TRAIN_SIZE}, got {self.validation_size}"
            )
        if self.train_size is not None and self.train_size > pool:
            raise ValueError(
                f"train_size must be at most {pool} (the training images left after the"
                f" validation split), got {self.train_size}"
            )
        if self.test_size is not None and self.test_size > MNIST_TEST_SIZE:
            raise ValueError(f"test_size must be at most {MNIST_TEST_SIZE}, got {self.test_size}")
        return self

    @property
    def input_shape(self) -> tuple[int, int]:
        """(time steps, features) of one sequence: an MNIST image under this view, or the
        longest series of the data and its channels."""
        if self.is_mnist:
            return (28, 28) if self.view == "rows" else (784, 1)
        return self.description.input_shape

    @property
    def outputs(self) -> int:
        """The model's outputs: MNIST's ten digits, the data's classes, or 1 (regression)."""
        return MNIST_CLASSES if self.is_mnist else self.description.output_size

    @property
    def masked(self) -> bool:
        """Whether series differ in length, so padding must be masked in the model."""
        return not self.is_mnist and self.description.variable_length

    @property
    def description(self) -> Description:
        """The data as read and prepared (read once per process): see suite.study.sequences."""
        from suite.study.sequences import prepared

        return prepared(self).description


def mnist_name(view: str) -> str:
    """MNIST's dataset name in one view: MNIST (rows), MNIST-pixels, MNIST-permuted."""
    return "MNIST" if view == "rows" else f"MNIST-{view}"


MNIST_NAME = "mnist"  # a dataset axis entry that means MNIST (any case), read row by row
DATA_FILE_SUFFIXES = (".ts", ".npz", ".csv")


def dataset_fields(entry: Any) -> dict[str, Any]:
    """The data section one entry of a grid's dataset axis stands for: a mapping as the
    `data:` section accepts it, or a short form: `MNIST`, an archive name (GunPoint), or a
    file's path (one with a folder, or ending .ts, .npz or .csv). Raises ValueError."""
    if isinstance(entry, Mapping):
        return dict(entry)
    if not isinstance(entry, str) or not entry.strip():
        raise ValueError(
            "a dataset is MNIST, an archive name (GunPoint), a file path (data/my.npz) or a"
            f" data section (a mapping such as {{archive: GunPoint}}), got {entry!r}"
        )
    if entry.strip().lower() == MNIST_NAME:
        return {}
    path = entry.strip()
    if "/" in path or "\\" in path or path.lower().endswith(DATA_FILE_SUFFIXES):
        return {"file": path}
    return {"archive": path}


def dataset_section(base: DataConfig, entry: Any) -> DataConfig:
    """One dataset of the axis: its entry's fields over the keys of the study's `data:`
    section that apply to it (MNIST's keys to MNIST; task, fill_missing, split_seed to the
    archives and files; validation_size only to data of the same kind as `data:`'s, since
    MNIST's 10,000 would empty a small archive). Raises ValueError or ValidationError."""
    fields = dataset_fields(entry)
    mnist = "archive" not in fields and "file" not in fields
    skip = set(LABELS | SUITE_FILLED) | (
        SEQUENCE_FIELDS if mnist else {*MNIST_FIELDS, "validation"}
    )
    if mnist != base.is_mnist:
        skip.add("validation_size")
    inherited = {k: v for k, v in base.model_dump(exclude_unset=True).items() if k not in skip}
    return DataConfig.model_validate({**inherited, **fields})
