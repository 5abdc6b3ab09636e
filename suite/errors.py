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


STORE_ERRORS_FIX = (
    "Check that it is reachable and writable and that its disk has space (tracking.uri and"
    " storage in the study file, or --tracking-uri and --storage), then run the same command"
    " again: nothing finished is trained again."
)


def store_error_types() -> tuple[type[BaseException], ...]:
    """What a store raises when it is gone, full or read-only: MLflow's errors, its database's
    and the file system's."""
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    return (MlflowException, SQLAlchemyError, OSError)


def is_store_fault(err: BaseException) -> bool:
    """Whether `err` says a store failed (then nothing more is asked of that store)."""
    return isinstance(err, (StoreError, *store_error_types()))


def tracking_store(uri: str) -> str:
    return f"tracking store {uri}"


def study_stores(uri: str, queue: str) -> str:
    """Both stores, where either may have failed (a run writes to both)."""
    return f"tracking store {uri} or queue {queue}"


@contextmanager
def store_errors_stop_the_study(store: str) -> Iterator[None]:
    """Errors of a store (`store` names it: `tracking_store` or `study_stores`) raised inside
    become one StoreError that names the store and the fix."""
    try:
        yield
    except StoreError:
        raise
    except store_error_types() as err:
        raise StoreError(f"{store} failed: {first_line(err)}. {STORE_ERRORS_FIX}") from err


def first_line(err: BaseException) -> str:
    """An error's message without the SQL, parameters and links that databases append, nor
    the note SQLAlchemy puts before the database's own words ("(raised as a result of
    Query-invoked autoflush; ...)")."""
    lines = [
        line
        for line in str(err).strip().splitlines()
        if not line.startswith("(raised as a result of ")
    ]
    return lines[0] if lines else type(err).__name__


class StoreLostInCallback(BaseException):
    """A store error inside a Keras callback, carried out of `fit`. A BaseException because
    MLflow's callbacks turn every Exception into a warning (`ExceptionSafeClass`), and the
    run would train on to its end, unrecorded, warning once per epoch."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class StudyFailed(Exception):
    """Runs keep failing in a row: the setup, not one run, is broken; stop the study."""


class Superseded(Exception):
    """The trial was failed as stale while this worker trained it; its result is discarded."""
