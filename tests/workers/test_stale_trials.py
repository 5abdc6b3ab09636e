"""The queue's reads only read; failing stale trials is one explicit call that returns them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import optuna
from optuna.trial import TrialState

from suite.queue.planning import PlanState
from suite.queue.run_queue import RunQueue
from suite.record.environment import host_name
from suite.schema import TrialAttr
from suite.study.file import load_study
from suite.study.grid import expand


def _dead_worker() -> dict[str, object]:
    """A worker record on this host whose process has exited."""
    process = subprocess.Popen(["true"])
    process.wait()
    return {"host": host_name(), "pid": process.pid, "started": None}


def test_planning_writes_nothing_and_stale_trials_are_failed_by_one_call(write_study, tmp_path):
    study = load_study(write_study())
    first, second = expand(study)
    queue = RunQueue(study)
    queue.enqueue(queue.plan([first, second]))
    trial = queue.claim(first)
    assert trial is not None
    trial.set_user_attr(TrialAttr.WORKER, _dead_worker())
    trial.set_user_attr(TrialAttr.MLFLOW_RUN_ID, "run-of-the-dead-worker")
    journal = Path(study.storage)
    before = journal.read_bytes()

    states = {p.spec.run_key: p.state for p in queue.plan([first, second])}
    assert states == {first.run_key: PlanState.RETRY, second.run_key: PlanState.QUEUED}
    again = RunQueue(study, create=False).plan([first, second])  # a second reader, too
    assert {p.spec.run_key: p.state for p in again} == states
    assert journal.read_bytes() == before  # planning wrote nothing

    stale = queue.fail_stale_trials()
    assert [(t.number, t.user_attrs[TrialAttr.MLFLOW_RUN_ID]) for t in stale] == [
        (trial.number, "run-of-the-dead-worker")
    ]
    stored = optuna.load_study(study_name=study.name, storage=queue.storage).trials[trial.number]
    assert stored.state == TrialState.FAIL
    assert stored.user_attrs[TrialAttr.FAILURE] == "stale: its worker is gone"
    assert queue.fail_stale_trials() == []  # failed once, handed over once


def test_a_live_workers_trial_is_not_stale(write_study):
    study = load_study(write_study())
    (first, _) = expand(study)
    queue = RunQueue(study)
    queue.enqueue(queue.plan([first]))
    assert queue.claim(first) is not None  # this process: alive, and it just beat
    assert queue.fail_stale_trials() == []
    assert queue.plan([first])[0].state == PlanState.RUNNING


def test_a_claim_from_what_an_earlier_plan_read_never_makes_a_second_owner(write_study):
    """Claims start from the trials the worker's last plan read (not a fresh read of the whole
    queue per try): a trial taken since then is refused by the storage, and a trial enqueued
    since then is found."""
    study = load_study(write_study())
    first, second = expand(study)
    mine, other = RunQueue(study), RunQueue(study)
    mine.enqueue(mine.plan([first]))
    other.plan([first, second])  # sees the first run WAITING, the second without a trial
    assert mine.claim(first) is not None
    assert other.claim(first) is None  # WAITING in what it read, RUNNING in the storage
    mine.enqueue(mine.plan([second]))  # after the other's plan
    claimed = other.claim(second)
    assert claimed is not None
    trials = optuna.load_study(study_name=study.name, storage=mine.storage).trials
    running = [t.user_attrs[TrialAttr.RUN_KEY] for t in trials if t.state == TrialState.RUNNING]
    assert sorted(running) == sorted([first.run_key, second.run_key])


def test_the_one_sweep_fails_a_dead_workers_trial_kills_its_run_and_hands_its_point_back(
    write_study,
):
    """A search's trial whose worker died: failed, its MLflow run ended KILLED, and its point
    enqueued again for the next `ask` (the sweep every invocation makes, with or without
    something left to train)."""
    from suite.record.tracker import Tracker
    from suite.worker.left_behind import sweep_dead_workers
    from suite.worker.sources import trial_source

    space = {"learning_rate": {"choices": [0.01, 0.02]}}
    study = load_study(
        write_study({"grid": None, "search": {"n_trials": 1, "sampler": "random", "space": space}})
    )
    source, tracker = trial_source(study), Tracker(study)
    trial = source.queue.optuna_study.ask()
    trial.suggest_categorical("learning_rate", [0.01, 0.02])
    run_id = tracker.client.create_run(tracker.experiment_id).info.run_id
    trial.set_user_attr(TrialAttr.WORKER, _dead_worker())
    trial.set_user_attr(TrialAttr.MLFLOW_RUN_ID, run_id)

    assert sweep_dead_workers(source, tracker) == 1
    trials = optuna.load_study(study_name=study.name, storage=source.queue.storage).trials
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.WAITING]
    assert trials[1].system_attrs["fixed_params"] == trials[0].params  # the same point again
    assert tracker.client.get_run(run_id).info.status == "KILLED"
    assert sweep_dead_workers(source, tracker) == 0  # swept once
