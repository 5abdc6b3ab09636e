"""Workers that start together on a fresh store may each make the study's parent run; all
keep the oldest, and a younger one is ended and deleted, never left RUNNING."""

from __future__ import annotations

import time

from suite.record.tracker import Tracker
from suite.schema import Role, Tag
from suite.study.file import load_study
from tests.conftest import FAST, store_client


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
