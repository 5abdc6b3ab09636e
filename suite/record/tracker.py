"""Everything MLflow: the study's experiment, its parent run, one child run per trained RunSpec.

The fluent API is used on purpose: MLflow's own Keras callback and `mlflow.keras.log_model`
record into the active run, so each child run is made active while it trains.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.tracking._tracking_service.utils import _get_store as _tracking_store

from suite.errors import Superseded, is_store_fault, store_error_types
from suite.record.held_warnings import held_monitor_warnings
from suite.record.ui_links import LOCAL_UI, ui_url
from suite.schema import EXPERIMENT_KIND, Artifact, Role, Status, Tag, logged_model_name
from suite.stores.checks import refuse_if_deleted
from suite.stores.experiment import existing_experiment
from suite.stores.locations import artifacts_folder, sqlite_path
from suite.stores.sqlite import fold_write_ahead_log, one_opener_at_a_time, use_write_ahead_log
from suite.stores.uninterrupted import hold_interrupts_in_sessions, interrupts_held
from suite.study.config import Study
from suite.study.data_config import DataConfig
from suite.study.run_spec import RunSpec, unnamed
from suite.study.sections import ModelConfig
from suite.train.execution import Execution

if TYPE_CHECKING:  # Keras loads only once a worker trains
    import keras

    from suite.train.data import Splits
    from suite.train.fit import TrainResult

DATASET_ATTEMPTS = 4


def browse_hint(study: Study) -> list[str]:
    """How to see the study's runs in MLflow's UI: the command to start it, and the link."""
    uri = study.tracking.uri
    try:
        experiment = existing_experiment(uri, study.experiment_name)
    except MlflowException:
        return []
    if experiment is None:
        return []
    if uri.startswith(("http://", "https://")):
        return [f"open {ui_url(uri, experiment.experiment_id)}"]
    return [
        f"mlflow ui --backend-store-uri {uri}",
        f"then open {ui_url(LOCAL_UI, experiment.experiment_id)}",
    ]


def default_artifact_root(uri: str) -> str | None:
    """Artifacts beside a local SQLite store (mlruns/artifacts); a server chooses its own."""
    db = sqlite_path(uri)
    # An absolute location (MLflow records it as is), the database's folder's links resolved.
    return None if db is None else artifacts_folder(db.parent.resolve() / db.name).as_uri()


def experiment_artifact_location(uri: str, experiment: str) -> str | None:
    root = default_artifact_root(uri)
    return None if root is None else f"{root}/{experiment}"


class Tracker:
    """The MLflow side of one study: opened after the study file validated, never before."""

    def __init__(self, study: Study) -> None:
        self.study = study
        self.store_failed: list[BaseException] = []  # once it failed, it is asked no more
        self.started: str | None = None  # the run_key of the last child run MLflow holds
        self._open: dict[str, mlflow.ActiveRun] = {}  # runs started here and not ended yet
        self._child_run: str | None = None  # the open one of a trial, if any
        uri = study.tracking.uri
        db = sqlite_path(uri)
        with one_opener_at_a_time(db, create=True):
            if db is not None:
                use_write_ahead_log(db)
            mlflow.set_tracking_uri(uri)
            self.client = MlflowClient(uri)
            # The store the fluent API and this client share (MLflow caches it by URI).
            hold_interrupts_in_sessions(_tracking_store(uri))
            self.experiment_id = self._experiment_id(study.experiment_name, uri)
        mlflow.set_experiment(experiment_id=self.experiment_id)

    @contextlib.contextmanager
    def checkpointed(self) -> Iterator[None]:
        """On the way out, fold a SQLite store's write-ahead log back into the database file,
        so the file alone holds every record (the CLI leaves without closing connections)."""
        try:
            yield
        finally:
            db = sqlite_path(self.study.tracking.uri)
            if db is not None:
                fold_write_ahead_log(db)

    def _experiment_id(self, name: str, uri: str) -> str:
        experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            try:
                return self.client.create_experiment(
                    name,
                    artifact_location=experiment_artifact_location(uri, name),
                    tags={Tag.ROLE: Role.STUDY, **EXPERIMENT_KIND},
                )
            except MlflowException as err:  # another worker created it a moment ago
                if err.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
                experiment = self.client.get_experiment_by_name(name)
        refuse_if_deleted(experiment, uri)  # deleted since the check before the study began
        for key, value in EXPERIMENT_KIND.items():  # experiments made before the tag existed
            if experiment.tags.get(key) != value:
                self.client.set_experiment_tag(experiment.experiment_id, key, value)
        return experiment.experiment_id

    def _parent_runs(self) -> list:
        return self.client.search_runs(
            [self.experiment_id],
            filter_string=(
                f"tags.{Tag.ROLE} = '{Role.STUDY}' and tags.{Tag.STUDY} = '{self.study.name}'"
            ),
            order_by=["attributes.start_time ASC"],
        )

    def _parent_run_id(self) -> str:
        """The study's one parent run. Workers starting together may each create one; they
        all then keep the oldest, and each deletes its own if it is not that one."""
        found = self._parent_runs()
        if found:
            return found[0].info.run_id
        mine = self.client.create_run(
            self.experiment_id,
            run_name=self.study.name,
            tags={Tag.ROLE: Role.STUDY, Tag.STUDY: self.study.name},
        ).info.run_id
        return self.keep_the_oldest_parent(mine)

    def keep_the_oldest_parent(self, mine: str) -> str:
        """The oldest parent run's id; `mine`, if it is not that one, is ended (a deleted run
        left RUNNING would stay so in the store for good) and deleted."""
        oldest = min(self._parent_runs(), key=lambda r: (r.info.start_time, r.info.run_id))
        if oldest.info.run_id != mine:
            self._write_status(mine, Status.FINISHED)
            self.client.delete_run(mine)
        return oldest.info.run_id

    def mark_killed(self, run_id: str | None) -> None:
        """Close the MLflow run of a worker that died mid-training (SIGKILL, power loss)."""
        if run_id and self.client.get_run(run_id).info.status == Status.RUNNING:
            self._write_status(run_id, Status.KILLED)

    def running_child_runs(self) -> list[LeftRunning]:
        """This study's runs that MLflow holds as RUNNING (one query), with the trial number
        and run_key they were created with: tags written with the run itself, so they are
        there even when a fault cut the run short before its trial learned its id."""
        found = self.client.search_runs(
            [self.experiment_id],
            filter_string=(
                f"attributes.status = '{Status.RUNNING}' and tags.{Tag.ROLE} = '{Role.RUN}'"
                f" and tags.{Tag.STUDY} = '{self.study.name}'"
            ),
        )
        return [
            LeftRunning(
                run.info.run_id,
                _trial_number(run.data.tags.get(Tag.OPTUNA_TRIAL)),
                run.data.tags.get(Tag.RUN_KEY),
            )
            for run in found
        ]

    def end_left_running(self, run_id: str, status: str) -> None:
        self._write_status(run_id, status)

    def end_study_run_left_running(self) -> None:
        """The study's run, where a fault left it RUNNING and no worker is training."""
        for run in self._parent_runs():
            if run.info.status == Status.RUNNING:
                self._write_status(run.info.run_id, Status.FINISHED)

    def open_child_run(self) -> str | None:
        """The id of the trial's child run this tracker started and has not ended, if any."""
        return self._child_run

    def end_run(self, run_id: str, error: BaseException | None = None) -> None:
        """End a run this tracker started (the study's, or a trial's child run) as `error`
        says, once: none FINISHED; an interrupt, or a result superseded, KILLED; a store's
        fault: left as the store holds it (see `_leave_unwritten`); any other error FAILED,
        its traceback kept. A run ended already is left alone."""
        active = self._open.pop(run_id, None)
        if active is None:
            return
        if run_id == self._child_run:
            self._child_run = None
        if error is None:
            with interrupts_held(second_at_once=False):
                self._write_status(run_id, Status.FINISHED)
        elif isinstance(error, (KeyboardInterrupt, Superseded)):
            self._end_unless_store_failed(active, Status.KILLED)
        elif is_store_fault(error):
            self.store_failed.append(error)
            _leave_unwritten(active)
        else:
            with contextlib.suppress(Exception):
                mlflow.log_text("".join(traceback.format_exception(error)), Artifact.ERROR)
            self._end_unless_store_failed(active, Status.FAILED)

    def _end_unless_store_failed(self, active: mlflow.ActiveRun, status: str) -> None:
        """End the run with `status`, unless the store has failed (now or before): then leave
        it for the next invocation, which ends it from its trial's state."""
        if self.store_failed:
            _leave_unwritten(active)
            return
        try:
            with interrupts_held(second_at_once=False):  # a run half ended would stay RUNNING
                self._write_status(active.info.run_id, status)
        except store_error_types() as err:
            self.store_failed.append(err)
            _leave_unwritten(active)

    def _write_status(self, run_id: str, status: str) -> None:
        """The one writer of a run's final status: the active run through MLflow's fluent
        API, which also lets it go (and stops its system metrics); any other through the
        client (a run another worker, or a fault, left RUNNING)."""
        active = mlflow.active_run()
        if active is not None and active.info.run_id == run_id:
            mlflow.end_run(status)
        else:
            self.client.set_terminated(run_id, status)

    @contextlib.contextmanager
    def _ended_by_outcome(self, active: mlflow.ActiveRun) -> Iterator[None]:
        """End the active run as its block ended (`end_run`), unless it was ended inside."""
        run_id = active.info.run_id
        self._open[run_id] = active
        try:
            yield
        except BaseException as err:
            self.end_run(run_id, err)
            raise
        else:
            self.end_run(run_id)

    def tag_study_run(self, tags: dict[str, str]) -> None:
        """Tags on the study's parent run (active inside `study_run`): e.g. a race's answer."""
        if tags:
            mlflow.set_tags(tags)

    @contextlib.contextmanager
    def study_run(self, *, source_file: Path | None = None) -> Iterator[str]:
        """The study's parent run, resumed on every invocation, active for the duration."""
        run_id = self._parent_run_id()
        with contextlib.ExitStack() as stack:
            with interrupts_held():  # an interrupt waits until the run is started and guarded
                active = mlflow.start_run(run_id=run_id)
                stack.enter_context(self._ended_by_outcome(active))
                # Overwritten each time: the study as last run.
                mlflow.log_dict(self.study.model_dump(mode="json"), Artifact.STUDY)
                if source_file is not None:
                    mlflow.log_artifact(str(source_file))
            yield run_id

    @contextlib.contextmanager
    def child_run(
        self,
        spec: RunSpec,
        *,
        environment: dict[str, str],
        execution: Execution,
        trial_number: int,
    ) -> Iterator[str]:
        """A child run of the study run for one RunSpec, ended as its block ends (KILLED on
        interrupt, FAILED on error) unless `end_run` ended it inside, as a trial's close does."""
        tags = {
            Tag.ROLE: Role.RUN,
            Tag.RUN_KEY: spec.run_key,
            Tag.STUDY: spec.study,
            Tag.CELL: spec.model.cell,
            Tag.DIRECTION: spec.direction,
            Tag.DEPTH: str(spec.model.layers),
            Tag.SEED: str(spec.seed),
            Tag.OPTUNA_STUDY: spec.study,
            Tag.OPTUNA_TRIAL: str(trial_number),
            **{f"{Tag.ENV_PREFIX}{k}": str(v) for k, v in environment.items()},
            **execution.tags(),
        }
        tracking = self.study.tracking
        if tracking.system_metrics:
            mlflow.set_system_metrics_sampling_interval(tracking.system_metrics_seconds)
            mlflow.set_system_metrics_samples_before_logging(1)
        with contextlib.ExitStack() as stack:
            stack.enter_context(held_monitor_warnings(self.store_failed))  # ends last
            with interrupts_held():  # an interrupt waits until the run is started and guarded
                active = mlflow.start_run(
                    run_name=spec.label,
                    nested=True,
                    tags=tags,
                    log_system_metrics=tracking.system_metrics,
                )
                stack.enter_context(self._ended_by_outcome(active))
                self._child_run = active.info.run_id
                self.started = spec.run_key
                mlflow.log_params(run_params(spec))
                mlflow.log_dict(spec.resolved(), Artifact.CONFIG)
                if not spec.data.is_mnist:  # classes, standardisation, split, content hash
                    mlflow.log_dict(spec.data.description.as_dict(), Artifact.DATA)
            yield active.info.run_id

    def log_datasets(self, spec: RunSpec, splits: Splits) -> None:
        """The three splits as MLflow dataset inputs (the runs table's Dataset column)."""
        from suite.record.dataset_inputs import split_datasets

        datasets, contexts, tags = split_datasets(spec.data, splits)
        with interrupts_held():
            self._log_inputs(datasets, contexts, tags)

    @staticmethod
    def _log_inputs(datasets: list, contexts: list[str], tags: list[dict[str, str]]) -> None:
        for attempt in range(DATASET_ATTEMPTS):
            try:
                mlflow.log_inputs(datasets=datasets, contexts=contexts, tags_list=tags)
                return
            except MlflowException:
                # Workers starting together log the same new datasets at once; MLflow looks a
                # dataset up, then inserts it, so all but one insert break the unique key (and
                # roll back). Again, a moment later, finds the row made and links to it.
                if attempt == DATASET_ATTEMPTS - 1:
                    raise
                time.sleep(0.1 + random.random() * 0.4)

    def callbacks(self) -> list[keras.callbacks.Callback]:
        """Keras callbacks that record into the active run: MLflow's own, per epoch."""
        from suite.record.epoch_callback import EpochCurves  # imports Keras: only once training

        return [EpochCurves(log_every_epoch=True)]

    def log_result(
        self,
        spec: RunSpec,
        result: TrainResult,
        model: keras.Model,
        *,
        pruned_after: int | None = None,
    ) -> None:
        """Final metrics and the artifacts of a finished run (into the active child run).

        A pruned search trial keeps its curves up to the pruning epoch and is tagged
        `pruned`; the report leaves it out of the comparison. An interrupt waits until all
        of it is written (a temporary file that an interrupt cuts short raises OSError, which
        would read as the store's failure)."""
        with interrupts_held():
            self._log_result(spec, result, model, pruned_after=pruned_after)

    def _log_result(
        self,
        spec: RunSpec,
        result: TrainResult,
        model: keras.Model,
        *,
        pruned_after: int | None,
    ) -> None:
        if pruned_after is not None:
            mlflow.set_tags({Tag.PRUNED: "true", Tag.PRUNED_AFTER_EPOCH: str(pruned_after)})
        # Final metrics at the last epoch's step: the logged model below links every metric
        # of that step (MLflow's `log_model(step=...)`), so it carries the run's final values.
        last_epoch = result.epochs_trained
        mlflow.log_metrics(result.final_metrics(), step=last_epoch)
        mlflow.set_tag(Tag.JIT, str(result.jit_compile).lower())
        if result.confusion is not None:  # classes only
            mlflow.log_text(confusion_json(result.confusion), Artifact.CONFUSION)
        if self.study.tracking.log_plots:
            from suite.record.figures import confusion_figure, curve_figures

            figures = curve_figures(spec.label, result.history, result.measure.name)
            for name, figure in figures.items():
                mlflow.log_figure(figure, Artifact.curve_image(name))
            if result.confusion is not None:
                mlflow.log_figure(
                    confusion_figure(spec.label, result.confusion), Artifact.CONFUSION_IMAGE
                )
        if self.study.tracking.log_model:
            log_keras_model(model, spec, step=last_epoch)


def confusion_json(matrix: list[list[int]]) -> str:
    """The matrix as JSON with one row (one true digit) per line, readable as a table."""
    rows = ",\n    ".join(json.dumps(row) for row in matrix)
    return (
        '{\n  "labels": ' + json.dumps(list(range(len(matrix)))) + ",\n"
        '  "rows_true_columns_predicted": [\n    ' + rows + "\n  ]\n}\n"
    )


def run_params(spec: RunSpec) -> dict[str, Any]:
    """Every study field that shapes the run, flat, as MLflow params."""
    params: dict[str, Any] = {"seed": spec.seed}
    if spec.backend is not None:  # a study axis: the report compares it like any factor
        params["backend"] = spec.backend
    for section in (spec.data, spec.model, spec.training):
        left_out = unnamed(section) if isinstance(section, ModelConfig) else set()
        if isinstance(section, DataConfig):
            left_out = section.unused() | {"name"}  # logged as `dataset`
        for name, value in section.model_dump(mode="json", exclude=left_out).items():
            if isinstance(value, dict):
                params.update({f"{name}.{k}": v for k, v in value.items()})
            else:
                params[name] = "none" if value is None else value
    params["dataset"] = spec.data.dataset_name  # the report's datasets, MNIST's too
    if not spec.data.is_mnist:  # what chance is on it
        description = spec.data.description
        if description.classes:  # chance: 1 / classes
            params["classes"] = len(description.classes)
        if description.target_scale is not None:  # chance: the RMSE of guessing the mean
            params["target_std"] = description.target_scale[1]
    return params


def log_keras_model(model: keras.Model, spec: RunSpec, *, step: int) -> None:
    """Log the trained model with MLflow's Keras flavour, named by the run's label and linked
    to the metrics logged at `step` (the last epoch: its curves and the final test metrics).

    The requirements are given, not inferred: inference re-imports the model in a
    subprocess, which costs many seconds per run for a list we already know.
    """
    import keras
    import numpy as np
    from mlflow.models import infer_signature

    from suite.record.environment import environment

    env = environment()
    backend_package = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[env["backend"]]
    example = np.zeros((1, *spec.data.input_shape), dtype=np.float32)
    signature = infer_signature(example, np.zeros((1, spec.data.outputs), dtype=np.float32))
    mlflow.keras.log_model(
        model,
        name=logged_model_name(spec.label),
        step=step,
        signature=signature,
        pip_requirements=[
            f"keras=={keras.__version__}",
            f"{backend_package}=={env['backend_version']}",
        ],
    )


def _leave_unwritten(active: mlflow.ActiveRun) -> None:
    """Leave the active run without a word to the store that just failed: every further
    request would wait out its retries again (up to a minute each on a server gone), and
    MLflow's `end_run` writes the status before it lets the run go. Written by hand because
    MLflow has no public way to drop an active run locally; the next invocation ends the run
    FAILED or KILLED (`suite.worker.lifecycle.end_runs_left_running`)."""
    from mlflow.tracking.fluent import _active_run_stack, run_id_to_system_metrics_monitor

    stack = _active_run_stack.get()
    if stack and stack[-1].info.run_id == active.info.run_id:
        stack.pop()
    monitor = run_id_to_system_metrics_monitor.pop(active.info.run_id, None)
    if monitor is not None:  # its thread would ask the failed store again; let it stop
        monitor._shutdown_event.set()


@dataclass(frozen=True)
class LeftRunning:
    """A child run MLflow holds as RUNNING: its id, its trial's number and its run_key."""

    run_id: str
    trial_number: int | None
    run_key: str | None


def _trial_number(tag: str | None) -> int | None:
    return int(tag) if tag is not None and tag.isdigit() else None
