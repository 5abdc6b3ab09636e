"""A race study through the CLI and the report, on a real store: round 1's results are
synthetic runs with chosen validation accuracies (so the elimination is known in advance),
round 2 is trained for real, and the record alone says where the race stands."""

from __future__ import annotations

import csv

import pytest

from suite.schema import Role, Tag
from suite.study.file import load_study
from suite.study.grid import expand
from tests.conftest import FAST, child_runs, report_cli, run_cli, store_client, store_uri
from tests.helpers.report_helpers import html_tables
from tests.helpers.synthetic_store import SyntheticRun, make_store

RACE = {
    **FAST,
    "grid": {"cell": ["gru", "lstm", "simple_rnn"], "bidirectional": [False]},
    "race": {"min_seeds": 2, "max_seeds": 3, "confidence": 0.95},
}
ROUND_ONE = {"gru": (0.950, 0.951), "lstm": (0.949, 0.952), "simple_rnn": (0.300, 0.301)}


@pytest.mark.slow
def test_a_race_trains_only_the_survivors_next_seed_and_says_its_answer(tmp_path, write_study):
    path = write_study(RACE)
    specs = {(s.model.cell, s.seed): s for s in expand(load_study(path))}
    assert len(specs) == 9  # three configurations x seeds 0..2: every run the race may train
    make_store(
        store_uri(tmp_path),
        [
            SyntheticRun(cell, False, 1, seed, value, recorded_key=specs[cell, seed].run_key)
            for cell, values in ROUND_ONE.items()
            for seed, value in enumerate(values)
        ],
        experiment="tiny",
        study="tiny",
    )
    plan = run_cli(path, "--dry-run", cwd=tmp_path)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "simple_rnn-uni-1L" in plan.stdout and "eliminated in round 1" in plan.stdout
    assert "race: round 2 (3 seeds each), 2 configurations left, 1 eliminated; 2 runs" in (
        " ".join(plan.stdout.split())
    )

    result = run_cli(path, "--workers", "2", cwd=tmp_path)  # round 2's runs in parallel
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 to train by 2 workers" in result.stdout, result.stdout
    # The answer closes the summary, before the pointers to the report and MLflow.
    closing = " ".join(result.stdout.split("\n├")[-1].split())
    assert "race: " in closing and "after 8 runs (a full grid to 3 seeds: 9)" in closing, closing
    runs = child_runs(store_client(tmp_path))
    keys = {r.data.tags[Tag.RUN_KEY] for r in runs if r.info.status == "FINISHED"}
    trained = keys - {specs[c, s].run_key for c in ROUND_ONE for s in (0, 1)}
    assert trained == {specs["gru", 2].run_key, specs["lstm", 2].run_key}

    (tmp_path / "mlruns" / "optuna.journal").unlink()  # the queue lost: the record decides
    again = run_cli(path, cwd=tmp_path)
    assert again.returncode == 0 and "nothing to train" in again.stdout, again.stdout
    assert len(child_runs(store_client(tmp_path))) == len(runs)
    client = store_client(tmp_path)
    (parent,) = client.search_runs(
        [client.get_experiment_by_name("tiny").experiment_id], f"tags.{Tag.ROLE} = '{Role.STUDY}'"
    )
    assert parent.data.tags[Tag.RACE_OUTCOME] in {"separated", "tied"}
    assert parent.data.tags[Tag.RACE_RUNS] == "8"

    report = report_cli(path, "--out", tmp_path / "tiny.html", "--no-log", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    tables = html_tables(tmp_path / "tiny.html")
    assert dict(tables["tiny-overview"][1:])["runs in the grid"] == "8"  # the runs it asked for
    assert "tiny-missing" not in tables  # seeds the race never needed are not "missing"
    race = tables["tiny-race"]
    status = {row[0]: (row[1], row[5]) for row in race[1:]}
    assert status["simple_rnn-uni-1L"] == ("2", "eliminated in round 1")
    assert status["gru-uni-1L"][0] == status["lstm-uni-1L"][0] == "3"
    with (tmp_path / "tiny-race.csv").open() as table:
        rows = {row["configuration"]: row for row in csv.DictReader(table)}
    assert rows["simple_rnn-uni-1L"]["eliminated by"] in {"gru-uni-1L", "lstm-uni-1L"}
    assert float(rows["simple_rnn-uni-1L"]["best val accuracy (mean)"]) == pytest.approx(0.3005)
