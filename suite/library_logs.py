"""The libraries' own log settings: their INFO chatter off, their warnings and errors kept,
and MLflow's second telling of a database error the suite reports itself dropped."""

from __future__ import annotations

import logging
import os


def quiet_library_logs() -> None:
    """Library INFO lines (study created, tables created) are noise here; warnings stay."""
    import mlflow  # noqa: F401 - configures its loggers on import; adjust them after
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # small files only
    # "View run ... at URL" for every run ended on a server: the CLI prints its own link.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("mlflow.store.db.utils").addFilter(_drop_reraised_database_errors)


def _drop_reraised_database_errors(record: logging.LogRecord) -> bool:
    """MLflow logs a database error with its tracebacks and then raises it to its caller
    (mlflow/store/db/utils.py, make_managed_session): the suite reports the raised error in
    its one line, so the log is the same failure told twice, in 40 lines, before it. Every
    other record of that logger, and every other library's, still shows."""
    return not record.getMessage().startswith("SQLAlchemy database error.")
