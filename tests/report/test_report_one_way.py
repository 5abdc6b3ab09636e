"""The report is one-way: collect reads every store, build reads only what collect returned.

The proof: collect from real stores (MLflow SQLite + artifacts, an Optuna journal), delete
them, then build the whole report, with the stores' clients made to fail if anything opens one.
"""

from __future__ import annotations

import ast
import shutil
import warnings
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.distributions import CategoricalDistribution
from optuna.study import StudyDirection
from optuna.trial import TrialState, create_trial

from suite.record.ui_links import ui_url
from suite.report.build import build_report
from suite.report.collect import Source, collect
from suite.report.content import Figure, Note, Report, Section, Table
from suite.schema import Objective, TrialAttr
from tests.helpers.synthetic_store import SyntheticRun, default_curve, make_store

REPORT = Path(__file__).resolve().parents[2] / "suite" / "report"
MLFLOW_URL = "http://mlflow.example:5000"

# The grid: lstm-bi-1L validates best (mean 0.971), and its seed 1 is its best run (0.972).
GRID = [
    SyntheticRun("lstm", True, 1, 0, 0.970),
    SyntheticRun("lstm", True, 1, 1, 0.972),
    SyntheticRun("gru", False, 1, 0, 0.930),
    SyntheticRun("gru", False, 1, 1, 0.935),
]
# The search minimises val_loss: gru validates higher on accuracy, lstm lower on loss, so the
# best run is lstm-uni-1L-s0 only if collect and build both rank by the search's objective.
SEARCH = [
    SyntheticRun("gru", False, 1, 0, 0.90, val_accuracy=0.95),
    SyntheticRun("lstm", False, 1, 0, 0.92, val_accuracy=0.91),
]
VAL_LOSS = {"gru": 0.10, "lstm": 0.08}  # each search run's lowest (last-epoch) val_loss


def search_curve(run: SyntheticRun, metric: str, epoch: int, epochs: int) -> float:
    if metric == "val_loss":
        return VAL_LOSS[run.cell] + 0.01 * (epochs - epoch)
    return default_curve(run, metric, epoch, epochs)


def make_search_journal(path: Path, run_ids: dict[str, str]) -> None:
    """The search's Optuna study as the suite leaves it: minimising val_loss, one trial per
    run (value = its lowest val_loss), and one pruned trial."""
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    study = optuna.create_study(study_name="searched", storage=storage, direction="minimize")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["val_loss"])  # as the suite names a search's objective
    cell = {"cell": CategoricalDistribution(["gru", "lstm"])}
    for name in ("gru", "lstm"):
        label = f"{name}-uni-1L-s0"
        study.add_trial(
            create_trial(
                params={"cell": name},
                distributions=cell,
                value=VAL_LOSS[name],
                user_attrs={TrialAttr.LABEL: label, TrialAttr.MLFLOW_RUN_ID: run_ids[label]},
            )
        )
    study.add_trial(
        create_trial(params={"cell": "gru"}, distributions=cell, state=TrialState.PRUNED)
    )


@pytest.fixture
def stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Both studies in one SQLite store under tmp_path/mlruns, its artifacts and the Optuna
    journal beside it: deleting tmp_path/mlruns deletes every store."""
    monkeypatch.chdir(tmp_path)  # MLflow puts a SQLite store's artifacts under ./mlruns
    (tmp_path / "mlruns").mkdir()
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    grid = make_store(uri, GRID, experiment="grid", study="grid", epochs=4)
    search = make_store(
        uri, SEARCH, experiment="searched", study="searched", epochs=4, curve=search_curve
    )
    journal = tmp_path / "mlruns" / "optuna.journal"
    make_search_journal(journal, search)
    client = MlflowClient(uri)
    experiments = {n: client.get_experiment_by_name(n).experiment_id for n in ("grid", "searched")}
    assert Path(client.get_experiment_by_name("grid").artifact_location).is_relative_to(tmp_path)
    return {
        "uri": uri,
        "journal": str(journal),
        "grid": grid,
        "search": search,
        "experiments": experiments,
    }


def sections(report: Report) -> dict[str, Section]:
    found: dict[str, Section] = {}

    def walk(children: list[Section]) -> None:
        for section in children:
            found[section.key] = section
            walk(section.children)

    walk(report.sections)
    return found


def blocks(section: Section) -> dict[str, Table | Figure]:
    return {b.key: b for b in section.blocks if isinstance(b, Table | Figure)}


def refuse_store_access(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any MLflow client or Optuna storage opened from here on fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("build opened a store")

    monkeypatch.setattr(MlflowClient, "__init__", refuse)
    monkeypatch.setattr(optuna, "load_study", refuse)
    monkeypatch.setattr(optuna.storages.journal.JournalFileBackend, "__init__", refuse)


def test_build_reads_nothing_but_what_collect_returned(tmp_path, stores, monkeypatch):
    sources = [
        Source("grid", "grid", stores["uri"]),
        Source(
            "searched", "searched", stores["uri"], None, stores["journal"], Objective("val_loss")
        ),
    ]
    collected = collect(sources)
    # Collect read what build will show, and only that: one confusion matrix per study (the
    # best run's), not one per run.
    best_grid, best_search = stores["grid"]["lstm-bi-1L-s1"], stores["search"]["lstm-uni-1L-s0"]
    assert set(collected.confusions) == {best_grid, best_search}
    assert collected.confusions[best_grid][3][3] == 90  # the synthetic matrix's diagonal
    assert collected.experiment_ids == stores["experiments"]
    search = collected.searches["searched"]
    assert search.directions == [StudyDirection.MINIMIZE]
    assert search.metric_names == ["val_loss"]
    assert [t.state for t in search.trials] == [
        TrialState.COMPLETE,
        TrialState.COMPLETE,
        TrialState.PRUNED,
    ]

    shutil.rmtree(tmp_path / "mlruns")  # the SQLite store, its artifacts, the journal
    refuse_store_access(monkeypatch)
    report = build_report(collected, mlflow_url=MLFLOW_URL)
    assert not (tmp_path / "mlruns").exists()  # nothing opened (and so re-created) a store

    found = sections(report)
    headline = found["grid"].blocks[0]
    assert isinstance(headline, Note)
    assert headline.text.startswith("Best configuration by validation: lstm-bi-1L")
    assert "test accuracy 0.9710" in headline.text  # mean of 0.970 and 0.972
    leaderboard = blocks(found["grid-leaderboard"])["grid-leaderboard"]
    assert isinstance(leaderboard, Table)
    assert [row[1] for row in leaderboard.rows] == ["lstm-bi-1L", "gru-uni-1L"]
    assert leaderboard.links[0] == ui_url(MLFLOW_URL, stores["experiments"]["grid"], best_grid)

    best = found["grid-best-run"]
    assert best.title == "Best run: lstm-bi-1L-s1"
    confusion = blocks(best)["grid-confusion"]
    assert isinstance(confusion, Figure)
    assert confusion.uri.startswith("data:image/png;base64,")

    # The search ranks by its objective: lowest val_loss, not highest val accuracy.
    assert found["searched-best-run"].title == "Best run: lstm-uni-1L-s0"
    facts = dict(blocks(found["searched-best-run"])["searched-best-run"].rows)
    assert facts["lowest val loss"] == "0.0800"
    assert "searched-confusion" in blocks(found["searched-best-run"])
    search_blocks = blocks(found["searched-search"])
    counts = dict(search_blocks["searched-search-counts"].rows)
    assert (counts["complete"], counts["pruned"], counts["running"]) == ("2", "1", "0")
    best_trial = dict(search_blocks["searched-search-best"].rows)
    assert best_trial == {"trial": "1", "value": "0.0800", "run": "lstm-uni-1L-s0", "cell": "lstm"}
    assert isinstance(search_blocks["searched-search-history"], Figure)


def test_a_missing_optuna_storage_is_said_and_never_created(tmp_path, stores):
    missing = tmp_path / "elsewhere" / "optuna.journal"
    source = Source(
        "searched", "searched", stores["uri"], None, str(missing), Objective("val_loss")
    )
    collected = collect([source])
    assert collected.searches == {}
    assert not missing.parent.exists()
    search = sections(build_report(collected))["searched-search"]
    assert [b.tone for b in search.blocks] == ["warning"]
    assert search.blocks[0].text.startswith(f"No Optuna study 'searched' in {missing}")


def test_build_and_the_sections_import_no_store_client():
    """A static guard beside the proof above: the modules after collect name no store API."""
    forbidden_modules = ("mlflow", "suite.queue", "suite.report.collect_search")
    forbidden_names = {"MlflowClient", "load_study", "open_storage", "load_confusion"}
    modules = [REPORT / "build.py", *sorted((REPORT / "sections").glob("*.py"))]
    assert len(modules) >= 6
    for path in modules:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                imported = [node.module or ""]
                assert not {a.name for a in node.names} & forbidden_names, path
            else:
                if isinstance(node, ast.Name | ast.Attribute):
                    name = node.id if isinstance(node, ast.Name) else node.attr
                    assert name not in forbidden_names, (path, name)
                continue
            assert not [m for m in imported if m.startswith(forbidden_modules)], (path, imported)
