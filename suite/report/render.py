"""Write a Report: one self-contained HTML page, a Markdown summary, and a CSV per table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jinja2

from suite.report.content import Figure, Note, Report, Table
from suite.report.outputs import check_outputs, write_whole

MARKDOWN_TABLES = (
    "leaderboard",
    "main-effects",
    "across-datasets",
)  # what the Markdown summary carries
MARKDOWN_SECTIONS = ("variance",)  # sections it carries whole: their notes and tables


@dataclass(frozen=True)
class Written:
    html: Path
    markdown: Path
    csvs: list[Path]


def render_html(report: Report) -> str:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("suite.report", "templates"),
        autoescape=True,  # every string from the store is escaped: names, params, tags
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.tests["number"] = lambda value: isinstance(value, int | float)
    template = environment.get_template("report.html.j2")
    return template.render(report=_with_kinds(report))


def _with_kinds(report: Report) -> Report:
    """Tag each block with its kind, which the template switches on."""
    kinds = {Table: "table", Figure: "figure", Note: "note"}

    def tag(sections: list) -> None:
        for section in sections:
            for block in section.blocks:
                block.kind = kinds[type(block)]  # type: ignore[union-attr]
            tag(section.children)

    tag(report.sections)
    return report


def render_markdown(report: Report) -> str:
    """Each study's headline, leaderboard, main effects and variance decomposition, to paste
    into a paper or a PR."""
    lines = [f"# {report.title}", "", f"Generated {report.generated}.", ""]
    for study in report.sections:
        lines += [f"## {study.title}", ""]
        for note in study.blocks:  # the headline and the selection rule
            if isinstance(note, Note):
                lines += [_md_note(note), ""]
        for section in study.children:
            whole = section.key.endswith(MARKDOWN_SECTIONS)
            if whole:
                lines += [f"### {section.title}", ""]
            for block in section.blocks:
                if isinstance(block, Note) and whole:
                    lines += [_md_note(block), ""]
                elif isinstance(block, Table) and (whole or block.key.endswith(MARKDOWN_TABLES)):
                    lines += _md_table(block, heading="####" if whole else "###")
    return "\n".join(lines)


def _md_note(note: Note) -> str:
    return ("> **Warning:** " if note.tone == "warning" else "") + note.text


def _md_table(table: Table, *, heading: str) -> list[str]:
    lines = [f"{heading} {table.title}", ""]
    lines.append("| " + " | ".join(_md(h) for h in table.header) + " |")
    lines.append("|" + "|".join(" --- " for _ in table.header) + "|")
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in table.rows]
    return [*lines, ""]


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def report_files(report: Report, html_path: Path) -> dict[Path, str]:
    """Each file of the report and its text: reports/NAME.html, reports/NAME.md, and
    reports/NAME-TABLE.csv beside them (the HTML page first)."""
    files = {
        html_path: render_html(report),
        html_path.with_suffix(".md"): render_markdown(report),
    }
    for table in report.tables():
        # reports/grid.html -> reports/grid-leaderboard.csv (the key already names the study)
        name = (
            table.key
            if table.key.startswith(f"{html_path.stem}-")
            else (f"{html_path.stem}-{table.key}")
        )
        path = html_path.with_name(f"{name}.csv")
        if path in files:  # two tables of one name: the second must not overwrite the first
            path = html_path.with_name(f"{name}-{len(files)}.csv")
        files[path] = table.raw.to_csv(index=False)
    return files


def write_report(report: Report, html_path: Path, *, protected: Iterable[Path] = ()) -> Written:
    """Check every output against the `protected` paths (stores, inputs) and each other, then
    write them all whole (or none: OSError)."""
    files = report_files(report, html_path)
    check_outputs(files, protected=protected)
    write_whole(files)
    html, markdown, *csvs = files
    return Written(html, markdown, csvs)
