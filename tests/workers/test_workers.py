"""Many workers on one queue: the guarantees, with real parts.

Locally: `--workers 2` on the journal file and SQLite. Across "machines": three independent
`python -m suite.run` processes against a real PostgreSQL (Optuna storage) and a real
`mlflow server` backed by PostgreSQL, each with its own SUITE_HOST, and one of them SIGKILLed
mid-run so that only the heartbeat can reveal it."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from suite.study.file import load_study
from suite.study.grid import expand
from tests.conftest import FAST, finished_per_key, run_cli, start_cli
from tests.helpers.servers import mlflow_server, postgres

GRID = {"cell": ["gru", "lstm"], "bidirectional": [False, True]}  # 4 runs, more than workers


@pytest.mark.slow
def test_two_local_workers_share_the_grid(tmp_path, write_study):
    # 12 epochs make the grid about 14 s of one worker's time, so both workers get runs even
    # when one starts several seconds after the other (at 2 epochs, on a loaded 2-core CI
    # machine, the first worker once trained all four runs before the second had started).
    path = write_study({**FAST, "grid": GRID, "training": {"epochs": 12}})
    result = run_cli(path, "--workers", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[w1]" in result.stdout and "[w2]" in result.stdout
    # The parent's summary: every run trained in this invocation, by one of its workers.
    summary = result.stdout[result.stdout.rindex("study tiny") :]
    assert "done elsewhere" not in summary and "│ trained " in summary

    keys = {s.run_key for s in expand(load_study(path))}
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    assert finished_per_key(client, "tiny") == Counter({k: 1 for k in keys})
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "mlruns" / "optuna.journal"))
    )
    complete = [
        t
        for t in optuna.load_study(study_name="tiny", storage=storage).get_trials()
        if t.state == TrialState.COMPLETE
    ]
    assert sorted(t.user_attrs["run_key"] for t in complete) == sorted(keys)
    assert len({t.user_attrs["worker"]["pid"] for t in complete}) == 2  # both did work

    again = run_cli(path, "--workers", "2", cwd=tmp_path)
    assert again.returncode == 0 and "nothing to train" in again.stdout


def start_worker(path: Path, cwd: Path, host: str, storage: str, tracking: str):
    """A machine's worker: its own host name, one thread of this machine's cores."""
    env = {"SUITE_HOST": host, "SUITE_THREADS": "1"}
    return start_cli(path, "--storage", storage, "--tracking-uri", tracking, cwd=cwd, env=env)


@pytest.mark.slow
def test_three_machines_on_postgres_and_mlflow_server_survive_a_sigkill(tmp_path):
    with postgres() as pg, mlflow_server(f"{pg}/mlflow", tmp_path / "artifacts") as url:
        storage = f"{pg}/optuna"
        study = {
            "name": "shared",
            "data": {"train_size": 128, "validation_size": 64, "test_size": 64},
            "model": {"units": 4},
            "training": {"epochs": 12, "batch_size": 32},
            "grid": GRID,
            "tracking": {"log_model": False, "log_plots": False},
            "workers": {"heartbeat_seconds": 1, "stale_after_seconds": 6, "poll_seconds": 0.5},
        }
        path = tmp_path / "shared.yaml"
        path.write_text(yaml.safe_dump(study))
        workers = {
            host: start_worker(path, tmp_path, host, storage, url)
            for host in ("machine-a", "machine-b", "machine-c")
        }

        client = MlflowClient(url)
        victim_host, victim_run = None, None
        deadline = time.monotonic() + 300
        while victim_run is None:  # wait until some worker is mid-run, then kill it
            assert time.monotonic() < deadline, "no worker ever reached the middle of a run"
            exp = client.get_experiment_by_name("shared")
            if exp is not None:
                for run in client.search_runs([exp.experiment_id], "attributes.status = 'RUNNING'"):
                    host = run.data.tags.get("env.host")
                    if (
                        run.data.tags.get("suite_role") == "run"
                        and host in workers
                        and client.get_metric_history(run.info.run_id, "val_accuracy")
                    ):
                        victim_host, victim_run = host, run.info.run_id
                        break
            time.sleep(0.2)
        workers[victim_host].send_signal(signal.SIGKILL)

        outputs = {}
        for host, process in workers.items():
            outputs[host] = "\n".join(process.communicate(timeout=600))
        assert workers[victim_host].returncode == -signal.SIGKILL
        for host, process in workers.items():
            if host != victim_host:
                assert process.returncode == 0, outputs[host]

        keys = {s.run_key for s in expand(load_study(path))}
        assert finished_per_key(client, "shared") == Counter({k: 1 for k in keys})
        assert client.get_run(victim_run).info.status == "KILLED"
        trials = optuna.load_study(study_name="shared", storage=storage).get_trials()
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        assert sorted(t.user_attrs["run_key"] for t in complete) == sorted(keys)
        stale = [t for t in trials if t.user_attrs.get("failure", "").startswith("stale")]
        assert len(stale) == 1 and stale[0].user_attrs["worker"]["host"] == victim_host
        assert not any(t.state == TrialState.RUNNING for t in trials)


def test_the_workers_table_shows_the_time_left_from_finished_runs(write_study):
    """One finished run (12 s) and one to go: the ETA scales by multiply-adds, by hand:
    GRU-4 on rows, uni 28*3*(28*4+16) + 4*10 = 10,792 per image, bi 2*10,752 + 8*10 = 21,584;
    with a 1 s startup the bidirectional run takes 1 + 11 * 21,584 / 10,792 = 23 s."""
    from suite.queue.run_queue import RunQueue, Verdict
    from suite.schema import TrialResult
    from suite.worker.local_processes import _status_table

    study = load_study(write_study())
    uni, bi = expand(study)
    queue = RunQueue(study)
    queue.enqueue(queue.plan([uni, bi]))
    trial = queue.claim(uni)
    assert trial is not None
    result = TrialResult(mlflow_run_id="r1", run_seconds=12.0)
    queue.close(trial, Verdict.finished(result, value=0.5, pruned=False))
    processes = {f"w{i}": subprocess.Popen(["true"]) for i in (1, 2)}
    for process in processes.values():
        process.wait()
    assert (
        _status_table(study, queue, processes, specs=[uni, bi]).title == "tiny: runs 1/2, eta 23 s"
    )
