"""An Optuna journal file checked before use: damage explained, a crash's cut-off last line
repaired (under Optuna's own lock, keeping a copy). Part of `suite.stores.checks`."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from suite.errors import StoreError, first_line


def check_journal(path: Path, what: str, *, writing: bool) -> Callable[[], str] | None:
    """Optuna's journal is one JSON entry per line, appended. A crash while appending leaves
    its last line cut short, and every later append glues onto it: Optuna then fails to read
    the file ever again. Such a last line is an operation that never completed, so removing it
    is the repair (MLflow's record then says what is done). Damage before the end is not a
    crash's: that is explained, with the fix, and nothing is touched."""
    if not path.is_file():
        return None
    broken, lines = _first_damaged_line(path.read_bytes())
    if broken is None:
        _replays(path, what)
        return None
    if broken < len(lines) - 1:
        raise StoreError(
            f"{what}: line {broken + 1} of {len(lines)} is not a journal entry (the file is"
            " damaged). MLflow holds every finished run, so the queue can be rebuilt from it:"
            f" move the journal aside (mv {path} {path}.damaged) and run again"
        )
    if not writing:
        if lines[-1].endswith(b"\n") and _is_json(lines[-1]):  # Optuna would apply it
            raise StoreError(
                f"{what}: its last line is not a journal entry; a run without --dry-run"
                " repairs it (keeping a copy)"
            )
        return lambda: (
            f"{what}: its last line is incomplete (a crash while writing?); Optuna skips it,"
            " and the next run without --dry-run repairs the file"
        )
    return lambda: _repair_journal_tail(path, what)


def _first_damaged_line(data: bytes) -> tuple[int | None, list[bytes]]:
    lines = data.splitlines(keepends=True)
    for number, line in enumerate(lines):
        if not line.endswith(b"\n") or not _is_journal_entry(line):
            return number, lines
    return None, lines


def _is_journal_entry(line: bytes) -> bool:
    """A JSON object with one of Optuna's operation codes (anything else makes Optuna's
    replay fail an assertion)."""
    from optuna.storages.journal._storage import JournalOperation  # no public name for it

    try:
        entry = json.loads(line)
    except ValueError:
        return False
    return (
        isinstance(entry, dict)
        and "worker_id" in entry
        and entry.get("op_code") in {operation.value for operation in JournalOperation}
    )


def _is_json(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _replays(path: Path, what: str) -> None:
    """Optuna reads every entry back: one it cannot apply is damage, explained."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    try:
        JournalStorage(JournalFileBackend(str(path)))
    except Exception as err:  # Optuna's replay raises whatever the entry's damage causes
        raise StoreError(
            f"{what}: Optuna cannot read it back ({first_line(err) or type(err).__name__})."
            " MLflow holds every finished run, so the queue can be rebuilt from it: move the"
            f" journal aside (mv {path} {path}.damaged) and run again"
        ) from None


def _repair_journal_tail(path: Path, what: str) -> str:
    from optuna.storages.journal import JournalFileSymlinkLock

    lock = JournalFileSymlinkLock(str(path))  # the lock Optuna's writers take
    lock.acquire()
    try:
        broken, lines = _first_damaged_line(path.read_bytes())  # again, under the lock
        if broken is None:
            return f"{what}: repaired by another process meanwhile"
        if broken < len(lines) - 1:
            raise StoreError(f"{what}: damaged at line {broken + 1}; move it aside and run again")
        copy = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.copy2(path, copy)
        with path.open("r+b") as journal:
            journal.truncate(sum(len(line) for line in lines[:broken]))
    finally:
        lock.release()
    return (
        f"repaired {what}: its last line was cut short or not a journal entry (a crash while"
        " writing?) and is removed;"
        f" the damaged file is kept as {copy}"
    )
