"""Ctrl-C at any moment of a run's tracking ends it KILLED at once (suite.stores.uninterrupted).

Without the held sessions, an interrupt that lands inside one of MLflow's SQLite sessions left
its connection holding the write lock: 11 of 400 random interrupts of a logging loop made the
run's own end_run(KILLED) wait 20 s and fail, leaving it RUNNING. With 200 interrupts, a
3% rate fails this test with probability 1 - 0.97**200 > 0.99.
"""

from __future__ import annotations

import contextlib
import random
import signal
import time
from collections import Counter
from collections.abc import Callable

import mlflow
import pytest

from suite.record.tracker import Tracker
from suite.schema import Role, Tag
from suite.stores.uninterrupted import interrupts_held
from suite.study.file import load_study
from suite.train.execution import Execution
from tests.conftest import FAST, make_spec, store_client

INTERRUPTS = 200
RESEND = 5.0  # s: longer than a held store write takes on a loaded machine
EXECUTION = Execution(
    mode="plain",
    backend="tensorflow",
    accelerator="cpu",
    kernel="loop",
    unroll=False,
    validation_batch_size=None,
)


@contextlib.contextmanager
def interrupt_after(seconds: float, dropped: Callable[[], bool]):
    """SIGINT after `seconds`; then, every RESEND seconds, again while `dropped()` says the
    first never arrived (an interrupt that lands in one of Python's own callbacks is printed
    and dropped). Never a second one while the first is still held or the run is ending: on a
    loaded machine either can take over a second, and a second interrupt then is a user's
    second Ctrl-C, which goes at once (and may cut a store write in half, by design)."""
    sent: list[bool] = []

    def alarm(*_: object) -> None:
        if not sent or dropped():
            sent.append(True)
            signal.raise_signal(signal.SIGINT)

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, RESEND)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_an_interrupt_anywhere_in_tracking_ends_the_run_killed_at_once(
    tmp_path, write_study, monkeypatch
):
    """Every run started is KILLED. An interrupt that lands before the run starts (its 1 ms
    alarm outrunning the test's own code on a loaded machine) leaves no run, rightly."""
    runs_started: list[str] = []  # the trials whose run start began (interrupts held from there)
    start_run = mlflow.start_run

    def counted_start_run(*args, **kwargs):
        trial = (kwargs.get("tags") or {}).get(Tag.OPTUNA_TRIAL)  # None: the study's run
        if trial is not None:
            runs_started.append(trial)
        return start_run(*args, **kwargs)

    monkeypatch.setattr(mlflow, "start_run", counted_start_run)
    tracker = Tracker(load_study(write_study(FAST)))
    spec = make_spec(study="tiny", cell="gru", units=4)
    rng = random.Random(0)
    slowest = 0.0
    logging = [False]  # in the loop below: an interrupt sent before it was dropped
    with tracker.study_run():
        for trial in range(INTERRUPTS):
            started = time.monotonic()
            with (
                interrupt_after(rng.uniform(0.001, 0.03), dropped=lambda: logging[0]),
                contextlib.suppress(KeyboardInterrupt),
                tracker.child_run(spec, environment={}, execution=EXECUTION, trial_number=trial),
            ):
                try:
                    logging[0] = True
                    for step in range(10**6):  # what an epoch callback writes, until stopped
                        mlflow.log_metrics({"loss": 1.0, "val_accuracy": 0.5}, step=step)
                finally:
                    logging[0] = False
            slowest = max(slowest, time.monotonic() - started)
    runs = store_client(tmp_path).search_runs(
        [tracker.experiment_id], filter_string=f"tags.{Tag.ROLE} = '{Role.RUN}'", max_results=1000
    )
    statuses = [run.info.status for run in runs]
    assert statuses.count("KILLED") == len(runs), Counter(statuses)
    assert sorted(r.data.tags[Tag.OPTUNA_TRIAL] for r in runs) == sorted(runs_started)
    assert len(runs_started) >= INTERRUPTS * 0.9  # nearly all land inside a run
    assert slowest < RESEND + 5, slowest  # a resend at most, never MLflow's 20 s busy timeout


def test_a_held_interrupt_is_raised_when_the_block_ends_and_a_second_one_at_once():
    reached = []
    with pytest.raises(KeyboardInterrupt), interrupts_held():
        signal.raise_signal(signal.SIGINT)
        reached.append("after the first")
    assert reached == ["after the first"]
    with pytest.raises(KeyboardInterrupt), interrupts_held():
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGINT)
        reached.append("after the second")  # never: the second one goes at once
    assert reached == ["after the first"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
