"""The MLflow side of one study: its experiment opened, its parent run, one child run per
trained RunSpec, each ended once (run_endings) and filled with what it recorded (run_content).

The fluent API is used on purpose: MLflow's own Keras callback and `mlflow.keras.log_model`
record into the active run, so each child run is made active while it trains.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
from mlflow.tracking import MlflowClient
from mlflow.tracking._tracking_service.utils import _get_store as _tracking_store

from suite.record.held_warnings import held_monitor_warnings
from suite.record.left_running import LeftRunning, running_child_runs
from suite.record.run_content import child_run_tags, log_inputs, log_result, log_run_setup
from suite.record.run_endings import OpenRuns, write_status
from suite.record.study_experiment import study_experiment_id
from suite.schema import Artifact, Role, Status, Tag
from suite.stores.locations import sqlite_path
from suite.stores.sqlite import fold_write_ahead_log, one_opener_at_a_time, use_write_ahead_log
from suite.stores.uninterrupted import hold_interrupts_in_sessions, interrupts_held
from suite.study.config import Study
from suite.study.run_spec import RunSpec
from suite.train.execution import Execution

if TYPE_CHECKING:  # Keras loads only once a worker trains
    import keras

    from suite.train.data import Splits
    from suite.train.fit import TrainResult


class Tracker:
    """The MLflow side of one study: opened after the study file validated, never before."""

    def __init__(self, study: Study) -> None:
        self.study = study
        self.started: str | None = None  # the run_key of the last child run MLflow holds
        uri = study.tracking.uri
        db = sqlite_path(uri)
        with one_opener_at_a_time(db, create=True):
            if db is not None:
                use_write_ahead_log(db)
            mlflow.set_tracking_uri(uri)
            self.client = MlflowClient(uri)
            # The store the fluent API and this client share (MLflow caches it by URI).
            hold_interrupts_in_sessions(_tracking_store(uri))
            self.experiment_id = study_experiment_id(self.client, study.experiment_name, uri)
        mlflow.set_experiment(experiment_id=self.experiment_id)
        self._runs = OpenRuns(self.client)
        self.store_failed = self._runs.store_failed  # once it failed, it is asked no more

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
            write_status(self.client, mine, Status.FINISHED)
            self.client.delete_run(mine)
        return oldest.info.run_id

    def mark_killed(self, run_id: str | None) -> None:
        """Close the MLflow run of a worker that died mid-training (SIGKILL, power loss)."""
        if run_id and self.client.get_run(run_id).info.status == Status.RUNNING:
            write_status(self.client, run_id, Status.KILLED)

    def running_child_runs(self) -> list[LeftRunning]:
        """This study's runs that MLflow holds as RUNNING (`left_running`)."""
        return running_child_runs(self.client, self.experiment_id, self.study.name)

    def end_left_running(self, run_id: str, status: str) -> None:
        write_status(self.client, run_id, status)

    def end_study_run_left_running(self) -> None:
        """The study's run, where a fault left it RUNNING and no worker is training."""
        for run in self._parent_runs():
            if run.info.status == Status.RUNNING:
                write_status(self.client, run.info.run_id, Status.FINISHED)

    def open_child_run(self) -> str | None:
        """The id of the trial's child run this tracker started and has not ended, if any."""
        return self._runs.child_run

    def end_run(self, run_id: str, error: BaseException | None = None) -> None:
        """End a run this tracker started, once, as `error` says (`OpenRuns.end_run`)."""
        self._runs.end_run(run_id, error)

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
                stack.enter_context(self._runs.ended_by_outcome(active))
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
        tags = child_run_tags(
            spec, environment=environment, execution=execution, trial_number=trial_number
        )
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
                stack.enter_context(self._runs.ended_by_outcome(active))
                self._runs.child_run = active.info.run_id
                self.started = spec.run_key
                log_run_setup(spec)
            yield active.info.run_id

    def log_datasets(self, spec: RunSpec, splits: Splits) -> None:
        """The three splits as MLflow dataset inputs (the runs table's Dataset column)."""
        from suite.record.dataset_inputs import split_datasets

        datasets, contexts, tags = split_datasets(spec.data, splits)
        with interrupts_held():
            log_inputs(datasets, contexts, tags)

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
            log_result(spec, result, model, tracking=self.study.tracking, pruned_after=pruned_after)
