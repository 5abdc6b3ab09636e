"""A report of a synthetic store, and its HTML tables read back by id, as the page shows them."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tests.conftest import report_cli
from tests.helpers.synthetic_store import SyntheticRun, make_store


def synthetic_report(tmp_path: Path, runs: list[SyntheticRun], name: str, **store: Any) -> Path:
    """The report of a store of `runs` (4 epochs each; `store`: make_store's other keywords,
    e.g. curve), study and experiment `name`, written to tmp_path/NAME.html with its CSV
    files beside it; the page's path."""
    uri = f"sqlite:///{tmp_path / f'{name}.db'}"
    make_store(uri, runs, experiment=name, study=name, epochs=4, **store)
    out = tmp_path / f"{name}.html"
    result = report_cli(
        "--experiment", name, "--tracking-uri", uri, "--out", out, "--no-log", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    return out


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._row: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "table" and attributes.get("id", "").startswith("table-"):
            self._table = attributes["id"].removeprefix("table-")
            self.tables[self._table] = []
        elif self._table and tag == "tr":
            self._row = []
        elif self._table and tag in {"td", "th"}:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif self._table and tag in {"td", "th"} and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif self._table and tag == "tr":
            self.tables[self._table].append(self._row)

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_tables(path: Path) -> dict[str, list[list[str]]]:
    """{table key: [header row, row, ...]} with each cell's visible text."""
    parser = _Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.tables
