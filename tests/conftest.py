"""Shared helpers: tiny study files under tmp_path, and the CLI run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

TINY_STUDY: dict[str, Any] = {
    "name": "tiny",
    "data": {"train_size": 128, "validation_size": 64, "test_size": 64},
    "model": {"units": 4},
    "training": {"epochs": 2, "batch_size": 32},
    "grid": {"cell": ["gru"], "bidirectional": [False, True]},
    "tracking": {"log_model": True},
}


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@pytest.fixture
def write_study(tmp_path: Path):
    """Write a study YAML whose tracking store and Optuna storage live under tmp_path."""

    def write(changes: dict[str, Any] | None = None, *, name: str = "study.yaml") -> Path:
        study = deep_merge(TINY_STUDY, changes or {})
        study = deep_merge(
            study,
            {
                "tracking": {"uri": f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"},
                "storage": str(tmp_path / "mlruns" / "optuna.journal"),
            },
        )
        path = tmp_path / name
        path.write_text(yaml.safe_dump(study, sort_keys=False))
        return path

    return write


def run_cli(
    *args: str | Path,
    cwd: Path,
    timeout: float = 300,
    module: str = "suite.run",
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """`python -m suite.run ARGS` (or another module) in a fresh process, as a user types it,
    with `env` added to the environment."""
    env = {**os.environ, "COLUMNS": "160", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def report_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m suite.report ARGS` in a fresh process."""
    return run_cli(*args, cwd=cwd, module="suite.report")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test fails the run: every test here must run (Chromium and PostgreSQL are
    provided by tests/run), so a skip would hide a missing part behind a green result."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter.write_line(f"{len(skipped)} test(s) skipped: every test must run", red=True)
