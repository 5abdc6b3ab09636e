"""Where a report's files go, checked before anything is written, and written whole or not at all.

A report reads stores and study files and writes several files (HTML, Markdown, CSVs). None of
its outputs may land on something it read (a store, a study file), inside a store's artifact
folder, on an existing database or journal (a store, whatever its name), or on another of its
own outputs; and a fault halfway (a full disk) must leave the files as they were, not cut short.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from suite.errors import SetupError
from suite.stores.locations import SQLITE_HEADER

HTML_SUFFIXES = (".html", ".htm")


class OutputError(SetupError):
    """An output path the report must not write: one line, exit 2, nothing written."""


def check_outputs(outputs: Iterable[Path], *, protected: Iterable[Path]) -> None:
    """Raise OutputError naming the first output that would overwrite an input, a store, or
    another output of the same report."""
    outputs = list(outputs)
    html = outputs[0]
    if html.suffix.lower() not in HTML_SUFFIXES:
        raise OutputError(
            f"report file {html}: the report is an HTML page with its Markdown summary and CSV"
            f" tables beside it; name a .html file (e.g. --out {html.with_suffix('.html')})"
        )
    guarded = {_key(p): p for p in protected}
    seen: dict[str, Path] = {}
    for path in outputs:
        key = _key(path)
        if key in seen:
            raise OutputError(
                f"report file {path} would be written twice ({seen[key]} is another output of"
                " this report); choose another --out"
            )
        seen[key] = path
        for guard_key, guard in guarded.items():
            if key == guard_key or key.startswith(guard_key.rstrip(os.sep) + os.sep):
                raise OutputError(
                    f"report file {path} would overwrite {guard}, which this report reads or a"
                    " store holds; choose an --out outside the stores (default reports/NAME.html)"
                )
        if _holds_a_store(path):
            raise OutputError(
                f"report file {path} is a database or an Optuna journal, not a report;"
                " choose another --out"
            )


def write_whole(contents: Mapping[Path, str]) -> None:
    """Write every file, or none: each goes to a temporary file beside it first, and only when
    all of them are written in full are they renamed into place (a rename within a folder is
    atomic), so a fault halfway leaves every existing file as it was and no partial file."""
    written: dict[Path, Path] = {}
    try:
        for path, text in contents.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(
                dir=path.parent, prefix=f".{path.name}.", suffix=".partial"
            )
            written[path] = Path(temporary)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            # mkstemp makes the file private (0600); a report is shared like any file written
            # with open(): the mode an existing report has, else 0666 less the umask.
            os.chmod(temporary, _mode_of(path))
        for path, temporary in written.items():
            os.replace(temporary, path)
    finally:
        for temporary in written.values():
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()


def _mode_of(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _key(path: Path) -> str:
    """One spelling per file: absolute, links and `..` resolved (a link to a store is the store)."""
    return str(path.expanduser().resolve())


def _holds_a_store(path: Path) -> bool:
    """An existing file that is an SQLite database or an Optuna journal (JSON op lines)."""
    if not path.is_file():
        return False
    try:
        with path.open("rb") as opened:
            head = opened.read(64)
    except OSError:
        return False
    return head.startswith(SQLITE_HEADER) or head.startswith(b'{"op_code"')
