"""Sequences as read from a file, before any choice of task, split or scale.

Every reader ends in `raw_sequences`, so every format is checked the same way (shapes, infinite
values, empty series, labels per case, channels per split) and hashed the same way: the digest
depends on the arrays alone, never on the file's name, format or folder.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from suite.sequences.errors import refusal

SOURCES = ("archive", "ts", "npz", "csv")


@dataclass(frozen=True)
class RawSplit:
    x: np.ndarray  # float64 (cases, max_steps, channels); each series' steps after its end are NaN
    lengths: np.ndarray  # int64 (cases,): up to and including the last step with any value
    y: np.ndarray  # the labels or targets as read: str, bool, int or float (1-D, cases)

    @property
    def cases(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class RawSequences:
    name: str  # archive name, or the file's stem without _TRAIN
    source: str  # one of SOURCES
    path: str  # the file read (the _TRAIN.ts of a pair), as the user wrote it
    train: RawSplit
    test: RawSplit | None  # None: the file has no test split
    digest: str  # sha256 (16 hex) of the arrays as read: same data, same digest, any path

    @property
    def where(self) -> str:
        """What a message names: the file, or the archive dataset."""
        return f"archive dataset {self.name}" if self.source == "archive" else self.path

    def split_label(self, split: str) -> str:
        """How a message names the train or test split in this dataset's own terms."""
        return split_label(self.source, self.path, split)


def split_label(source: str, path: str, split: str) -> str:
    """x_train for an npz, X_TEST.ts for a .ts pair, "the test split" for a csv."""
    if source == "npz":
        return f"x_{split}"
    if source in ("ts", "archive"):
        return Path(path).name.removesuffix("_TRAIN.ts") + f"_{split.upper()}.ts"
    return f"the {split} split"


def raw_sequences(
    *,
    name: str,
    source: str,
    path: str,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray] | None,
) -> RawSequences:
    """Check and freeze what a reader found: (x, y) per split, x (cases, steps, channels) with
    NaN wherever there is no value (missing, or after a shorter series' end)."""
    train_split = _split(train, where=path, label=split_label(source, path, "train"))
    test_split = (
        None if test is None else _split(test, where=path, label=split_label(source, path, "test"))
    )
    if test_split is not None and test_split.x.shape[2] != train_split.x.shape[2]:
        raise refusal(
            path,
            f"the train split has {train_split.x.shape[2]} channels and the test split "
            f"{test_split.x.shape[2]}",
            "give both splits the same channels",
        )
    return RawSequences(
        name=name,
        source=source,
        path=path,
        train=train_split,
        test=test_split,
        digest=digest(train_split, test_split),
    )


def _split(arrays: tuple[np.ndarray, np.ndarray], *, where: str, label: str) -> RawSplit:
    x, y = np.asarray(arrays[0]), np.asarray(arrays[1])
    if x.dtype.kind not in "biuf":
        raise refusal(where, f"{label} holds {x.dtype} values", "give numbers")
    x = x.astype(np.float64, copy=False)
    if y.dtype.kind == "S":
        y = y.astype(str)  # bytes labels, as numpy saves ASCII strings: their text
    if x.ndim != 3 or 0 in x.shape:
        raise refusal(where, f"{label} has shape {x.shape}", "expected cases x steps x channels")
    if y.ndim != 1 or len(y) != len(x):
        raise refusal(
            where,
            f"{label} has {len(x)} cases but its labels have shape {y.shape}",
            "give one label or target per case",
        )
    _refuse_infinite(x, where=where, label=label)
    _refuse_missing_targets(y, where=where, label=label)
    lengths = series_lengths(x)
    if (lengths == 0).any():
        raise refusal(
            where,
            f"{label} series {int(np.argmin(lengths))} has no values at all",
            "remove the empty series",
        )
    x = x[:, : lengths.max(), :]  # steps that no series reaches hold nothing
    for array in (x, lengths, y):
        array.flags.writeable = False  # shared by every caller of the read cache
    return RawSplit(x=x, lengths=lengths, y=y)


def series_lengths(x: np.ndarray) -> np.ndarray:
    """Per case: the steps up to and including the last one where any channel has a value."""
    has_value = ~np.isnan(x).all(axis=2)  # (cases, steps)
    from_end = np.argmax(has_value[:, ::-1], axis=1)
    return np.where(has_value.any(axis=1), x.shape[1] - from_end, 0).astype(np.int64)


def _refuse_infinite(x: np.ndarray, *, where: str, label: str) -> None:
    if np.isinf(x).any():
        case, step, channel = (int(i) for i in np.argwhere(np.isinf(x))[0])
        raise refusal(
            where,
            f"{label} has an infinite value in series {case} (channel {channel}, step {step})",
            "replace it with a number, or with NaN to mark it missing",
        )


def _refuse_missing_targets(y: np.ndarray, *, where: str, label: str) -> None:
    if y.dtype.kind not in "biufUS":
        raise refusal(
            where, f"the labels of {label} have dtype {y.dtype}", "give numbers or strings"
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        case = int(np.argmin(np.isfinite(y)))
        raise refusal(
            where,
            f"the target of {label} series {case} is {y[case]}",
            "give every case a finite target, or remove the case",
        )


def digest(train: RawSplit, test: RawSplit | None) -> str:
    """sha256 (first 16 hex digits) of the splits' shapes, values (one NaN bit pattern for
    every missing value) and labels' string forms. Nothing about the file enters it."""
    sha = hashlib.sha256()
    for split in (train, test):
        if split is None:
            sha.update(b"no test split")
            continue
        x = np.where(np.isnan(split.x), np.nan, split.x).astype("<f8")
        sha.update(repr(x.shape).encode())
        sha.update(np.ascontiguousarray(x).tobytes())
        sha.update("\x1f".join(str(label) for label in split.y.tolist()).encode())
        sha.update(b"\x1e")
    return sha.hexdigest()[:16]
