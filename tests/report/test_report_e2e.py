"""The report through its CLI, on stores made with MLflow's API with known values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from scipy import stats

from suite.schema import Artifact, Role, Tag
from tests.conftest import report_cli
from tests.helpers.report_helpers import html_tables
from tests.helpers.synthetic_store import SyntheticRun, make_store

# test accuracy by (cell, bidirectional) over seeds 0, 1, 2; depth 1 throughout
KNOWN = {
    ("lstm", True): [0.970, 0.975, 0.972],
    ("lstm", False): [0.960, 0.962, 0.955],
    ("gru", True): [0.965, 0.975, 0.970],
    ("gru", False): [0.930, 0.935, 0.940],
}


def known_runs() -> list[SyntheticRun]:
    return [
        SyntheticRun(cell, bi, 1, seed, accuracy)
        for (cell, bi), values in KNOWN.items()
        for seed, accuracy in enumerate(values)
    ]


@pytest.fixture
def known_store(tmp_path: Path) -> str:
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    (tmp_path / "mlruns").mkdir()
    make_store(uri, known_runs(), experiment="known", study="known")
    return uri


def assert_leaderboard_statistics(board: pd.DataFrame) -> None:
    """Each configuration's mean, std and 95% t-interval over its three seeds."""
    assert board["configuration"].tolist()[0] == "lstm-bi-1L"  # highest mean (0.9723)
    for (cell, bi), values in KNOWN.items():
        row = board[board["configuration"] == f"{cell}-{'bi' if bi else 'uni'}-1L"].iloc[0]
        low, high = stats.t.interval(0.95, 2, loc=np.mean(values), scale=stats.sem(values))
        assert row["seeds"] == 3
        assert row["test accuracy (mean)"] == pytest.approx(np.mean(values))
        assert row["std"] == pytest.approx(np.std(values, ddof=1))
        assert (row["95% CI low"], row["95% CI high"]) == pytest.approx((low, high))


def assert_significance(tests: pd.DataFrame) -> None:
    """Welch's test of each configuration against the best, Holm-corrected by hand."""
    best = KNOWN[("lstm", True)]
    others = [("gru", True), ("lstm", False), ("gru", False)]
    raw = {
        f"{c}-{'bi' if b else 'uni'}-1L": stats.ttest_ind(
            KNOWN[(c, b)], best, equal_var=False
        ).pvalue
        for c, b in others
    }
    # Holm by hand: the k-th smallest of m p-values times (m - k + 1), kept non-decreasing.
    ordered = sorted(raw, key=raw.get)
    adjusted, running = {}, 0.0
    for k, config in enumerate(ordered):
        running = max(running, min(1.0, (len(ordered) - k) * raw[config]))
        adjusted[config] = running
    for _, row in tests.iterrows():
        assert row["p"] == pytest.approx(raw[row["configuration"]])
        assert row["p (Holm)"] == pytest.approx(adjusted[row["configuration"]])
    verdicts = dict(zip(tests["configuration"], tests["verdict"], strict=True))
    assert verdicts["gru-bi-1L"].startswith("not distinguishable")
    assert verdicts["gru-uni-1L"].startswith("worse, p = ")


def assert_effects(effects: pd.DataFrame, main: pd.DataFrame) -> None:
    """The bidirectional effect within the GRU, and the direction's main effect."""
    gru_bi = effects[(effects["cell"] == "gru") & effects["effect"].str.startswith("bidir")].iloc[0]
    assert gru_bi["difference"] == pytest.approx(
        np.mean(KNOWN[("gru", True)]) - np.mean(KNOWN[("gru", False)])
    )
    bidirectional = main[main["level"] == "bidirectional"].iloc[0]
    assert bidirectional["mean test accuracy"] == pytest.approx(
        np.mean(KNOWN[("lstm", True)] + KNOWN[("gru", True)])
    )
    assert bidirectional["runs"] == 6


def assert_csv_html_and_markdown_agree(out: Path, board: pd.DataFrame) -> None:
    """The CSV, the HTML table and the Markdown summary show the same numbers."""
    tables = html_tables(out)
    html_board = tables["known-leaderboard"]
    assert html_board[0] == board.columns.tolist()
    for html_row, (_, csv_row) in zip(html_board[1:], board.iterrows(), strict=True):
        assert html_row[1] == csv_row["configuration"]
        assert html_row[3] == f"{csv_row['test accuracy (mean)']:.4f}"
        assert html_row[5] == f"{csv_row['95% CI low']:.4f}"
    markdown = out.with_suffix(".md").read_text()
    for html_row in html_board[1:]:
        assert "| " + " | ".join(html_row) + " |" in markdown
    for html_row in tables["known-main-effects"][1:]:
        assert "| " + " | ".join(html_row) + " |" in markdown


def test_statistics_match_scipy_and_csv_markdown_match_html(tmp_path, known_store):
    out = tmp_path / "out" / "known.html"
    result = report_cli(
        "--experiment",
        "known",
        "--tracking-uri",
        known_store,
        "--out",
        out,
        "--mlflow-url",
        "http://mlflow.example:5000",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr

    board = pd.read_csv(out.with_name("known-leaderboard.csv"))
    assert_leaderboard_statistics(board)
    assert_significance(pd.read_csv(out.with_name("known-significance.csv")))
    assert_effects(
        pd.read_csv(out.with_name("known-effects-per-cell.csv")),
        pd.read_csv(out.with_name("known-main-effects.csv")),
    )
    assert_csv_html_and_markdown_agree(out, board)

    page = out.read_text()
    assert "http://mlflow.example:5000/#/experiments/" in page
    assert 'src="http' not in page and "<link" not in page  # nothing fetched from a network
    assert page.count("data:image/png;base64,") >= 8  # seven plots + best-run curves (+ matrix)

    client = MlflowClient(known_store)
    parent = client.search_runs(
        [client.get_experiment_by_name("known").experiment_id],
        f"tags.{Tag.ROLE} = '{Role.STUDY}'",
    )[0]
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, Artifact.REPORT_DIR)}
    assert f"{Artifact.REPORT_DIR}/known.html" in logged
    assert f"{Artifact.REPORT_DIR}/known.md" in logged


def test_partial_study_lists_missing_failed_and_running(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    (tmp_path / "mlruns").mkdir()
    runs = [
        SyntheticRun("lstm", False, 1, 0, 0.95),
        SyntheticRun("lstm", True, 1, 0, 0.96),
        SyntheticRun("gru", False, 1, 0, 0.0, status="FAILED"),
        SyntheticRun("gru", True, 1, 0, 0.0, status="RUNNING"),
    ]
    make_store(uri, runs, experiment="partial", study="partial")
    study = tmp_path / "partial.yaml"
    study.write_text(
        "name: partial\ngrid: {cell: [lstm, gru, simple_rnn], bidirectional: [false, true]}\n"
        f"tracking: {{uri: 'sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}'}}\n"
    )
    result = report_cli(study, "--out", tmp_path / "partial.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    tables = html_tables(tmp_path / "partial.html")
    overview = dict(tables["partial-overview"][1:])
    # The synthetic runs carry the run keys the study file's grid computes: they join.
    assert overview["runs in the grid"] == "6"
    assert overview["finished"] == "2"  # lstm uni and bi
    assert overview["missing (not finished)"] == "4"
    unfinished = {row[0]: row[1] for row in tables["partial-unfinished"][1:]}
    assert unfinished == {"gru-uni-1L-s0": "FAILED", "gru-bi-1L-s0": "RUNNING"}
    never = {row[0] for row in tables["partial-missing"][1:]}
    assert never == {"simple_rnn-uni-1L-s0", "simple_rnn-bi-1L-s0"}
    assert len(tables["partial-leaderboard"]) - 1 == 2  # the two finished configurations
    # The pivot keeps the grid's cells that have no finished run, shown as missing.
    pivot = {row[0]: row[1:] for row in tables["partial-pivot-unidirectional"][1:]}
    assert list(pivot) == ["simple_rnn", "lstm", "gru"]
    assert (
        pivot["lstm"] == ["0.9500"] and pivot["gru"] == ["n/a"] and pivot["simple_rnn"] == ["n/a"]
    )


def test_escapes_everything_from_the_store(tmp_path):
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    ids = make_store(
        uri,
        [SyntheticRun("lstm", True, 1, 0, 0.99), SyntheticRun("gru", True, 1, 0, 0.5)],
        experiment="evil",
    )
    client = MlflowClient(uri)
    evil = "<script>alert(1)</script>"
    client.set_tag(ids["lstm-bi-1L-s0"], "mlflow.runName", evil)
    client.set_tag(ids["lstm-bi-1L-s0"], f"{Tag.ENV_PREFIX}device", evil)
    out = tmp_path / "evil.html"
    result = report_cli(
        "--experiment", "evil", "--tracking-uri", uri, "--out", out, "--no-log", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    page = out.read_text()
    assert evil not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # the page's own table sorter, nothing else


def test_clear_messages_and_no_store_created(tmp_path):
    missing = report_cli(
        "--experiment", "x", "--tracking-uri", f"sqlite:///{tmp_path}/none.db", cwd=tmp_path
    )
    assert missing.returncode == 1 and "no tracking store at" in missing.stderr
    assert not (tmp_path / "none.db").exists()

    uri = f"sqlite:///{tmp_path / 'store.db'}"
    make_store(uri, [], experiment="empty")
    empty = report_cli("--experiment", "empty", "--tracking-uri", uri, cwd=tmp_path)
    assert empty.returncode == 1 and "no runs in empty" in empty.stderr
    assert "python -m suite.run" in empty.stderr
    unknown = report_cli("--experiment", "nope", "--tracking-uri", uri, cwd=tmp_path)
    assert unknown.returncode == 1 and "no experiment 'nope'" in unknown.stderr
    bad_study = report_cli(tmp_path / "missing.yaml", cwd=tmp_path)
    assert bad_study.returncode == 2 and "no such file" in bad_study.stderr
    for result in (missing, empty, unknown, bad_study):
        assert "Traceback" not in result.stderr


def _first_study(tmp_path: Path) -> str:
    """A store holding study "first": lstm-uni-1L at seeds 0 and 1; its URI."""
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    make_store(
        uri,
        [SyntheticRun("lstm", False, 1, s, 0.9 + s / 100) for s in range(2)],
        experiment="first",
        study="first",
    )
    return uri


def test_several_studies_in_one_report_without_keras(tmp_path):
    uri = _first_study(tmp_path)
    make_store(
        uri,
        [SyntheticRun("gru", True, 2, s, 0.8 + s / 100) for s in range(2)],
        experiment="second",
        study="second",
    )
    out = tmp_path / "both.html"
    program = (
        "import sys; from suite.report.__main__ import main; "
        f"code = main(['--experiment', 'first', '--experiment', 'second', '--tracking-uri', "
        f"{uri!r}, '--out', {str(out)!r}, '--no-log']); "
        "assert 'keras' not in sys.modules, 'the report imported keras'; sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    tables = html_tables(out)
    assert tables["first-leaderboard"][1][1] == "lstm-uni-1L"
    assert tables["second-leaderboard"][1][1] == "gru-bi-2L"
    assert (tmp_path / "both-first-leaderboard.csv").exists()
    assert (tmp_path / "both-second-leaderboard.csv").exists()
    assert "Comparison report: first, second" in out.read_text()


def test_a_study_named_twice_is_reported_once(tmp_path):
    """`suite.report first --experiment first --experiment first`: one study, its two runs
    once each (not a report of "first+first" with every table twice); two different studies
    of one name in one experiment cannot be told apart, and are refused."""
    uri = _first_study(tmp_path)
    twice = ["--experiment", "first", "--experiment", "first", "--tracking-uri", uri]
    result = report_cli(*twice, "--no-log", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "reports/first.html" in result.stdout, result.stdout
    assert not list((tmp_path / "reports").glob("first+first*"))
    board = pd.read_csv(tmp_path / "reports" / "first-leaderboard.csv")
    assert list(board["configuration"]) == ["lstm-uni-1L"]
    assert board["seeds"].tolist() == [2]

    study = f"name: first\ngrid: {{cell: [lstm], seed: [0, 1]}}\ntracking: {{uri: '{uri}'}}\n"
    (tmp_path / "a.yaml").write_text(study)
    (tmp_path / "b.yaml").write_text(study.replace("[lstm]", "[gru]"))
    refused = report_cli("a.yaml", "b.yaml", "--no-log", cwd=tmp_path)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "two different studies are named 'first'" in refused.stderr
