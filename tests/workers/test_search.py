"""Optuna searches: the space validated like the rest of the file, pruning, resume."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from suite.study.config import StudyError
from suite.study.file import load_study
from tests.conftest import report_cli, run_cli, trials
from tests.helpers.report_helpers import html_tables

HEAD = "name: s\n"


@pytest.mark.parametrize(
    ("space", "expected"),
    [
        ("units: {low: 64, high: 16}", "search.space.units: low must be below high"),
        ("learning_rate: {low: 0, high: 0.1, log: true}", "log scale needs low > 0"),
        ("neurons: {low: 1, high: 2}", "search.space.neurons: unknown parameter; allowed: cell"),
        ("cell: {choices: [lstm, transformer]}", "search.space.cell: choices[1]: input should be"),
        ("cell: {choices: []}", "choices: empty list"),
        ("units: {choices: [8], low: 1, high: 4}", "give either choices or low/high"),
        ("units: {low: 8}", "needs both low and high"),
        ("units: {low: 8.5, high: 16}", "units is an integer"),
        (
            "dropout: {low: 0.1, high: 1.5}",
            "search.space.dropout: high: input should be less than 1",
        ),
        ("cell: {low: 1, high: 2}", "cell takes choices"),
    ],
)
def test_bad_search_spaces_name_their_key(tmp_path, space, expected):
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + "search:\n  space:\n    " + space + "\n")
    with pytest.raises(StudyError) as caught:
        load_study(path)
    assert expected in caught.value.message


def test_grid_and_search_together_is_refused(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + "grid: {cell: [lstm]}\nsearch: {space: {units: {low: 8, high: 16}}}\n")
    with pytest.raises(StudyError, match="a study has one or the other"):
        load_study(path)


def test_bad_sampler_through_the_cli(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + "search: {sampler: bayes, space: {units: {low: 8, high: 16}}}\n")
    result = run_cli(path, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "search.sampler: input should be 'tpe', 'random' or 'qmc'" in result.stderr
    assert not (tmp_path / "mlruns").exists()


SEARCH = {
    "data": {"train_size": 512, "validation_size": 256, "test_size": 256},
    "model": {"units": 16, "cell": "gru"},
    "training": {"epochs": 4, "batch_size": 64},
    "grid": None,
    "search": {
        "n_trials": 3,
        "sampler": "random",
        "pruner": "median",
        "pruner_startup_trials": 2,
        "pruner_warmup_epochs": 0,
        # Two good learning rates first, then one that cannot learn: the median prunes it.
        "space": {"learning_rate": {"choices": [0.01, 0.02, 1.0e-7]}},
        "enqueue": [{"learning_rate": 0.01}, {"learning_rate": 0.02}, {"learning_rate": 1.0e-7}],
    },
    "tracking": {"log_model": False},
}


@pytest.mark.slow
def test_search_prunes_the_bad_trial_and_resumes(tmp_path, write_study):
    path = write_study(SEARCH)
    first = run_cli(path, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    done = trials(tmp_path)
    assert [t.state for t in done] == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED]
    assert done[2].params == {"learning_rate": 1e-7}

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    pruned = client.get_run(done[2].user_attrs["mlflow_run_id"])
    assert pruned.data.tags["pruned"] == "true"
    pruned_after = int(pruned.data.tags["pruned_after_epoch"])
    assert pruned_after < 4
    history = client.get_metric_history(pruned.info.run_id, "val_accuracy")
    assert len(history) == pruned_after  # its curves up to the pruning epoch
    assert pruned.data.tags["optuna_trial"] == str(done[2].number)
    complete = client.get_run(done[0].user_attrs["mlflow_run_id"])
    assert complete.data.params["learning_rate"] == "0.01"
    assert done[0].value == pytest.approx(
        max(m.value for m in client.get_metric_history(complete.info.run_id, "val_accuracy"))
    )

    again = run_cli(path, cwd=tmp_path)
    assert again.returncode == 0 and "nothing to train" in again.stdout
    assert len(trials(tmp_path)) == 3

    more = run_cli(path, "--set", "search.n_trials=4", cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    assert "3 trials finished before" in more.stdout
    finished = [t for t in trials(tmp_path) if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 4

    # The report's search section reads the Optuna storage; pruned trials stay out of the
    # comparison tables.
    report = report_cli(path, "--out", tmp_path / "r.html", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    tables = html_tables(tmp_path / "r.html")
    states = dict(tables["tiny-search-counts"][1:])
    assert states["pruned"] == "1" and int(states["complete"]) == 3
    assert dict(tables["tiny-search-best"][1:])["trial"] == str(
        max(
            (t for t in trials(tmp_path) if t.state == TrialState.COMPLETE), key=lambda t: t.value
        ).number
    )
    leaderboard_configs = [row[0] for row in tables["tiny-leaderboard"][1:]]
    assert not any("1e-07" in config for config in leaderboard_configs)
    page = (tmp_path / "r.html").read_text()
    assert "Optimization history" in page and "Parameter importances" in page


@pytest.mark.slow
def test_a_search_whose_every_trial_fails_stops(tmp_path, write_study):
    # 100,000 GRU units need a 120 GB weight tensor: refused up front, and with the check
    # turned off every trial fails at once (OOM). Failed trials never count towards
    # n_trials, so without a stop the search would ask forever.
    failing = {
        **SEARCH,
        "search": {**SEARCH["search"], "n_trials": 20, "enqueue": []},
    }
    failing["search"]["space"] = {"units": {"choices": [100_000]}}
    path = write_study(failing)
    refused = run_cli(path, cwd=tmp_path, timeout=240)
    assert refused.returncode == 2 and "--no-memory-check" in refused.stderr, refused.stderr
    assert not (tmp_path / "mlruns").exists()  # refused before anything was written
    result = run_cli(path, "--no-memory-check", cwd=tmp_path, timeout=240)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "3 trials failed in a row" in result.stderr
    assert "ResourceExhausted" in result.stderr and "Traceback" not in result.stderr
    assert [t.state for t in trials(tmp_path)] == [TrialState.FAIL] * 3
