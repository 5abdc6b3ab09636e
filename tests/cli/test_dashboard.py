"""optuna-dashboard on a grid study the suite trained: the real CLI serves the study's Optuna
journal file on loopback, and its JSON API (what the dashboard's pages draw) is read back."""

from __future__ import annotations

import contextlib
import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import free_port, run_cli, store_uri, study_file
from tests.helpers.servers import background_server

pytestmark = pytest.mark.slow

GRID = {"cell": ["lstm", "gru"], "layers": [1, 2]}
LABEL = re.compile(
    r"^(?P<cell>simple_rnn|lstm|gru)-(?P<direction>uni|bi)-(?P<layers>\d+)L-s(?P<seed>\d+)$"
)


def get_json(url: str) -> tuple[int, Any]:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.status, json.loads(answer.read())


@contextlib.contextmanager
def optuna_dashboard(storage: Path, log: Path) -> Iterator[str]:
    """`optuna-dashboard STORAGE` on a free loopback port; yields its URL once the API answers."""
    port = free_port()
    dashboard = Path(sys.executable).with_name("optuna-dashboard")
    command = [str(dashboard), str(storage), "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    ready = f"{url}/api/studies"
    with background_server(command, ready_url=ready, log=log, name="optuna-dashboard"):
        yield url


@pytest.fixture(scope="module")
def grid_study(tmp_path_factory) -> dict[str, Any]:
    """A 2 x 2 grid (cell x layers), one epoch on tiny slices, trained through the CLI."""
    root = tmp_path_factory.mktemp("dashboard")
    uri, journal = store_uri(root), root / "mlruns" / "optuna.journal"
    study = {
        "name": "dash",
        "data": {
            "view": "rows",
            "validation": "holdout",
            "validation_size": 64,
            "train_size": 128,
            "test_size": 64,
        },
        "model": {"units": 4},
        "training": {"epochs": 1, "batch_size": 64},
        "grid": GRID,
        "tracking": {"log_model": False, "log_plots": False, "system_metrics": False},
    }
    path = study_file(root, study, name="dash.yaml", base={})
    trained = run_cli(path, cwd=root)
    assert trained.returncode == 0, trained.stderr
    assert "4 runs, 0 done before, 4 to train" in trained.stdout
    return {"root": root, "journal": journal, "uri": uri}


def test_dashboard_shows_grid_points_importances_and_objective(grid_study):
    root, journal = grid_study["root"], grid_study["journal"]
    assert journal.is_file()
    with optuna_dashboard(journal, root / "optuna-dashboard.log") as url:
        status, studies = get_json(f"{url}/api/studies")
        assert status == 200
        (summary,) = studies["study_summaries"]
        assert summary["study_name"] == "dash" and summary["directions"] == ["maximize"]
        study_id = summary["study_id"]

        status, importances = get_json(f"{url}/api/studies/{study_id}/param_importances")
        assert status == 200
        (per_objective,) = importances["param_importances"]  # one objective
        assert {item["name"] for item in per_objective} == set(GRID)
        assert {item["name"]: item["distribution"] for item in per_objective} == {
            "cell": "CategoricalDistribution",
            "layers": "IntDistribution",
        }
        assert all(item["importance"] >= 0 for item in per_objective)
        assert sum(item["importance"] for item in per_objective) == pytest.approx(1.0)

        status, detail = get_json(f"{url}/api/studies/{study_id}?after=0")
        assert status == 200

    assert detail["name"] == "dash"
    assert detail["objective_names"] == ["best val_accuracy"]
    assert {p["name"] for p in detail["union_search_space"]} == set(GRID)
    assert {p["name"] for p in detail["intersection_search_space"]} == set(GRID)

    trials = detail["trials"]
    assert [t["state"] for t in trials] == ["Complete"] * 4
    client = MlflowClient(grid_study["uri"])
    seen = set()
    for trial in trials:
        attrs = {a["key"]: a["value"] for a in trial["user_attrs"]}
        # Attributes stay short: the dashboard shows each on one line.
        too_long = {k: len(v) for k, v in attrs.items() if len(str(v)) > 200}
        assert too_long == {}, too_long
        point = LABEL.match(attrs["label"])
        assert point, attrs["label"]
        params = {p["name"]: p["param_external_value"] for p in trial["params"]}
        assert params == {"cell": point["cell"], "layers": point["layers"]}, attrs["label"]
        assert point["direction"] == "uni" and point["seed"] == "0"
        assert trial["fixed_params"] == []
        seen.add((params["cell"], int(params["layers"])))

        # The trial's value and params agree with the MLflow run it points at.
        run = client.get_run(attrs["mlflow_run_id"])
        assert run.info.run_name == attrs["label"] and run.info.status == "FINISHED"
        assert run.data.params["cell"] == params["cell"]
        assert run.data.params["layers"] == params["layers"]
        assert run.data.tags["run_key"] == attrs["run_key"]
        assert trial["values"] == [pytest.approx(run.data.metrics["best_val_accuracy"])]
        assert attrs["epochs"] == "1"
        assert [v["step"] for v in trial["intermediate_values"]] == [1]  # epochs from 1
    assert seen == {(cell, layers) for cell in GRID["cell"] for layers in GRID["layers"]}
