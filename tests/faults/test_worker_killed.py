"""One of two local workers killed (SIGKILL: the kernel out of memory, a kill from outside)
while it logs its run's epochs: its parent says so in one line, the other worker trains what
it left, and the record ends whole: no run RUNNING, each run_key FINISHED exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter

from tests.conftest import FAST, run_cli, start_cli
from tests.helpers.store_fault_driver import first_epoch_recorded, statuses

STUDY = {"data": {"train_size": 1536}, "training": {"epochs": 5}, **FAST}
RUN_KEYS = 2  # the tiny study's grid: gru uni and bi


def test_a_worker_killed_mid_epoch_is_said_and_its_run_trained_once(tmp_path, write_study):
    path = write_study(STUDY)
    db = tmp_path / "mlruns" / "mlflow.db"
    first = start_cli(path, "--workers", "2", cwd=tmp_path)
    deadline = time.monotonic() + 300
    while not first_epoch_recorded(db):  # a worker is logging its run's epochs
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.05)
    children = subprocess.run(
        ["pgrep", "-P", str(first.pid)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert len(children) == 2, children  # the two workers
    os.kill(int(children[0]), signal.SIGKILL)
    out, err = first.communicate(timeout=300)

    assert first.returncode == 1, out + err  # a worker failed, and the output says which
    said = [line for line in out.splitlines() if "error" in line]
    assert len(said) == 1 and said[0].startswith("[w") and "ended by SIGKILL" in said[0], out
    assert "Traceback" not in out + err, out + err
    again = run_cli(path, "--workers", "2", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    after = statuses(db)
    assert not [row for row in after if row[1] == "RUNNING"], after
    runs = [(status, key) for _, status, key in after if key]
    finished = Counter(key for status, key in runs if status == "FINISHED")
    assert len(finished) == RUN_KEYS and set(finished.values()) == {1}, after
    assert {status for status, _ in runs} <= {"FINISHED", "KILLED"}, after
