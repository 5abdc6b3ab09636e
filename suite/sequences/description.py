"""What a prepared dataset is, in JSON-able values: what --dry-run prints, what MLflow records
and what a model is built for (input shape, output size)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Description:
    name: str
    source: str  # archive, ts, npz or csv
    path: str
    digest: str  # of the data as read (RawSequences.digest)
    task: str  # classification or regression
    task_inferred: str | None  # how the task was inferred; None where the study said it
    cases: dict[str, int]  # {"train": ..., "validation": ..., "test": ...}
    min_length: int  # over all splits
    max_length: int
    channels: int
    classes: tuple[str, ...]  # class index -> label; () for regression
    target_range: tuple[float, float] | None  # regression: the training targets' min, max
    variable_length: bool  # lengths differ somewhere: padded to max_length and masked
    mean: tuple[float, ...]  # per channel, subtracted
    std: tuple[float, ...]  # per channel, divided by
    validation_seed: int
    stratified: bool  # every holdout kept the class proportions
    test_from_train: bool  # the file has no test split: held out from its training cases
    fill_missing: str | None
    # regression: the training targets' mean and std (population), which the model's linear
    # head puts back onto its standardised output; None for classes.
    target_scale: tuple[float, float] | None = None
    label_kind: str = "text"  # what the target holds: text, bool, whole or fractional

    @property
    def task_note(self) -> str | None:
        """How the task was read, where a reader could doubt it and the study did not say:
        numbers read as classes (whole) or as a regression target (fractional)."""
        numeric = self.label_kind in ("whole", "fractional")
        return self.task_inferred if numeric else None

    @property
    def input_shape(self) -> tuple[int, int]:
        """(steps, channels) of every x array."""
        return (self.max_length, self.channels)

    @property
    def output_size(self) -> int:
        """Units of the output layer: one per class, one for a regression target."""
        return len(self.classes) if self.task == "classification" else 1

    def summary(self) -> str:
        """One line: JapaneseVowels (archive): 216/54/370 cases (train/validation/test), ..."""
        cases = "/".join(str(self.cases[split]) for split in ("train", "validation", "test"))
        length = (
            f"{self.min_length}-{self.max_length}"
            if self.min_length != self.max_length
            else f"{self.max_length}"
        )
        channels = f"{self.channels} channel{'s' if self.channels != 1 else ''}"
        if self.task == "classification":
            target = f"{len(self.classes)} classes"
        else:
            low, high = self.target_range or (float("nan"), float("nan"))
            target = f"regression target {low:g} to {high:g}"
        return (
            f"{self.name} ({self.source}): {cases} cases (train/validation/test), length"
            f" {length}, {channels}, {target}, digest {self.digest}"
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, lists for tuples: json.dumps takes it as it is."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self).items()
        }
