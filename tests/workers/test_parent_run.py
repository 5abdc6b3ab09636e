"""Workers that start together on a fresh store may each make the study's parent run; all
keep the oldest, and a younger one is ended and deleted, never left RUNNING. Where both were
kept (each worker found only its own) and a fault stopped the study, the next invocation
ends the second one too."""

from __future__ import annotations

import time

from suite.record.tracker import Tracker
from suite.schema import Role, Tag
from suite.study.file import load_study
from tests.conftest import FAST, run_cli, store_client


def test_a_younger_parent_run_is_ended_and_deleted(tmp_path, write_study):
    tracker = Tracker(load_study(write_study(FAST)))
    client = store_client(tmp_path)
    tags = {Tag.ROLE: Role.STUDY, Tag.STUDY: "tiny"}
    older = client.create_run(tracker.experiment_id, run_name="tiny", tags=tags).info.run_id
    time.sleep(0.01)  # MLflow's start times are in milliseconds
    younger = client.create_run(tracker.experiment_id, run_name="tiny", tags=tags).info.run_id
    assert tracker.keep_the_oldest_parent(younger) == older
    assert tracker.keep_the_oldest_parent(older) == older  # the oldest's own worker keeps it
    duplicate = client.get_run(younger).info
    assert (duplicate.status, duplicate.lifecycle_stage) == ("FINISHED", "deleted")
    assert client.get_run(older).info.status == "RUNNING"  # the study's, still in use


def test_a_second_study_run_left_running_is_ended_by_the_next_invocation(tmp_path, write_study):
    """Two study runs RUNNING, as two workers that each kept their own leave them when a
    fault stops the study: the next invocation trains on the oldest and, once no worker
    trains, ends the other one as well (it used to stay RUNNING while there was work)."""
    path = write_study(FAST)
    tracker = Tracker(load_study(path))
    client = store_client(tmp_path)
    tags = {Tag.ROLE: Role.STUDY, Tag.STUDY: "tiny"}
    kept = client.create_run(tracker.experiment_id, run_name="tiny", tags=tags).info.run_id
    time.sleep(0.01)  # MLflow's start times are in milliseconds
    second = client.create_run(tracker.experiment_id, run_name="tiny", tags=tags).info.run_id
    result = run_cli(path, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 to train" in result.stdout, result.stdout
    assert client.get_run(kept).info.status == "FINISHED"
    assert client.get_run(second).info.status == "FINISHED"
    children = client.search_runs([tracker.experiment_id], f"tags.{Tag.ROLE} = '{Role.RUN}'")
    assert [run.data.tags.get("mlflow.parentRunId") for run in children] == [kept, kept]
