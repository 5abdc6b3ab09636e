"""Faults and hostile inputs: the record holds whatever happens to the queue or the store.

MLflow's FINISHED runs are the record of results; the Optuna storage is only the queue. Each
test breaks the link between the two the way a user can (a lost journal, another --storage, a
renamed study, a replaced tracking store) and checks the record: one FINISHED run per run_key,
never a second, and a run the record lacks trained again.
"""

from __future__ import annotations

import io
import shutil
from collections import Counter

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState
from rich.console import Console

from suite.record.tracker import Tracker
from suite.schema import Metric, Role, Tag, TrialAttr
from suite.stores.optuna_storage import open_storage
from suite.study.file import load_study
from suite.study.grid import expand
from suite.worker.decisions import FromRecord, Stop
from suite.worker.grid_source import GridTrials
from suite.worker.lifecycle import WorkerSession, answer_from_record
from suite.worker.progress import StudyProgress
from tests.conftest import FAST, finished_per_key, run_cli


@pytest.mark.slow
def test_a_lost_journal_or_another_storage_trains_nothing_again(tmp_path, fast_store):
    path = fast_store  # write_study(FAST), trained by a first `python -m suite.run`
    keys = {spec.run_key for spec in expand(load_study(path))}
    assert finished_per_key(tmp_path) == Counter(dict.fromkeys(keys, 1))

    (tmp_path / "mlruns" / "optuna.journal").unlink()  # the queue is lost
    plan = run_cli(path, "--dry-run", cwd=tmp_path)
    assert plan.returncode == 0 and "0 to train, 2 not" in plan.stdout, plan.stdout
    assert not (tmp_path / "mlruns" / "optuna.journal").exists()  # the plan wrote nothing

    again = run_cli(path, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "2 runs, 2 done before, 0 to train" in again.stdout
    assert "2 runs this study finished in MLflow were missing from its queue" in again.stdout
    other = run_cli(path, "--storage", str(tmp_path / "other.journal"), cwd=tmp_path)
    assert other.returncode == 0 and "0 to train" in other.stdout, other.stdout + other.stderr
    assert finished_per_key(tmp_path) == Counter(dict.fromkeys(keys, 1))  # never twice

    # The reconciled queue holds each run as COMPLETE, with the record's run id and numbers.
    journal = open_storage(str(tmp_path / "mlruns" / "optuna.journal"))
    queue = optuna.load_study(study_name="tiny", storage=journal)
    complete = [t for t in queue.trials if t.state == TrialState.COMPLETE]
    assert {t.user_attrs[TrialAttr.RUN_KEY] for t in complete} == keys
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    for trial in complete:
        run = client.get_run(trial.user_attrs[TrialAttr.MLFLOW_RUN_ID])
        assert run.data.tags[Tag.RUN_KEY] == trial.user_attrs[TrialAttr.RUN_KEY]
        assert trial.value == run.data.metrics[Metric.BEST_VAL_ACCURACY]


@pytest.mark.slow
def test_a_renamed_study_that_keeps_its_experiment_trains_nothing_again(
    tmp_path, fast_store, write_study
):
    assert set(finished_per_key(tmp_path).values()) == {1}  # write_study(FAST), trained once
    renamed = write_study({**FAST, "name": "tiny-renamed", "experiment": "tiny"}, name="b.yaml")
    again = run_cli(renamed, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 to train" in again.stdout
    assert set(finished_per_key(tmp_path).values()) == {1}


@pytest.mark.slow
def test_a_lost_tracking_store_is_trained_again_whatever_the_queue_says(tmp_path, fast_store):
    path = fast_store  # write_study(FAST), trained by a first `python -m suite.run`
    for name in ("mlflow.db", "mlflow.db-wal", "mlflow.db-shm", "artifacts"):
        target = tmp_path / "mlruns" / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    plan = run_cli(path, "--dry-run", cwd=tmp_path)
    assert "lost from MLflow" in plan.stdout and "2 to train" in plan.stdout, plan.stdout
    again = run_cli(path, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "2 runs the queue calls finished have no finished run in MLflow" in again.stdout
    assert sorted(finished_per_key(tmp_path).values()) == [1, 1]


def test_a_run_finished_through_another_queue_is_not_trained_at_claim(tmp_path, write_study):
    """The queue was read before another process (another storage) finished the run: the
    check at claim time finds the FINISHED run, and the trial takes its recorded result."""
    study = load_study(write_study({**FAST, "grid": {"cell": ["gru"], "bidirectional": [False]}}))
    (spec,) = expand(study)
    source = GridTrials(study)
    assert source.open().nothing_to_do is None  # one run to train, as the queue sees it
    tracker = Tracker(study)  # another process trains and finishes it meanwhile
    run = tracker.client.create_run(
        tracker.experiment_id, tags={Tag.ROLE: Role.RUN, Tag.RUN_KEY: spec.run_key}
    )
    tracker.client.log_metric(run.info.run_id, Metric.BEST_VAL_ACCURACY, 0.625)
    tracker.client.set_terminated(run.info.run_id, "FINISHED")

    progress = StudyProgress(Console(file=io.StringIO()), study=study.name, total=1, done=0)
    decision = source.next(progress, tried=set())
    assert isinstance(decision, FromRecord)  # claimed, then found in the record: not trained
    assert decision.run.run_id == run.info.run_id and decision.value == 0.625
    session = WorkerSession(source.queue, tracker, progress, environment={})
    answer_from_record(decision.spec, decision.trial, decision.run, session, value=decision.value)
    assert isinstance(source.next(progress, tried=set()), Stop)
    (trial,) = source.queue.optuna_study.get_trials(states=(TrialState.COMPLETE,))
    assert trial.value == 0.625
    assert trial.user_attrs[TrialAttr.MLFLOW_RUN_ID] == run.info.run_id


@pytest.mark.slow
def test_a_search_point_proposed_again_is_answered_from_the_record(tmp_path, write_study):
    """A space of one point: Optuna asks three times for the same configuration. It trains
    once; the other two trials take its recorded value, and MLflow holds one run."""
    path = write_study(
        {
            **FAST,
            "grid": None,
            "training": {"epochs": 1, "batch_size": 32},
            "search": {
                "n_trials": 3,
                "sampler": "random",
                "pruner": "none",
                "space": {"units": {"choices": [4]}},
            },
        }
    )
    result = run_cli(path, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    counts = finished_per_key(tmp_path)
    assert list(counts.values()) == [1], counts
    journal = open_storage(str(tmp_path / "mlruns" / "optuna.journal"))
    trials = optuna.load_study(study_name="tiny", storage=journal).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert len({t.value for t in trials}) == 1
    assert len({t.user_attrs[TrialAttr.MLFLOW_RUN_ID] for t in trials}) == 1


def test_a_dead_workers_trial_is_closed_even_when_nothing_is_left_to_train(tmp_path, fast_store):
    """A trial left RUNNING by a worker that died (SIGKILL; or a journal repaired after a
    crash lost its completion) in a study with nothing left to train: the next invocation
    fails the trial, ends the MLflow run it left RUNNING as KILLED, and trains nothing."""
    import subprocess

    from suite.record.environment import host_name

    path = fast_store
    before = finished_per_key(tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that is gone
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tiny").experiment_id
    key = next(iter(before))
    left_running = client.create_run(
        experiment, tags={Tag.ROLE: Role.RUN, Tag.RUN_KEY: key}, run_name="died-mid-run"
    ).info.run_id
    queue = optuna.load_study(
        study_name="tiny", storage=open_storage(str(tmp_path / "mlruns" / "optuna.journal"))
    )
    trial = queue.ask()  # RUNNING, as its worker left it
    trial.set_user_attr(TrialAttr.RUN_KEY, key)
    trial.set_user_attr(TrialAttr.WORKER, {"host": host_name(), "pid": dead.pid, "started": None})
    trial.set_user_attr(TrialAttr.MLFLOW_RUN_ID, left_running)

    result = run_cli(path, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "nothing to train" in result.stdout
    states = [t.state for t in queue.get_trials(deepcopy=False)]
    assert TrialState.RUNNING not in states and TrialState.FAIL in states
    assert client.get_run(left_running).info.status == "KILLED"
    assert finished_per_key(tmp_path) == before  # nothing trained, nothing duplicated


# How a fault can leave a run RUNNING, by what its trial holds (MLflow's run always has the
# tags it was created with). Expected: the status the next invocation ends the run with.
LEFT_BY_A_FAULT = {
    # The store failed before the trial learned its run's id; the worker then died.
    "trial running, worker gone, no run id": ("dead", None, "KILLED"),
    # The worker failed the trial, but could not end the run, nor name it on the trial.
    "trial failed without its run id": ("fail", None, "KILLED"),
    # The worker failed the trial and named the run, but the store was lost before it ended.
    "trial failed with its run id": ("fail", "run", "FAILED"),
    # The queue was lost or replaced: no trial of that number.
    "no such trial": ("missing", None, "KILLED"),
    # A live worker (this test's process) holds the trial: its run is left alone.
    "trial running, worker alive": ("alive", None, "RUNNING"),
}


@pytest.mark.parametrize("train_more", [False, True], ids=["nothing to train", "more to train"])
@pytest.mark.parametrize("case", sorted(LEFT_BY_A_FAULT))
def test_every_run_a_fault_left_running_is_ended_by_the_next_invocation(
    tmp_path, fast_store, case, train_more
):
    """Matched to its trial by the number it was created with, not by the id the trial may
    never have learned: whatever moment the fault hit, the next invocation ends the run (a
    live worker's excepted), trains what is missing, and duplicates nothing."""
    import os
    import subprocess

    from suite.record.environment import host_name

    trial_state, named, expected = LEFT_BY_A_FAULT[case]
    before = finished_per_key(tmp_path)
    key = next(iter(before))
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tiny").experiment_id
    queue = optuna.load_study(
        study_name="tiny", storage=open_storage(str(tmp_path / "mlruns" / "optuna.journal"))
    )
    number = 10_000
    trial = None
    if trial_state != "missing":
        trial = queue.ask()
        number = trial.number
    tags = {Tag.ROLE: Role.RUN, Tag.STUDY: "tiny", Tag.RUN_KEY: key, Tag.OPTUNA_TRIAL: str(number)}
    left = client.create_run(experiment, tags=tags, run_name="cut-short").info.run_id
    if trial is not None:
        dead = subprocess.Popen(["true"])
        dead.wait()
        pid = os.getpid() if trial_state == "alive" else dead.pid
        trial.set_user_attr(TrialAttr.RUN_KEY, key)
        trial.set_user_attr(TrialAttr.WORKER, {"host": host_name(), "pid": pid, "started": None})
        if named:
            trial.set_user_attr(TrialAttr.MLFLOW_RUN_ID, left)
        if trial_state == "fail":
            queue.tell(trial, state=TrialState.FAIL)

    more = ["--set", "grid.seed=[0, 1]"] if train_more else []
    result = run_cli(fast_store, *more, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert client.get_run(left).info.status == expected
    after = finished_per_key(tmp_path)
    assert set(after.values()) == {1}, after  # nothing trained twice
    assert len(after) == len(before) * (2 if train_more else 1), after
    if trial_state == "dead":
        assert queue.get_trials(deepcopy=False)[number].state == TrialState.FAIL


def test_runs_another_study_of_the_experiment_finished_are_said_to_be_its(tmp_path, fast_store):
    """A second study of the same grid in the same experiment (a race beside a grid shares
    run_keys by design): its queue lacks the runs, but no storage was lost; the banner names
    the study that trained them, and nothing trains again."""
    import yaml

    study = yaml.safe_load(fast_store.read_text())
    study.update(name="tiny-again", experiment="tiny")
    second = tmp_path / "again.yaml"
    second.write_text(yaml.safe_dump(study))
    before = finished_per_key(tmp_path)
    result = run_cli(second, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 runs were finished already by tiny (same experiment" in result.stdout, result.stdout
    assert "lost Optuna storage" not in result.stdout
    assert finished_per_key(tmp_path) == before
