"""The study's child runs that MLflow holds as RUNNING, with the trial and run_key each was
created with: what a dead worker or a store's fault left behind, for the next invocation."""

from __future__ import annotations

from dataclasses import dataclass

from mlflow.tracking import MlflowClient

from suite.schema import Role, Status, Tag


@dataclass(frozen=True)
class LeftRunning:
    """A child run MLflow holds as RUNNING: its id, its trial's number and its run_key."""

    run_id: str
    trial_number: int | None
    run_key: str | None


def running_child_runs(client: MlflowClient, experiment_id: str, study: str) -> list[LeftRunning]:
    """The study's runs that MLflow holds as RUNNING (one query), with the trial number and
    run_key they were created with: tags written with the run itself, so they are there
    even when a fault cut the run short before its trial learned its id."""
    found = client.search_runs(
        [experiment_id],
        filter_string=(
            f"attributes.status = '{Status.RUNNING}' and tags.{Tag.ROLE} = '{Role.RUN}'"
            f" and tags.{Tag.STUDY} = '{study}'"
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


def _trial_number(tag: str | None) -> int | None:
    return int(tag) if tag is not None and tag.isdigit() else None
