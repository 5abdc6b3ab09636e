"""What the model predicts: the task (said or inferred from the labels), the classes in a
natural order, and the labels or targets as the arrays Keras wants."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from suite.sequences.errors import refusal
from suite.sequences.raw import RawSequences

TASKS = ("classification", "regression")


@dataclass(frozen=True)
class Targets:
    task: str  # one of TASKS
    task_inferred: str | None  # the sentence that says why, when the study did not say
    classes: tuple[str, ...]  # class index -> the label's string form; () for regression
    train: np.ndarray  # int32 class indices or float32 targets, one per training case
    test: np.ndarray | None  # the same for the test split, None where the file has none
    kind: str = "text"  # what the labels hold: text, bool, whole or fractional (label_kind)


def targets(raw: RawSequences, task: str | None) -> Targets:
    """The task and the encoded labels of `raw`'s splits. Refuses a task its labels cannot
    carry, one class only, and a test label that training never shows."""
    labels = [raw.train.y] + ([raw.test.y] if raw.test is not None else [])
    kind = label_kind(np.concatenate([y.astype(object) for y in labels]))
    task, inferred = resolve_task(kind, task, where=raw.where, example=_example(labels, kind))
    if task == "regression":
        encoded = [y.astype(np.float32) for y in labels]
        test = encoded[1] if len(encoded) > 1 else None
        return Targets(task, inferred, (), encoded[0], test, kind)
    classes = class_order(raw.train.y)
    refuse_spaced_twins(classes, where=raw.where)
    if len(classes) < 2:
        raise refusal(
            raw.where,
            f"the training split has one class only ({classes[0]!r})",
            "a classifier needs two or more: check the labels (or set data.task: regression)",
        )
    train = encode(raw.train.y, classes, where=raw.where, label=raw.split_label("train"))
    test = (
        None
        if raw.test is None
        else encode(raw.test.y, classes, where=raw.where, label=raw.split_label("test"))
    )
    return Targets(task, inferred, classes, train, test, kind)


def label_kind(y: np.ndarray) -> str:
    """text, bool, whole (integers, or floats that are all whole) or fractional."""
    values = y.tolist()
    if any(isinstance(v, str) for v in values):
        return "text"
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(float(v).is_integer() for v in values):
        return "whole"
    return "fractional"


def resolve_task(
    kind: str, task: str | None, *, where: str, example: str
) -> tuple[str, str | None]:
    """(task, the sentence that says how it was inferred, or None where the study said it)."""
    if task is None:
        return _inferred(kind)
    if task not in TASKS:
        raise refusal(where, f"data.task is {task!r}", f"use {' or '.join(TASKS)}, or leave it out")
    if task == "classification" and kind == "fractional":
        raise refusal(
            where,
            f"data.task is classification but the target holds non-whole numbers ({example})",
            "set data.task: regression",
        )
    if task == "regression" and kind in ("text", "bool"):
        raise refusal(
            where,
            f"data.task is regression but the target holds labels, not numbers ({example})",
            "set data.task: classification, or give numeric targets",
        )
    return task, None


def _inferred(kind: str) -> tuple[str, str]:
    if kind == "fractional":
        sentence = "the target holds non-whole numbers: treated as regression"
        return "regression", sentence + " (set data.task to say so)"
    held = {
        "text": "text labels",
        "bool": "true/false values",
        "whole": "whole numbers only",
    }[kind]
    sentence = f"the target holds {held}: treated as classification"
    if kind == "whole":
        return "classification", sentence + " (set data.task: regression if they are amounts)"
    return "classification", sentence + " (set data.task to say so)"


def class_order(y: np.ndarray) -> tuple[str, ...]:
    """The distinct labels' string forms, numbers by value when every label is a number
    (2 before 10, as text or not), else alphabetically."""
    names = {str(v) for v in y.tolist()}
    numbers = {name: _number(name) for name in names}
    if all(number is not None for number in numbers.values()):
        return tuple(sorted(names, key=lambda name: (numbers[name], name)))
    return tuple(sorted(names))


def refuse_spaced_twins(classes: tuple[str, ...], *, where: str) -> None:
    """Two classes whose labels differ only in spaces around them ('a' and 'a ') are one
    class mistyped far more often than two: refused, naming both."""
    by_stripped: dict[str, str] = {}
    for name in classes:
        twin = by_stripped.setdefault(name.strip(), name)
        if twin != name:
            raise refusal(
                where,
                f"labels {twin!r} and {name!r} differ only in spaces around them",
                "write each class's label one way (strip the spaces)",
            )


def encode(y: np.ndarray, classes: tuple[str, ...], *, where: str, label: str) -> np.ndarray:
    """Class indices (int32) of labels; a label outside `classes` is refused by name."""
    index = {name: i for i, name in enumerate(classes)}
    names = [str(v) for v in y.tolist()]
    unseen = [name for name in names if name not in index]
    if unseen:
        raise refusal(
            where,
            f"{label} has label {unseen[0]!r} (series {names.index(unseen[0])}), which no"
            f" training case has (training classes: {', '.join(classes)})",
            "remove those cases, or add training cases of that class",
        )
    return np.array([index[name] for name in names], dtype=np.int32)


def _number(name: str) -> float | None:
    try:
        number = float(name)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _example(labels: list[np.ndarray], kind: str) -> str:
    """One label that shows the kind (a non-whole number, a word)."""
    for y in labels:
        for v in y.tolist():
            if kind != "fractional" or not float(v).is_integer():
                return repr(v)
    return ""
