"""The docs stay true: what the strict Sphinx build (in .ci/run) cannot check.

The build fails on broken links between pages and missing anchors; these tests hold the
README to a landing page (its length, its links, no dates or issue numbers, the two commands
that .ci/run runs), keep the references complete (every CLI option, every study, every
benchmark) and load the study-file reference's full example through the suite's own reader."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from suite.study.file import load_study

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
README_LIMIT = 8_000

# [text](target) in Markdown, outside code: the target up to a space or ")".
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def _prose(text: str) -> str:
    """The text less its code blocks and inline code: links and dates there are examples."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)


def _slug(heading: str) -> str:
    """GitHub's (and MyST's myst_heading_anchors) anchor of a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    headings = re.findall(r"^#{1,3} (.+)$", FENCE.sub("", page.read_text()), re.M)
    return {_slug(h) for h in headings}


def _relative_links(page: Path) -> list[str]:
    return [
        t
        for t in LINK.findall(_prose(page.read_text()))
        if "://" not in t and not t.startswith("mailto:")
    ]


def test_the_readme_is_a_landing_page_of_at_most_8000_characters():
    length = len(README.read_text())
    assert length <= README_LIMIT, f"README.md is {length} characters; the limit is {README_LIMIT}"


def test_the_readme_carries_no_dates_issue_numbers_or_commits():
    prose = _prose(README.read_text())
    assert not re.findall(r"\b20\d\d-\d\d-\d\d\b", prose), "a date in the README"
    assert not re.findall(r"(?i)\bissues? ?#?\d+|(?<![\w/])#\d+\b", prose), "an issue number"
    assert not re.findall(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,40}\b", prose), "a hash"


def test_every_relative_link_in_the_readme_and_the_docs_resolves():
    broken = []
    for page in [README, ROOT / "CHANGELOG.md", *_pages()]:
        for target in _relative_links(page):
            path_part, _, anchor = target.partition("#")
            resolved = (page.parent / path_part).resolve() if path_part else page
            if not resolved.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_the_readme_links_every_docs_page_it_needs():
    """A newcomer reaches every tutorial and how-to guide from the README in one click."""
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in _relative_links(README)}
    for folder in ("tutorials", "how-to"):
        for page in sorted((DOCS / folder).glob("*.md")):
            assert page.resolve() in linked, f"README.md does not link {page.relative_to(ROOT)}"


def test_ci_runs_the_readmes_two_commands_as_written():
    readme = README.read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = re.findall(r"^```bash\n(.*?)^```", readme, re.S | re.M)
    quick_start = blocks[0].strip()
    assert quick_start.startswith("python3 -m venv .venv && ")
    assert "pip install -e . &&" in quick_start, "the quick start is the user's install (no dev)"
    assert "suite.run studies/smoke.yaml" in quick_start
    assert quick_start in ci.splitlines(), ".ci/run does not run the README's quick start"
    test_command = next(b.strip() for b in blocks if b.strip() == "tests/run")
    assert test_command in ci.splitlines()


@pytest.mark.parametrize("module", ["suite.cli.main", "suite.report.__main__"])
def test_every_cli_option_is_in_the_cli_reference(module):
    import importlib

    parse_args = importlib.import_module(module).parse_args
    help_text = io.StringIO()
    with contextlib.redirect_stdout(help_text), pytest.raises(SystemExit):
        parse_args(["--help"])
    options = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", help_text.getvalue())) - {"--help"}
    assert len(options) >= 5, f"found only {sorted(options)} in {module}'s help"
    reference = (DOCS / "reference" / "cli.md").read_text()
    missing = sorted(o for o in options if f"`{o}" not in reference)
    assert not missing, f"docs/reference/cli.md does not document {missing}"


def test_the_study_file_references_full_example_loads(tmp_path):
    reference = (DOCS / "reference" / "study-file.md").read_text()
    section = reference.split("## Full example", 1)[1]
    example = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    path = tmp_path / "full.yaml"
    path.write_text(example)
    study = load_study(path)
    # Every top-level section it shows is one the reader kept, not one it ignored.
    shown = set(re.findall(r"^([a-z_]+):", example, re.M))
    assert shown <= set(type(study).model_fields), shown - set(type(study).model_fields)
    assert len(shown) >= 8, f"the full example shows only {sorted(shown)}"


@pytest.mark.parametrize(
    ("folder", "page"),
    [
        ("studies", "reference/studies.md"),
        ("benchmarks", "development/benchmarks.md"),
        ("scripts", "development/benchmarks.md"),
    ],
)
def test_every_shipped_file_is_listed(folder, page):
    text = (DOCS / page).read_text()
    files = sorted(p.name for p in (ROOT / folder).iterdir() if p.suffix in {".yaml", ".py"})
    assert files, f"no files in {folder}/"
    missing = [f for f in files if f not in text]
    assert not missing, f"docs/{page} does not list {missing}"


def test_every_page_is_in_a_table_of_contents_and_has_one_title():
    index = (DOCS / "index.md").read_text()
    for page in _pages():
        name = page.relative_to(DOCS).with_suffix("").as_posix()
        if name != "index":
            assert f"\n{name}\n" in index, f"docs/index.md's toctree leaves out {name}"
        titles = re.findall(r"^# ", FENCE.sub("", page.read_text()), re.M)
        assert len(titles) == 1, f"docs/{name}.md has {len(titles)} top-level titles"


def test_every_test_the_docs_cite_exists():
    """A guarantee names the test that checks it: `tests/FILE.py::name`, or `::name` for
    another test of the file named before it on the line."""
    missing = []
    for page in _pages():
        for line in page.read_text().splitlines():
            current = None
            for file, name in re.findall(r"`(tests/[\w/]+\.py)?::([a-z_0-9]+)", line):
                current = file or current
                if current is None:
                    continue
                source = (ROOT / current).read_text() if (ROOT / current).exists() else ""
                if not re.search(rf"^def {name}\(", source, re.M):
                    missing.append(f"{page.relative_to(ROOT)}: {current}::{name}")
    assert not missing, "\n".join(missing)
