"""The study's MLflow experiment: where its artifacts live, found or created (tagged as the
suite's), and how to browse it in MLflow's UI."""

from __future__ import annotations

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from suite.record.ui_links import LOCAL_UI, ui_url
from suite.schema import EXPERIMENT_KIND, Role, Tag
from suite.stores.checks import refuse_if_deleted
from suite.stores.experiment import existing_experiment
from suite.stores.locations import artifacts_folder, sqlite_path, store_folder
from suite.study.config import Study


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
    # An absolute location: MLflow records it as is.
    return None if db is None else artifacts_folder(store_folder(db) / db.name).as_uri()


def experiment_artifact_location(uri: str, experiment: str) -> str | None:
    root = default_artifact_root(uri)
    return None if root is None else f"{root}/{experiment}"


def study_experiment_id(client: MlflowClient, name: str, uri: str) -> str:
    """The id of the study's experiment, created if it does not exist yet."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(
                name,
                artifact_location=experiment_artifact_location(uri, name),
                tags={Tag.ROLE: Role.STUDY, **EXPERIMENT_KIND},
            )
        except MlflowException as err:  # another worker created it a moment ago
            if err.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment = client.get_experiment_by_name(name)
    refuse_if_deleted(experiment, uri)  # deleted since the check before the study began
    for key, value in EXPERIMENT_KIND.items():  # experiments made before the tag existed
        if experiment.tags.get(key) != value:
            client.set_experiment_tag(experiment.experiment_id, key, value)
    return experiment.experiment_id
