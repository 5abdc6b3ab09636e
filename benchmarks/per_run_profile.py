"""Where each second of a study goes: the smoke study in one process, every step of a run timed.

    python benchmarks/per_run_profile.py                    # studies/smoke.yaml, a fresh store
    git worktree add /tmp/old e1b0342 && (cd /tmp/old && PYTHONPATH=/tmp/old \
        python /path/to/benchmarks/per_run_profile.py --study studies/smoke.yaml)  # another

Wraps the functions a run passes through (fit, evaluation, each MLflow write, the queue) with
timers, runs the study with one worker in a temporary store, and prints seconds in all and per
run, largest first. Nested steps are counted in their parents too (fit includes tracing).
"""

from __future__ import annotations

import argparse
import collections
import functools
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SECONDS: collections.defaultdict[str, float] = collections.defaultdict(float)


def timed(owner: Any, name: str, label: str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            SECONDS[label] += time.perf_counter() - start

    setattr(owner, name, wrapper)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", type=Path, default=ROOT / "studies" / "smoke.yaml")
    args = parser.parse_args()
    began = time.perf_counter()
    from suite.library_logs import quiet_library_logs
    from suite.train.keras_startup import start_backend

    start = time.perf_counter()
    start_backend()
    SECONDS["per process: import TensorFlow, find devices"] = time.perf_counter() - start
    start = time.perf_counter()
    quiet_library_logs()
    SECONDS["per process: import MLflow and Optuna"] = time.perf_counter() - start

    import keras
    import mlflow
    from rich.console import Console

    import suite.record.figures
    import suite.record.run_content
    import suite.record.tracker
    import suite.train.fit
    import suite.worker.lifecycle
    import suite.worker.loop
    from suite.queue.run_queue import RunQueue
    from suite.record.epoch_callback import EpochCurves
    from suite.study.file import load_study
    from suite.study.sections import WorkersConfig

    for owner, name, label in [
        (suite.worker.lifecycle, "run_trial", "whole run (claim to close)"),
        (keras.Model, "fit", "fit (tracing + epochs)"),
        (suite.train.fit, "evaluate_once", "test evaluation"),
        (suite.train.fit, "build_model", "build model"),
        (keras.backend, "clear_session", "clear_session"),
        (suite.record.run_content, "log_keras_model", "log the model"),
        (suite.record.figures, "curve_figures", "draw curve figures"),
        (mlflow, "log_figure", "curve PNGs (savefig + write)"),
        (mlflow, "log_dict", "log_dict (config, confusion matrix, study)"),
        (mlflow, "log_params", "log_params"),
        (mlflow, "log_metrics", "log_metrics (final)"),
        (mlflow, "set_tag", "set_tag"),
        (mlflow, "start_run", "start_run"),
        (mlflow, "end_run", "end_run"),
        (EpochCurves, "on_train_begin", "MLflow callback: optimizer params, summary"),
        (EpochCurves, "on_epoch_end", "MLflow callback: epoch points"),
        (suite.record.tracker.Tracker, "__init__", "open the store and experiment"),
        *((RunQueue, n, f"queue.{n}") for n in ("plan", "enqueue", "claim", "close")),
    ]:
        timed(owner, name, label)

    with tempfile.TemporaryDirectory() as tmp:
        study = load_study(
            args.study,
            overrides=[
                f"tracking.uri=sqlite:///{tmp}/mlflow.db",
                f"storage={tmp}/optuna.journal",
                # One worker, where the version profiled knows the key.
                *(["workers.count=1"] if "count" in WorkersConfig.model_fields else []),
            ],
        )
        quiet = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the run
        outcome = suite.worker.loop.run_worker(study, console=quiet, source_file=args.study)
    runs = sum(run.status == "trained" for run in outcome.runs) or 1
    SECONDS["everything after interpreter start"] = time.perf_counter() - began
    print(f"{args.study}: {runs} runs trained, one worker")
    for label, seconds in sorted(SECONDS.items(), key=lambda item: -item[1]):
        print(f"{label:48} {seconds:7.2f} s  {seconds / runs:6.3f} s/run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
