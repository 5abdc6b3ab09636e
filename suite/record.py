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

from suite.schema import Metric, Role, Tag, TrialAttr
from suite.sqlite_store import MLFLOW_TABLE, one_opener_at_a_time, tables_of
from suite.study import Study, sqlite_path

PAGE = 1000
ALL_RUNS = f"tags.{Tag.ROLE} = '{Role.RUN}'"
FINISHED_RUNS = f"{ALL_RUNS} and attributes.status = 'FINISHED'"


@dataclass(frozen=True)
class RecordedRun:
    run_key: str
    run_id: str
    metrics: dict[str, float]
    pruned: bool
    status: str  # MLflow's: FINISHED, RUNNING, FAILED, KILLED
    end_time: int  # ms since the epoch: the latest finished run of a key is its result

    def trial_record(self) -> dict[str, float | str]:
        """The user attributes a COMPLETE trial of this run carries (see trial_lifecycle)."""
        kept = (Metric.TEST_ACCURACY, Metric.BEST_VAL_ACCURACY, Metric.TRAIN_SECONDS)
        record: dict[str, float | str] = {k: self.metrics[k] for k in kept if k in self.metrics}
        if Metric.BEST_EPOCH in self.metrics:
            record[Metric.BEST_EPOCH] = int(self.metrics[Metric.BEST_EPOCH])
        record[TrialAttr.MLFLOW_RUN_ID] = self.run_id
        return record


@dataclass(frozen=True)
class RecordSnapshot:
    finished: dict[str, RecordedRun]  # by run_key, the latest
    run_ids: frozenset[str]  # every run of the experiment, in any state


class RunRecord:
    """Finished runs of one study's experiment, by run_key (the latest when several)."""

    def __init__(self, study: Study) -> None:
        self.study = study
        self._experiment_id: str | None = None

    def _client(self):
        from mlflow.tracking import MlflowClient

        return MlflowClient(self.study.tracking.uri)

    def _experiment(self) -> str | None:
        """The experiment's id, or None where the store or the experiment does not exist."""
        if self._experiment_id is None:
            db = sqlite_path(self.study.tracking.uri)
            if db is not None and MLFLOW_TABLE not in tables_of(db):
                return None  # reading must not create the store (nor its tables)
            with one_opener_at_a_time(db, create=False):  # while another creates it
                experiment = self._client().get_experiment_by_name(self.study.experiment_name)
            if experiment is None:
                return None
            self._experiment_id = experiment.experiment_id
        return self._experiment_id

    def read(self) -> RecordSnapshot:
        """Every run_key's FINISHED run and the ids of all the experiment's runs, as of now:
        what `RunQueue.use_record` takes."""
        runs = list(self._search(ALL_RUNS))
        finished = _latest(r for r in runs if r.status == "FINISHED")
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
        found = _latest(self._search(f"{FINISHED_RUNS} and tags.{Tag.RUN_KEY} = '{run_key}'"))
        return found.get(run_key)

    def objective_value(self, run: RecordedRun, objective: str) -> float:
        """A recorded run's value for a search's objective, as its trial would have had it."""
        if objective == "val_accuracy":
            return run.metrics[Metric.BEST_VAL_ACCURACY]
        return min(m.value for m in self._client().get_metric_history(run.run_id, objective))

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
                key = run.data.tags.get(Tag.RUN_KEY)
                if key:
                    yield RecordedRun(
                        run_key=key,
                        run_id=run.info.run_id,
                        metrics=dict(run.data.metrics),
                        pruned=run.data.tags.get(Tag.PRUNED) == "true",
                        status=run.info.status,
                        end_time=run.info.end_time or 0,
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
