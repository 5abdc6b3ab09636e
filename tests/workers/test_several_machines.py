"""docs/how-to/several-machines.md, made true: its commands, read from the page, run across two
machines on one, each machine a network namespace joined by a veth pair.

"db" is the server machine: a PostgreSQL cluster as Debian's package leaves it (listening on
localhost, peer login for the postgres user, scram-sha-256 over TCP), configured by the page's
commands, and the page's `mlflow server`. "worker" reaches it only through the pair, by the
host name `db-host` (its /etc/hosts, which `ip netns exec` takes from /etc/netns/NAME/hosts),
with the page's `~/.pgpass` and URLs without a password. Namespaces keep their own ports, so
the page's 5432 and 5000 are used as written, and the addresses exist only inside them.

The page's blocks marked `<!-- tested: NAME -->` are run as bash, as written; the only stand-ins
are Debian's `sudo` (as root: `-u USER` is runuser) and `systemctl restart postgresql` (the
test's cluster restarted), defined in front of them."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from suite.study.file import load_study
from suite.study.grid import expand
from tests.conftest import FAST, ROOT, TINY_STUDY, deep_merge
from tests.helpers.servers import pg_bin

PAGE = ROOT / "docs" / "how-to" / "several-machines.md"
DB_ADDRESS, WORKER_ADDRESS = "10.213.7.1", "10.213.7.2"  # only inside the test's namespaces
DB_HOST = "db-host"
VENV_BIN = Path(sys.executable).parent
SUDO = [] if os.geteuid() == 0 else ["sudo"]  # namespaces need root, as tests/run's apt-get does
BASE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
BLOCKS = (
    "server-roles",
    "server-open",
    "pgpass-server",
    "pgpass-worker",
    "pgpass-mode",
    "mlflow-server",
    "worker",
    "report",
)

# Debian's sudo as root: `sudo -u USER COMMAND` is COMMAND run as USER, `sudo COMMAND` is COMMAND.
SUDO_AS_ROOT = """sudo() {
  if [ "$1" = -u ]; then local user=$2; shift 2; runuser -u "$user" -- "$@"; else "$@"; fi
}
"""


def page_blocks() -> dict[str, str]:
    """The page's tested code blocks, by name."""
    text = PAGE.read_text()
    blocks = dict(re.findall(r"<!-- tested: ([\w-]+) -->\n```\w+\n(.*?)\n```", text, re.S))
    assert sorted(blocks) == sorted(BLOCKS), f"{PAGE} must mark exactly the blocks {BLOCKS}"
    return blocks


def as_root(*command: str, text_input: str | None = None) -> str:
    done = subprocess.run(
        [*SUDO, *command], input=text_input, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"{shlex.join(command)}: {done.stdout}{done.stderr}"
    return done.stdout


@dataclass(frozen=True)
class Machine:
    namespace: str
    preamble: str  # bash run before each command: the machine's environment

    def command(self, script: str) -> list[str]:
        return [*SUDO, "ip", "netns", "exec", self.namespace, "bash", "-c", self.preamble + script]

    def start(self, script: str, *, log: Path) -> subprocess.Popen:
        """`script` in the background, in its own session; its output in `log`."""
        with log.open("a") as out:
            return subprocess.Popen(
                self.command(script),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={"PATH": BASE_PATH, "LANG": "C.UTF-8"},
                start_new_session=True,
            )

    def run(
        self, script: str, *, text_input: str = "", timeout: float = 120
    ) -> subprocess.CompletedProcess:
        """`script` to its end. Its own session: no terminal, so a prompt reads stdin."""
        process = subprocess.Popen(
            self.command(script),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={"PATH": BASE_PATH, "LANG": "C.UTF-8"},
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(text_input, timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_session(process, wait=0)
            stdout, stderr = process.communicate()
            pytest.fail(f"{script!r} ran past {timeout:.0f} s: {stdout}{stderr}")
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def ok(self, script: str, **options) -> str:
        done = self.run(script, **options)
        assert done.returncode == 0, f"{script}\n{done.stdout}{done.stderr}"
        return done.stdout


def stop_session(process: subprocess.Popen, *, wait: float = 20) -> None:
    """SIGTERM to the session the test started `process` in, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait)


@contextlib.contextmanager
def two_namespaces() -> Iterator[tuple[str, str]]:
    """Namespaces "db" and "worker", a veth pair between them (DB_ADDRESS, WORKER_ADDRESS in a
    /24), loopback up in each; the worker resolves DB_HOST. Everything removed at the end,
    with any process left inside them."""
    tag = os.getpid()
    db, worker = f"suite-db-{tag}", f"suite-worker-{tag}"
    etc = Path("/etc/netns")
    made_etc = not etc.exists()
    try:
        as_root("ip", "netns", "add", db)
        as_root("ip", "netns", "add", worker)
        ends = {db: (f"smd{tag}", DB_ADDRESS), worker: (f"smw{tag}", WORKER_ADDRESS)}
        as_root(
            "ip", "link", "add", ends[db][0], "netns", db, "type", "veth",
            "peer", "name", ends[worker][0], "netns", worker,
        )  # fmt: skip
        for namespace, (device, address) in ends.items():
            as_root("ip", "-n", namespace, "addr", "add", f"{address}/24", "dev", device)
            as_root("ip", "-n", namespace, "link", "set", device, "up")
            as_root("ip", "-n", namespace, "link", "set", "lo", "up")
        as_root("mkdir", "-p", str(etc / worker))
        hosts = f"127.0.0.1 localhost\n::1 localhost\n{DB_ADDRESS} {DB_HOST}\n"
        as_root("tee", str(etc / worker / "hosts"), text_input=hosts)
        yield db, worker
    finally:
        for namespace in (db, worker):
            pids = subprocess.run(
                [*SUDO, "ip", "netns", "pids", namespace], capture_output=True, text=True
            ).stdout.split()
            if pids:  # processes this test started in its own namespace
                subprocess.run([*SUDO, "kill", "-KILL", *pids], capture_output=True)
            subprocess.run([*SUDO, "ip", "netns", "del", namespace], capture_output=True)
        subprocess.run([*SUDO, "rm", "-rf", str(etc / worker)], capture_output=True)
        if made_etc:
            subprocess.run([*SUDO, "rmdir", str(etc)], capture_output=True)


@contextlib.contextmanager
def debian_cluster(namespace: str) -> Iterator[dict[str, str]]:
    """A PostgreSQL cluster in `namespace` as Debian's postgresql package leaves one: port
    5432, listening on localhost, `local all all peer`, `host all all 127.0.0.1/32
    scram-sha-256`; its socket in its own folder (Unix sockets are not in a network
    namespace), connections logged. Yields its paths."""
    base = Path(tempfile.mkdtemp(prefix="suite-pg-"))
    paths = {
        "data": str(base / "data"),
        "sockets": str(base / "run"),
        "log": str(base / "log"),
        "pg_ctl": pg_bin("pg_ctl"),
    }
    as_root("chown", "postgres", str(base))
    postgres = ["ip", "netns", "exec", namespace, "runuser", "-u", "postgres", "--"]
    try:
        as_root("runuser", "-u", "postgres", "--", "mkdir", paths["sockets"])
        as_root(
            "runuser", "-u", "postgres", "--", pg_bin("initdb"), "-D", paths["data"],
            "--auth-local=peer", "--auth-host=scram-sha-256",
        )  # fmt: skip
        settings = f"unix_socket_directories = '{paths['sockets']}'\nlog_connections = on\n"
        as_root("tee", "-a", f"{paths['data']}/postgresql.conf", text_input=settings)
        as_root(*postgres, paths["pg_ctl"], "-D", paths["data"], "-w", "-l", paths["log"], "start")
        yield paths
    finally:
        subprocess.run(
            [*SUDO, *postgres, paths["pg_ctl"], "-D", paths["data"], "-m", "immediate", "stop"],
            capture_output=True,
        )
        subprocess.run([*SUDO, "rm", "-rf", str(base)], capture_output=True)


def server_machine(namespace: str, home: Path, cluster: dict[str, str]) -> Machine:
    """The server machine's shell: the suite's environment active, HOME the server user's,
    psql reaching the test's cluster; `systemctl restart postgresql` restarts it."""
    data, log, pg_ctl = (shlex.quote(cluster[key]) for key in ("data", "log", "pg_ctl"))
    preamble = (
        "set -euo pipefail\n"
        f"export PATH={VENV_BIN}:{BASE_PATH} HOME={shlex.quote(str(home))} USER=root"
        f" PGHOST={shlex.quote(cluster['sockets'])}\n"
        f"{SUDO_AS_ROOT}"
        "systemctl() {\n"
        '  [ "$*" = "restart postgresql" ] || { echo "no systemctl $*" >&2; exit 1; }\n'
        f"  runuser -u postgres -- {pg_ctl} -D {data} -w -l {log} restart\n"
        "}\n"
    )
    return Machine(namespace, preamble)


def worker_machine(namespace: str, home: Path, folder: Path) -> Machine:
    """A worker machine's shell: the suite's environment active, in the folder holding
    studies/grid.yaml; one CPU thread each (the test machine's cores are shared)."""
    preamble = (
        "set -euo pipefail\n"
        f"export PATH={VENV_BIN}:{BASE_PATH} HOME={shlex.quote(str(home))} USER=root"
        " SUITE_THREADS=1 COLUMNS=160\n"
        f"{SUDO_AS_ROOT}"
        f"cd {shlex.quote(str(folder))}\n"
    )
    return Machine(namespace, preamble)


# From the worker: rounds of concurrent API requests (any HTTP answer counts, 403 too) until
# a whole round answers quickly. A server worker's first request opens its store, which on a
# loaded test machine can take longer than the 5 s a suite worker waits for an answer.
WARM_UP = """
import sys, time, urllib.error, urllib.request
from concurrent.futures import ThreadPoolExecutor
url = sys.argv[1] + "/api/2.0/mlflow/experiments/search?max_results=1"
def seconds(_):
    start = time.monotonic()
    try:
        urllib.request.urlopen(url, timeout=30).close()
    except urllib.error.HTTPError:
        pass
    except OSError:
        return 99.0
    return time.monotonic() - start
deadline = time.monotonic() + 40
while time.monotonic() < deadline:
    with ThreadPoolExecutor(8) as pool:
        if max(pool.map(seconds, range(8))) < 2:
            sys.exit(0)
    time.sleep(0.5)
sys.exit(1)
"""


def wait_for_server(worker: Machine, server: subprocess.Popen, log: Path, url: str) -> None:
    """Until the MLflow server answers the worker at `url` without delay."""
    for _ in range(8):  # 5 minutes or so, checking the server is still up between tries
        if worker.run(shlex.join(["python", "-c", WARM_UP, url]), timeout=120).returncode == 0:
            return
        if server.poll() is not None:
            pytest.fail(f"mlflow server exited: {log.read_text()[-3000:]}")
    pytest.fail(f"mlflow server did not answer at {url}: {log.read_text()[-3000:]}")


def patiently(worker: Machine, command: str) -> subprocess.CompletedProcess:
    """The page's command, run again (up to twice) when it refused to start because the
    server took over 10 s to answer its first check: seen on a loaded 2-core test machine,
    never a fault of the page. The refusal comes before anything is written."""
    for _ in range(2):
        done = worker.run(command, timeout=600)
        if done.returncode != 2 or "does not answer within" not in done.stderr:
            return done
        time.sleep(5)
    return worker.run(command, timeout=600)


def tail(log: Path) -> str:
    return f"\n--- mlflow server log ---\n{log.read_text()[-3000:]}"


def option(command: str, name: str) -> str:
    """The value of `--name` in a (multi-line) command of the page."""
    words = shlex.split(command.replace("\\\n", " "))
    return words[words.index(name) + 1]


# Read from the worker: every run in MLflow (through the server) and every trial in Optuna.
RECORD = """
import json, sys
import optuna
from mlflow.tracking import MlflowClient
from suite.schema import Role, Tag
tracking, storage = sys.argv[1:]
client = MlflowClient(tracking)
experiment = client.get_experiment_by_name("grid")
runs = client.search_runs(
    [experiment.experiment_id], f"tags.{Tag.ROLE} = '{Role.RUN}'", max_results=1000
)
trials = optuna.load_study(study_name="grid", storage=storage).get_trials()
print(json.dumps({
    "runs": [[run.data.tags[Tag.RUN_KEY], run.info.status] for run in runs],
    "trials": [[trial.user_attrs.get("run_key"), trial.state.name] for trial in trials],
}))
"""


def test_the_page_keeps_passwords_off_command_lines():
    blocks = page_blocks()
    commands = {name: text for name, text in blocks.items() if not name.startswith("pgpass-")}
    for name, text in commands.items():
        assert "PASSWORD" not in text and not re.search(r"://[^/@\s:]+:[^/@\s]+@", text), name
    assert "0.0.0.0" not in blocks["mlflow-server"]
    assert "--allowed-hosts" in blocks["mlflow-server"]
    assert "scram-sha-256" in blocks["server-open"]


@pytest.mark.slow
def test_the_page_trains_a_study_across_two_machines(tmp_path):
    blocks = page_blocks()
    storage = option(blocks["worker"], "--storage")
    tracking = option(blocks["worker"], "--tracking-uri")
    assert "@" in storage and DB_HOST in storage and DB_HOST in tracking
    password = secrets.token_urlsafe(18)  # no ':' or '\', which .pgpass would need escaped
    server_home, worker_home, folder = (tmp_path / n for n in ("server", "worker", "repository"))
    for path in (server_home, worker_home, folder / "studies"):
        path.mkdir(parents=True)
    study = deep_merge(deep_merge(TINY_STUDY, FAST), {"name": "grid", "training": {"epochs": 1}})
    study_path = folder / "studies" / "grid.yaml"
    study_path.write_text(yaml.safe_dump(study, sort_keys=False))
    keys = {spec.run_key for spec in expand(load_study(study_path))}
    assert len(keys) == 2

    with two_namespaces() as (db_ns, worker_ns), debian_cluster(db_ns) as cluster:
        server = server_machine(db_ns, server_home, cluster)
        worker = worker_machine(worker_ns, worker_home, folder)

        # The server machine, steps 2 to 5. createuser asks for the password twice.
        server.ok(blocks["server-roles"], text_input=f"{password}\n{password}\n")
        server.ok(blocks["server-open"])
        (server_home / ".pgpass").write_text(
            blocks["pgpass-server"].replace("PASSWORD", password) + "\n"
        )
        server.ok(blocks["pgpass-mode"])
        log = tmp_path / "mlflow-server.log"
        mlflow = server.start(blocks["mlflow-server"], log=log)
        try:
            # A worker machine, step 6, and the report.
            (worker_home / ".pgpass").write_text(
                blocks["pgpass-worker"].replace("PASSWORD", password) + "\n"
            )
            worker.ok(blocks["pgpass-mode"])
            wait_for_server(worker, mlflow, log, tracking)

            first = patiently(worker, blocks["worker"])
            assert first.returncode == 0, first.stdout + first.stderr + tail(log)
            again = patiently(worker, blocks["worker"])
            assert again.returncode == 0, again.stdout + again.stderr + tail(log)
            assert "nothing to train" in again.stdout, again.stdout
            report = patiently(worker, blocks["report"])
            assert report.returncode == 0, report.stdout + report.stderr + tail(log)

            record = json.loads(
                worker.ok(shlex.join(["python", "-c", RECORD, tracking, storage]), timeout=300)
            )
            in_postgres = server.ok(
                'sudo -u postgres psql -d mlflow -tAc "SELECT r.status, count(*) FROM runs r'
                " JOIN tags t ON t.run_uuid = r.run_uuid AND t.key = 'run_key'"
                ' GROUP BY r.status"'
            )
        finally:
            stop_session(mlflow)
        pg_log = as_root("cat", cluster["log"])

    # Every run FINISHED exactly once, in MLflow's tables on PostgreSQL, read through the server.
    assert Counter(key for key, status in record["runs"]) == Counter(dict.fromkeys(keys, 1))
    assert {status for _, status in record["runs"]} == {"FINISHED"}
    assert in_postgres.split() == ["FINISHED|2"]
    # Every Optuna trial COMPLETE, one per run, in the optuna database.
    assert sorted(key for key, _ in record["trials"]) == sorted(keys)
    assert {state for _, state in record["trials"]} == {"COMPLETE"}
    # The worker reached PostgreSQL over the pair, with the .pgpass password (scram-sha-256).
    assert f"connection received: host={WORKER_ADDRESS}" in pg_log
    assert re.search(r'connection authenticated: identity="suite" method=scram-sha-256', pg_log)
    # The report, on the worker, and its copy uploaded through the server to its artifacts.
    assert (folder / "reports" / "grid.html").stat().st_size > 0
    uploaded = list((server_home / "mlflow-artifacts").rglob("grid.html"))
    assert [path.parent.name for path in uploaded] == ["report"], uploaded
    assert not (folder / "mlruns").exists()  # nothing landed in a local store
