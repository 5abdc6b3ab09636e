"""Real servers for the distributed tests, started on loopback inside tmp_path: a PostgreSQL
cluster (Debian's package) and an `mlflow server` backed by it."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.conftest import free_port


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    assert found, "install Debian's postgresql package (apt-get install postgresql)"
    return found[-1]


def _as_postgres(*command: str) -> list[str]:
    """PostgreSQL refuses to run as root; run it as the package's postgres user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A fresh cluster on a free loopback port; yields a SQLAlchemy URL prefix (no db).

    Its files live in their own temporary folder: pytest's are private to root, and the
    server runs as the postgres user."""
    base = Path(tempfile.mkdtemp(prefix="suite-pg-"))
    data, sockets = base / "data", base / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres(pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "suite"),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        _as_postgres(
            pg_bin("pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(base / "log"),
            "-o",
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1",
            "start",
        ),
        check=True,
        capture_output=True,
    )
    try:
        for database in ("optuna", "mlflow"):
            subprocess.run(
                [pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "suite", database],
                check=True,
                capture_output=True,
            )
        yield f"postgresql+psycopg2://suite@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres(pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
            capture_output=True,
        )


def answers(url: str) -> bool:
    """Whether `url` answers HTTP 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def background_server(
    command: list[str], *, ready_url: str, log: Path, name: str, timeout: float = 90
) -> Iterator[None]:
    """Run a server until the block ends, once `ready_url` answers.

    Its output goes to `log`: servers write a line for every request, enough to fill a pipe
    nobody reads and freeze the server mid-test.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not answers(ready_url):
            if process.poll() is not None:
                pytest.fail(f"{name} exited: {log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not answer in {timeout:.0f} s: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield
    finally:
        process.terminate()  # mlflow server stops its uvicorn and job-runner children itself
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
        if process.poll() is None:
            process.kill()
            process.wait()


@contextlib.contextmanager
def mlflow_server(
    backend_uri: str, artifacts: Path, *, port: int | None = None, options: Sequence[str] = ()
) -> Iterator[str]:
    """`mlflow server` on `port` (default: a free loopback port) with any further `options`;
    yields its http:// URI once it answers, and stops it when the block ends. Its log is
    mlflow-server.log beside `artifacts`."""
    port = port or free_port()
    mlflow = Path(sys.executable).with_name("mlflow")
    command = [
        str(mlflow),
        "server",
        "--backend-store-uri",
        backend_uri,
        "--artifacts-destination",
        artifacts.as_uri(),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        *options,
    ]
    url = f"http://127.0.0.1:{port}"
    log = artifacts.parent / "mlflow-server.log"
    with background_server(command, ready_url=f"{url}/health", log=log, name="mlflow server"):
        yield url
