"""Each sentence the report writes about a count, a cause or a confidence, in the state that
could make it false: one configuration, seeds that agree exactly, one seed, ties, a run_key
held by several MLflow runs, pruned runs, data other than MNIST.

Every store is synthetic with values chosen here; the sentences follow from them by hand (an
interval or a p-value by scipy).
"""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from scipy import stats

from suite.schema import Role, Tag, counted
from tests.conftest import report_cli
from tests.helpers.report_helpers import html_tables, synthetic_report
from tests.helpers.synthetic_store import SyntheticRun, make_store


def notes(out: Path) -> list[str]:
    found = re.findall(r'<p class="note[^"]*">(.*?)</p>', out.read_text(), flags=re.S)
    return [html.unescape(n) for n in found]


def captions(out: Path) -> list[str]:
    page = out.read_text()
    found = re.findall(r'<p class="caption"[^>]*>(.*?)</p>', page, flags=re.S)
    found += re.findall(r"<figcaption>(.*?)</figcaption>", page, flags=re.S)
    return [html.unescape(c) for c in found]


def facts(out: Path, key: str) -> dict[str, str]:
    return {row[0]: row[1] for row in html_tables(out)[f"{key}-overview"][1:]}


def test_counted_agrees_with_its_count():
    assert [counted(n, "seed") for n in (0, 1, 2)] == ["0 seeds", "1 seed", "2 seeds"]
    assert counted(1, "CSV file") == "1 CSV file"
    assert counted(3, "analysis", "analyses") == "3 analyses"


@pytest.fixture(scope="module")
def lonely(tmp_path_factory) -> Path:
    """One configuration, two seeds that agree exactly (test and validation 0.95); one
    run_key FINISHED twice without a result; one run_key RUNNING twice (a stale run and its
    retry); no confusion matrix logged."""
    tmp_path = tmp_path_factory.mktemp("lonely")
    uri = f"sqlite:///{tmp_path / 'lonely.db'}"
    runs = [SyntheticRun("lstm", False, 1, seed, 0.95) for seed in (0, 1)]
    make_store(uri, runs, experiment="lonely", study="lonely", epochs=4, confusion=False)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("lonely").experiment_id
    for key, status in (("no-result", "FINISHED"), ("no-result", "FINISHED"), ("stale", None)):
        run = client.create_run(experiment, tags={Tag.ROLE: Role.RUN, Tag.RUN_KEY: key})
        if status:
            client.set_terminated(run.info.run_id, status)
    client.create_run(experiment, tags={Tag.ROLE: Role.RUN, Tag.RUN_KEY: "stale"})
    out = tmp_path / "lonely.html"
    result = report_cli(
        "--experiment", "lonely", "--tracking-uri", uri, "--out", out, "--no-log", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    return out


def test_one_configuration_is_tested_against_nothing_and_equal_seeds_get_no_interval(lonely):
    """It used to say a test needs two seeds (it has two) and "(95% CI n/a to n/a)"."""
    assert notes(lonely)[0] == (
        "Best configuration by validation: lstm-uni-1L (val accuracy 0.9500, 2 seeds); test"
        " accuracy 0.9500 (its 2 seeds agree exactly on test: no interval). No other"
        " configuration has a result: there is nothing to test it against."
    )
    board = [c for c in captions(lonely) if c.startswith("Ranked by validation accuracy")]
    assert board[0].endswith(
        " n/a beside two seeds or more: their test values agree exactly, no interval."
    )


def test_a_run_key_is_counted_once_however_many_runs_hold_it(lonely):
    """Two MLflow runs of one run_key without a result, two RUNNING of another: one each."""
    found = facts(lonely, "lonely")
    assert found["finished runs"] == "2"
    assert found["finished without a result"] == "1"
    assert found["running now"] == "1"


def test_the_fastest_sentence_counts_one_configuration_and_its_seeds(lonely):
    """The curve reaches 0.95 at epoch 4 of 4 alone (0.95 - 0.3 (1 - e/4)^2), at 2 s an
    epoch: 8.0 s, in both seeds, the only configuration."""
    assert (
        "Fastest to 0.95 validation accuracy: lstm-uni-1L, after 4 epochs and 8.0 s of"
        " training (mean over its 2 seeds); 1 of 1 configuration reached it in every seed."
    ) in notes(lonely)


def test_a_missing_confusion_matrix_is_not_given_one_cause(lonely):
    assert (
        "No confusion matrix could be read for this run: it logged none (trained before the"
        " suite logged confusion_matrix.json, or by another tool), or its artifacts cannot be"
        " read from here."
    ) in notes(lonely)


def test_one_tested_and_one_flagged_configuration_are_said_in_the_singular(tmp_path):
    """lstm (0.95, 0.96) best; gru (0.12, 0.13) near chance (below 0.10 + 0.10), tested;
    simple_rnn with one seed, untested."""
    runs = [SyntheticRun("lstm", False, 1, s, v) for s, v in ((0, 0.95), (1, 0.96))]
    runs += [SyntheticRun("gru", False, 1, s, v) for s, v in ((0, 0.12), (1, 0.13))]
    runs += [SyntheticRun("simple_rnn", False, 1, 0, 0.50)]
    out = synthetic_report(tmp_path, runs, "single")
    low, high = stats.t.interval(0.95, 1, loc=0.955, scale=stats.sem([0.95, 0.96]))
    welch = stats.ttest_ind([0.12, 0.13], [0.95, 0.96], equal_var=False)
    assert welch.pvalue < 0.05  # Holm over one test leaves it as it is: lower
    assert notes(out)[0] == (
        f"Best configuration by validation: lstm-uni-1L (val accuracy 0.9550, 2 seeds); test"
        f" accuracy 0.9550 (95% CI {low:.4f} to {high:.4f}). Against it on test accuracy, of 1"
        " configuration tested (Welch, Holm-corrected, alpha 0.05): 1 lower. 1 configuration"
        " stayed near chance level (flagged)."
    )
    assert (
        "Validation accuracy per epoch: epochs from 1; line = mean over seeds, band = 1"
        " standard deviation across seeds (none for a configuration with one seed)"
    ) in captions(out)


def test_a_study_of_pruned_runs_says_they_were_pruned_not_untrained(tmp_path):
    """Every run pruned by the search: not "No finished runs yet: train it"; and the console
    counts its one CSV file in the singular."""
    uri = f"sqlite:///{tmp_path / 'pruned.db'}"
    ids = make_store(uri, [SyntheticRun("lstm", False, 1, 0, 0.95)], experiment="pruned")
    MlflowClient(uri).set_tag(ids["lstm-uni-1L-s0"], Tag.PRUNED, "true")
    out = tmp_path / "pruned.html"
    result = report_cli(
        "--experiment", "pruned", "--tracking-uri", uri, "--out", out, "--no-log", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert notes(out) == [
        "Nothing to rank in pruned: its 1 run was pruned by the search (stopped early on its"
        " validation value, so kept out of every comparison), and no other run has finished."
    ]
    assert facts(out, "pruned")["pruned by the search"] == "1"
    assert "tables: 1 CSV file beside them" in result.stdout


def test_cells_tied_at_every_budget_are_the_same_best_cells(tmp_path):
    """gru and lstm tie (0.90) at both budgets: the same best cells, not "differs"."""
    runs = [
        SyntheticRun(cell, False, 1, 0, 0.90, val_accuracy=0.90, params=budget)
        for cell in ("lstm", "gru")
        for budget in (1000, 2000)
    ]
    out = synthetic_report(tmp_path, runs, "even")
    said = notes(out)
    assert "The best cell is the same at every budget: gru or lstm." in said
    first = html_tables(out)["even-budget-1000"][1][1]
    other = ({"gru-uni-1L", "lstm-uni-1L"} - {first}).pop()
    assert (
        f"At 1,000 weights: best {first} by validation accuracy (0.9000; test accuracy 0.9000,"
        f" 50 units, 1,000 parameters); tied on validation with {other}."
    ) in said


def test_cells_tied_in_another_order_at_another_budget_are_the_same_best_cells():
    """The order of tied rows follows MLflow's (runs started together): a set, not a list."""
    from suite.report.sections.budgets import _same_best

    tied = {1000: ["gru", "lstm"], 2000: ["lstm", "gru"]}
    assert _same_best(tied) == "The best cell is the same at every budget: gru or lstm."
    apart = {1000: ["lstm", "gru"], 2000: ["lstm"]}
    assert _same_best(apart) == (
        "The best cell differs between budgets: gru or lstm at 1,000 weights, lstm at 2,000"
        " weights."
    )


def test_archive_data_is_said_in_classes_and_one_seed_is_not_a_mean(tmp_path):
    """Two archive datasets, one seed each: the confusion matrix counts sequences of classes,
    not images of digits, and the best beside the published baselines is one seed."""
    runs = [
        SyntheticRun(cell, False, 1, 0, value, dataset=dataset)
        for dataset in ("GunPoint", "ArrowHead")
        for cell, value in (("lstm", 0.90), ("gru", 0.80))
    ]
    out = synthetic_report(tmp_path, runs, "archive")
    said = captions(out)
    confusion = "Confusion matrix on the test set: counts of test sequences: rows the true"
    assert sum(c.startswith(confusion) for c in said) == 2, said
    assert not any("digit" in c for c in said)
    with (tmp_path / "archive-published.csv").open() as file:
        ours = [r for r in csv.DictReader(file) if r["source"] == "this report"]
    assert [r["which number"] for r in ours] == ["one seed, chosen by validation"] * 2


def _search_of(*states: str):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    for state in states:
        trial = optuna.trial.create_trial(state=optuna.trial.TrialState[state], value=None)
        study.add_trial(trial)
    return study.get_trials()


def test_a_search_without_a_complete_trial_says_whether_one_may_still_come():
    from suite.report.sections.search import _no_complete_trial

    assert _no_complete_trial(_search_of("FAIL", "FAIL", "PRUNED")) == (
        "No trial completed (2 trials failed, 1 trial pruned): the search has nothing to select."
    )
    assert _no_complete_trial(_search_of("FAIL", "RUNNING")) == (
        "No complete trial yet: 1 trial running or waiting."
    )
    assert _no_complete_trial([]) == "No trial has run yet: nothing to select."
