"""Messages that must say what is true: the name a study gets from its
file, the workers a memory check counts, the storage refused for a backend axis."""

from __future__ import annotations

import pytest
import yaml

from suite.stores.checks import several_workers_problem
from suite.study.config import StudyError
from suite.study.file import load_study
from suite.worker.local_processes import workers_at_most


def write(folder, name: str, study: dict):
    path = folder / name
    path.write_text(yaml.safe_dump(study), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("file_name", "name"),
    [
        ("étude.yaml", "etude"),  # was refused as "-tude", a name the user never wrote
        ("my study.yaml", "my-study"),  # names that were valid stay as they were
        ("café.yaml", "caf-"),
        ("grid.yaml", "grid"),
    ],
)
def test_a_study_without_a_name_is_named_after_its_file(tmp_path, file_name, name):
    assert load_study(write(tmp_path, file_name, {"grid": {"cell": ["gru"]}})).name == name


def test_a_file_name_that_gives_no_name_asks_for_one(tmp_path):
    with pytest.raises(StudyError) as raised:
        load_study(write(tmp_path, "日本.yaml", {"grid": {"cell": ["gru"]}}))
    (problem,) = raised.value.problems
    assert "gives no study name" in problem and "add  name: my-study" in problem


def test_the_memory_check_counts_the_workers_that_can_start(tmp_path):
    one_run = load_study(write(tmp_path, "a.yaml", {"grid": {"cell": ["gru"]}}))
    assert workers_at_most(one_run.model_copy(update={"workers": _workers(one_run, 64)})) == 1
    four_runs = load_study(
        write(tmp_path, "b.yaml", {"grid": {"cell": ["gru", "lstm"], "seed": [0, 1]}})
    )
    assert workers_at_most(four_runs.model_copy(update={"workers": _workers(four_runs, 64)})) == 4
    backends = load_study(
        write(tmp_path, "c.yaml", {"grid": {"cell": ["gru"], "backend": ["tensorflow", "jax"]}})
    )
    assert workers_at_most(backends) == 2  # one worker process per backend, even with workers 1


def _workers(study, workers: int):
    return study.workers.model_copy(update={"count": workers})


def test_a_backend_axis_on_sqlite_optuna_storage_is_refused_like_several_workers(tmp_path):
    study = load_study(
        write(
            tmp_path,
            "d.yaml",
            {
                "grid": {"cell": ["gru"], "backend": ["tensorflow", "jax"]},
                "storage": f"sqlite:///{tmp_path / 'optuna.db'}",
            },
        )
    )
    problem = several_workers_problem(study)
    assert problem is not None and "not safe for the 2 backends' workers" in problem
    assert "use the default journal file" in problem


def test_a_journal_that_links_to_nowhere_is_one_line_naming_what_is_missing(tmp_path):
    from suite.errors import StoreError
    from suite.stores.checks import check_stores

    (tmp_path / "queue.journal").symlink_to(tmp_path / "gone" / "x.journal")
    study = load_study(
        write(
            tmp_path,
            "e.yaml",
            {
                "grid": {"cell": ["gru"]},
                "storage": str(tmp_path / "queue.journal"),
                "tracking": {"uri": f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"},
            },
        )
    )
    with pytest.raises(StoreError) as raised:
        check_stores(study, writing=True)
    assert f"is a symbolic link to {tmp_path / 'gone' / 'x.journal'}" in str(raised.value)
    assert f"but {tmp_path / 'gone'} does not exist" in str(raised.value)


def test_an_sqlite_optuna_storage_in_a_new_folder_is_made_there(tmp_path):
    from suite.stores.optuna_storage import open_storage

    open_storage(f"sqlite:///{tmp_path / 'new' / 'deeper' / 'optuna.db'}")
    assert (tmp_path / "new" / "deeper" / "optuna.db").is_file()
