"""A study sees only its own queue: an Optuna study of the same name that belongs to another
kind of study (one that minimises, or a search where a grid is asked for) is refused with the
fix, before anything is written to it."""

from __future__ import annotations

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from tests.conftest import FAST, assert_refused, run_cli, snapshot


def _journal(tmp_path) -> JournalStorage:
    path = tmp_path / "mlruns" / "optuna.journal"
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


def test_a_queue_that_minimises_is_another_studys_and_is_refused(tmp_path, write_study):
    optuna.create_study(study_name="tiny", storage=_journal(tmp_path), direction="minimize")
    path = write_study(FAST)
    before = snapshot(tmp_path)
    result = run_cli(path, cwd=tmp_path)
    assert_refused(result, "'tiny'", "minimizes", "maximizes val_accuracy", "another name")
    assert snapshot(tmp_path) == before  # no trial enqueued into the other study's queue


def test_a_searchs_queue_is_refused_to_a_grid_of_the_same_name(tmp_path, write_study):
    search = optuna.create_study(study_name="tiny", storage=_journal(tmp_path))
    search.set_user_attr("suite_kind", "search")
    path = write_study(FAST)
    before = snapshot(tmp_path)
    result = run_cli(path, cwd=tmp_path)
    assert_refused(result, "is a search", "not this grid")
    assert snapshot(tmp_path) == before
