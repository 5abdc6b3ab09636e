"""A store that fails in the middle of a study, for tests/faults/test_store_lost_mid_study.py.

Run inside a mount namespace of its own (`unshare --mount`, plus `--map-root-user` when not
root), so that it may mount:
`python -m tests.helpers.store_fault_driver MODE STUDY_FILE STORE_DIR [SUITE.RUN OPTIONS...]`.
It mounts the fault's file system over STORE_DIR, starts the study, waits for its first epoch
point in MLflow, then brings the fault on:

- full: STORE_DIR is a small tmpfs; the fault fills it to the last byte.
- readonly: STORE_DIR/artifacts is a bind mount of itself; the fault remounts it read-only,
  as a kernel does with a failing disk. (The database file cannot be: it is open for writing,
  and Linux refuses a read-only remount under an open writer.)
- queue-readonly: the Optuna journal (STORE_DIR/optuna.journal, which Optuna opens for each
  append) is bound over itself and remounted read-only; healed by unmounting it.

Then it waits for the study to end, notes how long that took after the fault, heals the
fault, runs the same command again, and prints one JSON object: both invocations' exit
status and output, the seconds to the first ending, and every run's status before and after.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers.warm_cli import WarmServer

EPOCH_WAIT_SECONDS = 300


def statuses(db: Path) -> list[list[str]]:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as store:
        rows = store.execute(
            "SELECT r.name, r.status, coalesce(t.value, '') FROM runs r LEFT JOIN tags t"
            " ON t.run_uuid = r.run_uuid AND t.key = 'run_key' ORDER BY r.start_time"
        )
        return [list(row) for row in rows.fetchall()]


def first_epoch_recorded(db: Path) -> bool:
    if not db.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as store:
            query = "SELECT count(*) FROM metrics WHERE key = 'val_accuracy'"
            return store.execute(query).fetchone()[0] > 0
    except sqlite3.Error:  # being created
        return False


def fill(folder: Path) -> None:
    """Write zeros until the file system has no byte left."""
    block = b"\0" * (1 << 16)
    with contextlib.suppress(OSError), (folder / "filler").open("wb") as out:
        while True:
            out.write(block)
            out.flush()
    with contextlib.suppress(OSError), (folder / "filler-small").open("wb") as out:
        while True:  # the last few blocks, a byte at a time
            out.write(b"\0")
            out.flush()


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def main() -> None:
    mode, study, store, options = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:]
    artifacts = store / "artifacts"
    if mode == "full":
        mount("-t", "tmpfs", "-o", "size=24m", "tmpfs", str(store))
    else:
        artifacts.mkdir(parents=True, exist_ok=True)
        mount("--bind", str(artifacts), str(artifacts))
    # Both invocations forked from a warm server started here, inside the namespace, so that
    # they see its mounts: one import of the suite instead of two.
    server = WarmServer()
    command, env = [str(study), *options], {**os.environ, "COLUMNS": "160"}
    first = server.start("suite.run", command, cwd=study.parent, env=env)
    deadline = time.monotonic() + EPOCH_WAIT_SECONDS
    while not first_epoch_recorded(store / "mlflow.db"):
        if first.poll() is not None or time.monotonic() > deadline:
            out, err = first.communicate()
            sys.exit(f"no epoch was recorded before the study ended: {out}\n{err}")
        time.sleep(0.2)
    journal = store / "optuna.journal"
    if mode == "full":
        fill(store)
    elif mode == "queue-readonly":
        mount("--bind", str(journal), str(journal))
        mount("-o", "remount,bind,ro", str(journal))
    else:
        mount("-o", "remount,bind,ro", str(artifacts))
    faulted = time.monotonic()
    out, err = first.communicate(timeout=600)
    ended_after = time.monotonic() - faulted
    before = statuses(store / "mlflow.db")
    if mode == "full":
        (store / "filler").unlink()
        (store / "filler-small").unlink(missing_ok=True)
    elif mode == "queue-readonly":
        subprocess.run(["umount", str(journal)], check=True)
    else:
        mount("-o", "remount,bind,rw", str(artifacts))
    again = server.start("suite.run", command, cwd=study.parent, env=env)
    again_out, again_err = again.communicate(timeout=600)
    print(
        json.dumps(
            {
                "first": {"code": first.returncode, "stdout": out, "stderr": err},
                "ended_after": ended_after,
                "before": before,
                "again": {"code": again.returncode, "stdout": again_out, "stderr": again_err},
                "after": statuses(store / "mlflow.db"),
            }
        )
    )


if __name__ == "__main__":
    main()
