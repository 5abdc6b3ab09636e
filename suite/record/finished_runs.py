"""The record of results: which run_keys have a FINISHED run in the study's MLflow experiment.

MLflow is the truth about what trained; the Optuna storage is only the queue. The two can
disagree: a lost or replaced journal (`--storage`), a renamed study that keeps its experiment,
a replaced tracking store. Every worker reads the record before it trains and again as it
claims each run, so a run_key with a FINISHED run is never trained twice, whatever the queue
says, and a run the queue calls finished but MLflow does not hold is trained again.

Reads only: a store or experiment that does not exist yet holds no runs, and is not created.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from suite.record.run_identity import RunIdentity
from suite.schema import Measure, Metric, Objective, Role, Status, Tag, TrialResult
from suite.stores.experiment import existing_experiment
from suite.study.config import Study
from suite.study.run_spec import RunSpec

PAGE = 1000
ALL_RUNS = f"tags.{Tag.ROLE} = '{Role.RUN}'"
FINISHED_RUNS = f"{ALL_RUNS} and attributes.status = '{Status.FINISHED}'"


@dataclass(frozen=True)
class RecordedRun:
    run_key: str
    run_id: str
    metrics: dict[str, float]
    pruned: bool
    status: str  # MLflow's: FINISHED, RUNNING, FAILED, KILLED
    end_time: int  # ms since the epoch: the latest finished run of a key is its result
    start_time: int = 0  # ms since the epoch
    study: str | None = None  # the study that trained it (studies may share an experiment)

    def trial_result(
        self, objective: Objective | None = None, measure: Measure | None = None
    ) -> TrialResult:
        """The result a trial of this run carries, as if this worker had trained it: its run
        seconds are MLflow's, start to end (what the time model learns from); with its value
        for `objective` where the record holds it."""
        best_epoch = self.metrics.get(Metric.BEST_EPOCH)
        ran = (
            (self.end_time - self.start_time) / 1000 if self.start_time and self.end_time else None
        )
        measure = measure or Measure()
        return TrialResult(
            mlflow_run_id=self.run_id,
            measure=measure,
            test_value=self.metrics.get(measure.test),
            best_val_value=self.metrics.get(measure.best_val),
            train_seconds=self.metrics.get(Metric.TRAIN_SECONDS),
            best_epoch=None if best_epoch is None else int(best_epoch),
            run_seconds=ran,
            selection=self.selection(objective),
        )

    def selection(self, objective: Objective | None) -> tuple[str, float] | None:
        """(column, value) of the run's recorded value for `objective`, if it was logged."""
        if objective is None or objective.column not in self.metrics:
            return None
        return objective.column, self.metrics[objective.column]


@dataclass(frozen=True)
class RecordSnapshot:
    finished: dict[str, RecordedRun]  # by run_key, the latest
    run_ids: frozenset[str]  # every run of the experiment, in any state


class FinishedRuns:
    """Finished runs of one study's experiment, by run_key (the latest when several).

    `specs`: the study's runs, whose recorded keys are read as today's (`RunIdentity`)."""

    def __init__(self, study: Study, specs: Iterable[RunSpec] = ()) -> None:
        self.study = study
        self.identity = RunIdentity(specs)
        self._experiment_id: str | None = None

    def _client(self):
        from mlflow.tracking import MlflowClient

        return MlflowClient(self.study.tracking.uri)

    def _experiment(self) -> str | None:
        """The experiment's id, or None where the store or the experiment does not exist."""
        if self._experiment_id is None:
            experiment = existing_experiment(self.study.tracking.uri, self.study.experiment_name)
            if experiment is None:
                return None
            self._experiment_id = experiment.experiment_id
        return self._experiment_id

    def read(self) -> RecordSnapshot:
        """Every run_key's FINISHED run and the ids of all the experiment's runs, as of now:
        what `RunQueue.use_record` takes."""
        runs = list(self._search(ALL_RUNS))
        finished = _latest(r for r in runs if r.status == Status.FINISHED)
        return RecordSnapshot(finished, frozenset(r.run_id for r in runs))

    def run_exists(self, run_id: str) -> bool:
        """Whether the experiment holds this run now (in any state), asked of the store."""
        from mlflow.exceptions import MlflowException

        experiment = self._experiment()
        if experiment is None:
            return False
        try:
            info = self._client().get_run(run_id).info
        except MlflowException:  # no such run
            return False
        return info.experiment_id == experiment and info.lifecycle_stage == "active"

    def finished_run(self, run_key: str) -> RecordedRun | None:
        """The FINISHED run of one run_key, if the experiment holds one (checked at claim)."""
        found = _latest(
            run
            for recorded in self.identity.recorded_keys(run_key)
            for run in self._search(f"{FINISHED_RUNS} and tags.{Tag.RUN_KEY} = '{recorded}'")
        )
        return found.get(run_key)

    def objective_value(self, run: RecordedRun, objective: Objective) -> float:
        """A recorded run's value for the study's objective, as its trial would have had it."""
        if objective.column in run.metrics:  # logged by the run (older runs: by grids only)
            return run.metrics[objective.column]
        history = self._client().get_metric_history(run.run_id, objective.metric)
        return objective.best_of(m.value for m in history)

    def _search(self, filter_string: str) -> Iterator[RecordedRun]:
        experiment = self._experiment()
        if experiment is None:
            return
        client, token = self._client(), None
        while True:
            page = client.search_runs(
                [experiment], filter_string=filter_string, max_results=PAGE, page_token=token
            )
            for run in page:
                tags = run.data.tags
                key = self.identity.key_of(tags.get(Tag.RUN_KEY, ""), tags.get(Tag.env("backend")))
                if key:
                    yield RecordedRun(
                        run_key=key,
                        run_id=run.info.run_id,
                        metrics=dict(run.data.metrics),
                        pruned=tags.get(Tag.PRUNED) == "true",
                        status=run.info.status,
                        end_time=run.info.end_time or 0,
                        start_time=run.info.start_time or 0,
                        study=tags.get(Tag.STUDY),
                    )
            token = page.token
            if not token:
                return


def _latest(runs: Iterable[RecordedRun]) -> dict[str, RecordedRun]:
    latest: dict[str, RecordedRun] = {}
    for run in runs:
        if run.run_key not in latest or run.end_time > latest[run.run_key].end_time:
            latest[run.run_key] = run
    return latest
