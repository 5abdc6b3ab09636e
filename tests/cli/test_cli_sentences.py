"""What the CLI says of counts and causes, each in the state that once made it false: one run
counted as "1 runs", a run another worker trains called finished, a race's earlier rounds
called "done elsewhere" (or not counted at all), a search's finished trials said to be as
many as it wants, the only configuration of a race called its best."""

from __future__ import annotations

import io
import subprocess

import optuna
from rich.console import Console

from suite.cli.output import MAX_PLAN_ROWS, plan_tail_line
from suite.queue.planning import PlannedRun, PlanState
from suite.queue.run_queue import RunQueue
from suite.queue.search_space import open_search
from suite.race.decision import RaceRules, race
from suite.race.summary import race_line, standings
from suite.study.file import load_study
from suite.study.grid import expand
from suite.worker.progress import StudyProgress
from tests.conftest import FAST, make_spec, run_cli, store_uri
from tests.helpers.synthetic_store import SyntheticRun, make_store

RULES = RaceRules(min_seeds=2, max_seeds=4, confidence=0.95)


def one_line(text: str) -> str:
    """The CLI's output with rich's wrapping undone."""
    return " ".join(text.split())


def recorded(tmp_path, path, values: dict[tuple[str, int], float]) -> None:
    """Finished runs of the study at `path` in its tracking store, as if trained before."""
    specs = {(s.model.cell, s.seed): s for s in expand(load_study(path))}
    runs = [
        SyntheticRun(cell, False, 1, seed, value, recorded_key=specs[cell, seed].run_key)
        for (cell, seed), value in values.items()
    ]
    make_store(store_uri(tmp_path), runs, experiment="tiny", study="tiny")


def test_one_run_is_counted_as_one_run(write_study, tmp_path):
    path = write_study({**FAST, "grid": {"cell": ["gru"], "bidirectional": [False]}})
    recorded(tmp_path, path, {("gru", 0): 0.9})  # its queue never saw it: adopted
    plan = run_cli(path, "--dry-run", cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert "plan of study tiny (1 run)" in plan.stdout, plan.stdout
    again = run_cli(path, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    said = one_line(again.stdout)
    assert "study tiny: 1 run, 1 done before, 0 to train" in said, said
    assert "1 run this study finished in MLflow was missing from its queue" in said, said


def test_a_run_another_worker_trains_is_not_called_finished(write_study, tmp_path):
    path = write_study(
        {**FAST, "grid": {"cell": ["gru"], "bidirectional": [False], "seed": [0, 1]}}
    )
    recorded(tmp_path, path, {("gru", 0): 0.9})
    study = load_study(path)
    _, second = expand(study)
    queue = RunQueue(study)
    queue.enqueue(queue.plan([second]))
    assert queue.claim(second) is not None  # this test process: a live worker training it
    plan = run_cli(path, "--dry-run", cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert "0 to train, 2 not (1 done, 1 running elsewhere); --dry-run" in one_line(plan.stdout)
    again = run_cli(path, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    said = one_line(again.stdout)
    assert "study tiny: 2 runs, 1 done before, 1 running elsewhere, 0 to train" in said, said
    assert (
        "nothing to train here: 1 run of this study is being trained by another worker now;"
        " the other 1 run finished." in said
    ), said
    assert "finished already" not in said


def test_a_decided_race_counts_the_runs_it_asked_for_as_done_before(write_study, tmp_path):
    race_study = {
        **FAST,
        "grid": {"cell": ["gru", "simple_rnn"], "bidirectional": [False]},
        "race": {"min_seeds": 2, "max_seeds": 3, "confidence": 0.95},
    }
    path = write_study(race_study)
    values = {("gru", 0): 0.95, ("gru", 1): 0.951, ("simple_rnn", 0): 0.3, ("simple_rnn", 1): 0.301}
    recorded(tmp_path, path, values)
    result = run_cli(path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    said = one_line(result.stdout)
    assert "study tiny: 4 runs, 4 done before, 0 to train" in said, said
    assert "nothing to train: every run the race has asked for has finished already." in said
    rows = [line for line in result.stdout.splitlines() if "-uni-1L-s" in line]
    assert len(rows) == 4 and all("│ done before │" in row for row in rows), rows


def test_a_search_says_how_many_trials_it_has_and_how_many_it_wants(write_study, tmp_path):
    search = {
        **FAST,
        "grid": None,
        "search": {"n_trials": 3, "space": {"learning_rate": {"choices": [0.01, 0.02, 0.03]}}},
    }
    path = write_study(search)
    queue = open_search(load_study(path))
    choices = optuna.distributions.CategoricalDistribution([0.01, 0.02, 0.03])
    for rate, value in ((0.01, 0.5), (0.02, 0.6), (0.03, 0.7)):
        queue.optuna_study.add_trial(
            optuna.trial.create_trial(
                params={"learning_rate": rate},
                distributions={"learning_rate": choices},
                value=value,
            )
        )
    plan = run_cli(path, "--dry-run", "--set", "search.n_trials=2", cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert (
        "3 trials finished (complete or pruned), 2 wanted; all trials by state: 3 complete;"
        in one_line(plan.stdout)
    ), plan.stdout
    unlimited = run_cli(path, "--dry-run", "--set", "search.n_trials=null", cwd=tmp_path)
    assert "3 trials finished (complete or pruned), n_trials not set;" in one_line(
        unlimited.stdout
    ), unlimited.stdout
    again = run_cli(path, "--set", "search.n_trials=2", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    said = one_line(again.stdout)
    assert "search tiny: 3 trials finished before, 2 wanted;" in said, said
    assert "nothing to train: the search has 3 finished trials already, 2 wanted." in said, said


def test_a_search_without_a_number_of_trials_counts_trials_not_runs_out_of_zero():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=150, color_system=None)
    with StudyProgress(console, study="s", total=0, done=3, unit="trials") as progress:
        progress.progress.refresh()
        assert "trials 3 " in out.getvalue() and "3/0" not in out.getvalue(), out.getvalue()
        progress.set_done(4)
        progress.progress.refresh()
        assert "trials 4 " in out.getvalue()


def test_a_race_counts_one_run_and_one_configuration_in_the_singular():
    one_left = race({"a": {0: 0.9, 1: 0.91}, "b": {0: 0.9}}, RULES)
    assert race_line(one_left) == (
        "race: round 1 (2 seeds each), 2 configurations left, 0 eliminated; 1 run to train in"
        " this round"
    )
    alone = race({"a": {}}, RULES)
    assert race_line(alone) == (
        "race: round 1 (2 seeds each), 1 configuration left, 0 eliminated; 2 runs to train in"
        " this round"
    )


def test_the_only_configuration_of_a_race_is_not_called_its_best():
    (row,) = standings(race({"a": {0: 0.97, 1: 0.971}}, RULES))
    assert row.status == "only one"
    rows = {
        r.configuration: r.status
        for r in standings(race({"a": {0: 0.97, 1: 0.971}, "b": {0: 0.5, 1: 0.51}}, RULES))
    }
    assert rows == {"a": "best", "b": "eliminated in round 1"}  # compared: a best, at 95%


def test_a_plan_one_row_past_the_table_says_one_more_run():
    planned = [
        PlannedRun(make_spec(cell="gru", seed=seed), PlanState.TODO)
        for seed in range(MAX_PLAN_ROWS + 1)
    ]
    assert plan_tail_line(planned) == (
        "... and 1 more run not listed; all 201 runs by state: 201 to do"
    )


def test_a_race_in_its_second_round_counts_every_run_it_asked_for_in_its_progress(
    write_study, tmp_path
):
    from suite.worker.local_processes import _status_table
    from suite.worker.race_source import RaceTrials

    race_study = {
        **FAST,
        "grid": {"cell": ["gru", "lstm", "simple_rnn"], "bidirectional": [False]},
        "race": {"min_seeds": 2, "max_seeds": 3, "confidence": 0.95},
    }
    path = write_study(race_study)
    round_one = {"gru": (0.950, 0.951), "lstm": (0.949, 0.952), "simple_rnn": (0.300, 0.301)}
    recorded(tmp_path, path, {(c, s): v for c, vs in round_one.items() for s, v in enumerate(vs)})
    source = RaceTrials(load_study(path))
    opening = source.open()
    assert (opening.total, opening.done, opening.to_train) == (8, 6, 2)  # 3 x 2, then 2 x 1
    worker = subprocess.Popen(["true"])
    worker.wait()
    table = _status_table(
        source.study, source.queue, {"w1": worker}, specs=source.specs, counted=source.counted_runs
    )
    assert str(table.title).startswith("tiny: runs 6/8"), table.title  # the --workers table
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=150, color_system=None)
    with StudyProgress(console, study="tiny", total=opening.total, done=opening.done) as progress:
        source.next(progress, tried=set())  # claims a run of round 2
        progress.progress.refresh()
        assert "runs 6/8" in out.getvalue() and "runs 0/" not in out.getvalue(), out.getvalue()
