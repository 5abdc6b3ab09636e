"""A .ts train/test pair (the UCR/UEA archive's format), read by sktime's own reader.

sktime's reader lowercases every line before it parses it, labels included, reads regression
targets as strings and does not check labels against the header. So the header is read here too:
labels get back the case the header gives them, and `@targetLabel true` targets become floats.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from suite.sequences.errors import refusal
from suite.sequences.limits import refuse_large_array

if TYPE_CHECKING:
    import pandas as pd

BOM = "\ufeff"  # what a UTF-8 byte order mark reads as
TRAIN_SUFFIX = "_TRAIN.ts"
TEST_SUFFIX = "_TEST.ts"
# What sktime's parser raises for a damaged file (OSError for its own checks, ValueError for a
# value that is not a number, the others from its converter).
SKTIME_ERRORS = (OSError, ValueError, IndexError, KeyError, TypeError, AttributeError)


def ts_test_path(train: Path) -> Path:
    """X_TRAIN.ts -> X_TEST.ts beside it."""
    return train.with_name(train.name.removesuffix(TRAIN_SUFFIX) + TEST_SUFFIX)


def name_of(train: Path) -> str:
    return train.name.removesuffix(TRAIN_SUFFIX)


def read_ts_split(path: Path, *, shown: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of one .ts file: x padded with NaN to its longest series (and each case's
    channels to its longest channel), y as the header declares it."""
    header = read_header(path, shown=shown)
    regression = header.get("@targetlabel", "").lower().startswith("true")
    class_labels = header.get("@classlabel", "").split()
    if not regression and class_labels[:1] != ["true"]:
        raise refusal(
            shown,
            f"{path.name} has no labels (neither @classLabel true nor @targetLabel true)",
            "the suite trains supervised models: add a label or target to every case",
        )
    if header.get("@timestamps", "").lower().startswith("true"):
        raise refusal(
            shown,
            f"{path.name} has timestamps, which this reader does not place on steps",
            "write the values without timestamps, a missing value as ?",
        )
    frame, y = _sktime_read(path, shown=shown)
    x = _padded(frame, what=path.name, shown=shown)
    _refuse_other_dimensions(header, x.shape[2], path=path, shown=shown)
    if regression:
        return x, _targets(y, path=path, shown=shown)
    return x, _labels_as_declared(y, class_labels[1:], path=path, shown=shown)


def read_header(path: Path, *, shown: str) -> dict[str, str]:
    """The @tags before @data, lowercased tag -> its value as written."""
    header: dict[str, str] = {}
    try:
        with path.open(encoding="utf-8") as file:
            for number, line in enumerate(file):
                if number == 0 and line.startswith(BOM):
                    raise refusal(
                        shown,
                        f"{path.name} starts with a byte order mark, which sktime's reader"
                        " takes for part of its first tag",
                        "save it as UTF-8 without a BOM",
                    )
                tag, _, value = line.strip().partition(" ")
                if tag.lower() == "@data":
                    return header
                if tag.startswith("@"):
                    header[tag.lower()] = value.strip()
    except (OSError, UnicodeDecodeError) as err:
        raise refusal(shown, f"{path.name} cannot be read ({err})", "check the file") from err
    raise refusal(shown, f"{path.name} has no @data line", "is it a .ts file?")


def _refuse_other_dimensions(
    header: dict[str, str], channels: int, *, path: Path, shown: str
) -> None:
    """sktime does not check @dimensions against the data: a header that says 3 over series
    of 1 channel is a file cut or written wrong, so the two must agree where it is given."""
    declared = header.get("@dimensions")
    if declared is not None and declared != str(channels):
        raise refusal(
            shown,
            f"{path.name} declares @dimensions {declared} but its series have {channels}"
            f" channel{'s' if channels != 1 else ''}",
            "correct the @dimensions line, or give every case that many channels",
        )


def _sktime_read(path: Path, *, shown: str) -> tuple[pd.DataFrame, np.ndarray]:
    # nested_univ: a DataFrame of pd.Series cells, the only return type that keeps series of
    # unequal length (numpy3D fails on JapaneseVowels). Imported here: sktime takes 1.6 s.
    from sktime.datasets import load_from_tsfile

    try:
        return load_from_tsfile(str(path), return_data_type="nested_univ")
    except SKTIME_ERRORS as err:
        raise refusal(
            shown, f"{path.name} is not a valid .ts file (sktime: {err})", "check the file"
        ) from err


def _padded(frame: pd.DataFrame, *, what: str, shown: str) -> np.ndarray:
    """The nested frame (cases x channels of series) as float64 (cases, steps, channels)."""
    cells = frame.to_numpy()
    width = max(len(cell) for cell in cells.flat)
    shape = (cells.shape[0], width, cells.shape[1])
    refuse_large_array(shown, what, shape, why="every series is padded to the longest")
    x = np.full(shape, np.nan)
    for (case, channel), cell in np.ndenumerate(cells):
        values = np.asarray(cell, dtype=np.float64)
        x[case, : len(values), channel] = values
    return x


def _targets(y: np.ndarray, *, path: Path, shown: str) -> np.ndarray:
    try:
        return y.astype(np.float64)
    except ValueError as err:
        raise refusal(
            shown,
            f"{path.name} declares @targetLabel true but a target is not a number ({err})",
            "give numeric targets, or declare @classLabel true with the labels",
        ) from err


def _labels_as_declared(
    y: np.ndarray, declared: list[str], *, path: Path, shown: str
) -> np.ndarray:
    """sktime's lowercased labels, back in the case of the header's @classLabel list."""
    by_lower = {label.lower(): label for label in declared}
    if len(by_lower) < len(set(declared)):
        raise refusal(
            shown,
            f"{path.name} declares labels that differ only in case ({' '.join(declared)})",
            "sktime's reader lowercases labels: rename them",
        )
    unknown = [label for label in y.tolist() if label not in by_lower]
    if unknown:
        case = y.tolist().index(unknown[0])
        raise refusal(
            shown,
            f"{path.name} case {case} has label {unknown[0]!r}, not among the @classLabel"
            f" values ({' '.join(declared)})",
            "add it to the @classLabel line, or correct the label",
        )
    return np.array([by_lower[label] for label in y.tolist()], dtype=str)
