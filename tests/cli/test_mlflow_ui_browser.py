"""MLflow's own UI on a study the suite tracked: a tiny grid trained through the CLI into a
SQLite store, a real `mlflow server` on it, and headless Chromium (Debian's package) reading
the experiment's runs table, one run's curves and its logged model."""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from mlflow.tracking import MlflowClient
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from suite.record.ui_links import ui_url
from tests.conftest import CHROMIUM, FLAGS, SCREENSHOT_DIR, run_cli, store_uri, study_file
from tests.helpers.servers import mlflow_server

pytestmark = pytest.mark.slow
expect.set_options(timeout=20_000)  # the SPA fetches, then renders; a loaded CI host is slow

EXPERIMENT = "uitracked"
EPOCHS = 3
SIZES = {"train": 128, "validation": 64, "test": 64}
LABELS = ("lstm-uni-1L-s0", "gru-uni-1L-s0")
CONTEXTS = {"train": "training", "validation": "validation", "test": "testing"}


@dataclass
class Tracked:
    url: str  # the MLflow server's
    client: MlflowClient  # the SQLite store, read directly
    experiment_id: str
    runs: dict[str, Any]  # run name -> mlflow Run, the study's child runs
    root: Path


@pytest.fixture(scope="module")
def tracked(tmp_path_factory) -> Iterator[Tracked]:
    """Two runs (LSTM, GRU) of 3 epochs on tiny slices, trained by the CLI, served by MLflow."""
    root = tmp_path_factory.mktemp("mlflow-ui")
    uri = store_uri(root)
    study = {
        "name": EXPERIMENT,
        "data": {
            "view": "rows",
            "validation": "holdout",
            "validation_size": SIZES["validation"],
            "train_size": SIZES["train"],
            "test_size": SIZES["test"],
        },
        "model": {"units": 4},
        "training": {"epochs": EPOCHS, "batch_size": 64},
        "grid": {"cell": ["lstm", "gru"]},
        "tracking": {"log_model": True, "log_plots": True},
    }
    path = study_file(root, study, base={})
    trained = run_cli(path, cwd=root)
    assert trained.returncode == 0, trained.stderr
    assert "2 runs, 0 done before, 2 to train" in trained.stdout

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    runs = {
        r.info.run_name: r
        for r in client.search_runs(
            [experiment.experiment_id], filter_string="tags.suite_role = 'run'"
        )
    }
    assert set(runs) == set(LABELS)
    with mlflow_server(uri, root / "mlruns" / "artifacts") as url:
        yield Tracked(url, client, experiment.experiment_id, runs, root)


@contextlib.contextmanager
def browser_page(errors: list[str]) -> Iterator[Page]:
    assert Path(CHROMIUM).exists(), "install Debian's chromium (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(30_000)
            page.on("pageerror", lambda e: errors.append(str(e)))
            yield page
        finally:
            browser.close()


def test_runs_record_datasets_and_confusion_matrix(tracked):
    """What the UI's Dataset column and Artifacts tab read, straight from the store."""
    client = tracked.client
    for label, run in tracked.runs.items():
        inputs = {}
        for dataset_input in run.inputs.dataset_inputs:
            tags = {t.key: t.value for t in dataset_input.tags}
            inputs[dataset_input.dataset.name] = (tags["mlflow.data.context"], tags["images"])
        assert inputs == {
            f"mnist-rows-{split}": (CONTEXTS[split], str(size)) for split, size in SIZES.items()
        }, label

        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"confusion_matrix.png", "confusion_matrix.json"} <= artifacts, label
        out = tracked.root / "downloads" / label
        out.mkdir(parents=True)
        matrix_file = client.download_artifacts(run.info.run_id, "confusion_matrix.json", str(out))
        confusion = json.loads(Path(matrix_file).read_text())
        assert confusion["labels"] == list(range(10))
        rows = confusion["rows_true_columns_predicted"]
        assert len(rows) == 10 and all(len(row) == 10 for row in rows)
        assert all(isinstance(n, int) and n >= 0 for row in rows for n in row)
        assert sum(map(sum, rows)) == SIZES["test"]
        # The diagonal over the total is the test accuracy the run logged.
        accuracy = sum(rows[i][i] for i in range(10)) / SIZES["test"]
        assert accuracy == pytest.approx(run.data.metrics["test_accuracy"])
        image = client.download_artifacts(run.info.run_id, "confusion_matrix.png", str(out))
        with Image.open(image) as png:
            assert png.format == "PNG" and min(png.size) > 100


def test_the_link_the_suite_prints_opens_on_training_runs(tracked):
    """MLflow 3.17's UI shows an experiment's GenAI pages unless the link (or the browser's
    last choice) asks for model training; the suite's links ask. The experiment also carries
    the kind tag, which UIs without the GenAI switch read."""
    experiment = tracked.client.get_experiment(tracked.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    link = ui_url(tracked.url, tracked.experiment_id)
    errors: list[str] = []
    with browser_page(errors) as page:
        page.goto(link)
        with contextlib.suppress(PlaywrightTimeout):  # a first-visit hint covers the page
            page.get_by_role("button", name="Got it").click(timeout=10_000)
        expect(page.get_by_role("columnheader", name="Run Name").first).to_be_visible()
        expect(page.locator("[role=row]", has_text=EXPERIMENT).first).to_be_visible()
        landed = urlparse(page.url).fragment
    assert errors == []
    assert landed.startswith(f"/experiments/{tracked.experiment_id}/runs"), landed
    assert "workflowType=genai" not in landed and "overview" not in landed, landed


def open_training_runs(page: Page, tracked: Tracked) -> None:
    """The experiment, as a user reaches it from the UI's own list: it lands on its GenAI
    pages (see the test above); the user picks "Model training", which the browser then
    remembers."""
    eid = tracked.experiment_id
    page.goto(f"{tracked.url}/#/experiments/{eid}")
    with contextlib.suppress(PlaywrightTimeout):  # a first-visit hint covers the page
        page.get_by_role("button", name="Got it").click(timeout=10_000)
    page.locator("[role=button]", has_text="Model training").click()
    page.wait_for_url(re.compile(rf"#/experiments/{eid}/runs\?.*workflowType=machine_learning"))
    expect(page.get_by_role("columnheader", name="Run Name").first).to_be_visible()


def check_runs_table(page: Page, tracked: Tracked) -> None:
    """The study's parent run holds the runs, each linked with its logged model and its
    training split."""
    eid = tracked.experiment_id
    parent_row = page.locator("[role=row]", has_text=EXPERIMENT).first
    parent_row.locator("button[data-component-id*=runnamecellrenderer]").click()
    for name, each in tracked.runs.items():
        link = page.locator(f'a[href="#/experiments/{eid}/runs/{each.info.run_id}"]')
        expect(link).to_have_text(name)
    # The Models column links each run's logged model, named by the run's label.
    models = {m.source_run_id: m for m in tracked.client.search_logged_models(experiment_ids=[eid])}
    for name, each in tracked.runs.items():
        logged = models[each.info.run_id]
        link = page.locator(f'a[href="#/experiments/{eid}/models/{logged.model_id}"]')
        expect(link).to_have_text(name)
    # The Dataset column names each run's training split.
    expect(page.get_by_text(re.compile(r"^mnist-rows-train \(\w+\)$"))).to_have_count(2)
    landed = urlparse(page.url).fragment
    assert landed.startswith(f"/experiments/{eid}/runs?"), page.url
    assert "overview" not in landed and "traces" not in landed
    expect(page.get_by_role("tab", name="Usage")).to_have_count(0)  # GenAI overview's tab
    page.screenshot(path=str(SCREENSHOT_DIR / "mlflow-runs.png"))


def draw_run_curve(page: Page, tracked: Tracked, label: str, histories: dict) -> None:
    """One run's page, its val_accuracy chart drawn (the chart's requests land in histories)."""
    eid, run_id = tracked.experiment_id, tracked.runs[label].info.run_id
    page.locator(f'a[href="#/experiments/{eid}/runs/{run_id}"]').click()
    page.wait_for_url(re.compile(rf"#/experiments/{eid}/runs/{run_id}"))
    expect(page.get_by_role("heading", name=label)).to_be_visible()
    page.get_by_role("tab", name="Model metrics").click()
    page.get_by_placeholder("Search metric charts").fill("val_accuracy")
    expect(page.get_by_text(f"{label} (val_accuracy)", exact=True)).to_be_visible()
    deadline = time.monotonic() + 30
    while "val_accuracy" not in histories and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    page.screenshot(path=str(SCREENSHOT_DIR / "mlflow-run.png"))


def model_metric_cells(page: Page, tracked: Tracked, model, label: str) -> list[str]:
    """The logged model's page, named by the run's label: its test_accuracy row's cells."""
    page.goto(f"{tracked.url}/#/experiments/{tracked.experiment_id}/models/{model.model_id}")
    expect(page.get_by_role("heading", name=label)).to_be_visible()
    expect(page.get_by_text(model.model_id, exact=True)).to_be_visible()
    page.get_by_placeholder("Search metrics").fill("test_accuracy")
    row = page.get_by_role("row").filter(has_text="test_accuracy")
    expect(row).to_have_count(1)
    cells = row.get_by_role("cell").all_inner_texts()
    page.screenshot(path=str(SCREENSHOT_DIR / "mlflow-model.png"))
    return cells


def test_mlflow_ui_shows_runs_curves_and_logged_model(tracked):
    eid = tracked.experiment_id
    label = "lstm-uni-1L-s0"
    run = tracked.runs[label]
    run_id = run.info.run_id
    (model,) = [
        m
        for m in tracked.client.search_logged_models(experiment_ids=[eid])
        if m.source_run_id == run_id
    ]
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    histories: dict[str, list[dict]] = {}  # metric -> points, as the UI's chart requests got them

    def capture(response) -> None:
        if "/metrics/get-history" not in response.url or response.status != 200:
            return
        query = parse_qs(urlparse(response.url).query)
        if run_id in query.get("run_ids", query.get("run_id", [])):
            points = [p for p in response.json().get("metrics", []) if p["run_id"] == run_id]
            histories[query["metric_key"][0]] = points

    errors: list[str] = []
    with browser_page(errors) as page:
        page.on("response", capture)
        open_training_runs(page, tracked)
        check_runs_table(page, tracked)
        draw_run_curve(page, tracked, label, histories)
        cells = model_metric_cells(page, tracked, model, label)
    assert errors == []

    # The curve the run page drew: val_accuracy at epochs 1, 2, 3, as the store holds it.
    stored = tracked.client.get_metric_history(run_id, "val_accuracy")
    assert "val_accuracy" in histories, sorted(histories)
    drawn = sorted(histories["val_accuracy"], key=lambda p: p["step"])
    assert [p["step"] for p in drawn] == [1, 2, 3]
    assert [p["value"] for p in drawn] == [m.value for m in sorted(stored, key=lambda m: m.step)]
    assert sorted(m.step for m in stored) == list(range(1, EPOCHS + 1))

    # The model page's metrics table: the run's test accuracy, from its source run.
    test_accuracy = run.data.metrics["test_accuracy"]
    assert cells[0] == "test_accuracy" and label in cells, cells
    assert float(cells[-1]) == pytest.approx(test_accuracy, abs=5e-5), cells

    # The logged model itself: named by the label, linked to the final metrics at the last
    # epoch's step.
    assert model.name == label == run.info.run_name
    linked = {m.key: m for m in model.metrics}
    assert linked["test_accuracy"].step == EPOCHS
    assert linked["test_accuracy"].value == pytest.approx(test_accuracy)
    assert linked["val_accuracy"].step == EPOCHS
    assert linked["val_accuracy"].value == pytest.approx(drawn[-1]["value"])
