"""Read a study's runs out of MLflow into tidy pandas tables. Reads only; never trains.

`runs`: one row per child run (every status), with its configuration, tags and final metrics,
the study's measure's among them also under measure-neutral names (suite.report.measures).
`curves`: one row per (run, metric, epoch), for the finished runs: the study's measure's.
Besides them, everything else the report shows from a store: each study's measure (learned
from its runs' record) and experiment id (for MLflow UI links), a classification study's best
run's confusion matrix, a search's Optuna trials. Build reads
`Collected` alone, so the report is one-way: store -> collect -> build -> render.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import optuna
import pandas as pd
from mlflow.entities import Metric as MetricPoint
from mlflow.entities import Run, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from suite.errors import StoreError
from suite.race.decision import RaceRules
from suite.record.run_identity import RunIdentity
from suite.report.collect_search import read_search
from suite.report.dataset_ranks import dataset_of
from suite.report.measures import (
    BEST_VAL_VALUE,
    CLASSIFICATION,
    LAST_VALUES,
    RECORDED,
    TEST_VALUE,
    measure_of,
    with_values,
)
from suite.report.ranking import rank, selection
from suite.schema import Artifact, Measure, Metric, Objective, Role, Status, Tag, counted
from suite.stores.checks import refuse_if_deleted
from suite.stores.experiment import existing_experiment
from suite.study.grid_keys import numeric_fields
from suite.study.run_spec import RunSpec

CURVE_METRICS = CLASSIFICATION.curves[:4]  # a classification run's (benchmarks/report_speed.py)
# Either measure's final metrics, and the curves' last values too
FINAL_METRICS = tuple(dict.fromkeys((*Metric.FINAL, *RECORDED, *LAST_VALUES)))
NUMERIC_PARAMS = numeric_fields()  # name -> int or float, from the study model itself
RESULT_METRICS = (
    TEST_VALUE,
    BEST_VAL_VALUE,
    Metric.PARAM_COUNT,
    Metric.EPOCHS_TRAINED,
    Metric.TRAIN_SECONDS,
)
NO_RESULT = "FINISHED, no result"  # the report's status of a FINISHED run missing RESULT_METRICS
PRUNED = "PRUNED"  # the report's status of a pruned search trial's run (FINISHED in MLflow)
BULK_CHUNK = 100  # run ids per bulk metric request: the MLflow server's own limit
PAGE = 1000


class ReportError(Exception):
    """Nothing to report, or a store that cannot be read: a message for the user."""


@dataclass(frozen=True)
class Source:
    """One study to report: an MLflow experiment, and the grid it should hold (if known)."""

    name: str
    experiment: str
    tracking_uri: str
    expected: tuple[RunSpec, ...] | None = None  # from the study file; None for --experiment
    search_storage: str | None = None  # the Optuna storage of a search study
    # What ranks: what a search's trials optimise; None: the measure's own (val accuracy
    # maximised, val RMSE minimised), known once collect has read the runs (`ranks_by`)
    objective: Objective | None = None
    # The grid as computed on each other backend: tried, when none of the study's runs
    # computed on the report's backend, for a study trained under KERAS_BACKEND (no axis)
    on_other_backends: tuple[tuple[RunSpec, ...], ...] = ()
    race: RaceRules | None = None  # a race of seeds over `expected`'s configurations
    measure: Measure = field(default_factory=Measure)  # what its runs measure: set by collect

    @property
    def ranks_by(self) -> Objective:
        """The objective configurations are ranked by: the search's, else the measure's."""
        return self.objective or self.measure.objective


@dataclass
class Collected:
    sources: list[Source]
    runs: pd.DataFrame
    curves: pd.DataFrame
    parent_runs: dict[str, str] = field(default_factory=dict)  # study name -> parent run id
    experiment_ids: dict[str, str] = field(default_factory=dict)  # study name -> experiment id
    # run id -> matrix, for each study's best run only: one download each, not one per run
    confusions: dict[str, list[list[int]]] = field(default_factory=dict)
    # study name -> in-memory copy of a search's Optuna study (absent: storage or study missing)
    searches: dict[str, optuna.Study] = field(default_factory=dict)
    # study name -> runs of its experiment that are not its own (another study's, another
    # backend's), left out of everything the report says about it
    left_out: dict[str, int] = field(default_factory=dict)


def _on_the_backend_of_its_runs(source: Source, runs: list[Run]) -> Source:
    """The source as computed on the one other backend its runs used, when none used the
    report's (a study trained under KERAS_BACKEND=torch, reported without it); else as is."""
    if source.expected is None or not source.on_other_backends:
        return source
    recorded = {run.data.tags.get(Tag.RUN_KEY) for run in runs}
    if recorded & {spec.run_key for spec in source.expected}:
        return source
    used = [specs for specs in source.on_other_backends if recorded & {s.run_key for s in specs}]
    return replace(source, expected=used[0]) if len(used) == 1 else source


def _of_this_study(source: Source, row: dict[str, Any], grid_keys: set[str] | None) -> bool:
    """Whether a run of the experiment is a result of this study: one of its grid's run_keys
    (`grid_keys`; any study of the same computation shares them), else, for a search, trained
    by it; with only an experiment named (--experiment), every run."""
    if row["run_key"] is None:  # computed on another backend than its key stands for
        return False
    if grid_keys is not None:
        return row["run_key"] in grid_keys
    if source.search_storage is not None:
        return row["study_tag"] in (None, source.name)
    return True


def _parent_of(source: Source, run: Run) -> bool:
    return (source.expected is None and source.search_storage is None) or (
        run.data.tags.get(Tag.STUDY, source.name) == source.name
    )


def _nothing_to_report(sources: Sequence[Source], left_out: dict[str, int]) -> str:
    names = ", ".join(s.name for s in sources)
    others = sum(left_out.values())
    if others:
        return (
            f"no runs of {names} in its experiment, which holds {counted(others, 'run')} of"
            " other studies"
            " (or of another KERAS_BACKEND): train the study first (python -m suite.run"
            " STUDY.yaml)"
        )
    return f"no runs in {names}: train the study first (python -m suite.run STUDY.yaml)"


def collect(sources: Sequence[Source]) -> Collected:
    frames, curve_frames, parents, experiment_ids, left_out = [], [], {}, {}, {}
    sources = list(sources)
    for index, source in enumerate(sources):
        client = MlflowClient(source.tracking_uri)
        experiment = _experiment(source)
        experiment_ids[source.name] = experiment.experiment_id
        runs = _search_all(client, experiment.experiment_id)
        sources[index] = source = _on_the_backend_of_its_runs(source, runs)
        for run in runs:
            if run.data.tags.get(Tag.ROLE) == Role.STUDY and _parent_of(source, run):
                parents[source.name] = run.info.run_id
        # Once per study, not per run: each is a pass over the grid (10,000 runs at most).
        identity = RunIdentity(source.expected or ())
        grid_keys = None if source.expected is None else {s.run_key for s in source.expected}
        rows = [
            _run_row(source, run, identity)
            for run in runs
            if run.data.tags.get(Tag.ROLE, Role.RUN) == Role.RUN
        ]
        table = pd.DataFrame([row for row in rows if _of_this_study(source, row, grid_keys)])
        left_out[source.name] = len(rows) - len(table)
        if not table.empty:
            # The study's measure, from its own runs' record: it names what is read below.
            sources[index] = source = replace(source, measure=measure_of(table))
            table = with_values(table, source.measure)
            finished = table.loc[table["status"] == Status.FINISHED, "run_id"].tolist()
            curve_frames.append(_curves(client, finished, source.measure.curves))
        frames.append(table)
    runs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if runs.empty:
        raise ReportError(_nothing_to_report(sources, left_out))
    runs = _typed(runs)
    curves = pd.concat(curve_frames, ignore_index=True) if curve_frames else _empty_curves()
    # Each run's value for each objective a study ranks by, read from its curve by the
    # objective itself (runs log their measure's best validation value, and older runs only
    # that, as a metric).
    for objective in {Objective("val_loss"), *(source.ranks_by for source in sources)}:
        if objective.column in RECORDED:
            continue
        per_run = curves[curves["metric"] == objective.metric].groupby("run_id")["value"]
        best = per_run.agg(objective.best_of)
        runs[objective.column] = runs["run_id"].map(best).astype(float)
    searches = {
        source.name: search
        for source in sources
        if source.search_storage
        and (search := read_search(source.name, source.search_storage)) is not None
    }
    return Collected(
        sources,
        runs,
        curves,
        parents,
        experiment_ids=experiment_ids,
        left_out=left_out,
        confusions=_best_run_confusions(sources, runs),
        searches=searches,
    )


def _best_run_confusions(
    sources: Sequence[Source], runs: pd.DataFrame
) -> dict[str, list[list[int]]]:
    """The confusion matrix of each classification study's best run, chosen by the rule the
    report's best-run section uses (`rank`), on each of its datasets where it has several
    (each gets a best-run section): one artifact download per study and dataset, never one
    per run. A regression run has none."""
    confusions: dict[str, list[list[int]]] = {}
    for source in sources:
        if source.measure.task != "classification":
            continue
        study_runs = runs[runs["study"] == source.name]
        for _, dataset_runs in study_runs.groupby(dataset_of(study_runs)):
            ranking = rank(dataset_runs, selection(source.ranks_by), source.measure)
            if ranking is None:
                continue
            run_id = ranking.best["run_id"]
            matrix = load_confusion(MlflowClient(source.tracking_uri), run_id)
            if matrix is not None:
                confusions[run_id] = matrix
    return confusions


def load_confusion(client: MlflowClient, run_id: str) -> list[list[int]] | None:
    """The test-set confusion matrix the run logged at training time, if it did."""
    try:
        artifacts = {a.path for a in client.list_artifacts(run_id)}
        if Artifact.CONFUSION not in artifacts:
            return None
        text = client.download_artifacts(run_id, Artifact.CONFUSION)
        with open(text) as handle:
            return json.load(handle)["rows_true_columns_predicted"]
    except (MlflowException, OSError, KeyError, ValueError):
        return None


def _experiment(source: Source) -> Any:
    try:
        experiment = existing_experiment(source.tracking_uri, source.experiment)
        if experiment is not None:
            refuse_if_deleted(experiment, source.tracking_uri)
    except StoreError as err:
        raise ReportError(str(err)) from None
    except MlflowException as err:
        raise ReportError(f"cannot read the tracking store {source.tracking_uri}: {err}") from None
    if experiment is None:
        raise ReportError(
            f"no experiment {source.experiment!r} in {source.tracking_uri}: train the study first"
            " (python -m suite.run STUDY.yaml), or check --tracking-uri / the study's tracking.uri"
        )
    return experiment


def _search_all(client: MlflowClient, experiment_id: str) -> list[Run]:
    runs: list[Run] = []
    token = None
    while True:
        page = client.search_runs(
            [experiment_id],
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=PAGE,
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _run_row(source: Source, run: Run, identity: RunIdentity) -> dict[str, Any]:
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    recorded_key = tags.get(Tag.RUN_KEY, run.info.run_id)
    row: dict[str, Any] = {
        "study": source.name,
        "run_id": run.info.run_id,
        "run_name": run.info.run_name or run.info.run_id[:8],
        # A pruned search trial ends FINISHED in MLflow; the report keeps it out of comparisons.
        "status": PRUNED if tags.get(Tag.PRUNED) == "true" else run.info.status,
        "start_time": run.info.start_time,
        "end_time": run.info.end_time,
        "run_key": identity.key_of(recorded_key, tags.get(Tag.env("backend"))),
        "study_tag": tags.get(Tag.STUDY),
        "cell": params.get("cell", tags.get(Tag.CELL)),
        "direction": tags.get(Tag.DIRECTION)
        or ("bidirectional" if params.get("bidirectional") == "True" else "unidirectional"),
        "depth": params.get("layers", tags.get(Tag.DEPTH)),
    }
    row.update({f"param.{k}": v for k, v in params.items() if not k.startswith("optimizer_")})
    row.update({k: v for k, v in tags.items() if k.startswith(Tag.ENV_PREFIX)})
    row["kernel"] = tags.get(Tag.exec("kernel"), "")  # the recurrent kernel it ran
    row.update({k: metrics.get(k) for k in FINAL_METRICS})
    return row


def _typed(runs: pd.DataFrame) -> pd.DataFrame:
    runs = runs.copy()
    runs["depth"] = pd.to_numeric(runs["depth"], errors="coerce").astype("Int64")
    for name, kind in NUMERIC_PARAMS.items():
        column = f"param.{name}"
        if column in runs:
            runs[column] = pd.to_numeric(runs[column], errors="coerce")
            if kind is int:
                runs[column] = runs[column].astype("Int64")
    for column in FINAL_METRICS:
        runs[column] = pd.to_numeric(runs[column], errors="coerce")
    # A FINISHED run without its final numbers (logged by hand, or cut short between its
    # last metric and its end) is no result: listed apart, never ranked or counted as a seed.
    no_result = (runs["status"] == Status.FINISHED) & runs[list(RESULT_METRICS)].isna().any(axis=1)
    runs.loc[no_result, "status"] = NO_RESULT
    runs["seed"] = runs.get("param.seed", pd.Series(0, index=runs.index))
    runs["seconds_per_epoch"] = runs["train_seconds"] / runs["epochs_trained"]
    for column in ("start_time", "end_time"):
        runs[column] = pd.to_datetime(runs[column], unit="ms", utc=True)
    return runs


def _curves(client: MlflowClient, run_ids: list[str], metrics: Sequence[str]) -> pd.DataFrame:
    """Every curve point of the given runs, in a handful of bulk queries.

    SQL stores answer `get_metric_history_bulk` with one query per metric for many runs; a
    tracking server answers the bulk-interval endpoint, one request per 100 runs per metric.
    One `get_metric_history` call per run per metric is what this avoids.
    """
    rows = []
    for start in range(0, len(run_ids), BULK_CHUNK):
        chunk = run_ids[start : start + BULK_CHUNK]
        for metric in metrics:  # the measure's, and epoch seconds: how fast each learns
            points = _metric_history_bulk(client, chunk, metric)
            rows.extend((p.run_id, metric, p.step, p.value, p.timestamp) for p in points)
    curves = pd.DataFrame(rows, columns=["run_id", "metric", "step", "value", "timestamp"])
    # A metric logged twice at one step (a resumed run) keeps its latest value.
    curves = curves.sort_values("timestamp").drop_duplicates(
        ["run_id", "metric", "step"], keep="last"
    )
    # Steps are epochs from 1; runs recorded before that counted from 0 (their first step is
    # 0), and are shifted so every run's curve starts at epoch 1.
    first_step = curves.groupby("run_id")["step"].transform("min")
    curves["epoch"] = curves["step"] + (first_step == 0).astype(int)
    return curves.drop(columns="timestamp").reset_index(drop=True)


def _metric_history_bulk(
    client: MlflowClient, run_ids: list[str], metric: str
) -> list[MetricPoint]:
    """Every point of `metric` for up to BULK_CHUNK runs, in one store request.

    Private access, on purpose and only here: MLflow 3.17's public client reads one run's
    history per call (`MlflowClient.get_metric_history`; a bulk call is still a feature
    request, mlflow/mlflow#7365). The bulk reads live on the store behind the client.
    """
    store = client._tracking_client.store
    if hasattr(store, "get_metric_history_bulk"):  # SQL stores
        return store.get_metric_history_bulk(run_ids, metric, max_results=2_000_000)
    return store.get_metric_history_bulk_interval(run_ids, metric, 2500, None, None)  # REST


def _empty_curves() -> pd.DataFrame:
    return pd.DataFrame(columns=["run_id", "metric", "step", "value", "epoch"])
