"""How a study ends badly, and the exit status each way maps to.

As in keras-tuner's `errors.py`, failures are classified once: an error of one run fails that
run (the study goes on, and a rerun retries it); an error of the setup (damaged data, a store
that cannot be written) would fail every run the same way, so it stops the study at once with
one message that names the fix.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1  # suite.run: a run failed, or runs failed in a row; suite.report: no runs
    BAD_INPUT = 2  # bad study file, arguments, data or store: nothing was trained
    INTERRUPTED = 130  # Ctrl-C, SIGTERM or SIGHUP: the same command resumes


class SetupError(Exception):
    """The setup, not one run, is broken: stop the study with this message (exit 2)."""


class StoreError(SetupError):
    """The tracking store cannot be opened or written: every run would fail the same way."""


@contextmanager
def store_errors_stop_the_study(uri: str) -> Iterator[None]:
    """Errors of the tracking store (MLflow's, its database's, the file system's) raised inside
    become one StoreError that names the store and the fix."""
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except (MlflowException, SQLAlchemyError, OSError) as err:
        raise StoreError(
            f"tracking store {uri} failed: {first_line(err)}. Check that it is reachable and"
            " writable (tracking.uri in the study file, or --tracking-uri), then run again."
        ) from err


def first_line(err: BaseException) -> str:
    """An error's message without the SQL, parameters and links that databases append."""
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


class StudyFailed(Exception):
    """Runs keep failing in a row: the setup, not one run, is broken; stop the study."""


class Superseded(Exception):
    """The trial was failed as stale while this worker trained it; its result is discarded."""
