"""The grid is expanded once per invocation (DESIGN.md: "Study --expand once--> [RunSpec ...]"):
`python -m suite.run` and `python -m suite.report` each expand a study's grid once, and every
part of them (the file's budget check, the worker count, the plan, the queue, the record, the
summary) reads that one list.

Counted by wrapping `suite.study.grid.expand` in this process around the commands' own `main`:
a dry run, a real run of a tiny race (its summary reads the race again) and its report."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import suite.study.grid
from suite.report.__main__ import main as report_main
from suite.study.file import load_study
from suite.study.grid import seed_values

# Every module of an invocation that may expand the grid, imported now so the wrapper below
# reaches a name any of them imported with `from suite.study.grid import expand`.
INVOCATION_MODULES = (
    "suite.cli.main",
    "suite.cli.output",
    "suite.forecast.memory",
    "suite.forecast.plan",
    "suite.queue.queue_storage",
    "suite.queue.run_queue",
    "suite.report.__main__",
    "suite.study.file",
    "suite.worker.local_processes",
    "suite.worker.loop",
    "suite.worker.grid_source",
    "suite.worker.race_source",
    "suite.worker.search_source",
    "suite.worker.sources",
)


@pytest.fixture
def expansions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of the study each call of `expand` expanded, in this test."""
    calls: list[str] = []
    real = suite.study.grid.expand

    def counted(study: Any) -> Any:
        calls.append(study.name)
        return real(study)

    for name in INVOCATION_MODULES:
        importlib.import_module(name)
    for module in list(sys.modules.values()):
        if getattr(module, "expand", None) is real:
            monkeypatch.setattr(module, "expand", counted)
    return calls


def _race_file(tmp_path: Path) -> Path:
    """Two GRU/LSTM configurations sized to a budget of 2,000 weights (the file check sizes
    each), raced over exactly two seeds: four tiny runs."""
    study = {
        "name": "once",
        "data": {"train_size": 128, "validation_size": 64, "test_size": 64},
        "training": {"epochs": 1, "batch_size": 32},
        "grid": {"cell": ["gru", "lstm"], "params": [2000]},
        "race": {"min_seeds": 2, "max_seeds": 2},
        "tracking": {
            "uri": f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}",
            "log_model": False,
            "log_plots": False,
            "system_metrics": False,
        },
        "storage": str(tmp_path / "mlruns" / "optuna.journal"),
    }
    path = tmp_path / "once.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def test_a_dry_run_expands_the_grid_once(tmp_path, expansions):
    from suite.cli.main import main

    path = _race_file(tmp_path)
    assert main([str(path), "--dry-run", "--workers", "2"]) == 0
    assert expansions == ["once"]


def test_a_run_and_its_report_each_expand_the_grid_once(tmp_path, expansions):
    from suite.cli.main import main

    path = _race_file(tmp_path)
    assert main([str(path)]) == 0
    assert expansions == ["once"]
    expansions.clear()
    out = tmp_path / "once.html"
    assert report_main([str(path), "--out", str(out), "--no-log"]) == 0
    assert out.is_file()
    assert expansions == ["once"]


@pytest.mark.parametrize(
    ("extra", "seeds"),
    [
        ({}, [0]),
        ({"grid": {"cell": ["gru"], "seed": [3, 1]}}, [3, 1]),
        ({"race": {"min_seeds": 2, "max_seeds": 4}}, [0, 1, 2, 3]),
    ],
)
def test_the_seeds_of_each_configuration(tmp_path, extra, seeds):
    study = {"grid": {"cell": ["gru"]}, **extra}
    path = tmp_path / "seeds.yaml"
    path.write_text(yaml.safe_dump(study))
    assert seed_values(load_study(path)) == seeds
