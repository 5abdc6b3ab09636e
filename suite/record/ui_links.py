"""Links into MLflow's UI: pure string formats, shared by the CLI's hints and the report."""

from __future__ import annotations

# MLflow 3.17's UI shows an experiment's GenAI or model-training pages as the link's
# `workflowType` says, else as the browser last chose (GenAI at first); the experiment kind tag
# is read only where that switch is off. Links the suite prints ask for the training pages.
UI_WORKFLOW = "workflowType=machine_learning"
LOCAL_UI = "http://127.0.0.1:5000"  # where `mlflow ui` serves by default


def ui_url(base: str, experiment_id: str, run_id: str | None = None) -> str:
    """The MLflow UI's page of an experiment's training runs, or of one run."""
    page = f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs"
    return f"{page}/{run_id}?{UI_WORKFLOW}" if run_id else f"{page}?{UI_WORKFLOW}"
