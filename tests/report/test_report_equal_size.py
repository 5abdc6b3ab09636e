"""Equal units against equal parameters: one report of a study at equal units and a study at
two parameter budgets says, in one sentence, whether the cell best at equal units is also the
best at equal parameters. The winners below are set by hand (one seed each)."""

from __future__ import annotations

import csv
from pathlib import Path

from suite.report.__main__ import main as report_main
from tests.helpers.synthetic_store import SyntheticRun, make_store

# At equal units LSTM leads; at 1,000 weights GRU leads, at 2,000 LSTM.
AT_UNITS = {"lstm": 0.95, "gru": 0.90}
AT_BUDGETS = {(1000, "gru"): 0.90, (1000, "lstm"): 0.80, (2000, "lstm"): 0.96, (2000, "gru"): 0.85}


def _report(tmp_path: Path, at_units: dict[str, float], at_budgets: dict) -> str:
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    make_store(
        uri,
        [SyntheticRun(c, False, 1, 0, v, val_accuracy=v) for c, v in at_units.items()],
        experiment="grid",
        study="grid",
    )
    make_store(
        uri,
        [
            SyntheticRun(c, False, 1, 0, v, val_accuracy=v, params=budget)
            for (budget, c), v in at_budgets.items()
        ],
        experiment="fair",
        study="fair",
    )
    out = tmp_path / "both.html"
    args = ["--experiment", "grid", "--experiment", "fair", "--tracking-uri", uri]
    assert report_main([*args, "--out", str(out), "--no-log"]) == 0
    return out.read_text(encoding="utf-8")


def test_the_best_cell_at_equal_units_against_each_budget(tmp_path):
    page = _report(tmp_path, AT_UNITS, AT_BUDGETS)
    assert (
        "At equal units (grid, 50 units per direction) the best cell by validation accuracy is"
        " lstm; at equal parameters: gru at 1,000 weights (fair); lstm at 2,000 weights (fair)."
        " lstm is also the best at 2,000 weights, not at the others."
    ) in page
    assert page.index("Equal units against equal parameters") < page.index("Study grid")
    assert "The studies also differ in" not in page  # same settings, same two cells
    with (tmp_path / "both-units-against-parameters.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [
        (r["study"], r["compared at"], r["best configuration (by validation)"]) for r in rows
    ] == [
        ("grid", "50 units", "lstm-uni-1L"),
        ("fair", "1,000 weights", "gru-uni-1L"),
        ("fair", "2,000 weights", "lstm-uni-1L"),
    ]
    assert [float(r["test accuracy (mean)"]) for r in rows] == [0.95, 0.90, 0.96]


def test_the_same_best_everywhere_and_studies_that_compare_other_cells(tmp_path):
    at_units = {**AT_UNITS, "simple_rnn": 0.5}
    at_budgets = {**AT_BUDGETS, (1000, "lstm"): 0.92}  # now LSTM leads at both budgets
    page = _report(tmp_path, at_units, at_budgets)
    assert "lstm is also the best at every parameter budget." in page
    assert "The studies also differ in the cells compared" in page


def test_no_conclusion_where_a_best_is_near_chance(tmp_path):
    page = _report(tmp_path, {"lstm": 0.15, "gru": 0.12}, AT_BUDGETS)
    assert "No conclusion on cells at equal size" in page
    assert "grid at 50 units" in page
    assert "is also the best" not in page


def test_a_report_of_one_kind_of_study_has_no_such_section(tmp_path):
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    make_store(uri, [SyntheticRun("gru", False, 1, 0, 0.9)], experiment="a", study="a")
    out = tmp_path / "a.html"
    args = ["--experiment", "a", "--tracking-uri", uri, "--out", str(out), "--no-log"]
    assert report_main(args) == 0
    assert "Equal units against equal parameters" not in out.read_text(encoding="utf-8")
    assert not (tmp_path / "a-units-against-parameters.csv").exists()
