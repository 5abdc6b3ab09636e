"""Shared helpers: tiny study files under tmp_path, the CLI run as a user runs it, one RunSpec
builder, and what several test modules read back from a store or a refusal.

Test modules import from here and from the helper modules beside it (synthetic_store,
servers, report_helpers), never from one another."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient

from suite.schema import Role, Tag
from suite.study.data_config import DataConfig
from suite.study.file import load_study
from suite.study.grid import expand
from suite.study.run_spec import RunSpec
from suite.study.sections import ModelConfig, TrainingConfig
from tests.helpers.warm_cli import WarmProcess, WarmServer

ROOT = Path(__file__).resolve().parents[1]

TINY_STUDY: dict[str, Any] = {
    "name": "tiny",
    "data": {"train_size": 128, "validation_size": 64, "test_size": 64},
    "model": {"units": 4},
    "training": {"epochs": 2, "batch_size": 32},
    "grid": {"cell": ["gru"], "bidirectional": [False, True]},
    "tracking": {"log_model": True},
}


# A study that trains without logging models, drawing figures or sampling system metrics: the
# tests that only count runs or read their metrics need none of them (about 2 s a run).
FAST: dict[str, Any] = {
    "tracking": {"log_model": False, "log_plots": False, "system_metrics": False}
}


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def study_file(
    folder: Path,
    changes: dict[str, Any] | None = None,
    *,
    name: str = "study.yaml",
    base: dict[str, Any] = TINY_STUDY,
) -> Path:
    """Write `base` (the tiny study) with `changes` to folder/name, its tracking store and
    Optuna storage under folder/mlruns: the one way the tests write a study that trains."""
    study = deep_merge(base, changes or {})
    study = deep_merge(
        study,
        {
            "tracking": {"uri": store_uri(folder)},
            "storage": str(folder / "mlruns" / "optuna.journal"),
        },
    )
    path = folder / name
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


@pytest.fixture
def write_study(tmp_path: Path):
    """Write a study YAML whose tracking store and Optuna storage live under tmp_path."""
    return functools.partial(study_file, tmp_path)


# The environment the tests started in, for the warm server: a server started inside a test
# that changed it (monkeypatch.setenv) would otherwise keep that change for every command.
SESSION_ENV = dict(os.environ)


@contextlib.contextmanager
def mlflow_variables_kept():
    """MLflow's variables as they were before: MLflow's fluent API sets its tracking URI and
    experiment in this process's environment, which every later command would inherit (and
    then start fresh, as its environment differs from the warm server's)."""
    before = {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")}
    try:
        yield
    finally:
        for name in [k for k in os.environ if k.startswith("MLFLOW_")]:
            if name not in before:
                del os.environ[name]
        os.environ.update(before)


@pytest.fixture(autouse=True)
def _mlflow_variables_left_as_found():
    with mlflow_variables_kept():
        yield


@functools.cache
def _warm_server() -> WarmServer:
    return WarmServer(SESSION_ENV)


def start_cli(
    *args: str | Path,
    cwd: Path,
    module: str = "suite.run",
    env: dict[str, str] | None = None,
    fresh: bool = False,
) -> subprocess.Popen | WarmProcess:
    """`python -m suite.run ARGS` (or another module) started in a new process, as a user
    types it, with `env` added to the environment; its outputs piped, as text. The process
    is forked from tests/helpers/warm_cli.py's server, its modules already imported, unless the test
    is about what happens while they import (`fresh`, or an environment that changes how
    they import): then it starts from scratch."""
    env = {**os.environ, "COLUMNS": "160", **(env or {})}
    arguments = [str(arg) for arg in args]
    if not fresh and _warm_server().starts_warm(module, env):
        return _warm_server().start(module, arguments, cwd=cwd, env=env)
    return subprocess.Popen(
        [sys.executable, "-m", module, *arguments],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_cli(
    *args: str | Path,
    cwd: Path,
    timeout: float = 300,
    module: str = "suite.run",
    env: dict[str, str] | None = None,
    fresh: bool = False,
) -> subprocess.CompletedProcess:
    """start_cli(...) run to its end, as subprocess.run(timeout=timeout) runs it."""
    process = start_cli(*args, cwd=cwd, module=module, env=env, fresh=fresh)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def report_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m suite.report ARGS` in a fresh process."""
    return run_cli(*args, cwd=cwd, module="suite.report")


# One RunSpec builder: a study file's defaults (DataConfig(), ModelConfig(), TrainingConfig()),
# with any of their fields changed by its name, as a grid names it.
_CONFIGS = {"data": DataConfig, "model": ModelConfig, "training": TrainingConfig}
_SECTION_OF = {field: name for name, config in _CONFIGS.items() for field in config.model_fields}


def make_spec(
    *, study: str = "s", seed: int = 0, backend: str | None = None, **changes: Any
) -> RunSpec:
    """The RunSpec of study `study` with `changes` to its fields, e.g.
    make_spec(cell="gru", units=4, epochs=2, train_size=128); `backend`: the grid's axis value
    (None: not named, TensorFlow)."""
    fields: dict[str, dict[str, Any]] = {name: {} for name in _CONFIGS}
    for key, value in changes.items():
        fields[_SECTION_OF[key]][key] = value
    return RunSpec(
        study=study,
        seed=seed,
        backend=backend,
        keras_backend=backend or "tensorflow",
        **{name: config(**fields[name]) for name, config in _CONFIGS.items()},
    )


# What the tests read back from a store that a study under `root` wrote (tracking at
# root/mlruns/mlflow.db, queue at root/mlruns/optuna.journal: write_study's places).


def store_uri(root: Path) -> str:
    return f"sqlite:///{root / 'mlruns' / 'mlflow.db'}"


def store_client(root: Path) -> MlflowClient:
    return MlflowClient(store_uri(root))


def child_runs(client: MlflowClient, experiment: str = "tiny") -> list:
    """The study's training runs (not its parent run), whatever their status."""
    found = client.get_experiment_by_name(experiment)
    return client.search_runs(
        [found.experiment_id], f"tags.{Tag.ROLE} = '{Role.RUN}'", max_results=1000
    )


def finished_per_key(store: Path | MlflowClient, experiment: str = "tiny") -> Counter:
    """How many FINISHED runs each run_key has: the record of results (`store` is the folder
    holding mlruns/, or a client of any store)."""
    client = store if isinstance(store, MlflowClient) else store_client(store)
    runs = child_runs(client, experiment)
    return Counter(r.data.tags[Tag.RUN_KEY] for r in runs if r.info.status == "FINISHED")


def once_each(path: Path) -> Counter:
    """One FINISHED run for each of the study file's run_keys."""
    return Counter({spec.run_key: 1 for spec in expand(load_study(path))})


def with_logged_model(root: Path, run_id: str, backend: str, then: str) -> list[str]:
    """Load the model run `run_id` (of the tiny study under `root`) logged, as `m`, in a
    fresh process on `backend`, run the Python statements `then` there (mlflow and keras
    imported); the words they printed."""
    client = store_client(root)
    experiment = client.get_experiment_by_name("tiny").experiment_id
    (model,) = [
        m
        for m in client.search_logged_models(experiment_ids=[experiment])
        if m.source_run_id == run_id
    ]
    code = (
        f"import mlflow, keras; mlflow.set_tracking_uri({store_uri(root)!r});"
        f" m = mlflow.keras.load_model({model.model_uri!r}); {then}"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "KERAS_BACKEND": backend},
    )
    assert loaded.returncode == 0, loaded.stderr
    return loaded.stdout.split()


def trials(root: Path, name: str = "tiny") -> list[optuna.trial.FrozenTrial]:
    """The trials of Optuna study `name` in root/mlruns/optuna.journal."""
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(root / "mlruns" / "optuna.journal"))
    )
    return optuna.load_study(study_name=name, storage=storage).get_trials()


# Stores made faster, never different.
#
# A new SQLite tracking store costs MLflow about 2 s of schema migrations. A store the tests
# make themselves (synthetic runs, an experiment to refuse) starts from a copy of one empty
# store MLflow made once per session: the same tables, at the same schema version.


@functools.cache
def _empty_mlflow_db() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="suite-tests-mlflow-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    db = folder / "empty.db"
    with contextlib.chdir(folder):  # the default experiment's artifacts: beside the template
        MlflowClient(f"sqlite:///{db}").search_experiments()
    return db


def new_mlflow_db(uri_or_path: str | Path) -> None:
    """Lay an empty MLflow store (tables made) at a SQLite URI or path where none is yet."""
    path = Path(str(uri_or_path).removeprefix("sqlite:///"))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_empty_mlflow_db(), path)


# A trained store, trained once per session and handed to each test as its own copy. MLflow
# records absolute artifact paths and the suite refuses a store whose artifacts lie outside
# its folder (a copied store), so the copy's paths are rewritten to the copy's folder: the
# copy is the store the same study would have left had it been trained there.


def copy_trained_store(source: Path, target: Path) -> None:
    """Copy the study files and the store under source into target, paths rewritten."""
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.is_dir():
            shutil.copytree(item, target / item.name)
        else:
            shutil.copy2(item, target / item.name)
    old, new = str(source), str(target)
    with contextlib.closing(sqlite3.connect(target / "mlruns" / "mlflow.db")) as db, db:
        for table, column in (
            ("runs", "artifact_uri"),
            ("experiments", "artifact_location"),
            ("logged_models", "artifact_location"),
        ):
            db.execute(f"UPDATE {table} SET {column} = replace({column}, ?, ?)", (old, new))
    # The study files, and the text the runs logged (the study, an MLmodel), name it too.
    for path in target.rglob("*"):
        if path.is_file() and path.suffix in {".yaml", ".json", ""}:
            with contextlib.suppress(UnicodeDecodeError):
                text = path.read_text()
                if old in text:
                    path.write_text(text.replace(old, new))


@dataclass(frozen=True)
class Trained:
    """A study trained once per session: its folder, study file and the CLI's output."""

    root: Path
    study: Path
    result: subprocess.CompletedProcess


def _session_folder(factory: pytest.TempPathFactory) -> Path:
    """This session's temporary folder, one for all its pytest-xdist workers."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _train_once(
    factory: pytest.TempPathFactory, name: str, changes: dict[str, Any] | None, **cli: Any
) -> Trained:
    """The study trained once per session, by the first worker that asks (a lock file makes
    the others wait for it), then read by all; its CLI output kept beside it."""
    root = _session_folder(factory) / name
    output = root.with_name(f"{name}-output.json")
    with open(root.with_name(f"{name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not output.exists():
            root.mkdir(exist_ok=True)
            result = run_cli(study_file(root, changes), cwd=root, **cli)
            assert result.returncode == 0, result.stdout + result.stderr
            output.write_text(
                json.dumps([result.args, result.returncode, result.stdout, result.stderr])
            )
    result = subprocess.CompletedProcess(*json.loads(output.read_text()))
    return Trained(root, root / "study.yaml", result)


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """The tiny study as write_study() writes it, trained once (read it, never write it), by
    a process started from scratch: its output shows what a user's first command prints."""
    return _train_once(tmp_path_factory, "trained-tiny", None, fresh=True)


@pytest.fixture(scope="session")
def trained_fast(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """The tiny study with FAST, trained once (read it, never write it)."""
    return _train_once(tmp_path_factory, "trained-fast", FAST)


@pytest.fixture
def tiny_store(trained_tiny: Trained, tmp_path: Path) -> Path:
    """This test's own copy of trained_tiny in tmp_path; its study file."""
    copy_trained_store(trained_tiny.root, tmp_path)
    return tmp_path / trained_tiny.study.name


@pytest.fixture
def fast_store(trained_fast: Trained, tmp_path: Path) -> Path:
    """This test's own copy of trained_fast in tmp_path: the store write_study(FAST) names,
    as a first `python -m suite.run` left it; its study file."""
    copy_trained_store(trained_fast.root, tmp_path)
    return tmp_path / trained_fast.study.name


# Refusals: exit 2, one line, and the files on disk as they were.

SIDE_FILES = ("-wal", "-shm")


def snapshot(root: Path) -> dict[str, str]:
    """Every file under root with a hash of its bytes (SQLite's side files left out: any
    reader of a WAL database makes them)."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.endswith(SIDE_FILES)
    }


def assert_refused(result: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 2 and exactly one stderr line, `error: ...`, holding every needle."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def free_port() -> int:
    """A loopback port nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The report: words and columns that state a statistic; none may appear without two seeds
# behind it.
STATISTIC = re.compile(r"p-value|p \(|p = |95%|\bCI\b|significan|Welch|Holm|interval \d", re.I)

# The browser tests: Debian's Chromium, with no background traffic of its own, so every
# request is ours; their screenshots land in reports/screenshots.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_DIR = ROOT / "reports" / "screenshots"


def pytest_configure(config: pytest.Config) -> None:
    """Start from Python's own Ctrl-C handler. A shell that runs a job in the background
    without job control (`cmd &` in a script) makes it ignore SIGINT, and every process it
    starts inherits that: the interrupt tests would then wait forever on a loop that no
    interrupt can stop (seen: 33 minutes), and a study sent SIGINT would train to its end."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test fails the run: every test here must run (Chromium and PostgreSQL are
    provided by tests/run), so a skip would hide a missing part behind a green result."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter.write_line(f"{len(skipped)} test(s) skipped: every test must run", red=True)
