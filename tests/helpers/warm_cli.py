"""The CLI in a new process without waiting for its imports: a fork server for the tests.

`python -m suite.run` spends about 12 s of a tiny two-run study's 30 s importing TensorFlow,
Keras and MLflow (on a 2-core machine where plain Keras takes 39 s per epoch of the seed
model), and the tests start it many times. This server imports every suite module once
(and reads the bundled MNIST archive once, as the suite caches it per process),
then forks one child per command: the child is a new process (its own pid, exit status,
signals, file descriptors 0-2, working directory and environment) that runs the command's
`main` as `python -m MODULE` would, from the same modules a fresh process would import.

What a fork cannot reproduce stays with a fresh process (conftest.start_cli decides): what
happens while the libraries are imported (TensorFlow's start-up chatter, import hooks, the
Keras backend chosen by KERAS_BACKEND), so a command whose environment differs from the
server's in anything but WARM_ENV, or whose test asks for fresh=True, starts from scratch.
Variables that the server's own imports and start-up set (TensorFlow's, MLflow's request
bounds) count as the server's wherever a command lacks them or has the same value: a fresh
process's imports would set them alike.

The server is single-threaded: it forks only between select() calls, never while a lock of
its own is held. Protocol, over a SOCK_SEQPACKET Unix socket (one message per send): the
client sends a JSON request {module, args, cwd, env} with its stdout and stderr pipes as
SCM_RIGHTS descriptors; the server answers {"pid": N}, then {"status": S} when the child
exits (S as subprocess reports it: the exit code, or -signal).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import io
import json
import logging
import os
import pkgutil
import runpy
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

# Read by the suite when a command runs, never while it imports: a command whose environment
# differs from the server's only in these starts warm.
# (MLflow sets its telemetry session's id in a process that makes a client, the tests' own.)
WARM_ENV = frozenset(
    {
        "COLUMNS",
        "SUITE_MNIST",
        "SUITE_HOST",
        "SUITE_THREADS",
        "PYTEST_CURRENT_TEST",
        "_MLFLOW_TELEMETRY_SESSION_ID",
    }
)
MODULES = ("suite.run", "suite.report")
READY = b"ready"


# What the suite's functions import when they run: Keras, MLflow's Keras flavour, the
# report's plotting and statistics, and MLflow's SQL store with its schema migrations (MLflow
# imports these on a store's first use: about 2 s of every command's time otherwise).
RUNTIME_IMPORTS = (
    "keras",
    "mlflow.keras",
    "matplotlib.pyplot",
    "seaborn",
    "statsmodels.api",
    "alembic.command",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.sqlalchemy_store",
)
MIGRATIONS_IMPORT_FROM = "mlflow.store.db"  # by module name, so: every module in it


def _import_package(name: str) -> None:
    """A package and every module in it (its __main__ left out: importing would run it)."""
    package = importlib.import_module(name)
    for found in pkgutil.walk_packages(package.__path__, f"{name}."):
        if not found.name.endswith("__main__"):
            importlib.import_module(found.name)


def _import_everything() -> None:
    """Every suite module, and what their functions import when they run."""
    _import_package("suite")
    _import_package(MIGRATIONS_IMPORT_FROM)
    for name in RUNTIME_IMPORTS:
        importlib.import_module(name)


def _run_command(module: str, args: list[str]) -> int:
    """`python -m MODULE ARGS` from here on: its exit status. suite.run's `cli()` ends with an
    exit handler that leaves without Python's teardown, registered before the libraries' own;
    here the libraries were imported first, so its order is kept by hand: theirs, then it."""
    sys.argv = [module, *args]
    try:
        if module == "suite.run":
            from suite.cli.main import _leave_without_teardown, main

            code = main(args)
            atexit._run_exitfuncs()
            _leave_without_teardown(code)
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    except SystemExit as leaving:
        code = leaving.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    except BaseException:  # as Python itself reports an uncaught exception
        traceback.print_exc()
        return 1


def _child(request: dict, stdout: int, stderr: int) -> None:
    """In the forked child: become the command's process, run it, exit with its status."""
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        for source, target in ((devnull, 0), (stdout, 1), (stderr, 2)):
            os.dup2(source, target)
            os.close(source)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        import numpy as np

        np.random.seed()  # a fresh process draws its own; Python's `random` reseeds at fork
        code = _run_command(request["module"], request["args"])
        atexit._run_exitfuncs()
        logging.shutdown()
    except BaseException:
        traceback.print_exc()
        code = 1
    with contextlib.suppress(BaseException):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _read_the_bundled_mnist() -> None:
    """The bundled MNIST archive, read and verified once (the suite caches it per process):
    every command would read the same bytes, since no test changes that file (a damaged copy
    is a file of its own, named by SUITE_MNIST, which a command still reads and verifies)."""
    from suite.train.data import load_mnist

    load_mnist()


def _start_up_as_every_command_does() -> None:
    """What every command's main sets before it reads a store: MLflow's loggers and variables,
    the bounds on a tracking server's requests (set only where the environment has none)."""
    from suite.library_logs import quiet_library_logs
    from suite.stores.http_limits import bound_tracking_requests

    quiet_library_logs()
    bound_tracking_requests()


def serve(path: str) -> None:
    before = dict(os.environ)
    _import_everything()
    _start_up_as_every_command_does()
    _read_the_bundled_mnist()
    set_at_start_up = {k: v for k, v in os.environ.items() if before.get(k) != v}
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(16)
    sys.stdout.buffer.write(READY + b" " + json.dumps(set_at_start_up).encode() + b"\n")
    sys.stdout.flush()
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    waiting: dict[int, socket.socket] = {}  # child pid -> the connection that asked for it
    parent = os.getppid()
    while os.getppid() == parent:  # a test process that died takes its server with it
        for _ready in selector.select(timeout=0.05):
            connection, _ = listener.accept()
            message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 2)
            request = json.loads(message)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                selector.close()
                listener.close()
                for other in waiting.values():
                    other.close()
                connection.close()
                _child(request, *fds)
            for fd in fds:
                os.close(fd)
            connection.send(json.dumps({"pid": pid}).encode())
            waiting[pid] = connection
        while waiting:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            connection = waiting.pop(pid, None)
            if connection is not None:
                with contextlib.suppress(OSError):
                    connection.send(
                        json.dumps({"status": os.waitstatus_to_exitcode(status)}).encode()
                    )
                connection.close()


class WarmServer:
    """One fork server per test process, started on first use, stopped at its exit."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        """`env`: the server's environment (default: this process's now), against which
        each command's is compared."""
        self.folder = Path(tempfile.mkdtemp(prefix="suite-warm-"))
        self.path = str(self.folder / "socket")
        self.env = dict(os.environ if env is None else env)
        self.log = (self.folder / "server.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.warm_cli", self.path],
            cwd=Path(__file__).resolve().parents[2],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        atexit.register(self.stop)
        ready, _, set_at_start_up = self.process.stdout.readline().partition(b" ")
        if ready != READY:
            raise RuntimeError(f"the warm CLI server did not start; see {self.folder}")
        # What the libraries' imports and the commands' start-up set in the environment (TF's
        # TF2_BEHAVIOR, MLflow's request bounds): a command whose environment lacks them, or
        # has them as set there, gets them in a fresh process too.
        self.set_at_start_up: dict[str, str] = json.loads(set_at_start_up)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def starts_warm(self, module: str, env: dict[str, str]) -> bool:
        changed = {k for k in env.keys() | self.env.keys() if env.get(k) != self.env.get(k)}
        as_at_start_up = {
            k
            for k in changed & self.set_at_start_up.keys()
            if env.get(k) in (None, self.set_at_start_up[k])
        }
        return (
            module in MODULES
            and changed - as_at_start_up <= WARM_ENV
            and self.process.poll() is None
        )

    def start(self, module: str, args: list[str], *, cwd: Path, env: dict[str, str]) -> WarmProcess:
        """As subprocess.Popen(stdout=PIPE, stderr=PIPE, text=True) would."""
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        request = {"module": module, "args": args, "cwd": str(cwd), "env": env}
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        connection.connect(self.path)
        socket.send_fds(connection, [json.dumps(request).encode()], [out_write, err_write])
        os.close(out_write)
        os.close(err_write)
        pid = json.loads(connection.recv(1 << 16))["pid"]
        command = [sys.executable, "-m", module, *args]
        return WarmProcess(command, pid, connection, {"stdout": out_read, "stderr": err_read})


class WarmProcess:
    """A command the server forked, seen as a subprocess.Popen(text=True) of it: its pid,
    signals, poll(), wait() and communicate(); the server, its parent, reports its status."""

    def __init__(
        self, args: list[str], pid: int, connection: socket.socket, pipes: dict[str, int]
    ) -> None:
        self.args, self.pid, self.returncode = args, pid, None
        self._connection = connection
        self._chunks: dict[str, list[bytes]] = {name: [] for name in pipes}
        self._readers = [
            threading.Thread(target=self._drain, args=item, daemon=True) for item in pipes.items()
        ]
        for reader in self._readers:
            reader.start()

    def _drain(self, name: str, fd: int) -> None:
        with os.fdopen(fd, "rb") as pipe:
            for chunk in iter(lambda: pipe.read1(1 << 16), b""):
                self._chunks[name].append(chunk)

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def poll(self) -> int | None:
        if self.returncode is None:
            self._connection.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                self._status(self._connection.recv(1 << 16))
            self._connection.setblocking(True)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._connection.settimeout(timeout)
            try:
                self._status(self._connection.recv(1 << 16))
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout) from None
        return self.returncode

    def _status(self, message: bytes) -> None:
        self.returncode = json.loads(message)["status"]
        self._connection.close()

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Both outputs once every writer has closed them, and the exit status. Past the
        timeout, subprocess.TimeoutExpired (the process left running, as Popen leaves it)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for reader in self._readers:
            reader.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if reader.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout)
        self.wait(None if deadline is None else max(0.1, deadline - time.monotonic()))
        # As subprocess's text mode reads them: the locale's encoding, universal newlines.
        stdout, stderr = (
            io.TextIOWrapper(io.BytesIO(b"".join(self._chunks[name]))).read()
            for name in ("stdout", "stderr")
        )
        return stdout, stderr


if __name__ == "__main__":
    serve(sys.argv[1])
