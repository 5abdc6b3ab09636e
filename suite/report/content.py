"""The report's content as plain data (sections of tables, figures and notes), independent of
how it is rendered: the HTML page, the Markdown summary and the CSV files all read it."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

Formatter = Callable[[Any], str]


def blank_if_missing(format_value: Formatter) -> Formatter:
    def formatted(value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            return "n/a"
        return format_value(value)

    return formatted


# Formats are named for how they write a value, not for what it measures (schema says that).
FOUR_PLACES = blank_if_missing(lambda v: f"{float(v):.4f}")  # an accuracy
SIGNED_FOUR_PLACES = blank_if_missing(lambda v: f"{float(v):+.4f}")


def _significant(value: float, sign: str = "") -> str:
    """Four significant digits, written out: 0.8123, 12.35, 0.001235; 12,346 from 10,000 on
    (where .4g would switch to powers of ten)."""
    return f"{value:{sign},.0f}" if abs(value) >= 10_000 else f"{value:{sign}.4g}"


# An RMSE is in the target's own units, of any size: four significant digits, not places.
FOUR_DIGITS = blank_if_missing(lambda v: _significant(float(v)))
SIGNED_FOUR_DIGITS = blank_if_missing(lambda v: _significant(float(v), "+"))
P_VALUE = blank_if_missing(lambda v: f"{float(v):.3g}")
PERCENT = blank_if_missing(lambda v: f"{float(v):.1f}%")  # the value is already in percent
NUMBER = blank_if_missing(lambda v: f"{float(v):.4g}")  # a sum of squares, an F statistic
SECONDS = blank_if_missing(lambda v: f"{float(v):.1f}")
# An epoch is an integer; a mean over seeds may not be, and then shows one decimal.
EPOCH = blank_if_missing(lambda v: f"{int(v)}" if float(v).is_integer() else f"{float(v):.1f}")
NEAR_CHANCE_FLAG = blank_if_missing(lambda v: "near chance" if v else "")
INTEGER = blank_if_missing(lambda v: f"{int(v):,}")
TEXT = blank_if_missing(str)


@dataclass
class Table:
    key: str  # unique, file-safe: names the CSV file and the HTML anchor
    title: str
    header: list[str]
    rows: list[list[str]]  # formatted text, exactly what the page shows
    sort_keys: list[list[Any]]  # raw values, for sorting in the page
    raw: pd.DataFrame  # full-precision values, for the CSV
    links: list[str | None] = field(default_factory=list)  # per row, for the first column
    caption: str = ""
    sortable: bool = False


@dataclass
class Figure:
    key: str
    title: str
    uri: str  # data: URI of a PNG
    caption: str = ""


@dataclass
class Note:
    text: str
    tone: str = "info"  # info | warning


@dataclass
class Section:
    key: str
    title: str
    blocks: list[Table | Figure | Note] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)


@dataclass
class Report:
    title: str
    generated: str
    sections: list[Section]

    def tables(self) -> list[Table]:
        found: list[Table] = []

        def walk(sections: list[Section]) -> None:
            for section in sections:
                found.extend(b for b in section.blocks if isinstance(b, Table))
                walk(section.children)

        walk(self.sections)
        return found


def table(
    frame: pd.DataFrame,
    *,
    key: str,
    title: str,
    columns: Mapping[str, tuple[str, Formatter]],
    caption: str = "",
    sortable: bool = False,
    links: list[str | None] | None = None,
) -> Table:
    """A table of `frame`'s given columns: {column: (header, formatter)}."""
    names = list(columns)
    raw = frame[names].reset_index(drop=True)
    rows = [[columns[c][1](row[c]) for c in names] for _, row in raw.iterrows()]
    sort_keys = [[_sort_key(row[c]) for c in names] for _, row in raw.iterrows()]
    return Table(
        key=key,
        title=title,
        header=[columns[c][0] for c in names],
        rows=rows,
        sort_keys=sort_keys,
        raw=raw.rename(columns={c: columns[c][0] for c in names}),
        links=links or [],
        caption=caption,
        sortable=sortable,
    )


def facts_table(facts: Sequence[tuple[str, str]], *, key: str, title: str) -> Table:
    """A two-column table of (what, value) facts, both already text."""
    return table(
        pd.DataFrame(list(facts), columns=["what", "value"]),
        key=key,
        title=title,
        columns={"what": ("what", TEXT), "value": ("value", TEXT)},
    )


def interval_columns(formatter: Formatter) -> dict[str, tuple[str, Formatter]]:
    """A 95% interval's two columns, in `table`'s {column: (header, formatter)} form."""
    return {"ci_low": ("95% CI low", formatter), "ci_high": ("95% CI high", formatter)}


def _sort_key(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, int | float):
        return float(value)
    return str(value)
