"""What the report may claim: best chosen on validation, ties shown as ties, no statistic
without seeds (HTML, Markdown and CSV alike), results near chance level flagged.

Each store is synthetic with values chosen here; expected ranks and words follow from them.
"""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import pytest

from tests.conftest import STATISTIC, report_cli
from tests.helpers.report_helpers import html_tables, synthetic_report
from tests.helpers.synthetic_store import SyntheticRun, make_store


def page_text(out: Path) -> str:
    """What a reader can read: the page's text without tags, scripts or images."""
    page = re.sub(r"<script>.*?</script>", " ", out.read_text(), flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def notes(out: Path) -> list[str]:
    found = re.findall(r'<p class="note[^"]*">(.*?)</p>', out.read_text(), flags=re.S)
    return [html.unescape(n) for n in found]


def test_one_seed_report_has_no_statistic_anywhere(tmp_path):
    runs = [
        SyntheticRun(cell, bi, depth, 0, 0.90 + 0.01 * depth + 0.005 * bi)
        for cell in ("lstm", "gru")
        for bi in (False, True)
        for depth in (1, 2)
    ]
    out = synthetic_report(tmp_path, runs, "single")
    text = page_text(out)
    assert not STATISTIC.search(text), STATISTIC.search(text)
    markdown = out.with_suffix(".md").read_text()
    assert not STATISTIC.search(markdown), STATISTIC.search(markdown)
    csvs = sorted(tmp_path.glob("single-*.csv"))
    assert len(csvs) >= 5
    for path in csvs:
        header = next(csv.reader(path.open()))
        assert not any(STATISTIC.search(h) or h in {"std", "p"} for h in header), (path, header)
    # ... and it says why instead.
    assert "One seed per configuration: the spread between seeds is unknown" in text
    assert "Differences are not tested: a test needs two or more seeds" in notes(out)[0]
    tables = html_tables(out)
    assert "single-significance" not in tables
    assert tables["single-main-effects"][0] == ["factor", "level", "runs", "mean test accuracy"]
    assert tables["single-effects-per-cell"][0] == ["cell", "effect", "difference"]


def test_best_is_chosen_on_validation_never_on_test(tmp_path):
    # lstm-uni-1L validates best (0.95) but tests worse; gru-bi-1L tests best (0.99) but
    # validates worse. The best configuration is lstm-uni-1L everywhere in the report.
    runs = [
        SyntheticRun("lstm", False, 1, seed, 0.90, val_accuracy=0.95 - 0.001 * seed)
        for seed in (0, 1)
    ]
    runs += [
        SyntheticRun("gru", True, 1, seed, 0.99, val_accuracy=0.93 - 0.001 * seed)
        for seed in (0, 1)
    ]
    runs += [
        SyntheticRun("gru", False, 1, seed, 0.91, val_accuracy=0.94 - 0.001 * seed)
        for seed in (0, 1)
    ]
    out = synthetic_report(tmp_path, runs, "choose")
    tables = html_tables(out)
    board = tables["choose-leaderboard"]
    assert board[0][:4] == [
        "rank",
        "configuration",
        "val accuracy (selects)",
        "test accuracy (mean)",
    ]
    # mean validation scores 0.9495, 0.9395, 0.9295: that order, whatever the test says
    assert [row[1] for row in board[1:]] == ["lstm-uni-1L", "gru-uni-1L", "gru-bi-1L"]
    assert [row[2] for row in board[1:]] == ["0.9495", "0.9395", "0.9295"]
    assert [row[0] for row in board[1:]] == ["1", "2", "3"]
    headline = notes(out)[0]
    assert headline.startswith("Best configuration by validation: lstm-uni-1L")
    assert "test accuracy 0.9000" in headline
    assert "ranked by validation accuracy" in notes(out)[1]
    assert dict(tables["choose-best-run"][1:])["run"] == "lstm-uni-1L-s0"  # val 0.950 > 0.949
    # the test that the best is compared with is the validation-chosen one
    assert {row[1] for row in tables["choose-significance"][1:]} == {"lstm-uni-1L"}


def test_ties_on_validation_are_shown_as_ties(tmp_path):
    runs = [
        SyntheticRun("lstm", True, 2, 0, 0.97, val_accuracy=0.96),
        SyntheticRun("gru", True, 2, 0, 0.95, val_accuracy=0.96),
        SyntheticRun("gru", False, 2, 0, 0.93, val_accuracy=0.94),
        SyntheticRun("lstm", False, 2, 0, 0.92, val_accuracy=0.94),
        SyntheticRun("simple_rnn", False, 2, 0, 0.90, val_accuracy=0.91),
    ]
    out = synthetic_report(tmp_path, runs, "tied")
    tables = html_tables(out)
    ranks = {row[1]: row[0] for row in tables["tied-leaderboard"][1:]}
    assert ranks == {
        "lstm-bi-2L": "1",
        "gru-bi-2L": "1",
        "gru-uni-2L": "3",
        "lstm-uni-2L": "3",
        "simple_rnn-uni-2L": "5",
    }
    first = tables["tied-leaderboard"][1][1]
    other = ({"lstm-bi-2L", "gru-bi-2L"} - {first}).pop()
    headline = notes(out)[0]
    assert f"Tied on validation with {other}" in headline
    best_run_notes = [n for n in notes(out) if n.startswith("Tied on val accuracy with")]
    assert best_run_notes == [
        f"Tied on val accuracy with {other}-s0: listed first by the ranking, not better."
    ]


def test_results_near_chance_are_flagged_and_no_conclusion_is_drawn(tmp_path):
    runs = [
        SyntheticRun(cell, bi, 1, 0, accuracy, val_accuracy=accuracy + 0.01)
        for (cell, bi), accuracy in {
            ("lstm", False): 0.11,
            ("lstm", True): 0.13,
            ("gru", False): 0.10,
            ("gru", True): 0.12,
        }.items()
    ]
    out = synthetic_report(tmp_path, runs, "chance")
    headline = notes(out)[0]
    assert headline.startswith("No architecture conclusion can be drawn")
    assert "lstm-bi-1L" in headline and "within 10 points of chance (0.10)" in headline
    assert 'class="note warning"' in out.read_text().split("Rule:")[0]
    board = html_tables(out)["chance-leaderboard"]
    flag = board[0].index("flag")
    assert [row[flag] for row in board[1:]] == ["near chance"] * 4
    markdown = out.with_suffix(".md").read_text()
    assert "No architecture conclusion can be drawn" in markdown


def test_only_the_configurations_near_chance_are_flagged(tmp_path):
    runs = [
        SyntheticRun("lstm", True, 1, 0, 0.95),
        SyntheticRun("simple_rnn", False, 1, 0, 0.15),  # 0.15 < 0.10 + 0.10
        SyntheticRun("gru", False, 1, 0, 0.21),  # not within 10 points
    ]
    out = synthetic_report(tmp_path, runs, "some")
    board = html_tables(out)["some-leaderboard"]
    flag = board[0].index("flag")
    assert {row[1]: row[flag] for row in board[1:]} == {
        "lstm-bi-1L": "",
        "gru-uni-1L": "",
        "simple_rnn-uni-1L": "near chance",
    }
    headline = notes(out)[0]
    assert headline.startswith("Best configuration by validation: lstm-bi-1L")
    assert "1 configuration stayed near chance level (flagged)" in headline


@pytest.mark.parametrize("seeds", [1, 3])
def test_epochs_are_integers_counted_from_one(tmp_path, seeds):
    runs = [
        SyntheticRun("lstm", bi, 1, s, 0.9 + 0.01 * bi)
        for bi in (False, True)
        for s in range(seeds)
    ]
    out = synthetic_report(tmp_path, runs, f"epochs{seeds}")
    tables = html_tables(out)
    board = tables[f"epochs{seeds}-leaderboard"]
    column = board[0].index("best epoch")
    assert {row[column] for row in board[1:]} == {"4"}  # the last of 4 epochs, not "4.0"
    assert dict(tables[f"epochs{seeds}-best-run"][1:])["best epoch (val accuracy)"] == "4"
    text = page_text(out)
    assert ("band = 1 standard deviation across seeds" in text) == (seeds > 1)
    assert ("one seed per configuration: one line each, no band" in text) == (seeds == 1)


def test_finished_runs_without_a_result_are_listed_apart_never_ranked(tmp_path):
    """A FINISHED run with no final metrics, and runs whose test accuracy is NaN: no
    traceback, none ranked or counted as a seed; each listed with the unfinished runs."""
    from mlflow.tracking import MlflowClient

    from suite.schema import Role, Tag

    uri = f"sqlite:///{tmp_path / 'odd.db'}"
    runs = [SyntheticRun("gru", False, 1, 0, 0.90), SyntheticRun("gru", False, 1, 1, 0.92)]
    runs += [SyntheticRun("lstm", False, 1, seed, 0.97) for seed in (0, 1)]
    ids = make_store(uri, runs, experiment="odd", study="odd", epochs=4)
    client = MlflowClient(uri)
    for seed in (0, 1):
        client.log_metric(ids[f"lstm-uni-1L-s{seed}"], "test_accuracy", float("nan"), step=5)
    experiment = client.get_experiment_by_name("odd").experiment_id
    bare = client.create_run(
        experiment, tags={Tag.ROLE: Role.RUN, Tag.RUN_KEY: "bare"}, run_name="bare"
    )
    client.set_terminated(bare.info.run_id, "FINISHED")
    out = tmp_path / "odd.html"
    result = report_cli(
        "--experiment", "odd", "--tracking-uri", uri, "--out", out, "--no-log", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    tables = html_tables(out)
    board = tables["odd-leaderboard"]
    assert [row[1] for row in board[1:]] == ["gru-uni-1L"]  # the lstm runs have no result
    assert board[1][board[0].index("seeds")] == "2"
    apart = {row[0]: row[1] for row in tables["odd-unfinished"][1:]}
    assert apart == {
        "lstm-uni-1L-s0": "FINISHED, no result",
        "lstm-uni-1L-s1": "FINISHED, no result",
        "bare": "FINISHED, no result",
    }


def test_a_study_whose_runs_all_lack_a_result_says_so(tmp_path):
    """Every run FINISHED without a test accuracy: the overview counts them as finished
    without a result and says why nothing is ranked, not "No finished runs yet: train it"
    (the runs are finished, and training again would not change them)."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'odd.db'}"
    runs = [SyntheticRun("lstm", False, 1, seed, 0.97) for seed in range(4)]
    ids = make_store(uri, runs, experiment="odd", study="odd", epochs=4)
    client = MlflowClient(uri)
    for seed in range(4):
        client.log_metric(ids[f"lstm-uni-1L-s{seed}"], "test_accuracy", float("nan"), step=5)
    out = tmp_path / "odd.html"
    result = report_cli(
        "--experiment", "odd", "--tracking-uri", uri, "--out", out, "--no-log", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "No finished runs yet" not in text
    assert "its 4 finished runs hold no final result" in text
    facts = {row[0]: row[1] for row in html_tables(out)["odd-overview"][1:]}
    assert facts["finished runs"] == "0" and facts["finished without a result"] == "4", facts
