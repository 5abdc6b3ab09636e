"""A long-format .csv: one row per value, columns case, step, channel, value, label and an
optional split (train or test; without it every case is a training case).

Steps are integer positions 0..n-1 within a case; a (case, step, channel) without a row, or with
an empty value, is missing (NaN). Cases keep the order in which the file first names them;
channels are sorted (numerically when they are all numbers).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from suite.sequences.errors import refusal
from suite.sequences.limits import refuse_large_array
from suite.sequences.raw import split_label

COLUMNS = ("case", "step", "channel", "value", "label")
SPLITS = ("train", "test")


def read_csv_splits(
    path: Path, *, shown: str
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray] | None]:
    """((x, y) of the training cases, (x, y) of the test cases or None)."""
    table = _table(path, shown=shown)
    channels = sorted(table["channel"].unique().tolist(), key=_natural)
    splits = _split_column(table, shown=shown)
    train = _arrays(table[splits == "train"], channels=channels, shown=shown, split="train")
    test_rows = table[splits == "test"]
    if not len(test_rows):
        return train, None
    return train, _arrays(test_rows, channels=channels, shown=shown, split="test")


def _table(path: Path, *, shown: str) -> pd.DataFrame:
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise refusal(shown, f"cannot be read as a csv table ({err})", "check the file") from err
    missing = [column for column in COLUMNS if column not in table.columns]
    if missing:
        raise refusal(
            shown,
            f"has no column {', '.join(missing)} (it has {', '.join(map(str, table.columns))})",
            f"write a long table with columns {', '.join(COLUMNS)} and optionally split",
        )
    if table.empty:
        raise refusal(shown, "has no rows", "write one row per (case, step, channel) value")
    for column in ("case", "channel", "label", *(["split"] if "split" in table.columns else [])):
        if table[column].isna().any():
            row = int(table[column].isna().to_numpy().argmax())
            raise refusal(shown, f"line {row + 2} has no {column}", f"give every row its {column}")
    table["step"] = _steps(table["step"], shown=shown)
    table["value"] = _values(table["value"], shown=shown)
    table["label"] = _labels(table["label"], shown=shown)
    duplicated = table.duplicated(["case", "step", "channel"])
    if duplicated.any():
        row = table[duplicated].iloc[0]
        raise refusal(
            shown,
            f"case {row['case']} has two values at step {row['step']}, channel {row['channel']}",
            "keep one row per (case, step, channel)",
        )
    return table


def _steps(steps: pd.Series, *, shown: str) -> pd.Series:
    numbers = pd.to_numeric(steps, errors="coerce")
    bad = numbers.isna() | (numbers < 0) | (numbers != numbers.round())
    if bad.any():
        raise refusal(
            shown,
            f"step {_as_written(steps[bad].iloc[0])!r} is not a position 0, 1, 2, ...",
            "number each case's steps from 0",
        )
    return numbers.astype(np.int64)


def _as_written(value: object) -> object:
    """A cell as Python writes it: -1, not numpy's np.int64(-1)."""
    return value.item() if isinstance(value, np.generic) else value


def _values(values: pd.Series, *, shown: str) -> pd.Series:
    """Numbers; an empty cell is a missing value (NaN), text is refused."""
    numbers = pd.to_numeric(values, errors="coerce")
    text = numbers.isna() & values.notna()
    if text.any():
        raise refusal(
            shown,
            f"value {values[text].iloc[0]!r} is not a number",
            "write numbers, and leave a missing value empty",
        )
    return numbers.astype(np.float64)


def _labels(labels: pd.Series, *, shown: str) -> pd.Series:
    """pandas reads a column of numbers and words as text: some labels would then be numbers
    and some words, which is more often a typo than a choice. Refused, naming one of each."""
    if pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(labels):
        return labels  # read as numbers (or true/false) by pandas: kept so
    # text: object dtype in pandas 2, the "str" dtype in pandas 3
    numbers = pd.to_numeric(labels, errors="coerce")
    if numbers.notna().any() and numbers.isna().any():
        raise refusal(
            shown,
            f"the label column mixes numbers ({labels[numbers.notna()].iloc[0]!r}) and text"
            f" ({labels[numbers.isna()].iloc[0]!r})",
            "make every label a number, or every label a word",
        )
    return labels.astype(str)


def _split_column(table: pd.DataFrame, *, shown: str) -> pd.Series:
    if "split" not in table.columns:
        return pd.Series("train", index=table.index)
    splits = table["split"].astype(str).str.strip().str.lower()
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown:
        raise refusal(shown, f"split {unknown[0]!r} is not train or test", "write train or test")
    both = splits.groupby(table["case"]).nunique() > 1
    if both.any():
        raise refusal(
            shown,
            f"case {both[both].index[0]} has rows in both train and test",
            "give each case one split, or different case ids",
        )
    if not (splits == "train").any():
        raise refusal(shown, "has no training rows", "mark the training cases split=train")
    return splits


def _arrays(
    rows: pd.DataFrame, *, channels: list, shown: str, split: str
) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of one split's rows: x (cases, steps, channels) NaN where no value was given."""
    labels = rows.groupby("case", sort=False)["label"]
    conflicting = labels.nunique() > 1
    if conflicting.any():
        case = conflicting[conflicting].index[0]
        found = rows.loc[rows["case"] == case, "label"].unique()[:2]
        raise refusal(
            shown,
            f"case {case} has two labels ({found[0]!r} and {found[1]!r})",
            "give each case one label",
        )
    case_index, cases = pd.factorize(rows["case"])
    channel_index = pd.Index(channels).get_indexer(rows["channel"])
    shape = (len(cases), int(rows["step"].max()) + 1, len(channels))
    why = f"the largest step, {shape[1] - 1}, sets the length of every series"
    refuse_large_array(shown, split_label("csv", shown, split), shape, why=why)
    x = np.full(shape, np.nan)
    x[case_index, rows["step"].to_numpy(), channel_index] = rows["value"].to_numpy()
    y = labels.first().loc[cases].to_numpy()
    return x, (y.astype(str) if y.dtype == object else y)  # text labels as a str array


def _natural(value: object) -> tuple[int, float, str]:
    """Numbers before text, numbers by value (channel 2 before channel 10)."""
    try:
        return (0, float(value), str(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return (1, 0.0, str(value))
