"""MLflow's system-metrics warnings are held while a run is tracked: shown when its store
held up (the only report of what went wrong), dropped when the suite reports the store's
failure itself (the same failure told twice)."""

from __future__ import annotations

import logging

import mlflow  # noqa: F401 - configures MLflow's loggers and their handler on import

from suite.record.held_warnings import held_monitor_warnings

MONITOR = "mlflow.system_metrics.system_metrics_monitor"


def test_a_monitor_warning_shows_after_the_run_when_the_store_held(capfd):
    with held_monitor_warnings([]):
        logging.getLogger(MONITOR).warning("Failed to get mlflow run: disk quota.")
        assert "disk quota" not in capfd.readouterr().err  # held while the run is tracked
    assert "WARNING mlflow.system_metrics.system_metrics_monitor: Failed to get mlflow run:" in (
        capfd.readouterr().err
    )
    logging.getLogger(MONITOR).warning("after the run")  # not held any more
    assert "after the run" in capfd.readouterr().err


def test_a_monitor_warning_is_dropped_when_the_suite_reports_the_store_failure(capfd):
    store_failed: list[BaseException] = []
    try:
        with held_monitor_warnings(store_failed):
            logging.getLogger(MONITOR).warning("Failed to get mlflow run: Connection refused.")
            store_failed.append(ConnectionError("the store is gone"))
        logging.getLogger(MONITOR).warning("later, from the monitor's thread")
        assert capfd.readouterr().err == ""
        logging.getLogger("mlflow.tracking").warning("another logger's warning")
        assert "another logger's warning" in capfd.readouterr().err  # others still show
    finally:
        logger = logging.getLogger("mlflow.system_metrics")
        logger.handlers.clear()
        logger.propagate = True
